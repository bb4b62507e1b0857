"""Iris with an MLP: the lecture's "basic usage of PyTorch" hands-on, as a reusable task."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnlab.config import TrainConfig, choices, in_range
from nnlab.data.iris import CLASSES, FEATURES, load_iris_splits
from nnlab.data.tables import read_rows
from nnlab.files import write_text_atomic
from nnlab.models.mlp import MLP, Standardize
from nnlab.results import Predictions
from nnlab.tasks.classification import ClassifierTask
from nnlab.training.schedules import make_optimizer


@dataclasses.dataclass(frozen=True)
class IrisData:
    test_fraction: float = in_range("(0, 1)", default=0.2)  # 30 test flowers
    val_fraction: float = in_range("[0, 1)", default=0.2)  # of the rest: 24 validation, 96 training flowers
    split_seed: int = in_range("[0, inf)", default=0)


@dataclasses.dataclass(frozen=True)
class IrisModel:
    hidden_dims: tuple[int, ...] = in_range("[1, inf)", default=(16,))
    activation: str = choices("relu", "tanh", "sigmoid", default="relu")
    dropout: float = in_range("[0, 1)", default=0.0)


@dataclasses.dataclass(frozen=True)
class IrisConfig:
    data: IrisData = dataclasses.field(default_factory=IrisData)
    model: IrisModel = dataclasses.field(default_factory=IrisModel)
    train: TrainConfig = dataclasses.field(
        # float32 rather than auto: batches of 16 flowers gain nothing from bf16 (2-3 ms an epoch either way)
        default_factory=lambda: TrainConfig(epochs=60, batch_size=16, lr=0.01, precision="32"))


class IrisTask(ClassifierTask):
    """Three species from four flower measurements, standardised inside the model."""

    name = "iris"
    config_class = IrisConfig
    class_names = CLASSES
    verbs = {"evaluate": (), "predict": ()}

    def build(self, *, training: bool) -> None:
        cfg = self.config
        splits = load_iris_splits(test_fraction=cfg.data.test_fraction, val_fraction=cfg.data.val_fraction,
                                  seed=cfg.data.split_seed)
        tensors = {part: (torch.from_numpy(s.x), torch.from_numpy(s.y)) for part, s in splits.items()}
        self.train_data, self.val_data, self.test_data = tensors["train"], tensors["val"], tensors["test"]
        x_train = tensors["train"][0]
        model = nn.Sequential(
            Standardize(x_train.mean(0), x_train.std(0)),
            MLP(len(FEATURES), cfg.model.hidden_dims, len(CLASSES),
                activation=cfg.model.activation, dropout=cfg.model.dropout))
        self.models = {"model": model.to(self.device)}
        if training:
            self.optimizers = {"model": make_optimizer(model.parameters(), cfg.train)}

    def predict(self, source: str, *, output_path: Path | None = None) -> Predictions:
        """Classify flowers given as a CSV file or inline numbers; optionally write a CSV of results."""
        x = read_rows(source, columns=FEATURES)
        probs = self.probabilities((torch.from_numpy(x),))
        lines = [f"{','.join(f'{v:g}' for v in row)} -> {CLASSES[int(np.argmax(p))]}  ("
                 + ", ".join(f"{name} {q:.3f}" for name, q in zip(CLASSES, p)) + ")"
                 for row, p in zip(x, probs)]
        if output_path is not None:
            import csv
            import io

            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")  # quotes any field that needs it
            writer.writerow([*FEATURES, "predicted", *(f"p_{c}" for c in CLASSES)])
            writer.writerows([*(f"{v:g}" for v in row), CLASSES[int(np.argmax(p))], *(f"{q:.6f}" for q in p)]
                             for row, p in zip(x, probs))
            write_text_atomic(output_path, text.getvalue())
            lines.append(f"wrote {output_path}")
        return Predictions([",".join(f"{v:g}" for v in row) for row in x], list(CLASSES),
                           [CLASSES[int(np.argmax(p))] for p in probs], probs.tolist(), output=output_path, lines=lines)
