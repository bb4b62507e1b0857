"""Calorimeter shower observables of the CaloGAN validation, vectorised over showers, and physics summaries.

Source: docs/physics.md#validation-observables, as coded in hep-lbdl/CaloGAN `classification/calodata/
shower_shapes.py` (depth, lateral_depth, shower_depth(_width), lateral_width along the first
image axis, eratio, sparsity); separation power as in the CaloChallenge (arXiv:2410.21611).
Images are (N, a, b) arrays in MeV; an empty shower gives 0, never NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnlab.physics.geometry import N_LAYERS


def layers_of(showers: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """The three layer images of a CaloGAN-layout dict."""
    return [np.asarray(showers[f"layer_{i}"], dtype=float) for i in range(N_LAYERS)]


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def layer_energies(layers: Sequence[np.ndarray]) -> np.ndarray:
    """E_i, the energy of each layer (N, 3)."""
    return np.stack([np.asarray(image).sum(axis=(1, 2)) for image in layers], axis=1)


def total_energy(layers: Sequence[np.ndarray]) -> np.ndarray:
    """E_tot = sum_i E_i, the energy in the cells (overflow excluded, as in CaloGAN)."""
    return layer_energies(layers).sum(axis=1)


def energy_fractions(layers: Sequence[np.ndarray]) -> np.ndarray:
    """f_i = E_i / E_tot (N, 3)."""
    energies = layer_energies(layers)
    return _safe_ratio(energies, energies.sum(axis=1, keepdims=True))


def depth(layers: Sequence[np.ndarray]) -> np.ndarray:
    """d = max{i : E_i > 0}, the deepest layer reached (0 for an empty shower, as in CaloGAN)."""
    hit = layer_energies(layers) > 0
    return np.where(hit.any(axis=1), N_LAYERS - 1 - np.argmax(hit[:, ::-1], axis=1), 0)


def depth_weighted_total(layers: Sequence[np.ndarray]) -> np.ndarray:
    """l_d = sum_i i E_i."""
    return layer_energies(layers) @ np.arange(N_LAYERS, dtype=float)


def shower_depth(layers: Sequence[np.ndarray]) -> np.ndarray:
    """s_d = l_d / E_tot: the energy-weighted mean layer index."""
    return _safe_ratio(depth_weighted_total(layers), total_energy(layers))


def shower_depth_width(layers: Sequence[np.ndarray]) -> np.ndarray:
    """sigma_sd = sqrt(sum_i i^2 E_i / E_tot - s_d^2): the spread of the shower over the layers."""
    energies = layer_energies(layers)
    second = _safe_ratio(energies @ np.arange(N_LAYERS, dtype=float) ** 2, energies.sum(axis=1))
    return np.sqrt(np.clip(second - shower_depth(layers) ** 2, 0.0, None))


def cell_centres_mm(n_cells: int, half_width_mm: float = 240.0) -> np.ndarray:
    """Centres of `n_cells` equal cells across [-half_width, half_width]."""
    edges = np.linspace(-half_width_mm, half_width_mm, n_cells + 1)
    return 0.5 * (edges[1:] + edges[:-1])


def _lateral_moments(image: np.ndarray, axis: int, half_width_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Energy-weighted mean and mean square (mm, mm^2) of cell-centre positions along image `axis` (0 when empty)."""
    image = np.asarray(image, dtype=float)
    profile = image.sum(axis=2 if axis == 0 else 1)  # (N, n_cells along axis)
    x = cell_centres_mm(profile.shape[1], half_width_mm)
    energy = profile.sum(axis=1)
    return _safe_ratio(profile @ x, energy), _safe_ratio(profile @ x**2, energy)


def lateral_centre(image: np.ndarray, *, axis: int = 0, half_width_mm: float = 240.0) -> np.ndarray:
    """Energy-weighted mean (mm) of cell-centre positions along image `axis`: where the layer's energy sits."""
    return _lateral_moments(image, axis, half_width_mm)[0]


