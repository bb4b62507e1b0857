"""Every foundations demo runs, writes the PNG it promises and returns its text."""

import pytest

from nnlab.errors import NnlabError
from nnlab.demos import DEMOS, run_demo

WITH_PICTURE = {"xor", "descent", "convolution", "projection", "approximation"}


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_and_writes_its_png(name, tmp_path):
    text = run_demo(name, tmp_path / "out", seed=0)
    assert text.strip() and len(text.splitlines()) <= 15
    png = tmp_path / "out" / f"{name}.png"
    if name in WITH_PICTURE:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in text
    else:
        assert not png.exists()


def test_gates_demo_shows_the_slide_error_and_learned_gates(tmp_path):
    text = run_demo("gates", tmp_path)
    assert "1.0 1.0 1.0 1.0" in text and "learned OR" in text and "learned AND" in text


def test_seeded_demo_is_deterministic(tmp_path):
    assert run_demo("projection", tmp_path, seed=3) == run_demo("projection", tmp_path, seed=3)
    assert run_demo("projection", tmp_path, seed=3) != run_demo("projection", tmp_path, seed=4)


def test_unknown_demo_lists_the_choices_on_one_line(tmp_path):
    with pytest.raises(NnlabError) as info:
        run_demo("perceptron", tmp_path)
    message = str(info.value)
    assert "\n" not in message and all(name in message for name in DEMOS)
