"""Validation of generated calorimeter showers against a reference: separation powers, histograms, plots, report.

Source: docs/physics.md#validation-observables (CaloGAN `analysis/` observables) and the CaloChallenge metrics
(arXiv:2410.21611): histogram separation power per observable. The classifier tests are in
nnlab.evaluation.shower_classifiers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.data.calo import check_calogan_layout
from nnlab.errors import ConfigError
from nnlab.evaluation import calo_observables as obs
from nnlab.files import write_text_atomic
from nnlab.physics.geometry import N_LAYERS
from nnlab.plots.figures import new_figure, save_figure

FAMILIES: dict[str, tuple[str, ...]] = {
    "energies": ("E_0", "E_1", "E_2", "E_tot", "E_tot/E_inc"),
    "fractions": ("f_0", "f_1", "f_2"),
    "depth": ("depth", "l_d", "s_d", "sigma_sd"),
    "lateral_width": ("lateral_width_0", "lateral_width_1", "lateral_width_2"),
    "sparsity": ("sparsity_0", "sparsity_1", "sparsity_2"),
    "E_ratio": ("E_ratio_0", "E_ratio_1", "E_ratio_2"),
    "cell_spectrum": ("cells_0", "cells_1", "cells_2"),
}
# Energies in MeV span decades: binned (and plotted) logarithmically, as in the CaloGAN figures.
LOG_SCALED = frozenset({"E_0", "E_1", "E_2", "E_tot", "l_d", "cells_0", "cells_1", "cells_2"})
UNITS = {"E_0": "MeV", "E_1": "MeV", "E_2": "MeV", "E_tot": "MeV", "l_d": "MeV", "cells_0": "MeV",
         "cells_1": "MeV", "cells_2": "MeV", "lateral_width_0": "mm", "lateral_width_1": "mm",
         "lateral_width_2": "mm"}
DEFAULT_ENERGY_BINS_GEV = (1.0, 10.0, 50.0, 100.0)
N_BINS = 50
SAME_VALUE = 1e-6  # values closer than this times the span are one value, apart only by rounding (common_edges)
MIN_SHOWERS_PER_BIN = 10  # fewer showers make a histogram comparison noise


def _checked(showers: Mapping[str, np.ndarray], source: str) -> int:
    return check_calogan_layout({key: np.shape(value) for key, value in showers.items()}, source=source)


def gan_observables(showers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-shower observables: calo_observables.shower_observables plus E_tot / E_inc (cells only)."""
    values = obs.shower_observables(showers)
    incident_mev = np.asarray(showers["energy"], dtype=float)[:, 0] * 1e3
    values["E_tot/E_inc"] = values["E_tot"] / incident_mev
    return values


def _sample(name: str, values: Mapping[str, np.ndarray], showers: Mapping[str, np.ndarray],
            mask: np.ndarray | slice) -> np.ndarray:
    """The sample histogrammed for `name`: per-shower values, or every non-empty cell for cells_k."""
    if name.startswith("cells_"):
        return obs.cell_energy_spectrum(np.asarray(showers[f"layer_{name[-1]}"])[mask])
    return values[name][mask]


def common_edges(p: np.ndarray, q: np.ndarray, *, log: bool, n_bins: int = N_BINS) -> np.ndarray:
    """Bin edges spanning both samples; geometric when `log`, with a first bin [0, min) holding the zeros.

    No edge lies on a value the samples hold (`_clear_of_values`).
    """
    both = np.concatenate([np.ravel(p), np.ravel(q)])
    both = both[np.isfinite(both)]
    positive = both[both > 0]
    if not log or len(positive) == 0:
        return _clear_of_values(np.histogram_bin_edges(both, bins=n_bins), both)
    low, high = positive.min(), positive.max()
    edges = np.geomspace(low, max(high, low * 1.001) * (1 + 1e-9), n_bins + 1)
    edges[1:-1] = np.exp(_clear_of_values(np.log(edges), np.log(positive))[1:-1])  # the outer ones exact
    return np.concatenate([[0.0], edges]) if np.any(both <= 0) else edges


