"""Fisher's Iris data with a stratified, seeded three-way split.

The 150 flowers ship as iris.csv beside this module (Fisher 1936, via the UCI repository; copied once from
scikit-learn, whose copy has flowers 35 and 38 corrected to Fisher's paper), read with NumPy: importing
scikit-learn to load them cost about a second per command.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nnlab.data.splits import stratified_split

FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
CLASSES = ("setosa", "versicolor", "virginica")
IRIS_CSV = Path(__file__).with_name("iris.csv")  # four features in cm, then the class 0..2


@dataclasses.dataclass(frozen=True)
class Split:
    """Features (N, 4) float32 and labels (N,) int64 of one part of the data."""

    x: np.ndarray
    y: np.ndarray


def load_iris_splits(*, test_fraction: float, val_fraction: float, seed: int) -> dict[str, Split]:
    """Split the 150 flowers into train/val/test, each with the three species in proportion."""
    x, y = load_iris()
    x_rest, x_test, y_rest, y_test = stratified_split(
        x, y, labels=y, test_size=test_fraction, seed=seed,
        what=f"data.test_fraction {test_fraction} of the {len(y)} flowers")
    x_train, x_val, y_train, y_val = stratified_split(
        x_rest, y_rest, labels=y_rest, test_size=val_fraction, seed=seed,
        what=f"data.val_fraction {val_fraction} of the {len(y_rest)} flowers left after the test set")
    return {"train": Split(x_train, y_train), "val": Split(x_val, y_val), "test": Split(x_test, y_test)}


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """The 150 flowers: features (150, 4) float32 in the order of FEATURES, labels (150,) int64 indexing CLASSES."""
    table = np.loadtxt(IRIS_CSV, delimiter=",", ndmin=2)
    return table[:, :4].astype(np.float32), table[:, 4].astype(np.int64)
