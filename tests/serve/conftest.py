"""The served runs folder and a real server on it, shared by the browser tests and the server tests."""

from __future__ import annotations

import socket
import threading
import time

import pytest


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """A real uvicorn server of the app on a free local port, with an iris run and tiny cnn and gan runs."""
    import uvicorn

    from nnlab.cli import main
    from nnlab.serve.app import create_app

    root = tmp_path_factory.mktemp("served") / "runs"
    assert main(["train", "iris", "--epochs", "3", "--out", str(root)]) == 0
    assert main(["train", "cnn", "--epochs", "2", "--set", "data.n_train=500", "--out", str(root)]) == 0
    cnn = next((root / "cnn").glob("2*"))
    assert main(["train", "gan", "--model", "mlp", "--epochs", "3", "--set", "data.n_train=512", "--set",
                 "score.every=0", "--set", "score.n_eval=64", "--set", "score.n_restore=2", "--set",
                 "score.restore_steps=2", "--classifier", str(cnn), "--out", str(root)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(create_app(root), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start in 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)
