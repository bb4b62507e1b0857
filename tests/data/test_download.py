"""MNIST download against a local HTTP server and fake openers: never the network."""

import functools
import hashlib
import http.server
import io
import socket
import threading
import urllib.error

import numpy as np
import pytest

from nnlab.data.idx import write_idx
from nnlab.data.download import MNIST_SHA256, download_mnist
from nnlab.data.images import IDX_FILES
from nnlab.data.registry import load_images
from nnlab.errors import DataError

NAMES = [stem + ".gz" for stem in IDX_FILES.values()]


@pytest.fixture
def served(tmp_path):
    """Small real IDX .gz files under http://127.0.0.1:PORT/mnist/; yields (base URL, hashes, request log)."""
    root = tmp_path / "www"
    rng = np.random.default_rng(0)
    for name in NAMES:
        n = 8 if name.startswith("train") else 4
        shape = (n, 28, 28) if "images" in name else (n,)
        write_idx(root / "mnist" / name, rng.integers(0, 10, shape, dtype=np.uint8))
    hashes = {name: hashlib.sha256((root / "mnist" / name).read_bytes()).hexdigest() for name in NAMES}
    log: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # keep test output clean; record the path instead
            log.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hashes, log
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"  # nothing listens: connection refused at once


def test_download_checks_hashes_and_loads(served, tmp_path):
    base, hashes, log = served
    dest = tmp_path / "cache" / "mnist"
    assert download_mnist(dest, mirrors=[base + "/mnist/"], sha256=hashes, timeout_s=5) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)  # no temp files left behind
    data = load_images("mnist", search_dirs=[tmp_path / "cache"])
    assert data.train_images.shape == (8, 28, 28) and data.test_labels.shape == (4,)
    n_requests = len(log)
    download_mnist(dest, mirrors=[base + "/mnist/"], sha256=hashes, timeout_s=5)
    assert len(log) == n_requests  # files with the right hash are kept, not fetched again


def test_next_mirror_after_a_failure(served, tmp_path):
    base, hashes, log = served
    download_mnist(
        tmp_path, mirrors=[base + "/gone/", closed_port_url(), base + "/mnist"], sha256=hashes, timeout_s=5
    )
    assert all((tmp_path / name).is_file() for name in NAMES)
    assert any(path.startswith("/gone/") for path in log)


def test_hash_mismatch_names_the_file_and_saves_nothing(served, tmp_path):
    base, hashes, _ = served
    wrong = dict(hashes, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    with pytest.raises(DataError) as err:
        download_mnist(tmp_path, mirrors=[base + "/mnist/"], sha256=wrong, timeout_s=5)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("t10k-images-idx3-ubyte.gz: SHA-256 mismatch") and "0" * 64 in message
    assert not (tmp_path / "t10k-images-idx3-ubyte.gz").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_offline_says_what_to_do_instead(tmp_path):
    dest = tmp_path / "cache" / "mnist"
    with pytest.raises(DataError) as err:
        download_mnist(dest, mirrors=[closed_port_url()], timeout_s=5)
    message = str(err.value)
    assert "\n" not in message
    assert "offline" in message and str(dest) in message and "NNLAB_DATA" in message
    assert all(name in message for name in NAMES)


@pytest.mark.parametrize(
    "error", [urllib.error.URLError("no route"), TimeoutError("timed out"), OSError(101, "down")]
)
def test_offline_with_a_fake_opener(tmp_path, error):
    def opener(url, timeout):
        raise error

    with pytest.raises(DataError, match=r"cannot download train-images-idx3-ubyte\.gz"):
        download_mnist(tmp_path, opener=opener)
    assert not list(tmp_path.iterdir())


def test_fake_opener_default_hashes_and_progress(tmp_path):
    # The real hashes (MNIST_SHA256) cannot match fake bytes: the first file fails by name.
    def opener(url, timeout):
        return io.BytesIO(b"fake bytes")

    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: SHA-256 mismatch"):
        download_mnist(tmp_path, mirrors=["https://example.invalid/mnist/"], opener=opener, progress=True)
    assert list(MNIST_SHA256) == NAMES
