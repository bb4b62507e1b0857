"""Epoch metrics for an experiment tracker, beside metrics.csv: TensorBoard event files (`--logger tensorboard`).

TensorBoard is what users of Lightning, Keras and the Hugging Face Trainer open first; its
package is an extra (`pip install 'nnlab[tensorboard]'`), so the writer is imported only when
asked for. A resumed run adds an event file to the same folder; TensorBoard joins them by epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nnlab.errors import ConfigError


class TensorBoardLog:
    """Every number of an epoch's row as a scalar at that epoch, in `folder` (the run's tensorboard/)."""

    def __init__(self, folder: Path):
        self.writer = self.writer_class()(log_dir=str(folder))

    @staticmethod
    def writer_class() -> type:
        """torch's SummaryWriter, or a one-line error when the tensorboard package is missing (checked before a
        run folder is made)."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--logger tensorboard needs the tensorboard package: "
                              "pip install 'nnlab[tensorboard]' (or pip install tensorboard)") from None
        return SummaryWriter

    def epoch(self, row: Mapping[str, float]) -> None:
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, global_step=int(row["epoch"]))
        self.writer.flush()  # readable at once, by a TensorBoard watching the run

    def close(self) -> None:
        self.writer.close()
