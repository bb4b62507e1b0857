"""Generative metrics: Frechet distance against analytic Gaussians and scipy, k-NN precision/recall, histograms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from nnlab.evaluation import generative
from nnlab.evaluation.fid_cnn import FeatureSpace, memorisation
from nnlab.evaluation.generative import (class_histogram, frechet_distance, kernel_distance, nearest_neighbours,
                                        precision_recall)


def _exact_gaussian_sample(mean: np.ndarray, cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n points (n, d) whose sample mean and unbiased covariance are exactly `mean` and `cov`."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(axis=0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)))
    return x @ whiten.T @ np.linalg.cholesky(cov).T + mean


def test_a_set_against_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((500, 16))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def test_same_covariance_shifted_by_delta_gives_the_squared_shift():
    # equal covariances cancel in the trace term: FD = ||delta||^2 (Dowson & Landau 1982)
    rng = np.random.default_rng(1)
    root = rng.standard_normal((5, 5))
    cov, delta = root @ root.T + np.eye(5), np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    a = _exact_gaussian_sample(np.zeros(5), cov, 400, seed=2)
    assert frechet_distance(a, a + delta) == pytest.approx(np.sum(delta**2), rel=1e-9)


def test_diagonal_covariances_give_the_sum_of_squared_root_differences():
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    a = _exact_gaussian_sample(mean_a, np.diag(var_a), 300, seed=3)
    b = _exact_gaussian_sample(mean_b, np.diag(var_b), 200, seed=4)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)  # 5 + 4 + 1
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_matches_scipy_sqrtm_on_correlated_features():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 8)) @ rng.standard_normal((8, 8))
    b = rng.standard_normal((250, 8)) @ rng.standard_normal((8, 8)) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real  # the textbook (pytorch-fid) formula
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_grows_monotonically_with_the_shift_and_survives_rank_deficiency():
    a = np.random.default_rng(6).standard_normal((200, 4))
    distances = [frechet_distance(a, a + s) for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(distances) > 0)
    flat = np.zeros((50, 4))  # zero covariance: every eigenvalue is 0, some round to -1e-17
    flat[:, 0] = np.linspace(0, 1, 50)
    assert np.isfinite(frechet_distance(flat, a)) and frechet_distance(flat, flat) == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match="one width"):
        frechet_distance(a, a[:, :3])


def _two_modes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.where(np.arange(n)[:, None] % 2 == 0, -10.0, 10.0) * np.ones(3)  # alternating modes
    return centres + rng.standard_normal((n, 3))


def test_precision_recall_identical_sets_are_perfect():
    x = np.random.default_rng(7).standard_normal((200, 5))
    assert precision_recall(x, x) == (1.0, 1.0)


def test_precision_recall_one_mode_of_two_is_precise_but_half_recalled():
    real = _two_modes(400, seed=8)
    fake = np.random.default_rng(9).standard_normal((200, 3)) + 10.0  # only the +10 mode
    precision, recall = precision_recall(real, fake, k=3)
    assert precision > 0.9
    assert recall == pytest.approx(0.5, abs=0.06)


def test_precision_recall_disjoint_sets_score_zero_and_chunking_changes_nothing(monkeypatch):
    real = np.random.default_rng(10).standard_normal((150, 4))
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    fake = np.random.default_rng(11).standard_normal((120, 4)) + 0.7
    whole = precision_recall(real, fake)
    monkeypatch.setattr(generative, "MAX_CHUNK_ELEMENTS", 700)  # a few rows per chunk
    assert precision_recall(real, fake) == whole
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(real[:3], fake, k=3)


def test_class_histogram_counts_fractions_and_rejects_bad_labels():
    hist = class_histogram(np.array([0, 1, 1, 3, 3, 3]), 5)
    np.testing.assert_allclose(hist, [1 / 6, 2 / 6, 0, 3 / 6, 0])
    with pytest.raises(ValueError):
        class_histogram(np.array([0, 5]), 5)


def test_nearest_neighbours_agree_with_brute_force(monkeypatch):
    rng = np.random.default_rng(12)
    queries, refs = rng.standard_normal((40, 6)), rng.standard_normal((90, 6))
    monkeypatch.setattr(generative, "MAX_CHUNK_ELEMENTS", 500)
    indices, distances = nearest_neighbours(queries, refs, k=2)
    full = np.linalg.norm(queries[:, None] - refs[None], axis=2)  # (40, 90)
    np.testing.assert_array_equal(indices, np.argsort(full, axis=1)[:, :2])
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :2], rtol=1e-10)
    copies_idx, copies_dist = nearest_neighbours(refs[:5], refs)  # memorised samples sit at distance 0
    np.testing.assert_array_equal(copies_idx[:, 0], np.arange(5))
    np.testing.assert_allclose(copies_dist, 0, atol=1e-6)


def _pixel_space() -> FeatureSpace:
    """A feature space whose features are the pixels themselves."""
    model = nn.Module()
    model.standardize, model.network = nn.Identity(), nn.Module()
    model.network.features, model.network.head = nn.Flatten(), nn.Linear(16, 2)
    return FeatureSpace(model.eval(), "pixels", torch.device("cpu"))


def test_memorisation_finds_the_copied_training_images_and_a_ratio_near_0():
    rng = np.random.default_rng(3)
    train, test = rng.random((50, 4, 4)), rng.random((30, 4, 4))
    space = _pixel_space()
    train_features, test_features = space.embed(train)[0], space.embed(test)[0]
    copied = [7, 41, 2]
    nearest, ratio = memorisation(space, train[copied] + 1e-4, train_features, test_features)
    np.testing.assert_array_equal(nearest, copied)
    assert ratio < 0.01  # copies sit next to their originals, fresh images do not
    _, fresh = memorisation(space, rng.random((30, 4, 4)), train_features, test_features)
    assert 0.7 < fresh < 1.4  # new images of the same law: as far from the training set as the test images


@pytest.mark.parametrize("source", ["..", ".", "../..", "a/b", "/", "odd name\nwith a newline", "data"])
def test_a_classifier_cache_folder_is_a_derived_name_inside_the_cache(tmp_path, source):
    from nnlab.evaluation.fid_cnn import cache_name

    classifiers = tmp_path / "classifiers"
    name = cache_name(source)
    assert (classifiers / name).resolve().parent == classifiers.resolve()  # `--data ..` once named the cache itself
    assert name.replace("-", "").replace("_", "").isalnum() and name not in (".", "..")
    assert cache_name("mnist-5k") == "mnist-5k" and cache_name("fashion-mnist") == "fashion-mnist"


def test_kernel_distance_is_the_unbiased_mmd_of_the_cubic_kernel():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, 1.0, size=(12, 5))
    k = lambda a, b: (a @ b / 5 + 1) ** 3  # noqa: E731 - the kernel, written as in the paper
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(12) for j in range(12) if i != j) / (12 * 11)
    across = sum(k(x[i], y[j]) for i in range(12) for j in range(12)) / 144
    mean, error = kernel_distance(x, y, n_subsets=1, subset_size=12)  # one subset: all of both sets
    assert mean == pytest.approx(within - 2 * across, rel=1e-12) and error == 0.0


def test_kernel_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 16))
    mean, error = kernel_distance(x[:1500], x[1500:], n_subsets=50, subset_size=500)  # a set against itself
    assert abs(mean) < 3 * error and error < 0.01
    overlapping, _ = kernel_distance(x, x, n_subsets=50, subset_size=500)
    assert overlapping < -3 * error  # the same vectors in both subsets: biased low, as the docstring warns
    same_law, error = kernel_distance(x, rng.normal(size=(3000, 16)), n_subsets=50, subset_size=500)
    assert abs(same_law) < 3 * error
    shifted = [kernel_distance(x, x + shift, n_subsets=20, subset_size=500)[0] for shift in (0.1, 0.3, 1.0)]
    assert 0 < shifted[0] < shifted[1] < shifted[2]
    assert shifted[0] > 3 * error  # a shift of a tenth of a standard deviation already shows
