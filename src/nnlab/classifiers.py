"""The classifiers whose features score a GAN: a cnn run the user names, or a data set's default cnn, trained once.

The default is cached under the cache folder (`classifiers/`), trained by the same `train` a user
calls, in a scratch folder moved into place only when complete.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnlab.errors import CheckpointError, ConfigError, TrainingInterrupted
from nnlab.evaluation.fid_cnn import FeatureSpace, cache_name
from nnlab.training.rundir import RunDir

log = logging.getLogger("nnlab")


class RunClassifiers:
    """The scoring classifiers a GAN task is handed (`nnlab.evaluation.fid_cnn.Classifiers`): a cnn run the user
    names, or the default cnn of a data set, trained once into `cache_dir/classifiers/` and reused after."""

    def __init__(self, *, device: Any, data_dirs: Sequence[Path] = (), cache_dir: Path | None = None,
                 echo: Callable[[str], None] = log.info):
        self.device, self.data_dirs, self.cache_dir, self.echo = device, tuple(data_dirs), cache_dir, echo

    def load(self, run_path: str | os.PathLike) -> FeatureSpace:
        """The classifier of a cnn run, rebuilt from its directory (no unpickling)."""
        from nnlab import api  # api hands this class to the tasks it builds

        run, task = api.load_run(run_path, device=str(self.device), data_dirs=self.data_dirs)
        if task.name != "cnn":
            raise CheckpointError(f"{run.path} is a run of task '{task.name}'; the scores need a cnn classifier run")
        return FeatureSpace(task.models["model"].eval(), str(run.path), task.device)  # auto: bf16 only if native

    def default(self, source: str) -> FeatureSpace:
        """The default cnn for data set `source`. One that no longer fits nnlab's `fast` network (made by an older
        version) is trained again rather than refused: the cache holds nothing the user made."""
        if self.cache_dir is None:
            raise ConfigError("scoring needs a classifier: pass --classifier RUN (a cnn run on the same data)")
        folder = self.cache_dir / "classifiers" / cache_name(source)
        if not (folder / "model.safetensors").is_file():
            self.echo(f"note: no classifier for '{source}' yet: training nnlab's default cnn on it once, cached in "
                      f"{folder} (about 1-2 minutes on 2 CPU cores; --classifier RUN uses a cnn run of yours)")
        else:
            try:
                return self.load(folder)
            except CheckpointError as error:
                self.echo(f"note: the cached classifier for '{source}' does not fit this version's cnn ({error}); "
                          f"training it again (cached in {folder})")
        self._train(source, folder)
        return self.load(folder)

    def _train(self, source: str, folder: Path) -> None:
        """Train the default cnn in a scratch folder, moved into place only when complete: an interrupted training
        leaves no half-made classifier behind, and the next call goes on from its last checkpoint."""
        from nnlab import api

        scratch = folder.with_name(folder.name + ".partial")
        # no validation share: the scores' instrument stays the classifier the measurements in docs/ were made with
        settings = [f"train.device={self.device}", "data.val_fraction=0"]
        try:
            if started := _resumable(scratch):
                self.echo(f"note: going on with the interrupted training of the classifier for '{source}' ({started})")
                result = api.train("cnn", overrides=settings, resume=started, data_dirs=self.data_dirs)
            else:
                shutil.rmtree(scratch, ignore_errors=True)
                result = api.train("cnn", overrides=[f"data.source={source}", *settings], out_dir=scratch,
                                   data_dirs=self.data_dirs)
        except TrainingInterrupted:
            left = _resumable(scratch)
            kept = (f"is kept in {left}, and the next command that needs it goes on from there" if left
                    else "stopped before its first checkpoint; the next command starts it again")
            raise TrainingInterrupted(f"the training of the default classifier for '{source}' {kept}") from None
        shutil.rmtree(folder, ignore_errors=True)
        result.run.path.rename(folder)
        shutil.rmtree(scratch, ignore_errors=True)
        self.echo(f"note: classifier for '{source}' trained: {result.report.lines[0]}")


def _resumable(scratch: Path) -> Path | None:
    """The run under `scratch` (a classifier's scratch folder) that has a checkpoint to go on from, if any."""
    found = sorted(path for path in scratch.glob("cnn/*") if RunDir(path).last_path.is_file())
    return found[-1] if found else None
