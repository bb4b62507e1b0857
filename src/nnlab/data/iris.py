"""Fisher's Iris data (from scikit-learn, offline) with a stratified, seeded three-way split."""

from __future__ import annotations

import dataclasses

import numpy as np

from nnlab.data.splits import stratified_split

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

    data = load_iris()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = stratified_split(
        x, y, labels=y, test_size=test_fraction, seed=seed,
        what=f"data.test_fraction {test_fraction} of the {len(y)} flowers")
    x_train, x_val, y_train, y_val = stratified_split(
        x_rest, y_rest, labels=y_rest, test_size=val_fraction, seed=seed,
        what=f"data.val_fraction {val_fraction} of the {len(y_rest)} flowers left after the test set")
    return {"train": Split(x_train, y_train), "val": Split(x_val, y_val), "test": Split(x_test, y_test)}
