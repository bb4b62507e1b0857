"""`nnlab serve` as a real server: a long stream stalls no other page, and the command says where it listens."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx2 as httpx  # the test client's HTTP library (the test extra)

from tests.conftest import assert_one_line_error


def test_a_long_stream_does_not_stall_the_other_pages(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        session = client.post("/api/playground", json={"points": "spiral", "hidden": [16, 16, 16, 16]}).json()["id"]
        first_frame = threading.Event()

        def stream_for_long() -> None:  # 2,000 frames of 1,000 steps of a deep net: minutes of work
            with client.stream("GET", f"/api/playground/{session}/stream?steps=1000&frames=2000") as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        first_frame.set()
                        return  # closing the stream ends the server's generator at its next frame

        streaming = threading.Thread(target=stream_for_long, daemon=True)
        streaming.start()
        assert first_frame.wait(30)
        with httpx.Client(base_url=server, timeout=30) as other:
            started = time.perf_counter()
            assert other.get("/api/runs").status_code == 200
            assert other.get("/playground.html").status_code == 200
            small = other.post("/api/playground", json={}).json()["id"]
            assert other.post(f"/api/playground/{small}/step?steps=10").status_code == 200
            assert time.perf_counter() - started < 5.0  # milliseconds when idle; a stalled server takes minutes
        streaming.join(30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(*options: str, runs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nnlab", "serve", "--runs", str(runs), *options],
                            stderr=subprocess.PIPE, text=True)


def test_the_command_says_where_it_listens_and_warns_beyond_this_machine(tmp_path):
    for host, warned in (("127.0.0.1", False), ("0.0.0.0", True)):
        port = free_port()
        process = serve("--host", host, "--port", str(port), runs=tmp_path)
        try:
            lines = [process.stderr.readline() for _ in range(1 + warned)]
        finally:
            process.terminate()
            process.wait(10)
        assert lines[-1].startswith(f"nnlab serve: http://{'localhost' if host == '127.0.0.1' else host}:{port}/")
        assert ("warning: listening on 0.0.0.0, so other machines can reach" in lines[0]) == warned


def test_a_bad_port_is_one_line(cli):
    assert_one_line_error(cli("serve", "--port", "70000"), "--port must be 1 to 65535")
