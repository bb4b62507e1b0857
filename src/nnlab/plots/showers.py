"""PNG plots of simulated showers: average layer images, observable histograms, response and t_max.

Source: the CaloGAN paper's validation figures (arXiv:1712.10321, figs. 4-8) and docs/physics.md#validation-observables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnlab.evaluation import calo_observables as obs
from nnlab.physics.geometry import calogan_calorimeter
from nnlab.plots.figures import new_figure, save_figure

HISTOGRAMS = ("E_tot", "f_0", "f_1", "f_2", "s_d", "sigma_sd", "lateral_width_0", "lateral_width_1",
              "lateral_width_2", "E_ratio_0", "E_ratio_1", "E_ratio_2", "sparsity_0", "sparsity_1", "sparsity_2")


def plot_average_images(particle: str, showers: Mapping[str, np.ndarray], path: Path) -> Path:
    """The mean image of each layer on a log colour scale (empty cells left blank)."""
    from matplotlib.colors import LogNorm

    fig, axes = new_figure(1, 3, size=(13.0, 3.6))
    for i, (ax, image) in enumerate(zip(axes, obs.layers_of(showers))):
        mean = obs.average_image(image)
        shown = np.ma.masked_less_equal(mean, 0.0)
        if shown.count():
            artist = ax.imshow(shown, aspect="auto", origin="lower", norm=LogNorm(), cmap="viridis")
            fig.colorbar(artist, ax=ax, label="mean energy (MeV)")
        ax.set_title(f"{particle}: layer {i} {image.shape[1]} x {image.shape[2]}")
        ax.set_xlabel("second axis (y) cell")
        ax.set_ylabel("first axis (x) cell")
    return save_figure(fig, path)


def plot_observables(particle: str, showers: Mapping[str, np.ndarray], path: Path) -> Path:
    """Histograms of the per-shower observables (docs/physics.md#validation-observables)."""
    values = obs.shower_observables(showers)
    fig, axes = new_figure(3, 5, size=(17.0, 9.0))
    for ax, name in zip(axes.ravel(), HISTOGRAMS):
        x = values[name]
        ax.hist(x[np.isfinite(x)], bins=50, histtype="step")
        ax.set_xlabel(name + (" (MeV)" if name == "E_tot" else " (mm)" if name.startswith("lateral") else ""))
        ax.set_title(obs.MEANINGS[name], fontsize=8)
        ax.set_yscale("log")
        ax.locator_params(axis="x", nbins=4)  # MeV values are long: fewer ticks that do not overlap
    fig.suptitle(f"{particle}: {len(showers['energy'])} showers, number per bin (log scale)")
    return save_figure(fig, path)


def plot_response(particle: str, showers: Mapping[str, np.ndarray], path: Path) -> Path:
    """Deposited/incident energy against incident energy, with the binned mean and spread."""
    energy, resp = showers["energy"][:, 0], obs.response(showers)
    stats = obs.binned_stats(energy, resp, np.linspace(energy.min(), energy.max() + 1e-9, 11))
    fig, ax = new_figure()
    ax.plot(energy, resp, ".", markersize=2, alpha=0.4, label="showers")
    ax.errorbar(stats["centre"], stats["mean"], yerr=stats["std"], fmt="o-", label="mean +- std")
    ax.set_xlabel("incident energy (GeV)")
    ax.set_ylabel("deposited / incident")
    ax.set_title(particle)
    ax.legend()
    return save_figure(fig, path)


def plot_tmax(particle: str, showers: Mapping[str, np.ndarray], path: Path) -> Path:
    """Shower-maximum depth (X0) against ln(E/E_c), with the PDG lines for electrons and photons."""
    material = calogan_calorimeter().material
    t_max = obs.shower_max_depth_mm(showers["truth/depth_profile_mev"]) / material.x0_mm
    ln_y = np.log(showers["energy"][:, 0] * 1e3 / material.critical_energy_mev)
    fig, ax = new_figure()
    ax.plot(ln_y, t_max, ".", markersize=2, alpha=0.4, label="showers")
    stats = obs.binned_stats(ln_y, t_max, np.linspace(ln_y.min(), ln_y.max() + 1e-9, 11))
    ax.errorbar(stats["centre"], stats["mean"], yerr=stats["std"], fmt="o-", color="C1", label="mean +- std")
    grid = np.linspace(ln_y.min(), ln_y.max(), 10)
    ax.plot(grid, grid - 0.5, "k--", label="PDG e: ln y - 0.5")
    ax.plot(grid, grid + 0.5, "k:", label="PDG gamma: ln y + 0.5")
    ax.set_xlabel("ln(E / E_c)")
    ax.set_ylabel("t_max (X0)")
    ax.set_title(particle)
    ax.legend()
    return save_figure(fig, path)


def plot_particle(particle: str, showers: Mapping[str, np.ndarray], out_dir: Path) -> list[Path]:
    """Every validation plot of one particle's showers, written to `out_dir`."""
    paths = [plot_average_images(particle, showers, out_dir / f"{particle}_average_images.png"),
             plot_observables(particle, showers, out_dir / f"{particle}_observables.png"),
             plot_response(particle, showers, out_dir / f"{particle}_response.png")]
    if particle != "piplus" and "truth/depth_profile_mev" in showers:
        paths.append(plot_tmax(particle, showers, out_dir / f"{particle}_tmax.png"))
    return paths