def _clear_of_values(edges: np.ndarray, values: np.ndarray, tolerance: float = SAME_VALUE) -> np.ndarray:
    """`edges` with each inner one that falls inside a run of `values` moved just outside the run.

    A run is values each within `tolerance` times the span of the next: one value, apart only by
    float rounding. Many showers can share a value: E_ratio of a layer holding a few whole spots is
    a ratio of small whole numbers, (a - b) / (a + b), and 1/7 recurs. An edge on such a value
    splits those showers between two bins by their rounding, differently in two samples: e+
    E_ratio_2 read a separation power of 0.090 with 50 bins over [0, 5/7], where 1/7 is an edge,
    and 0.013 with 49. The edge goes to the nearer side of the run that has a gap.
    """
    distinct = np.unique(values)
    if len(edges) < 3 or len(distinct) < 2:
        return edges
    tolerance = tolerance * (distinct[-1] - distinct[0])
    gaps = np.flatnonzero(np.diff(distinct) > tolerance)  # gap g lies between distinct[g] and distinct[g + 1]
    if len(gaps) == 0:
        return edges
    inner = edges[1:-1]
    after = np.clip(np.searchsorted(distinct, inner), 1, len(distinct) - 1)  # distinct[after - 1] < edge <= ...
    inside = distinct[after] - distinct[after - 1] <= tolerance
    i = np.searchsorted(gaps, after)  # the run's upper gap is gaps[i], its lower gaps[i - 1]
    up = distinct[gaps[np.minimum(i, len(gaps) - 1)]] + tolerance / 2
    down = distinct[gaps[np.maximum(i - 1, 0)] + 1] - tolerance / 2
    go_up = (i == 0) | ((i < len(gaps)) & (up - inner <= inner - down))
    moved = np.where(inside, np.where(go_up, up, down), inner)
    return np.concatenate([edges[:1], np.maximum.accumulate(moved), edges[-1:]])


def _separation(p: np.ndarray, q: np.ndarray, name: str) -> float | None:
    if len(p) == 0 or len(q) == 0:
        return None
    return obs.separation_power(p, q, bins=common_edges(p, q, log=name in LOG_SCALED))


