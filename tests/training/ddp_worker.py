"""Run under torchrun by test_distributed.py: train Iris with DDP, save this rank's final weights."""

import os
import sys
from pathlib import Path

import torch

from nnlab import api
from nnlab.training.runtime import Launch

out = Path(sys.argv[1])
launch = Launch.from_environment(os.environ, argv=tuple(sys.argv))
result = api.train("iris", overrides=sys.argv[2:], out_dir=out / "runs", launch=launch)
torch.save(result.task.models["model"].state_dict(), out / f"rank{launch.rank}.pt")
