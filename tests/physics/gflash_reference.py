"""Brute-force GFlash spot simulation, as Geant4's GFlashShowerModel::ElectronDoIt does it.

Test oracle for the fast simulator: 0.1 X0 steps, max(1, floor(dN)) equal-energy spots per
step, radius by the two-component law, uniform azimuth, each spot binned by SteppingAction's
rule. Slow (loops nothing but holds every spot), so only for a few hundred showers.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammainc

from nnlab.physics import em_shower
from nnlab.physics.geometry import Calorimeter


def spot_showers(profile: em_shower.LongitudinalProfile, energy_gev: float, n_showers: int, *,
                 calorimeter: Calorimeter, rng: np.random.Generator) -> dict:
    """`n_showers` draws of the spots of one fixed e+ profile, binned into images and overflow."""
    material = calorimeter.material
    z = np.arange(0.0, calorimeter.depth_x0 + em_shower.GEANT4_STEP_X0, em_shower.GEANT4_STEP_X0)
    z[-1] = min(z[-1], calorimeter.depth_x0)
    alpha, beta = profile.alpha[0], profile.beta[0]
    d_energy = energy_gev * 1e3 * np.diff(gammainc(alpha, beta * z))
    spots = em_shower.spot_profile(profile, material)
    d_spots = np.diff(gammainc(spots.alpha[0], spots.beta[0] * z)) * em_shower.spot_count(energy_gev, material)
    n_per_step = np.maximum(1, np.floor(d_spots)).astype(int)
    mid = 0.5 * (z[1:] + z[:-1])
    tau = em_shower.reduced_depth(mid[None, :], profile,
                                  np.exp(em_shower.mean_log_alpha(np.array([energy_gev]), material)))[0]
    r_core, r_tail, p_core = em_shower.radial_parameters(energy_gev, tau, material.z)
    step = np.repeat(np.arange(len(mid)), n_per_step)
    rank = np.arange(len(step)) - np.repeat(np.cumsum(n_per_step) - n_per_step, n_per_step)
    depth_mm = (z[step] + np.diff(z)[step] * (rank + 0.5) / n_per_step[step]) * material.x0_mm
    shape = (n_showers, len(step))
    core = rng.random(shape) < p_core[step]
    u = rng.random(shape)
    radius = np.where(core, r_core[step], r_tail[step]) * material.moliere_radius_mm * np.sqrt(u / (1.0 - u))
    phi = rng.uniform(0.0, 2.0 * np.pi, shape)
    energy = np.broadcast_to((d_energy / n_per_step)[step], shape)
    return _bin(radius * np.cos(phi), radius * np.sin(phi), depth_mm, energy, calorimeter)


def _bin(x, y, depth_mm, energy, calorimeter: Calorimeter) -> dict:
    n = len(x)
    layer_of = calorimeter.layer_of_depth(depth_mm)
    inside = (np.abs(x) < calorimeter.transverse_half_mm) & (np.abs(y) < calorimeter.transverse_half_mm)
    out = {"overflow": np.zeros((n, 3)), "escape": (energy * ~inside).sum(axis=1)}
    for layer in calorimeter.layers:
        sel = layer_of == layer.index
        ix, iy = layer.cell_of(x[:, sel], y[:, sel])
        n_cells = layer.shape[0] * layer.shape[1]
        flat = np.where((ix >= 0) & (iy >= 0), ix * layer.shape[1] + iy, n_cells)
        flat = np.where(inside[:, sel], flat, n_cells + 1) + (np.arange(n) * (n_cells + 2))[:, None]
        sums = np.bincount(flat.ravel(), energy[:, sel].ravel(), n * (n_cells + 2)).reshape(n, n_cells + 2)
        out[f"layer_{layer.index}"] = sums[:, :n_cells].reshape((n,) + layer.shape)
        out["overflow"][:, layer.index] = sums[:, n_cells]
    return out
