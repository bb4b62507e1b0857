"""Stratified, seeded splits of labelled data that say in one line when a part cannot hold every class.

NumPy rather than scikit-learn's `train_test_split`, whose import alone costs about a second per command.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.errors import ConfigError


def stratified_split(*arrays: np.ndarray, labels: np.ndarray, seed: int, test_size: float | int | None = None,
                     train_size: float | int | None = None, what: str) -> list[Any]:
    """Split the rows of `arrays` into train and test parts with each class of `labels` in proportion.

    Laid out and sized as scikit-learn's `train_test_split` (a float test_size rounds up, a float train_size
    down, an int is a count, and a missing size is the rest): [a_train, a_test, b_train, b_test, ...], each
    part shuffled. Every class gets its share of each part to within one item, the totals exact (the largest
    remainders round up, first those of classes that would otherwise be left out). Where a part cannot hold
    every class (say, 1% of 150 flowers held out from 3 species), a ConfigError naming `what`.
    """
    n = len(labels)
    if any(len(array) != n for array in arrays):
        raise ValueError(f"stratified_split: arrays of {[len(a) for a in arrays]} rows for {n} labels")
    if test_size is None and train_size is None:
        raise ValueError("stratified_split: give test_size, train_size or both")
    n_test = _part_size(test_size, n, math.ceil)
    n_train = _part_size(train_size, n, math.floor)
    n_test = n - n_train if n_test is None else n_test
    n_train = n - n_test if n_train is None else n_train
    _, y = np.unique(labels, return_inverse=True)
    counts = np.bincount(y)
    if min(n_test, n_train) < 0 or n_test + n_train > n:
        test_per_class = train_per_class = np.zeros_like(counts)
    else:
        test_per_class = _allocate(counts, n_test, room=counts)
        train_per_class = _allocate(counts, n_train, room=counts - test_per_class)
    if min(test_per_class.min(), train_per_class.min()) < 1:
        raise ConfigError(f"{what}: too few to split with every class in each part ({n_train} train and {n_test} "
                          f"test of {n} items in {len(counts)} classes, the smallest of {counts.min()})")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    order = order[np.argsort(y[order], kind="stable")]  # by class, randomly within each
    rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # place of each row within its class
    test_end, train_end = test_per_class[y[order]], (test_per_class + train_per_class)[y[order]]
    train = rng.permutation(order[(rank >= test_end) & (rank < train_end)])
    test = rng.permutation(order[rank < test_end])
    return [part for array in arrays for part in (array[train], array[test])]


def _part_size(size: float | int | None, n: int, rounding: Callable[[float], int]) -> int | None:
    """A count as given, or a fraction of n rounded as scikit-learn rounds it."""
    if size is None or isinstance(size, (int, np.integer)):
        return size
    return int(rounding(size * n))


def _allocate(counts: np.ndarray, n_part: int, *, room: np.ndarray) -> np.ndarray:
    """Items per class for a part of n_part: each class's share rounded down or up, at most `room` of each."""
    share, remainder = np.divmod(counts * n_part, counts.sum())
    order = np.lexsort((-remainder, share > 0))  # the classes that would be left out first, then largest remainders
    order = order[share[order] < room[order]]
    share[order[: n_part - share.sum()]] += 1
    return share


def stratified_subset(x: np.ndarray, y: np.ndarray, *, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded subset of n training images (all of them when n is 0 or too large)."""
    if n <= 0 or n >= len(y):
        return x, y
    n_classes = len(np.unique(y))
    if n < n_classes:
        raise ConfigError(f"data.n_train {n} must be 0 (all images) or at least the {n_classes} classes")
    x_small, _, y_small, _ = stratified_split(x, y, labels=y, train_size=n, seed=seed,
                                              what=f"data.n_train {n} of the {len(y)} training images")
    return x_small, y_small


def hold_out(x: np.ndarray, y: np.ndarray, *, fraction: float, seed: int):
    """Split a stratified validation part off the training images; (train, None) when fraction is 0.

    `fraction` lies in [0, 1), as the config's range for data.val_fraction holds."""
    if fraction <= 0:
        return (x, y), None
    x_train, x_val, y_train, y_val = stratified_split(x, y, labels=y, test_size=fraction, seed=seed,
                                                      what=f"data.val_fraction {fraction} of {len(y)} training images")
    return (x_train, y_train), (x_val, y_val)
