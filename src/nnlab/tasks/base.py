"""The Task interface the Trainer drives, and the report a finished run produces."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.evaluation.fid_cnn import Classifiers
from nnlab.results import Result, plain, written
from nnlab.training.batches import Batch
from nnlab.training.rundir import RunDir
from nnlab.training.trainer import Metrics, Step


@dataclasses.dataclass(frozen=True)
class Option:
    """A task-specific command-line flag that sets one config key (e.g. --data sets data.source)."""

    flag: str
    key: str
    help: str
    switch: bool = False  # a flag without a value that sets the key to true (e.g. --conditional)


@dataclasses.dataclass(frozen=True)
class VerbOption:
    """A flag of a run verb (`nnlab evaluate RUN`, `sample`, ...) that only some tasks take: the CLI builds its
    verbs from what the tasks declare, and a task refuses what it does not take (`reject_options`)."""

    flags: tuple[str, ...]
    dest: str  # the keyword the task's verb method takes
    help: str
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # argparse's type, action, const, choices


@dataclasses.dataclass
class Report(Result):
    """What `evaluate` found: numbers for report.json, lines for the terminal, files it wrote."""

    values: dict[str, Any]
    lines: list[str]
    files: list[Path] = dataclasses.field(default_factory=list)
    run: Path | None = None  # the run evaluated (set by nnlab.api): files are named relative to it

    def to_dict(self) -> dict[str, Any]:
        root = Path(self.run).resolve() if self.run else None
        return {**plain(self.values), "files": plain(self.files, root)}

    def text(self) -> list[str]:
        return [*self.lines, *map(written, self.files)]

    def save(self, run: RunDir, path: Path | None = None) -> None:
        """Into the run's report.json, or `path` (an evaluation against other data keeps the default one).

        Files inside the run are named relative to it, so the report stays true when the run folder moves."""
        inside = run.path.resolve()
        resolved = [(f, Path(f).resolve()) for f in self.files]
        files = [str(p.relative_to(inside)) if p.is_relative_to(inside) else str(f) for f, p in resolved]
        run.write_json(path or run.report_path, {**self.values, "files": files})


class Task:
    """Base class: subclasses set `name`, `config_class`, build their parts and define the steps."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")
    options: ClassVar[tuple[Option, ...]] = ()  # train's flags
    # the run verbs a trained run of this task answers (beside evaluate), with their task-specific flags
    verbs: ClassVar[Mapping[str, tuple[VerbOption, ...]]] = {"evaluate": ()}
    # settings that runs saved before a config key existed were trained with (a new default would
    # otherwise rebuild an old run as a model it never was), e.g. {"gan": {"g_average": 0.0}}
    saved_run_defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, config: Any, *, device: torch.device, data_dirs: Sequence[Path] = (),
                 classifiers: Classifiers | None = None):
        self.config = config
        self.device = device
        self.data_dirs = tuple(data_dirs)  # where to look for data sets the config names but does not locate
        self.classifiers = classifiers  # where a GAN's scoring classifier comes from (handed in by nnlab.api)
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.train_data: tuple[torch.Tensor, ...] = ()
        self.val_data: tuple[torch.Tensor, ...] | None = None

    @classmethod
    def recipe(cls, config: Any) -> Mapping[str, Any]:
        """Settings that differ by data set (e.g. epochs), layered under whatever the user set."""
        return {}

    def build(self, *, training: bool) -> None:
        """Load data and create models (and, when `training`, optimisers) on `self.device`."""
        raise NotImplementedError

    def train_step(self, batch: Batch, step: Step) -> Metrics:
        raise NotImplementedError

    def eval_step(self, batch: Batch, models: Mapping[str, nn.Module]) -> Metrics:
        raise NotImplementedError

    def evaluate(self, run: RunDir, **options: Any) -> Report:
        """Score the trained models on held-out data, write plots into the run, return the report.

        `options` are `nnlab evaluate`'s flags (e.g. reference, classifier); a task passes those it
        has no use for to `reject_options`.
        """
        raise NotImplementedError

    def epoch_end(self, epoch: int, run: RunDir) -> dict[str, float]:
        """Extra per-epoch work on rank 0 (sample grids, scores); returns extra metrics."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Task state beyond models and optimisers that a resume must restore (e.g. an RNG)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


def reject_options(given: Mapping[str, Any], task: str) -> None:
    """A one-line error for a command-line option that the run's task has no use for (e.g. --label on calogan)."""
    used = [name for name, value in given.items() if value not in (None, 0, False)]
    if used:
        raise ConfigError(f"--{used[0]} does not apply to {task} runs")
