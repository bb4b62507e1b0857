"""Fisher's Iris data (from scikit-learn, offline) with a stratified, seeded three-way split."""

from __future__ import annotations

import dataclasses

import numpy as np

FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
CLASSES = ("setosa", "versicolor", "virginica")


@dataclasses.dataclass(frozen=True)
class Split:
    """Features (N, 4) float32 and labels (N,) int64 of one part of the data."""

    x: np.ndarray
    y: np.ndarray


def load_iris_splits(*, test_fraction: float, val_fraction: float, seed: int) -> dict[str, Split]:
    """Split the 150 flowers into train/val/test, each with the three species in proportion."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    data = load_iris()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction, stratify=y_rest, random_state=seed)
    return {"train": Split(x_train, y_train), "val": Split(x_val, y_val), "test": Split(x_test, y_test)}
