"""Run under torchrun by the DDP tests: `nnlab train iris` in which rank 1 is lost in epoch 3.

`kill`: rank 1 dies at once (kill -9); `freeze`: it stops answering (as kill -STOP), and rank 0
must give up after train.dist_timeout_s.
"""

import os
import sys
import time

from nnlab.cli import main
from nnlab.training import distributed
from nnlab.training.trainer import Trainer

how, out = sys.argv[1], sys.argv[2]
run_epoch = Trainer._run_epoch


def lost_in_epoch_3(self, epoch):
    if epoch == 2 and self.launch.rank == 1:
        if how == "kill":
            os._exit(137)
        time.sleep(600)  # ended by torchrun once rank 0 has given up
    return run_epoch(self, epoch)


Trainer._run_epoch = lost_in_epoch_3
distributed.exit_worker(main(["train", "iris", "--epochs", "6", "--out", out, "--set", "train.dist_timeout_s=3",
                              "--set", "train.checkpoint_every_s=0"]))
