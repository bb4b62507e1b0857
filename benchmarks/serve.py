"""`nnlab serve` measured through a real server, as a page uses it: playground updates a second, step round trips.

Starts `nnlab serve` in a subprocess on a free port (an empty runs folder), then, as the playground
page does: creates a session (XOR, one hidden layer of 4 units, tanh) and reads a stream of frames
(5 steps each; every frame carries the 40x40 boundary and each unit's 40x40 picture), and times
POST .../step?steps=10 round trips. Target: >= 10 playground updates a second.
Run: python benchmarks/serve.py [--frames 200]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from nnlab.reporting import describe_environment

TARGET_UPDATES_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames of the timed stream (default 200)")
    args = parser.parse_args()
    print("\n".join(describe_environment()), flush=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
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
        finally:
            server.terminate()
            server.wait(10)
    trips.sort()
    print(f"\nplayground stream: {frames} frames in {frames / rate:.2f} s = {rate:.1f} updates/s "
          f"(last: step {last['step']}, loss {last['loss']:.4f})")
    print(f"step round trip (10 steps and a frame): median {1e3 * trips[len(trips) // 2]:.1f} ms, "
          f"slowest {1e3 * trips[-1]:.1f} ms (50 requests)")
    met = rate >= TARGET_UPDATES_S
    print(f"target: >= {TARGET_UPDATES_S:.0f} updates/s: {'met' if met else 'missed'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
