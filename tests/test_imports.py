"""Start-up: a command imports what it uses and nothing else (each heavy library costs a cold start seconds)."""

from __future__ import annotations

import json
import subprocess
import sys

# run a command in a fresh interpreter and print the top-level packages and nnlab modules it imported
PROBE = """
import json, sys
from nnlab.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*argv: str, cwd) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_and_version_import_no_torch(tmp_path):
    for argv in (["--help"], ["--version"], ["train", "--help"]):
        modules = imported_by(*argv, cwd=tmp_path)
        assert "torch" not in modules, argv
        assert not any(m.startswith("nnlab.tasks.") for m in modules), argv


def test_a_training_command_imports_only_what_its_task_uses(tmp_path):
    modules = imported_by("train", "iris", "--epochs", "1", "--out", str(tmp_path), cwd=tmp_path)
    assert "nnlab.tasks.iris" in modules and "torch" in modules
    # (torch.optim's optimizers import torch._dynamo, and with it parts of torch._inductor: torch's own cost)
    unused = {"sklearn", "scipy", "h5py", "matplotlib.pyplot", "nnlab.tasks.cnn", "nnlab.tasks.gan",
              "nnlab.tasks.calogan", "nnlab.tasks.calo_classifier", "nnlab.physics", "nnlab.models.calogan"}
    assert not unused & modules, unused & modules
