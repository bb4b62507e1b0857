"""Particle-identification metrics: ROC per pair of classes, rejection at fixed efficiency, a cut baseline.

HEP convention: "signal efficiency" is the true-positive rate, "background efficiency" the
false-positive rate, and "rejection" its inverse.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnlab.evaluation.roc import roc_auc, roc_curve

WORKING_POINT = 0.9  # signal efficiency at which background rejection is quoted


def pairwise_roc(probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """For every pair (i, j), i the signal: ROC of p_i / (p_i + p_j) on the showers of those two classes."""
    results = []
    for i, j in itertools.combinations(range(len(class_names)), 2):
        keep = (labels == i) | (labels == j)
        score = probs[keep, i] / np.clip(probs[keep, i] + probs[keep, j], 1e-12, None)
        fpr, tpr, _ = roc_curve(labels[keep] == i, score)
        grid = np.linspace(0.0, 1.0, 201)
        background = float(np.interp(WORKING_POINT, tpr, fpr))
        results.append({"signal": class_names[i], "background": class_names[j],
                        "auc": roc_auc(labels[keep] == i, score),
                        "background_efficiency_at_90": background, "rejection_at_90": _rejection(background),
                        "n_background": int((labels == j).sum()),
                        "tpr": grid.tolist(), "fpr": np.interp(grid, tpr, fpr).tolist()})
    return results


def cut_baseline(observables: Mapping[str, Mapping[str, np.ndarray]], train_labels: np.ndarray,
                 test_labels: np.ndarray, *, variables: Sequence[str]) -> dict[str, Any]:
    """Two upper cuts (v1 < a and v2 < b) tuned on the training showers for 90% signal efficiency.

    Signal is class 0, background everything else. The thresholds are searched on a grid of
    signal quantiles; the pair that keeps >= 90% of the signal with the least background wins,
    then is applied unchanged to the test showers.
    """
    train = np.stack([observables["train"][v] for v in variables], axis=1)  # (N, 2)
    test = np.stack([observables["test"][v] for v in variables], axis=1)
    signal = train_labels == 0
    grid = np.quantile(train[signal], np.linspace(0.80, 1.0, 41), axis=0)  # (41, 2) candidate thresholds
    passes = (train[:, None, None, 0] < grid[None, :, None, 0]) & (train[:, None, None, 1] < grid[None, None, :, 1])
    signal_eff = passes[signal].mean(axis=0)
    background_eff = np.where(signal_eff >= WORKING_POINT, passes[~signal].mean(axis=0), np.inf)
    a, b = np.unravel_index(np.argmin(background_eff), background_eff.shape)
    thresholds = (float(grid[a, 0]), float(grid[b, 1]))
    test_pass = (test[:, 0] < thresholds[0]) & (test[:, 1] < thresholds[1])
    background = float(test_pass[test_labels != 0].mean())
    return {"variables": list(variables), "thresholds": list(thresholds),
            "signal_efficiency": float(test_pass[test_labels == 0].mean()),
            "background_efficiency": background, "rejection": _rejection(background)}


def energy_binned(probs: np.ndarray, labels: np.ndarray, energy_gev: np.ndarray, *,
                  edges_gev: np.ndarray) -> list[dict[str, Any]]:
    """Accuracy, and AUC of class 0 against the rest, in bins of incident energy."""
    bins = []
    for low, high in zip(edges_gev[:-1], edges_gev[1:]):
        inside = (energy_gev >= low) & (energy_gev < high)
        truth, p = labels[inside], probs[inside]
        both = len(np.unique(truth == 0)) == 2
        bins.append({"low_gev": float(low), "high_gev": float(high), "n": int(inside.sum()),
                     "accuracy": float(np.mean(p.argmax(1) == truth)) if inside.any() else float("nan"),
                     "auc": roc_auc(truth == 0, p[:, 0]) if both else None})
    return bins


def _rejection(background_efficiency: float) -> float:
    """1 / background efficiency; with no background left, the bound set by one event is not claimed."""
    return 1.0 / background_efficiency if background_efficiency > 0 else float("inf")
