"""`nnlab serve` measured through a real server, as its pages use it: playground updates a second, round trips.

Trains a small cnn run (nnlab's default network, one epoch on 500 digits: its speed, not its accuracy,
is what is timed) into a fresh runs folder, starts `nnlab serve` on it in a subprocess on a free port,
then, as the pages do:
- playground: creates a session (XOR, one hidden layer of 4 units, tanh), reads a stream of frames (5
  steps each; every frame carries the 40x40 boundary and each unit's 40x40 picture), and times
  POST .../step?steps=10 round trips;
- draw a digit: times POST .../look with a 28x28 drawing (the answer holds every class's probability,
  the filters and every feature map), after one first call that loads the run;
- latent explorer: times POST .../latent with a slider moved, on a small dcgan run (a latent of 64, so
  each answer finds the 10 strongest directions anew, the slower case) with its walk of 10 images;
- shower viewer: times POST .../showers for 1,000 e+ showers at 50 GeV (generated, simulated beside them,
  every observable's histograms) on a calogan run of one epoch (generation does not get faster with
  training), with another seed each time; and, where Playwright and Chromium are installed, the page
  itself in headless Chromium: Generate pressed, the time until every picture and histogram is drawn.
Targets: >= 10 playground updates a second; drawing -> prediction and slider -> new image <= 100 ms (95th
percentile of 100 each); 1,000 showers with their plots <= 1 s (95th percentile of 20).
Run: python benchmarks/serve.py [--frames 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx  # the test client's HTTP library (the test extra)

from nnlab.reporting import describe_environment

TARGET_UPDATES_S = 10.0
TARGET_ROUND_TRIP_MS = 100.0
TARGET_SHOWERS_S = 1.0
CALOGAN = ["--epochs", "1", "--batch-size", "64", "--set", "data.n_per_particle=2000", "--set", "score.n_epoch=100",
           "--set", "score.classifier_epochs=1", "--set", "model.energy_fit_steps=50"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(call, n: int = 100) -> list[float]:
    """Seconds of `n` calls of `call` (each returns an httpx response, checked), sorted."""
    times = []
    for _ in range(n):
        tick = time.perf_counter()
        call().raise_for_status()
        times.append(time.perf_counter() - tick)
    return sorted(times)


def in_the_browser(base: str, n: int = 20) -> list[float]:
    """Seconds from Generate pressed to every picture and histogram of the shower viewer drawn, as the page measures
    it, `n` times (sorted); empty without Playwright or Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if chromium is None:
        return []
    times = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/showers.html")
        for seed in range(n + 1):  # seed 0: the page's own first request, not timed
            if seed:
                page.fill("#seed", str(seed))
                page.click("#generate")
            page.wait_for_function(f"document.querySelector('#status').dataset.seed === '{seed}'", timeout=30_000)
            if seed:
                times.append(float(page.locator("#status").get_attribute("data-seconds")))
        browser.close()
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames of the timed stream (default 200)")
    args = parser.parse_args()
    print("\n".join(describe_environment()), flush=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        runs = f"{folder}/runs"
        subprocess.run([sys.executable, "-m", "nnlab", "train", "cnn", "--epochs", "1", "--set", "data.n_train=500",
                        "--out", runs], check=True, capture_output=True)
        cnn_run = next(Path(runs, "cnn").glob("2*"))
        subprocess.run([sys.executable, "-m", "nnlab", "train", "gan", "--epochs", "1", "--set", "data.n_train=256",
                        "--set", "score.every=0", "--set", "score.n_eval=64", "--set", "score.n_restore=2",
                        "--classifier", str(cnn_run), "--out", runs], check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "nnlab", "train", "calogan", *CALOGAN, "--out", runs], check=True,
                       capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "nnlab", "serve", "--runs", f"{folder}/runs",
                                   "--port", str(port)], stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        client.get("/")
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise SystemExit("the server did not start in 60 s")
                        time.sleep(0.2)
                session = client.post("/api/playground", json={"points": "xor", "hidden": [4]}).json()["id"]
                started, frames, last = time.perf_counter(), 0, None
                with client.stream("GET", f"/api/playground/{session}/stream?steps=5&frames={args.frames}") as stream:
                    for line in stream.iter_lines():
                        if line.startswith("data: ") and line != "data: {}":
                            frames, last = frames + 1, json.loads(line[6:])
                rate = frames / (time.perf_counter() - started)
                trips = []
                for _ in range(50):
                    tick = time.perf_counter()
                    client.post(f"/api/playground/{session}/step?steps=10").raise_for_status()
                    trips.append(time.perf_counter() - tick)
                cnn = next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == "cnn")
                one = [[1.0 if 4 <= i < 24 and 13 <= j < 15 else 0.0 for j in range(28)] for i in range(28)]
                client.post(f"/api/runs/{cnn}/look", json={"pixels": one}).raise_for_status()  # loads the run
                looks = timed(lambda: client.post(f"/api/runs/{cnn}/look", json={"pixels": one}))
                gan = next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == "gan")
                client.post(f"/api/runs/{gan}/latent", json={"seed": 1}).raise_for_status()  # loads the run
                slid = iter(range(10_000))
                slides = timed(lambda: client.post(f"/api/runs/{gan}/latent", json={
                    "seed": 1, "coordinates": [0.0, (next(slid) % 60) / 10 - 3], "walk": 10}))
                calogan = next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == "calogan")
                client.post(f"/api/runs/{calogan}/showers", json={"n": 10}).raise_for_status()  # loads the run
                seeds = iter(range(10_000))
                showers = timed(lambda: client.post(f"/api/runs/{calogan}/showers", json={
                    "n": 1000, "energy": "50", "seed": next(seeds)}), n=20)
                drawn = in_the_browser(base)
        finally:
            server.terminate()
            server.wait(10)
    trips.sort()
    print(f"\nplayground stream: {frames} frames in {frames / rate:.2f} s = {rate:.1f} updates/s "
          f"(last: step {last['step']}, loss {last['loss']:.4f})")
    print(f"step round trip (10 steps and a frame): median {1e3 * trips[len(trips) // 2]:.1f} ms, "
          f"slowest {1e3 * trips[-1]:.1f} ms (50 requests)")
    met = rate >= TARGET_UPDATES_S
    for what, times, target in (("drawing -> prediction, feature maps and filters", looks, TARGET_ROUND_TRIP_MS),
                                ("slider -> new image and a walk of 10 (dcgan, latent 64)", slides,
                                 TARGET_ROUND_TRIP_MS),
                                ("1,000 showers with their histograms, over HTTP", showers, 1e3 * TARGET_SHOWERS_S),
                                ("1,000 showers, Generate pressed -> drawn in Chromium", drawn,
                                 1e3 * TARGET_SHOWERS_S)):
        if not times:
            print(f"{what}: not measured (no Playwright or no chromium on PATH)")
            continue
        p95 = times[int(0.95 * len(times)) - 1]
        print(f"{what}: median {1e3 * times[len(times) // 2]:.1f} ms, 95th percentile {1e3 * p95:.1f} ms, "
              f"slowest {1e3 * times[-1]:.1f} ms ({len(times)} requests)")
        met &= 1e3 * p95 <= target
    print(f"targets: >= {TARGET_UPDATES_S:.0f} updates/s, round trips <= {TARGET_ROUND_TRIP_MS:.0f} ms, "
          f"showers <= {TARGET_SHOWERS_S:.0f} s (95th percentiles): "
          f"{'met' if met else 'missed'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
