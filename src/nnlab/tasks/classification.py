"""What every classifier task shares: the cross-entropy step, evaluation on the test split, plots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.evaluation.classification import classification_summary, format_summary
from nnlab.plots.training import plot_confusion, plot_history
from nnlab.tasks.base import Report, Task, reject_options
from nnlab.training.batches import Batch, eval_batches
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import autocast
from nnlab.training.trainer import Metrics, Step


class ClassifierTask(Task):
    """A task with one network "model" mapping inputs to class logits; subclasses load the data.

    Batches are tuples (*inputs, labels); `logits` says how the inputs enter the model.
    """

    monitor = ("val_loss", "min")
    class_names: tuple[str, ...] = ()
    test_data: tuple[torch.Tensor, ...]

    def logits(self, model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return model(*inputs)  # (B, n_classes)

    def train_step(self, batch: Batch, step: Step) -> Metrics:
        *inputs, y = batch
        with step.autocast():
            logits = self.logits(step.models["model"], tuple(inputs))
            loss = F.cross_entropy(logits.float(), y, label_smoothing=self.config.train.label_smoothing)
        step.update(loss)
        return {"loss": loss.detach(), "acc": (logits.argmax(1) == y).float().mean()}

    def eval_step(self, batch: Batch, models: Mapping[str, nn.Module]) -> Metrics:
        *inputs, y = batch
        logits = self.logits(models["model"], tuple(inputs))
        return {"loss": F.cross_entropy(logits.float(), y), "acc": (logits.argmax(1) == y).float().mean()}

    @torch.no_grad()
    def probabilities(self, inputs: tuple[torch.Tensor, ...], *, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (N, n_classes) of the trained model, in eval mode, batched."""
        model = self.models["model"].eval()
        parts = []
        for chunk in eval_batches(inputs, batch_size=batch_size):
            with autocast(self.device, self.config.train.precision):
                logits = self.logits(model, tuple(t.to(self.device) for t in chunk))
            parts.append(torch.softmax(logits.float(), dim=1).cpu())
        return torch.cat(parts).numpy()

    def evaluate(self, run: RunDir, **unsupported: Any) -> Report:
        """Accuracy, per-class precision/recall and the confusion matrix on the test split."""
        reject_options(unsupported, self.name)
        *inputs, y = self.test_data
        probs = self.probabilities(tuple(inputs))
        summary = classification_summary(y.numpy(), probs.argmax(1), self.class_names)
        files = [plot_confusion(summary["confusion_matrix"], self.class_names,
                                run.plots_dir / "confusion_matrix.png")]
        history = run.read_metrics()
        if history:
            files.append(plot_history(history, run.plots_dir / "history.png", run=run.path.name))
        files += self.extra_plots(run, probs)
        report = Report({"test": summary}, format_summary(summary), files)
        report.save(run)
        return report

    def extra_plots(self, run: RunDir, probs: np.ndarray) -> list:
        """Task-specific pictures of the test predictions (none by default)."""
        return []
