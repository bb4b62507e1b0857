"""A second source of showers in the CaloGAN layout, written only for testing: not nnlab's simulator.

A generator must learn the file it is given without knowing how it was made. This source
differs from `nnlab.physics.simulator` on purpose, in every part a generator might lean on:

* depth: each shower's deposits follow a log-normal law in radiation lengths (median
  ln(E / E_c) + 0.4, width 0.55, both fluctuating shower to shower), not GFlash's gamma law;
* lateral: a Gaussian core (0.3 R_M, widening with depth) and an exponential halo (0.9 R_M),
  not GFlash's core + tail of r^2 / (r^2 + R^2);
* energies: 600 sqrt(E / GeV) point deposits of exponentially distributed energy that share
  the contained energy, so cells are continuous and the cell count lit differs;
* photons start after an exponential conversion depth of 9/7 X0; e+ lose 1 % to backscatter.

The benchmark `benchmarks/calogan.py --source second` and the tests import it from here.
"""

from __future__ import annotations

import numpy as np

from nnlab.physics.geometry import calogan_calorimeter

PARTICLES = ("eplus", "gamma")
DEPOSITS_PER_SQRT_GEV = 600
BACKSCATTER = 0.01


def showers(particle: str, n: int, *, seed: int, energy_gev: tuple[float, float] = (1.0, 100.0)) -> dict:
    """`n` showers of `particle` (e+ or gamma) in the CaloGAN layout: energy (n, 1) GeV, cells and overflow MeV."""
    if particle not in PARTICLES:
        raise ValueError(f"the second source makes {PARTICLES}, not {particle!r}")
    calorimeter = calogan_calorimeter()
    material = calorimeter.material
    rng = np.random.default_rng([seed, PARTICLES.index(particle)])
    energy = rng.uniform(*energy_gev, n)
    count = np.maximum((DEPOSITS_PER_SQRT_GEV * np.sqrt(energy)).astype(np.int64), 2)
    shower = np.repeat(np.arange(n), count)
    start = rng.exponential(9 / 7, n) if particle == "gamma" else np.zeros(n)
    median = np.log(energy * 1e3 / material.critical_energy_mev) + 0.4 + rng.normal(0.0, 0.15, n)
    width = 0.55 * np.exp(rng.normal(0.0, 0.1, n))
    depth_x0 = start[shower] + np.exp(np.log(median.clip(0.3))[shower] + width[shower] * rng.normal(size=shower.size))
    moliere = material.moliere_radius_mm
    core = rng.random(shower.size) < 0.75
    radius = np.where(core, 0.3 * moliere * (1 + depth_x0 / 10) * np.sqrt(rng.chisquare(2, shower.size)),
                      rng.exponential(0.9 * moliere, shower.size))
    angle = rng.uniform(0.0, 2 * np.pi, shower.size)
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    weight = rng.exponential(1.0, shower.size)
    totals = np.bincount(shower, weights=weight, minlength=n)
    deposit_mev = weight / totals[shower] * (energy * 1e3 * (1 - BACKSCATTER))[shower]
    depth_mm = depth_x0 * material.x0_mm
    out = {"energy": energy[:, None], "overflow": np.zeros((n, len(calorimeter.layers)))}
    for layer in calorimeter.layers:
        inside = (depth_mm >= layer.depth_min_mm) & (depth_mm < layer.depth_max_mm)
        ix, iy = layer.cell_of(x[inside], y[inside])
        cell = np.where((ix >= 0) & (iy >= 0), ix * layer.shape[1] + iy, -1)
        rows, cells = shower[inside], int(np.prod(layer.shape))
        flat = np.bincount(rows * cells + np.where(cell >= 0, cell, 0), weights=deposit_mev[inside] * (cell >= 0),
                           minlength=n * cells)
        out[f"layer_{layer.index}"] = flat.reshape(n, *layer.shape)
        out["overflow"][:, layer.index] = np.bincount(rows, weights=deposit_mev[inside] * (cell < 0), minlength=n)
    return out


def write(path, particle: str, n: int, *, seed: int) -> None:
    """The showers as a CaloGAN HDF5 file, as another simulation might have written them."""
    from nnlab.data.calo import CaloWriter

    with CaloWriter(path, attrs={"particle": particle, "source": "tests/second_source.py"}) as writer:
        writer.append(showers(particle, n, seed=seed))
