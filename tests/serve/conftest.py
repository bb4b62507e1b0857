"""The served runs folder and a real server on it, shared by the serve tests."""

from __future__ import annotations

import socket
import threading
import time

import pytest


@pytest.fixture(scope="package")
def runs(tmp_path_factory):
    """A runs folder with a real run of each kind the pages show: iris (2 epochs), a small cnn, a barely
    trained gan of each latent width (a dcgan's 64, then the lecture's mlp with 10, the newest), a calogan run
    of one epoch on 400 simulated e+ showers, and a file beside the folder that no run may reach."""
    from nnlab.cli import main

    root = tmp_path_factory.mktemp("served") / "runs"
    assert main(["train", "iris", "--epochs", "2", "--out", str(root)]) == 0
    assert main(["train", "cnn", "--epochs", "2", "--set", "data.n_train=500", "--out", str(root)]) == 0
    cnn = next((root / "cnn").glob("2*"))
    for arch, epochs, n_train in (("dcgan", 1, 128), ("mlp", 3, 512)):
        assert main(["train", "gan", "--model", arch, "--epochs", str(epochs), "--set", f"data.n_train={n_train}",
                     "--set", "score.every=0", "--set", "score.n_eval=64", "--set", "score.n_restore=2", "--set",
                     "score.restore_steps=2", "--classifier", str(cnn), "--out", str(root), "--name", arch]) == 0
    assert main(["train", "calogan", "--epochs", "1", "--batch-size", "64", "--out", str(root), *[
        arg for setting in ("data.n_per_particle=400", "score.n_epoch=100", "score.classifier_epochs=1",
                            "model.energy_fit_steps=50") for arg in ("--set", setting)]]) == 0
    (root.parent / "secret.png").write_bytes(b"\x89PNG not yours")
    return root


@pytest.fixture(scope="package")
def server(runs):
    """A real uvicorn server of the app on `runs`, on a free local port."""
    import uvicorn

    from nnlab.serve.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(create_app(runs), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start in 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)
