"""Particle-ID metrics on hand-made scores with known answers."""

import math

import numpy as np
import pytest

from nnlab.evaluation.calo_classification import cut_baseline, energy_binned, pairwise_roc


def test_perfectly_separated_pair_has_auc_one_and_no_background():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    (pair,) = pairwise_roc(probs, np.array([0, 0, 1, 1]), ("gamma", "piplus"))
    assert pair["auc"] == 1.0 and pair["background_efficiency_at_90"] == 0.0
    assert math.isinf(pair["rejection_at_90"])


def test_random_scores_give_auc_one_half_and_background_equal_to_signal_efficiency():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    probs = np.stack([p, 1 - p], axis=1)
    (pair,) = pairwise_roc(probs, rng.integers(0, 2, 200_000), ("a", "b"))
    assert pair["auc"] == pytest.approx(0.5, abs=0.01)
    assert pair["background_efficiency_at_90"] == pytest.approx(0.9, abs=0.01)  # a coin keeps 90% of both


def test_pairs_use_only_their_two_classes():
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    pairs = pairwise_roc(probs, np.array([0, 1, 2]), ("e", "g", "p"))
    assert [(p["signal"], p["background"]) for p in pairs] == [("e", "g"), ("e", "p"), ("g", "p")]
    assert all(p["auc"] == 1.0 for p in pairs)


def test_cut_baseline_finds_the_separating_thresholds():
    # signal below (1, 1), background above it in both variables: a 100%/0% cut exists
    rng = np.random.default_rng(1)
    signal = rng.uniform(0, 1, (500, 2))
    background = rng.uniform(2, 3, (500, 2))
    values = np.concatenate([signal, background])
    labels = np.repeat([0, 1], 500)
    observables = {part: {"a": values[:, 0], "b": values[:, 1]} for part in ("train", "test")}
    result = cut_baseline(observables, labels, labels, variables=("a", "b"))
    assert result["signal_efficiency"] >= 0.9 and result["background_efficiency"] == 0.0


def test_energy_bins_count_and_score():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    labels = np.array([0, 1, 0, 1])
    bins = energy_binned(probs, labels, np.array([5.0, 15.0, 55.0, 65.0]), edges_gev=np.array([0.0, 50.0, 100.0]))
    assert [b["n"] for b in bins] == [2, 2]
    assert bins[0]["accuracy"] == 1.0 and bins[0]["auc"] == 1.0
    assert bins[1]["accuracy"] == 0.0 and bins[1]["auc"] == 0.0
