"""Calorimeter showers for training: read or simulated per particle, merged into one labelled set, split.

The dicts hold CaloGAN arrays (energy, layer_0..2, overflow), one row per shower; merged
sets carry a `particle` index. Shared by the tasks that classify showers and those that
generate them, so that both read, merge and split showers the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from nnlab.data.calo import check_particle, read_calogan
from nnlab.data.splits import stratified_split
from nnlab.errors import ConfigError
from nnlab.physics.geometry import N_LAYERS
from nnlab.physics.simulator import PARTICLES, simulate

Showers = dict[str, np.ndarray]


def load_showers(cfg: Any, *, min_particles: int = 2) -> tuple[list[Showers], str]:
    """One dict of CaloGAN arrays per particle: read from `files`, or simulated with a fixed seed.

    `cfg`: a data config with particles, files, n_per_particle, energy_gev and sim_seed."""
    for particle in cfg.particles:
        if particle not in PARTICLES:
            raise ConfigError(f"data.particles: unknown particle '{particle}' (choose from {', '.join(PARTICLES)})")
    if len(set(cfg.particles)) != len(cfg.particles) or len(cfg.particles) < min_particles:
        raise ConfigError(f"data.particles needs at least {min_particles} different particles (e.g. gamma,piplus)")
    if cfg.files:
        if len(cfg.files) != len(cfg.particles):
            raise ConfigError(f"data.files: give one file per particle ({len(cfg.particles)}), got {len(cfg.files)}")
        for path, particle in zip(cfg.files, cfg.particles):  # a file in the wrong place would swap the labels
            check_particle(path, particle, option="--data")
        return [read_calogan(path, stop=cfg.n_per_particle, empty_ok=False) for path in cfg.files], ", ".join(cfg.files)
    energy = cfg.energy_gev[0] if len(cfg.energy_gev) == 1 else tuple(cfg.energy_gev[:2])
    showers = [simulate(p, cfg.n_per_particle, energy_gev=energy, seed=cfg.sim_seed + i, profile=False,
                        progress=True) for i, p in enumerate(cfg.particles)]
    return showers, f"simulated, seed {cfg.sim_seed}"


def merge_showers(showers: Sequence[Mapping[str, np.ndarray]], *,
                  keys: Sequence[str] | None = None) -> tuple[np.ndarray, Showers]:
    """Each shower's particle index (n,) and the particles' showers in one dict, in order (`keys`: the first's)."""
    index = np.concatenate([np.full(len(s["energy"]), i) for i, s in enumerate(showers)])
    return index, {key: np.concatenate([s[key] for s in showers]) for key in (keys or showers[0])}


def split_showers(labels: np.ndarray, *, test: float, val: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified, seeded train/val/test indices of the showers whose particles `labels` (n,) names."""
    n = len(labels)
    if not (0 < test < 1 and 0 <= val < 1 and test + val < 1):
        raise ConfigError(f"data.test_fraction {test} and data.val_fraction {val} must leave showers to train on")
    index = np.arange(n)
    rest, test_index = stratified_split(index, labels=labels, test_size=test, seed=seed,
                                        what=f"data.test_fraction {test} of {n} showers (data.n_per_particle)")
    if val <= 0:
        return {"train": rest, "val": index[:0], "test": test_index}
    train, val_index = stratified_split(rest, labels=labels[rest], test_size=val / (1 - test), seed=seed,
                                        what=f"data.val_fraction {val} of {n} showers (data.n_per_particle)")
    return {"train": train, "val": val_index, "test": test_index}


def shower_tensors(showers: Mapping[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    """Network inputs: log(1 + E/MeV) images per layer and log layer energies (float32)."""
    images = [np.asarray(showers[f"layer_{k}"], dtype=float) for k in range(N_LAYERS)]
    layers = [torch.from_numpy(np.log1p(image).astype(np.float32)) for image in images]
    energies = np.stack([image.sum(axis=(1, 2)) for image in images], axis=1)
    return (*layers, torch.from_numpy(np.log1p(energies).astype(np.float32)))


def take_showers(showers: Mapping[str, np.ndarray], particle: np.ndarray, index: np.ndarray) -> Showers:
    """The showers at `index`, with their particle indices as `particle`."""
    return {**{key: value[index] for key, value in showers.items()}, "particle": particle[index]}


def select_particle(showers: Mapping[str, np.ndarray], particle: int) -> Showers:
    """The showers of one particle (by index) of a merged set."""
    keep = showers["particle"] == particle
    return {key: value[keep] for key, value in showers.items()}


def first_showers(showers: Mapping[str, np.ndarray], n: int) -> Showers:
    return {key: value[:n] for key, value in showers.items()}


def non_finite_rows(showers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which showers (n,) hold a NaN or an infinity in any of their arrays."""
    return ~np.all([np.isfinite(value).reshape(len(value), -1).all(axis=1) for value in showers.values()], axis=0)