def _energy_masks(energy_gev: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """One mask per bin [low, high), the last bin closed, so E = 100 GeV counts."""
    masks = [(energy_gev >= low) & (energy_gev < high) for low, high in zip(edges[:-1], edges[1:])]
    masks[-1] |= energy_gev == edges[-1]
    return masks


def _check_energy_bins(energy_bins: Sequence[float] | None) -> np.ndarray:
    edges = np.asarray(DEFAULT_ENERGY_BINS_GEV if energy_bins is None else energy_bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ConfigError(f"energy_bins must be at least two increasing edges in GeV, got {list(edges)}")
    return edges


def compare_observables(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray], *,
                        energy_bins: Sequence[float] | None = None, by_energy: bool = True) -> list[dict[str, Any]]:
    """Separation power of every observable, overall and (unless not `by_energy`) per incident-energy bin (GeV).

    One dict per observable: name, family, whether it is log-binned, `separation_power` and
    `by_energy` (low_gev, high_gev, showers on each side, separation power, None below
    MIN_SHOWERS_PER_BIN; empty without `by_energy`: three quarters of the work, which a
    training's per-epoch score skips). Both samples share the binning, so S is 0 for identical samples.
    """
    _checked(reference, "reference"), _checked(generated, "generated")
    edges = _check_energy_bins(energy_bins) if by_energy else np.zeros(0)
    values = {"ref": gan_observables(reference), "gen": gan_observables(generated)}
    masks = [_energy_masks(np.asarray(showers["energy"])[:, 0], edges) if by_energy else []
             for showers in (reference, generated)]

    def separation(name: str, ref_mask: np.ndarray | slice, gen_mask: np.ndarray | slice) -> float | None:
        return _separation(_sample(name, values["ref"], reference, ref_mask),
                           _sample(name, values["gen"], generated, gen_mask), name)

    rows = []
    for family, names in FAMILIES.items():
        for name in names:
            by_energy = []
            for low, high, ref_mask, gen_mask in zip(edges[:-1], edges[1:], *masks):
                enough = min(ref_mask.sum(), gen_mask.sum()) >= MIN_SHOWERS_PER_BIN
                by_energy.append({"low_gev": float(low), "high_gev": float(high), "n_reference": int(ref_mask.sum()),
                                  "n_generated": int(gen_mask.sum()),
                                  "separation_power": separation(name, ref_mask, gen_mask) if enough else None})
            rows.append({"observable": name, "family": family, "log": name in LOG_SCALED,
                         "separation_power": separation(name, slice(None), slice(None)), "by_energy": by_energy})
    return rows


def _fractions(sample: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.histogram(sample, edges)[0].astype(float)
    return counts / max(counts.sum(), 1.0)


def histogram(name: str, ref: np.ndarray, gen: np.ndarray) -> dict[str, Any]:
    """Both samples of observable `name` binned alike, as fractions per bin, with generated / reference (NaN where
    the reference bin is empty) and the separation power. Log-binned observables lose their zero bin (a log
    axis has no place for it; S still counts the zeros)."""
    binned = common_edges(ref, gen, log=name in LOG_SCALED)  # the bins S is computed on, as `_separation`
    log = name in LOG_SCALED and bool(np.any(ref > 0) or np.any(gen > 0))
    edges = binned[1:] if log and binned[0] == 0 else binned
    p, q = _fractions(ref, edges), _fractions(gen, edges)
    return {"observable": name, "meaning": obs.MEANINGS.get(name, ""), "unit": UNITS.get(name, ""), "log": log,
            "edges": edges, "reference": p, "generated": q,
            "ratio": np.divide(q, p, out=np.full_like(q, np.nan), where=p > 0),
            "separation_power": obs.separation_power(ref, gen, bins=binned) if len(ref) and len(gen) else None}


def observable_histograms(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray], *,
                          families: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """`histogram` of every observable of `families` (default all of FAMILIES), in their order, each with its
    `family`."""
    families = list(FAMILIES) if families is None else list(families)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown observable family {unknown[0]!r}: choose from {', '.join(FAMILIES)}")
    _checked(reference, "reference"), _checked(generated, "generated")
    values = {"ref": gan_observables(reference), "gen": gan_observables(generated)}
    return [{**histogram(name, _sample(name, values["ref"], reference, slice(None)),
                         _sample(name, values["gen"], generated, slice(None))), "family": family}
            for family in families for name in FAMILIES[family]]


def _plot_one(ax, ax_ratio, drawn: Mapping[str, Any], labels: Sequence[str]) -> None:
    """One `histogram`: reference filled, generated as a line, as fractions per bin; generated / reference below."""
    name, edges = drawn["observable"], drawn["edges"]
    ax.stairs(drawn["reference"], edges, fill=True, alpha=0.35, label=labels[0])
    ax.stairs(drawn["generated"], edges, color="black", label=labels[1])
    ax.set_title(f"{name}: S = {_format(drawn['separation_power'])}\n{drawn['meaning']}", fontsize=8)
    ax.set_ylabel("fraction per bin")
    ax_ratio.stairs(drawn["ratio"], edges, color="black")
    ax_ratio.axhline(1.0, color="grey", lw=0.8)
    ax_ratio.set_ylim(0.0, 2.0)
    ax_ratio.set_ylabel("gen / ref")
    ax_ratio.set_xlabel(name + (f" ({drawn['unit']})" if drawn["unit"] else ""))
    if drawn["log"]:
        ax.set_xscale("log")
    else:
        ax_ratio.locator_params(axis="x", nbins=4)  # long values: fewer ticks that do not overlap
    if name.startswith("cells_"):
        ax.set_yscale("log")


def plot_observable_grid(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray],
                         out_dir: str | os.PathLike, *, families: Sequence[str] | None = None,
                         labels: Sequence[str] = ("reference", "generated"),
                         prefix: str = "observables") -> list[Path]:
    """One PNG per observable family (all 7 by default): normalised histograms, a ratio panel under each.

    Each file costs ~0.5 s of matplotlib layout and drawing, hence `families` to pick some.
    """
    drawn = observable_histograms(reference, generated, families=families)
    paths = []
    for family in dict.fromkeys(row["family"] for row in drawn):  # each family once, in order
        rows = [row for row in drawn if row["family"] == family]
        fig, axes = new_figure(2, len(rows), size=(3.6 * len(rows), 4.6), squeeze=False, sharex="col",
                               gridspec_kw={"height_ratios": [3, 1]})
        for column, row in enumerate(rows):
            _plot_one(axes[0, column], axes[1, column], row, labels)
        axes[0, 0].legend()
        fig.suptitle(f"{labels[1]} against {labels[0]}: S is the separation power (0: the same histogram, "
                     f"1: no overlap)", fontsize=9)
        paths.append(save_figure(fig, Path(out_dir) / f"{prefix}_{family}.png"))
    return paths


def plot_average_images(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray],
                        path: str | os.PathLike, *, labels: Sequence[str] = ("reference", "generated")) -> Path:
    """Mean image per layer, reference above generated, on one log colour scale per layer."""
    from matplotlib.colors import LogNorm

    fig, axes = new_figure(2, 3, size=(13.0, 6.4), squeeze=False)
    for k in range(N_LAYERS):
        means = [obs.average_image(np.asarray(showers[f"layer_{k}"])) for showers in (reference, generated)]
        positive = np.concatenate([m[m > 0] for m in means])
        norm = LogNorm(positive.min(), positive.max()) if len(positive) else None
        for row, (mean, label) in enumerate(zip(means, labels)):
            ax = axes[row, k]
            artist = ax.imshow(np.ma.masked_less_equal(mean, 0.0), aspect="auto", origin="lower", norm=norm,
                               cmap="viridis")
            if norm is not None:
                fig.colorbar(artist, ax=ax, label="mean energy (MeV)")
            ax.set_title(f"{label}: layer {k}")
            ax.set_xlabel("second axis cell")
            ax.set_ylabel("first axis cell")
    return save_figure(fig, path)


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _separation_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    bins = [f"{b['low_gev']:g}-{b['high_gev']:g} GeV" for b in rows[0]["by_energy"]]
    lines = ["| observable | family | S (all) | " + " | ".join(bins) + " |",
             "|---|---|---|" + "---|" * len(bins)]
    for row in rows:
        cells = [_format(b["separation_power"]) for b in row["by_energy"]]
        lines.append(f"| {row['observable']} | {row['family']} | {_format(row['separation_power'])} | "
                     + " | ".join(cells) + " |")
    return lines


