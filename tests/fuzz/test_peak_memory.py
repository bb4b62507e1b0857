"""The memory bombs, measured as the operating system sees them: a fresh process refuses each of them
while its peak resident memory (`resource.getrusage`) grows by less than 200 MB.

tracemalloc (the `refused` harness) sees Python's and NumPy's allocations; this also counts
what HDF5, Pillow, zlib and torch allocate in C.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.data.test_calo_hostile import _declared, _edit, _good
from tests.data.test_image_hostile import gzip_streamed, idx_header, npy_header, png_claiming

resource = pytest.importorskip("resource")  # POSIX

CHILD = """
import json, resource, sys
from nnlab.cli import main
import nnlab.api, nnlab.tasks.cnn, nnlab.tasks.iris, nnlab.evaluation.simulation_checks  # imports are not the attack
main(["env"])  # torch's own start-up (thread pools, CPU probing) is not the attack either
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = [main(argv) for argv in json.loads(sys.argv[1])]
print(json.dumps({"codes": codes, "grown_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
"""


def test_the_bombs_are_refused_within_200_mb(tmp_path, cnn_run):
    from nnlab import api

    run = api.train("iris", overrides=["train.epochs=1"], out_dir=tmp_path / "runs").run.path
    with open(run / "env.json", "r+b") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse
    (tmp_path / "bomb.png").write_bytes(png_claiming(9000, 9000))
    (tmp_path / "bomb.npy").write_bytes(npy_header((10**8, 28, 28)))
    idx = tmp_path / "idx"
    idx.mkdir()
    gzip_streamed(idx / "train-images-idx3-ubyte.gz", idx_header((400, 28, 28)), 600 * 2**20)
    showers = _edit(_good(tmp_path / "showers.h5"), _declared(10**9))
    attacks = [["predict", cnn_run, "--input", tmp_path / "bomb.png"],
               ["predict", cnn_run, "--input", tmp_path / "bomb.npy"],
               ["data", "check", idx], ["evaluate-sim", showers, "--out", tmp_path / "out"],
               ["train", "iris", "--resume", run, "--epochs", "2"]]
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([[str(a) for a in argv] for argv in attacks])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.splitlines()[-1])
    errors = [line for line in done.stderr.splitlines() if line.startswith("nnlab")]
    assert measured["codes"] == [2] * len(attacks) and len(errors) == len(attacks), done.stderr
    assert "Traceback" not in done.stderr
    assert measured["grown_kib"] < 200_000, measured
