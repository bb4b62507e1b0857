"""Scores for a generator, computed on feature vectors (lecture: "evaluating generative models").

The caller extracts the features, e.g. a trained classifier's penultimate layer ("FID-CNN"
in place of Inception on 28x28 images). Frechet distance (Heusel et al. 2017), kernel
distance (KID, Binkowski et al. 2018), k-NN precision and recall (Kynkaanniemi et al. 2019),
mode coverage and a memorisation check.
Distance matrices are built in row chunks, so 10k x 10k sets need tens of MiB, not GiBs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

MAX_CHUNK_ELEMENTS = 2**22  # distance-matrix entries per chunk: 32 MiB in float64


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, d) and (M, d), in float64.

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017, eq. 6; Dowson
    & Landau 1982). S_a S_b is not symmetric, and scipy.linalg.sqrtm of it can return
    complex noise; its eigenvalues are those of the symmetric PSD matrix
    S_a^(1/2) S_b S_a^(1/2), so Tr((S_a S_b)^(1/2)) is the sum of the square roots of that
    matrix's eigenvalues (numpy.linalg.eigh, round-off negatives clipped to 0).
    """
    a, b = _as_features(features_a), _as_features(features_b)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two sets of >= 2 feature vectors of one width, got {a.shape} and {b.shape}")
    (mu_a, cov_a), (mu_b, cov_b) = _moments(a), _moments(b)
    root_a = _psd_sqrt(cov_a)  # (d, d)
    middle = root_a @ cov_b @ root_a  # (d, d), symmetric PSD up to round-off
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    distance = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(distance, 0.0)  # a set against itself can land at -1e-13


def kernel_distance(features_a: np.ndarray, features_b: np.ndarray, *, n_subsets: int = 100,
                    subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased squared MMD of two feature sets under k(x, y) = (x.y / d + 1)^3, and its standard error.

    Binkowski et al. 2018 (arXiv:1801.01401), as their reference code and torchmetrics compute it: the
    estimate averaged over `n_subsets` random subsets of `subset_size` vectors from each set (all of a
    smaller set), the standard error the subsets' spread over sqrt(n_subsets). Unbiased, so a set
    against another sample of its own law scores 0 on average, and small sets are not penalised as
    the Frechet distance's bias penalises them; it can come out slightly negative. The two sets must
    be independent samples: the same vectors in both subsets bias it low.
    """
    a, b = _as_features(features_a), _as_features(features_b)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two sets of >= 2 feature vectors of one width, got {a.shape} and {b.shape}")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    estimates = np.array([_unbiased_mmd2(a[rng.choice(len(a), m, replace=False)],
                                         b[rng.choice(len(b), m, replace=False)]) for _ in range(n_subsets)])
    return float(estimates.mean()), float(estimates.std(ddof=1) / np.sqrt(n_subsets)) if n_subsets > 1 else 0.0


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """MMD^2 of two equal-sized sets (m, d) with the cubic polynomial kernel, the diagonals left out."""
    m, d = len(x), x.shape[1]
    k_xx, k_yy, k_xy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def precision_recall(real_features: np.ndarray, fake_features: np.ndarray, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, eq. 1-2), each in [0, 1].

    Each set's manifold is the union of balls around its samples with radius the distance
    to the k-th nearest other sample of the same set. Precision: the fraction of fake
    samples inside the real manifold (quality); recall: the fraction of real samples inside
    the fake manifold (coverage). k = 3 is the paper's choice.
    """
    real, fake = _as_tensor(real_features), _as_tensor(fake_features)
    if real.shape[1] != fake.shape[1] or min(len(real), len(fake)) <= k or k < 1:
        raise ValueError(f"need sets of more than k = {k} vectors of one width, got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    precision = _fraction_covered(fake, real, _knn_radii(real, k))
    recall = _fraction_covered(real, fake, _knn_radii(fake, k))
    return precision, recall


def class_histogram(predicted_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The fraction of samples per class (n_classes,), summing to 1: mode coverage of a generator.

    The labels are a classifier's predictions on generated images; a collapsed generator
    piles its mass on a few classes where the data set is (near) uniform.
    """
    labels = np.asarray(predicted_labels).astype(np.int64).ravel()
    if len(labels) == 0 or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"need a non-empty set of labels in [0, {n_classes}), got {len(labels)} labels")
    return np.bincount(labels, minlength=n_classes) / len(labels)


def nearest_neighbours(queries: np.ndarray, references: np.ndarray, *, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each query (N, d), the k closest references (M, d): indices (N, k) int64 and Euclidean distances (N, k).

    The memorisation check: generated samples whose nearest training sample is much
    closer than a held-out real sample's nearest training sample are copies.
    """
    q, r = _as_tensor(queries), _as_tensor(references)
    if q.shape[1] != r.shape[1] or not 1 <= k <= len(r):
        raise ValueError(f"need 1 <= k <= {len(r)} references of the queries' width, got k = {k}, "
                         f"{tuple(q.shape)} and {tuple(r.shape)}")
    indices, distances = [], []
    for d in _distance_chunks(q, r):
        nearest = d.topk(k, dim=1, largest=False)  # sorted, closest first
        indices.append(nearest.indices)
        distances.append(nearest.values)
    return torch.cat(indices).numpy(), torch.cat(distances).numpy()


def _knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each sample (N, d) to its k-th nearest other sample of the set, (N,)."""
    # k + 1 smallest, because each sample is its own nearest neighbour at distance 0
    return torch.cat([d.topk(k + 1, dim=1, largest=False).values[:, k]
                      for d in _distance_chunks(features, features)])


def _fraction_covered(queries: torch.Tensor, references: torch.Tensor, radii: torch.Tensor) -> float:
    """The fraction of queries within radii[j] of some reference j (the union of balls)."""
    inside = [(d <= radii).any(dim=1) for d in _distance_chunks(queries, references)]  # (rows,) each
    return float(torch.cat(inside).double().mean())


def _distance_chunks(queries: torch.Tensor, references: torch.Tensor) -> Iterator[torch.Tensor]:
    """Euclidean distances (rows, M) for consecutive row blocks of the queries, each block bounded in size."""
    rows = max(1, MAX_CHUNK_ELEMENTS // max(1, len(references)))
    for start in range(0, len(queries), rows):
        yield torch.cdist(queries[start:start + rows], references)  # (rows, M)


def _as_features(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a (N, d) array, got shape {x.shape}")
    return x


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(_as_features(x))


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of the rows of x (N, d)."""
    mu = x.mean(axis=0)
    centered = x - mu  # (N, d)
    return mu, centered.T @ centered / (len(x) - 1)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric PSD matrix, round-off negative eigenvalues clipped."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