def lateral_width(image: np.ndarray, *, axis: int = 0, half_width_mm: float = 240.0) -> np.ndarray:
    """Energy-weighted std (mm) of cell-centre positions along image `axis`.

    CaloGAN's `lateral_width` uses the first axis (axis=0: 3, 12, 12 cells of 160, 40, 40 mm),
    so in layer 0 it sees the coarse 160 mm cells; axis=1 gives the fine 5 mm strips.
    """
    mean, second = _lateral_moments(image, axis, half_width_mm)
    return np.sqrt(np.clip(second - mean**2, 0.0, None))


def energy_ratio(image: np.ndarray) -> np.ndarray:
    """E_ratio = (E_(1) - E_(2)) / (E_(1) + E_(2)) of the hottest and second-hottest cells."""
    flat = np.asarray(image, dtype=float).reshape(len(image), -1)
    top = -np.partition(-flat, 1, axis=1)[:, :2]  # (N, 2): hottest, second hottest
    return _safe_ratio(top[:, 0] - top[:, 1], top[:, 0] + top[:, 1])


def sparsity(image: np.ndarray, *, threshold: float = 0.0) -> np.ndarray:
    """Fraction of cells with E > threshold (CaloChallenge's sparsity is 1 minus this)."""
    flat = np.asarray(image).reshape(len(image), -1)
    return (flat > threshold).mean(axis=1)


def cell_energy_spectrum(image: np.ndarray, *, threshold: float = 0.0) -> np.ndarray:
    """All cell energies above `threshold`, flattened: the sample for the cell-energy histogram."""
    flat = np.asarray(image, dtype=float).ravel()
    return flat[flat > threshold]


def in_whole_quanta(image: np.ndarray, *, tolerance: float = 1e-3,
                    divisors: Sequence[int] = (1, 2, 3, 4)) -> np.ndarray:
    """Per shower (n, ...): do the layer's non-empty cells all hold whole multiples of one energy?

    The quantum tried is the smallest non-empty cell divided by 1 to 4 (that cell may hold a
    few quanta); every cell must lie within `tolerance` quanta of a multiple. Showers with
    fewer than two non-empty cells say nothing and count as False. A calorimeter has no such
    quantum; a simulator that deals a layer's energy out in equal spots has.
    """
    flat = image.reshape(len(image), -1).astype(np.float64)
    hit = flat > 0
    smallest = np.where(hit, flat, np.inf).min(axis=1, keepdims=True)
    ratio = np.where(hit, flat / np.where(np.isfinite(smallest), smallest, 1.0), 0.0)
    whole = np.zeros(len(flat), dtype=bool)
    for divisor in divisors:
        scaled = ratio * divisor
        whole |= (np.abs(scaled - np.rint(scaled)) <= tolerance).all(axis=1)
    return whole & (hit.sum(axis=1) >= 2)


def quantised_share(image: np.ndarray) -> float:
    """Share of showers (n, ...) whose layer is `in_whole_quanta`; NaN for no showers."""
    return float(in_whole_quanta(image).mean()) if len(image) else float("nan")


def average_image(image: np.ndarray, *, normalise: bool = False) -> np.ndarray:
    """Mean image over showers; `normalise` divides each shower by its layer energy first."""
    image = np.asarray(image, dtype=float)
    if normalise:
        image = _safe_ratio(image, image.sum(axis=(1, 2), keepdims=True))
    return image.mean(axis=0)


# What each observable is, for plot titles: a name like s_d means nothing to a reader without this.
MEANINGS = {"E_tot": "energy deposited in all layers", "E_tot/E_inc": "deposited over incident energy",
            "depth": "deepest layer with energy", "l_d": "energy-weighted layer index, summed",
            "s_d": "shower depth: energy-weighted mean layer", "sigma_sd": "spread of the shower over the layers",
            **{f"E_{i}": f"energy in layer {i}" for i in range(3)},
            **{f"f_{i}": f"share of the energy in layer {i}" for i in range(3)},
            **{f"lateral_width_{i}": f"energy-weighted width in layer {i}" for i in range(3)},
            **{f"E_ratio_{i}": f"(1st - 2nd) / (1st + 2nd) hottest cell, layer {i}" for i in range(3)},
            **{f"sparsity_{i}": f"share of layer {i}'s cells with energy" for i in range(3)},
            **{f"cells_{i}": f"energies of layer {i}'s lit cells" for i in range(3)}}


