"""Run under torchrun by the DDP tests: train TASK with DDP, save this rank's final weights of every model."""

import os
import sys
from pathlib import Path

import torch

from nnlab import api
from nnlab.training import distributed
from nnlab.training.runtime import Launch

out, task = Path(sys.argv[1]), sys.argv[2]
launch = Launch.from_environment(os.environ, argv=tuple(sys.argv))
result = api.train(task, overrides=sys.argv[3:], out_dir=out / "runs", launch=launch)
weights = {f"{name}.{key}": value for name, model in result.task.models.items()
           for key, value in model.state_dict().items()}
torch.save(weights, out / f"rank{launch.rank}.pt")
distributed.exit_worker(0)  # as the CLI does under torchrun: see exit_worker for the PyTorch shutdown crash
