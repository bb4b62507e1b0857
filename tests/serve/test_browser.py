"""`nnlab serve` in a real browser: headless Chromium (Debian's) driven by Playwright against a real server.

Each test saves a screenshot of its page in build/screenshots/. Without Chromium the tests are skipped
with the reason, unless NNLAB_REQUIRE_BROWSER is set, as .ci/run sets it after installing Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("NNLAB_REQUIRE_BROWSER"):
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "NNLAB_REQUIRE_BROWSER is set but there is no chromium on PATH"
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    opened.close()
    assert not errors, f"JavaScript errors: {errors}"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def status(page) -> tuple[int, float]:
    """(step, loss) from the playground's status line."""
    text = page.locator("#status").inner_text()
    found = re.match(r"step (\d+): loss ([\d.]+)", text)
    assert found, text
    return int(found.group(1)), float(found.group(2))


def test_the_playground_runs_and_its_loss_falls(server, page):
    page.goto(f"{server}/playground.html")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('step 0:')")
    _, first_loss = status(page)
    page.click("#run")
    page.wait_for_function("Number((document.querySelector('#status').textContent.match(/step (\\d+)/) || [0, 0])[1])"
                           " >= 300", timeout=20_000)
    page.click("#run")  # pause
    step, loss = status(page)
    assert step >= 300 and loss < first_loss / 2
    assert page.locator("#units canvas").count() == 4
    screenshot(page, "playground")


def test_a_digit_drawn_with_the_mouse_is_classified_and_its_feature_maps_shown(server, page):
    page.goto(f"{server}/draw.html")
    page.wait_for_function("document.querySelector('#run').options.length > 0")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for y in range(40, 250, 15):  # a "1", stroke by stroke
        page.mouse.move(box["x"] + 140, box["y"] + y)
    page.mouse.up()
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('predicted:')")
    predicted = page.locator("#status").inner_text()
    assert re.fullmatch(r"predicted: \d \([\d.]+%\)", predicted), predicted
    assert page.locator("#probabilities tr").count() == 10
    assert page.locator("#maps canvas").count() >= 32 and page.locator("#filters canvas").count() >= 8
    screenshot(page, "draw")


def test_a_latent_slider_moves_the_generated_image(server, page):
    page.goto(f"{server}/latent.html")
    page.wait_for_function("document.querySelectorAll('#sliders input').length === 10")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('seed 0')")
    before = page.evaluate("document.querySelector('#image').toDataURL()")
    page.locator("#sliders input").first.fill("2.5")  # as a drag would: an input event at 2.5
    page.wait_for_function("document.querySelector('#status').textContent.includes('[2.5,')")
    assert page.evaluate("document.querySelector('#image').toDataURL()") != before
    assert page.locator("#walk canvas").count() == 10
    page.wait_for_function("document.querySelector('#erase').dataset.index === '0'")  # the test image is there
    page.locator("#erase").scroll_into_view_if_needed()  # the mouse reaches only what is on screen
    box = page.locator("#erase").bounding_box()  # erase a band through the test image, then fill it
    page.mouse.move(box["x"] + 40, box["y"] + 112)
    page.mouse.down()
    for x in range(40, 190, 8):
        page.mouse.move(box["x"] + x, box["y"] + 112)
    page.mouse.up()
    page.click("#fill")
    page.wait_for_function("/PSNR [\\d.]+ dB erased -> [\\d.]+ dB filled/.test("
                           "document.querySelector('#psnr').textContent)", timeout=30_000)
    screenshot(page, "latent")


def test_the_shower_viewer_draws_showers_means_and_histograms_and_generates_anew(server, page):
    page.goto(f"{server}/showers.html")
    page.wait_for_function("document.querySelector('#status').textContent.includes('generated in')")
    assert re.match(r"1,000 eplus showers at 50 GeV generated in [\d.]+ s; as many simulated",
                    page.locator("#status").inner_text())
    assert page.locator("#examples canvas").count() == page.locator("#means canvas").count() == 6  # 3 layers each
    assert page.locator("#histograms canvas").count() == 24
    example = "document.querySelector('#examples canvas').toDataURL()"
    first = page.evaluate(example)
    page.click("#next")
    assert page.evaluate(example) != first  # the next simulated shower
    page.fill("#energy", "10:90")
    page.fill("#n", "500")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('500 eplus showers at 10:90')")
    page.fill("#energy", "fifty")
    page.click("#generate")
    page.wait_for_selector("#status.error")
    assert "give GeV as LOW:HIGH" in page.locator("#status").inner_text()
    page.fill("#n", "1000")
    page.fill("#energy", "50")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('1,000 eplus')")
    screenshot(page, "showers")


def test_a_run_is_listed_and_its_page_shows_curves_and_plots(server, page):
    page.goto(f"{server}/runs.html")
    link = page.locator("#runs tbody a", has_text="iris/").first
    link.wait_for()
    assert page.locator("#runs tbody tr").count() == 5
    screenshot(page, "runs")
    link.click()
    page.wait_for_selector("#curves canvas")
    assert "nnlab train iris --resume" in page.locator("#resume").inner_text()
    assert page.locator("#curves canvas").count() >= 2
    page.wait_for_function("[...document.querySelectorAll('#plots img')].every(i => i.complete && i.naturalWidth > 0)"
                           " && document.querySelectorAll('#plots img').length > 0")
    screenshot(page, "run")


def test_a_missing_run_says_so_on_the_page(server, page):
    page.goto(f"{server}/run.html?id=iris/none")
    page.wait_for_selector("#status.error")
    assert "no run 'iris/none'" in page.locator("#status").inner_text()
