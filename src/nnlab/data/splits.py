"""Stratified, seeded splits of labelled data that say in one line when a part cannot hold every class."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab.errors import ConfigError


def stratified_split(*arrays: np.ndarray, labels: np.ndarray, seed: int, test_size: float | int | None = None,
                     train_size: float | int | None = None, what: str) -> list[Any]:
    """scikit-learn's `train_test_split` of `arrays`, stratified by `labels`; where a part would be too small to
    hold every class (say, 1% of 150 flowers held out from 3 species), a ConfigError naming `what`."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(*arrays, test_size=test_size, train_size=train_size, stratify=labels,
                                random_state=seed)
    except ValueError as error:
        raise ConfigError(f"{what}: too few to split with every class in each part ({error})") from None
