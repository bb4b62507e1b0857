"""The one training loop: epochs, autocast, evaluation, metrics, checkpoints, resume, early stopping, DDP.

It knows nothing of the domain. A task hands it models, optimisers, tensors and two step
functions; a supervised step and a GAN step (D then G) differ only inside `train_step`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import torch
from torch import nn

from nnlab.config import TrainConfig
from nnlab.errors import CheckpointError, NnlabError
from nnlab.progress import progress
from nnlab.training import distributed
from nnlab.training.batches import Batch, eval_batches, train_batches
from nnlab.training.checkpoint import (config_metadata, copied_state, load_state, payload_for_disk,
                                       save_checkpoint, save_weights_state)
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import Launch, autocast
from nnlab.training.schedules import lr_factor
from nnlab.training.tracking import TensorBoardLog

log = logging.getLogger("nnlab")

SNAPSHOT_EVERY_S = 1.0  # tiny epochs: refresh the in-memory snapshot at most this often (0.5 ms each on Iris)

Metrics = dict[str, torch.Tensor]


class TrainingError(NnlabError):
    """Training cannot go on (for example the loss became NaN); the last good checkpoint is kept."""


class Trainable(Protocol):
    """What a task gives the Trainer. `models` and `optimizers` are keyed by name ("model", "G", "D")."""

    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    train_data: tuple[torch.Tensor, ...]
    val_data: tuple[torch.Tensor, ...] | None
    monitor: tuple[str, str]  # (metric, "min" | "max") for best checkpoint and early stopping

    def train_step(self, batch: Batch, step: Step) -> Metrics: ...
    def eval_step(self, batch: Batch, models: Mapping[str, nn.Module]) -> Metrics: ...
    def epoch_end(self, epoch: int, run: RunDir) -> dict[str, float]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class Step:
    """What a train step may touch: the (DDP-wrapped) models, autocast, and `update` for one optimiser."""

    def __init__(self, trainer: Trainer, models: dict[str, nn.Module]):
        self._trainer = trainer
        self.models = models
        self.device = trainer.device
        self.epoch = 0
        self.global_step = 0

    def autocast(self):
        """Wrap forward passes and losses (not backward) in this for `--precision bf16-mixed`."""
        return autocast(self.device, self._trainer.cfg.precision)

    @contextlib.contextmanager
    def frozen(self, name: str) -> Iterator[nn.Module]:
        """The plain (unwrapped) model `name` with its weights frozen, e.g. a GAN's D during G's step:
        no gradients are computed for it, and DDP has nothing to synchronise."""
        model = distributed.unwrap(self.models[name])
        model.requires_grad_(False)
        try:
            yield model
        finally:
            model.requires_grad_(True)

    def update(self, loss: torch.Tensor, optimizer: str = "model") -> None:
        """Zero the gradients, backpropagate `loss`, clip, step the optimiser and its schedule."""
        opt = self._trainer.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self._trainer.cfg.grad_clip > 0:
            params = [p for group in opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self._trainer.cfg.grad_clip)
        opt.step()
        scheduler = self._trainer.schedulers.get(optimizer)
        if scheduler is not None:  # no scheduler object at all for a constant rate: one call less per step
            # the schedule runs on batches: an optimiser that steps every few batches (a GAN's G with
            # d_steps > 1) catches up, so that every rate follows the same curve over the run
            for _ in range(self.global_step + 1 - scheduler.last_epoch):
                scheduler.step()


class Trainer:
    """`setup(task)` then `fit(run)`; only rank 0 writes files, logs and shows progress."""

    def __init__(self, cfg: TrainConfig, *, device: torch.device, launch: Launch, task_name: str,
                 config: Mapping[str, Any]):
        self.cfg, self.device, self.launch = cfg, device, launch
        self.task_name, self.config = task_name, dict(config)
        self.run: RunDir | None = None
        self.task: Trainable | None = None
        self.step: Step | None = None
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = {}
        self.history: list[dict[str, float]] = []
        self.best: dict[str, float] | None = None
        self.bad_epochs = 0
        self._pending: dict[str, Any] | None = None  # the latest end-of-epoch state, not yet on disk
        self._pending_best: dict[str, Any] | None = None  # the best epoch's weights, not yet on disk
        self._saved_at = 0.0
        self._snapshot_at: float | None = None
        self._stopped_at_batch: int | None = None  # the time budget ran out after this batch of the last epoch
        self.stopped_by = ""  # why training ended before its last epoch: "early stopping", "the time budget"
        self._tracker: TensorBoardLog | None = None
        self.steps_per_epoch = 1

    @property
    def per_rank_batch(self) -> int:
        return self.cfg.batch_size // self.launch.world_size

    def setup(self, task: Trainable, *, checkpoint: Mapping[str, Any] | None = None) -> None:
        """Wrap the models for DDP, make the schedules and, when resuming, restore every state.

        Kept apart from `fit` so that a checkpoint that does not fit fails before anything is written.
        """
        if self.cfg.logger == "tensorboard" and self.launch.is_main:
            TensorBoardLog.writer_class()
        self.task, self.optimizers = task, task.optimizers
        self.step = Step(self, {name: distributed.wrap(m, self.device) for name, m in task.models.items()})
        self._make_schedulers(len(task.train_data[0]))
        if checkpoint is not None:
            try:
                self._restore(task, checkpoint)
            except (KeyError, TypeError, ValueError, IndexError) as error:  # checked fields, inconsistent values
                raise CheckpointError(f"the checkpoint does not fit this run ({' '.join(str(error).split())[:160]})"
                                      ) from None
        self.step.global_step = int(self.history[-1]["step"]) if self.history else 0

    def fit(self, run: RunDir | None) -> list[dict[str, float]]:
        """Train the set-up task up to the configured epochs, saving into `run` (rank 0); return the history."""
        self.run, self._saved_at, self._snapshot_at = run, time.monotonic(), None
        if len(self.history) < self.cfg.epochs and self._out_of_time():  # a resumed run that used its budget
            self.stopped_by = "the time budget"
            if self.launch.is_main:
                log.info(f"time budget: {self._seconds_trained:.3g} s of {self.cfg.time_budget_s:g} s already "
                         f"trained, nothing to do (raise --time-budget to train on)")
            return self.history
        if self.cfg.logger == "tensorboard" and self.launch.is_main and run is not None:
            self._tracker = TensorBoardLog(run.path / "tensorboard")
        try:
            for epoch in range(len(self.history), self.cfg.epochs):
                if self._run_epoch(epoch):
                    break
        except RuntimeError as error:
            if lost := distributed.lost_process(error):
                raise TrainingError(lost) from None
            raise
        finally:
            self._flush()  # Ctrl-C or an error mid-epoch loses at most that epoch
            if self._tracker is not None:
                self._tracker.close()
        return self.history

    def _run_epoch(self, epoch: int) -> bool:
        """Train and evaluate one epoch and record it; return True to stop early."""
        task, step = self.task, self.step
        step.epoch = epoch
        started = time.perf_counter()
        train_row, self._stopped_at_batch = self._train_epoch(task, step, started=started)
        row = {"epoch": epoch + 1, **train_row}
        row.update(self._evaluate(task))
        if self.launch.is_main and self.run is not None:
            row.update(task.epoch_end(epoch, self.run))
        row["step"], row["lr"] = step.global_step, self._current_lr()
        row["seconds"] = round(time.perf_counter() - started, 3)  # wall time of the epoch, scoring included
        self._check_finite(row)
        self.history.append(row)
        if self._tracker is not None:
            self._tracker.epoch(row)
        return self._after_epoch(task, row, seconds=row["seconds"])

    def _make_schedulers(self, n_train: int) -> None:
        shard = math.ceil(n_train / self.launch.world_size)
        self.steps_per_epoch = steps_per_epoch = max(1, math.ceil(shard / self.per_rank_batch))
        factor = lr_factor(self.cfg.scheduler, steps_per_epoch=steps_per_epoch,
                           total_steps=steps_per_epoch * self.cfg.epochs, gamma=self.cfg.step_gamma,
                           warmup=self.cfg.warmup)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, factor)
                           for name, opt in self.optimizers.items() if self.cfg.scheduler != "none"}

    def _train_epoch(self, task: Trainable, step: Step, *, started: float) -> tuple[dict[str, float], int | None]:
        """Train one epoch: its metrics, and the batch it stopped after when the time budget ran out in it."""
        for model in task.models.values():
            model.train()
        records: list[tuple[Metrics, int]] = []
        batches = train_batches(task.train_data, batch_size=self.per_rank_batch, seed=self.cfg.seed,
                                epoch=step.epoch, rank=self.launch.rank, world_size=self.launch.world_size)
        deadline = started + self.cfg.time_budget_s - self._seconds_trained if self.cfg.time_budget_s else None
        stopped_at = None
        shown = progress(batches, f"epoch {step.epoch + 1}/{self.cfg.epochs}", total=self.steps_per_epoch,
                         unit="batch", enabled=self.launch.is_main)
        for index, batch in enumerate(shown, start=1):
            batch = tuple(t.to(self.device, non_blocking=True) for t in batch)
            records.append((task.train_step(batch, step), len(batch[0])))
            step.global_step += 1
            if deadline is not None and self._past(deadline):
                stopped_at = index
                break
        if stopped_at == self.steps_per_epoch:
            stopped_at = None  # the budget ran out with the epoch's last batch: a whole epoch
        return _reduce(records, prefix="train_"), stopped_at

    def _past(self, deadline: float) -> bool:
        """Whether the clock has passed `deadline`; under DDP, whether any rank's has (all stop at the same step)."""
        past = time.perf_counter() >= deadline
        if distributed.is_active():
            return bool(distributed.all_reduce_sum(torch.tensor([float(past)])).item())
        return past

    @torch.no_grad()
    def _evaluate(self, task: Trainable) -> dict[str, float]:
        if task.val_data is None:
            return {}
        for model in task.models.values():
            model.eval()
        records: list[tuple[Metrics, int]] = []
        for batch in eval_batches(task.val_data, batch_size=max(self.per_rank_batch, 256),
                                  rank=self.launch.rank, world_size=self.launch.world_size):
            batch = tuple(t.to(self.device, non_blocking=True) for t in batch)
            with autocast(self.device, self.cfg.precision):
                records.append((task.eval_step(batch, task.models), len(batch[0])))
        return _reduce(records, prefix="val_")

    def _after_epoch(self, task: Trainable, row: dict[str, float], *, seconds: float) -> bool:
        """Track the best epoch, snapshot the state, save when due, log; return True to stop early."""
        metric, mode = task.monitor
        if metric not in row and task.val_data is None:
            metric, mode = "train_loss", "min"
        value = row.get(metric)  # a task without its metric this epoch: the latest epoch counts as best
        improved = (value is None or self.best is None or self.best["value"] is None
                    or (value < self.best["value"] if mode == "min" else value > self.best["value"]))
        if improved:
            self.best, self.bad_epochs = {"value": value, "epoch": row["epoch"], "metric": metric}, 0
            self._remember_best(task)
        else:
            self.bad_epochs += 1
        patience = self.cfg.early_stopping
        stop = bool(patience) and self.bad_epochs >= patience
        out_of_time = not stop and (self._stopped_at_batch is not None
                                    or (row["epoch"] < self.cfg.epochs and self._out_of_time()))
        self.stopped_by = "the time budget" if out_of_time else "early stopping" if stop else ""
        stop = stop or out_of_time
        flush_due = (stop or row["epoch"] == self.cfg.epochs
                     or time.monotonic() - self._saved_at >= self.cfg.checkpoint_every_s)
        if flush_due or self._snapshot_due():
            self._snapshot(task)
        if flush_due:
            self._flush()
        if self.launch.is_main and log.isEnabledFor(logging.INFO):
            log.info(_summary(row, self.cfg.epochs, seconds))
            if out_of_time:
                self._log_out_of_time()
            elif stop:
                log.info(f"early stopping: {metric} has not improved for {patience} epochs "
                         f"(best {self.best['value']:.4g} at epoch {self.best['epoch']})")
        return stop

    def _out_of_time(self) -> bool:
        """Whether the epochs so far (their evaluation and scoring included) have used the time budget.

        Rank 0's clock decides for every rank (each rank times its own epochs), so all stop together.
        """
        budget = self.cfg.time_budget_s
        if not budget or not self.history:
            return False
        return bool(distributed.broadcast_object(self._seconds_trained >= budget))

    @property
    def _seconds_trained(self) -> float:
        """Wall time of the epochs in the history, resumed ones included (scoring counts as training)."""
        return sum(row["seconds"] for row in self.history)

    def _log_out_of_time(self) -> None:
        if self.launch.is_main:
            where = (f"batch {self._stopped_at_batch} of {self.steps_per_epoch} in epoch {len(self.history)}"
                     if self._stopped_at_batch else f"epoch {len(self.history)}")
            log.info(f"time budget: stopped after {where} of {self.cfg.epochs}: {self._seconds_trained:.3g} s "
                     f"trained of {self.cfg.time_budget_s:g} s")

    def _snapshot_due(self) -> bool:
        """Snapshot after the first epoch, then at most every SNAPSHOT_EVERY_S (every epoch under DDP,
        where all ranks must take part and a clock would not agree)."""
        return (self.launch.distributed or self._snapshot_at is None
                or time.monotonic() - self._snapshot_at >= SNAPSHOT_EVERY_S)

    def _snapshot(self, task: Trainable) -> None:
        """Copy the end-of-epoch state into memory; `_flush` writes it (also on Ctrl-C or an error)."""
        rng = torch.stack(distributed.all_gather(torch.get_rng_state()))  # every rank's dropout stream
        self._snapshot_at = time.monotonic()
        if not self.launch.is_main or self.run is None:
            return
        self._pending = {
            "task": self.task_name, "config": self.config, "history": list(self.history),  # rows are never mutated
            "best": dict(self.best), "bad_epochs": self.bad_epochs, "rng": rng,
            **copied_state({
                "models": {n: distributed.unwrap(m).state_dict() for n, m in task.models.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "task_state": task.state_dict(),
            }),
        }

    def _remember_best(self, task: Trainable) -> None:
        """Copy the weights of a new best epoch (weights only: cheap enough for every improving epoch)."""
        if not self.launch.is_main or self.run is None:
            return
        self._pending_best = {
            "task": self.task_name, "config": self.config, "history": list(self.history), "best": dict(self.best),
            "models": copied_state({n: distributed.unwrap(m).state_dict() for n, m in task.models.items()}),
        }

    def _flush(self) -> None:
        """Write the latest snapshot (last.pt, metrics.csv) and a new best (best.pt, model.safetensors)."""
        pending, best = self._pending, self._pending_best
        self._pending = self._pending_best = None  # a write that fails is not tried again on the way out
        if best is not None:  # first: last.pt, the resume point, never passes a best epoch left unsaved
            save_weights_state(self.run.weights_path, best["models"],
                               metadata=config_metadata(self.task_name, self.config))
            save_checkpoint(self.run.best_path, payload_for_disk(best))
        if pending is not None:
            save_checkpoint(self.run.last_path, payload_for_disk(pending))
            self.run.write_metrics(pending["history"])
        self._saved_at = time.monotonic()

    def _restore(self, task: Trainable, checkpoint: Mapping[str, Any]) -> None:
        """Put models, optimisers, schedules, RNG streams and task state back where the run stopped."""
        source = "the checkpoint"
        for name, model in task.models.items():
            load_state(model, checkpoint["models"][name], what=f"'{name}' weights", source=source)
        for name, opt in self.optimizers.items():
            load_state(opt, checkpoint["optimizers"][name], what=f"'{name}' optimiser state", source=source)
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(checkpoint["schedulers"].get(name, {}))
        rng = checkpoint["rng"]
        torch.set_rng_state(rng[self.launch.rank % len(rng)])
        task.load_state_dict(checkpoint["task_state"])
        self.history = json.loads(checkpoint["history_json"])
        self.best, self.bad_epochs = checkpoint["best"], checkpoint["bad_epochs"]

    def _current_lr(self) -> float:
        first = next(iter(self.optimizers.values()))
        return float(first.param_groups[0]["lr"])

    def _check_finite(self, row: Mapping[str, float]) -> None:
        bad = [key for key, value in row.items() if key.endswith("loss") and not math.isfinite(value)]
        if bad:
            raise TrainingError(f"{bad[0]} became {row[bad[0]]} in epoch {row['epoch']} "
                                f"(try a lower --lr or --set train.grad_clip=1)")


def _reduce(records: list[tuple[Metrics, int]], *, prefix: str) -> dict[str, float]:
    """Batch-size-weighted means of each metric over every rank's batches that reported it.

    The batches' metrics are collected during the epoch and summed here in one tensor op and
    plain Python; counts are per metric, so a metric that only some steps report (a GAN's G
    loss when D trains several times per G step) is averaged over those steps. Sums and
    counts are all-reduced across ranks before dividing.
    """
    keys = sorted({key for metrics, _ in records for key in metrics})
    if not keys:
        return {}
    flat = [(key, metrics[key], n) for metrics, n in records for key in keys if key in metrics]
    scalars = [value if value.dim() == 0 else value.reshape(()) for _, value, _ in flat]
    values = torch.stack(scalars).detach().double().tolist()  # one op and one sync for the whole epoch
    sums = dict.fromkeys(keys, 0.0)
    counts = dict.fromkeys(keys, 0.0)
    for (key, _, n), value in zip(flat, values):
        sums[key] += value * n
        counts[key] += n
    if distributed.is_active():
        totals = distributed.all_reduce_sum(torch.tensor([[sums[k], counts[k]] for k in keys], dtype=torch.float64))
        sums, counts = dict(zip(keys, totals[:, 0].tolist())), dict(zip(keys, totals[:, 1].tolist()))
    return {prefix + key: sums[key] / counts[key] for key in keys}


def _summary(row: Mapping[str, float], epochs: int, seconds: float) -> str:
    parts = [f"epoch {int(row['epoch'])}/{epochs}"]
    parts += [f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch", "step", "lr", "seconds")]
    parts += [f"lr {row['lr']:.2e}", f"{seconds:.2f}s"]
    return "  ".join(parts)