def write_report(path_md: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """A Markdown page: counts, classifier AUCs, the separation-power table and the plots.

    `summary` keys, all optional: `title`, `separation` (compare_observables' rows),
    `classifier_auc` (name -> AUC), `protocol` (level -> the CaloChallenge test's auc, jsd and
    epoch_kept) with `protocol_settings`, `images` (paths, linked relative to the page), `notes`
    (Markdown lines) and `n_reference` / `n_generated`.
    """
    path_md = Path(path_md)
    lines = [f"# {summary.get('title', 'Generated showers against the reference')}", ""]
    if "n_reference" in summary or "n_generated" in summary:
        lines += [f"{summary.get('n_reference', '?')} reference and {summary.get('n_generated', '?')} "
                  "generated showers.", ""]
    lines += list(summary.get("notes", ()))
    aucs = summary.get("classifier_auc", {})
    if aucs:
        lines += ["## Classifier test (AUC; 0.5 = indistinguishable)", "", "| features | AUC |", "|---|---|"]
        lines += [f"| {name} | {_format(auc)} |" for name, auc in aucs.items()] + [""]
    protocol = summary.get("protocol", {})
    if protocol:
        lines += [f"## CaloChallenge classifier ({summary.get('protocol_settings', '')}; calibrated)", "",
                  "| features | AUC | JSD (bits) | epoch kept |", "|---|---|---|---|"]
        lines += [f"| {level} level | {_format(found['auc'])} | {_format(found['jsd'])} | {found['epoch_kept']} |"
                  for level, found in protocol.items()] + [""]
    rows = summary.get("separation", ())
    if rows:
        lines += ["## Separation power (0 = identical, 1 = disjoint)", "", *_separation_table(rows), ""]
    images = summary.get("images", ())
    if images:
        lines += ["## Plots", ""]
        lines += [f"![{Path(p).stem}]({Path(os.path.relpath(p, path_md.parent)).as_posix()})" for p in images]
    return write_text_atomic(path_md, "\n".join(lines) + "\n")