def shower_observables(showers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every per-shower scalar observable (docs/physics.md#validation-observables), keyed by a short name."""
    layers = layers_of(showers)
    energies, fractions = layer_energies(layers), energy_fractions(layers)
    out = {"E_tot": energies.sum(axis=1), "depth": depth(layers).astype(float),
           "l_d": depth_weighted_total(layers), "s_d": shower_depth(layers),
           "sigma_sd": shower_depth_width(layers)}
    for i, image in enumerate(layers):
        out[f"E_{i}"] = energies[:, i]
        out[f"f_{i}"] = fractions[:, i]
        out[f"lateral_width_{i}"] = lateral_width(image)
        out[f"E_ratio_{i}"] = energy_ratio(image)
        out[f"sparsity_{i}"] = sparsity(image)
    return out


def separation_power(p_samples: np.ndarray, q_samples: np.ndarray, bins: int | np.ndarray = 50) -> float:
    """Triangular discrimination S = 1/2 sum (p - q)^2 / (p + q) of normalised histograms.

    0 for identical distributions, 1 for disjoint ones. An integer `bins` spans both samples.
    """
    p_samples = np.asarray(p_samples, dtype=float).ravel()
    q_samples = np.asarray(q_samples, dtype=float).ravel()
    p_samples, q_samples = p_samples[np.isfinite(p_samples)], q_samples[np.isfinite(q_samples)]
    if len(p_samples) == 0 or len(q_samples) == 0:
        raise ValueError("separation_power needs at least one finite value in each sample")
    edges = np.histogram_bin_edges(np.concatenate([p_samples, q_samples]), bins=bins)
    p = np.histogram(p_samples, edges)[0].astype(float)
    q = np.histogram(q_samples, edges)[0].astype(float)
    p, q = p / max(p.sum(), 1.0), q / max(q.sum(), 1.0)
    both = p + q
    return float(0.5 * np.sum(_safe_ratio((p - q) ** 2, both)))


def response(showers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Deposited / incident energy: (cells + overflow) in MeV over energy in GeV x 1000."""
    deposited = total_energy(layers_of(showers)) + np.asarray(showers["overflow"]).sum(axis=1)
    return _safe_ratio(deposited, np.asarray(showers["energy"])[:, 0] * 1e3)


def shower_max_depth_mm(profile_mev: np.ndarray, *, bin_mm: float = 6.0) -> np.ndarray:
    """Depth of the maximum of each depth profile (N, n_bins), refined by a parabola through 3 bins."""
    profile = np.asarray(profile_mev, dtype=float)
    k = np.argmax(profile, axis=1)
    rows = np.arange(len(profile))
    inner = (k > 0) & (k < profile.shape[1] - 1)
    kk = np.clip(k, 1, profile.shape[1] - 2)
    y0, y1, y2 = profile[rows, kk - 1], profile[rows, kk], profile[rows, kk + 1]
    curvature = y0 - 2.0 * y1 + y2
    shift = np.clip(_safe_ratio(0.5 * (y2 - y0), -curvature), -0.5, 0.5)  # vertex of the parabola
    return (k + 0.5 + np.where(inner & (curvature < 0), shift, 0.0)) * bin_mm


def binned_stats(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, std, count and error of the mean of y in bins of x (e.g. response vs incident energy)."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    edges = np.asarray(edges, dtype=float)
    index = np.digitize(x, edges) - 1
    keep = (index >= 0) & (index < len(edges) - 1)
    index, y = index[keep], y[keep]
    n_bins = len(edges) - 1
    count = np.bincount(index, minlength=n_bins).astype(float)
    mean = _safe_ratio(np.bincount(index, y, n_bins), count)
    second = _safe_ratio(np.bincount(index, y * y, n_bins), count)
    std = np.sqrt(np.clip(second - mean**2, 0.0, None))
    return {"centre": 0.5 * (edges[1:] + edges[:-1]), "mean": mean, "std": std, "count": count,
            "sem": _safe_ratio(std, np.sqrt(count))}


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of y = slope x + intercept (e.g. t_max vs ln y)."""
    slope, intercept = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return float(slope), float(intercept)
