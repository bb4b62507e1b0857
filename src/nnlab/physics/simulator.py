"""Parametrised shower simulator for the CaloGAN calorimeter: e+, gamma and pi+ in the CaloGAN layout.

Source: docs/physics.md (the facts and their sources; docs/simulation.md describes the model, its calibration and
its limits). Showers are drawn in independent RNG blocks of `RNG_BLOCK`, each seeded from
(seed, particle, block index), so the output depends on the seed only, not on `chunk_size`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnlab.errors import ConfigError
from nnlab.physics import em_shower, hadron_shower, sampling
from nnlab.physics.binning import DepthSlicing, deposit_layers, depth_slicing
from nnlab.physics.geometry import Calorimeter, calogan_calorimeter
from nnlab.progress import Progress

log = logging.getLogger(__name__)

SIMULATOR_VERSION = "2.0"  # 2.0: continuous hit energies
PARTICLES = ("eplus", "gamma", "piplus")
_PARTICLE_CODE = {name: i for i, name in enumerate(PARTICLES)}
RNG_BLOCK = 1000  # showers per independent random stream (also the vectorisation width)
# Gamma shape of a hit's energy (exponential): cells hold continuous energies, no quantum a layer's cells share
# (docs/simulation.md#continuous-hit-energies)
HIT_SHAPE = 1.0
TRUTH = "truth/"  # prefix of per-shower truth arrays written beside the CaloGAN keys


@dataclasses.dataclass(frozen=True)
class SimulationSettings:
    """Everything that, with the seed, fixes the simulated showers (written to the file's attributes)."""

    particle: str
    energy_gev: tuple[float, float] = (1.0, 100.0)  # uniform range, as in the CaloGAN files
    visible: bool = False  # False: total deposit (2017 files); True: LAr signal only
    profile: bool = True  # also return the truth depth profile per 6 mm period
    slice_mm: float = 15.0  # depth slice for the radial law (~1 X0): cell means within 1 % of 1 mm slices

    def __post_init__(self) -> None:
        if self.particle not in PARTICLES:
            raise ConfigError(f"unknown particle {self.particle!r}; choose one of {', '.join(PARTICLES)}")
        low, high = self.energy_gev
        if not (0.0 < low <= high) or not np.isfinite(high):
            raise ConfigError(f"energy range {self.energy_gev} GeV must satisfy 0 < low <= high")
        if self.slice_mm <= 0:
            raise ConfigError(f"slice_mm must be positive, got {self.slice_mm}")

    def attrs(self, seed: int) -> dict:
        """HDF5 attributes: simulator version, seed and settings."""
        return {"simulator": "nnlab.physics.simulator", "simulator_version": SIMULATOR_VERSION,
                "seed": int(seed), "particle": self.particle, "energy_gev_range": list(self.energy_gev),
                "visible": bool(self.visible), "slice_mm": float(self.slice_mm),
                "energy_content": "LAr visible energy" if self.visible else "total deposited energy",
                "rng_block": RNG_BLOCK}


def _spread(energy_mev: np.ndarray, spot_mev: np.ndarray, deposited_mev: np.ndarray, fraction: float):
    """Visible-energy inputs of `deposit_layers`: scaled energies and FastCaloSim's mean hit energy."""
    visible_total = fraction * deposited_mev
    hit_mev = visible_total / sampling.expected_hits(deposited_mev / 1e3)
    hit = np.where(visible_total > 0, hit_mev, 1.0)[:, None, None]
    return fraction * energy_mev, np.broadcast_to(hit, spot_mev.shape)


def _deposit(slices: dict, *, visible: bool, calorimeter: Calorimeter, slicing: DepthSlicing,
             rng: np.random.Generator) -> dict:
    """Deposit slice components into cells, total energy by default or the LAr signal."""
    energy, spot = slices["energy_mev"], slices["spot_mev"]
    if visible:
        shower_mev = energy.sum(axis=(1, 2))
        energy, spot = _spread(energy, spot, shower_mev, sampling.em_sampling_fraction(calorimeter))
    return deposit_layers(energy, slices["radius_mm"], spot, slicing=slicing, rng=rng, poisson=visible,
                          hit_shape=HIT_SHAPE)


def _em_block(energy_gev: np.ndarray, rng: np.random.Generator, *, settings: SimulationSettings,
              calorimeter: Calorimeter, slicing: DepthSlicing) -> dict:
    """e+ or gamma showers; photons first convert after Exponential(9/7 X0)."""
    material, n = calorimeter.material, len(energy_gev)
    start_x0 = np.zeros(n)
    if settings.particle == "gamma":
        start_x0 = rng.exponential(em_shower.PHOTON_CONVERSION_X0, n)
    slices = em_shower.em_slices(energy_gev, start_x0, material=material, slicing=slicing, rng=rng)
    dep = _deposit(slices, visible=settings.visible, calorimeter=calorimeter, slicing=slicing, rng=rng)
    shower_mev = slices["energy_mev"].sum(axis=(1, 2))
    truth = {"leakage_mev": slices["longitudinal_leak_mev"] + _escape(dep, settings, shower_mev),
             "invisible_mev": np.zeros(n),
             "containment_rm": _ratio(slices["in_moliere_mev"], shower_mev),
             "shower_start_mm": start_x0 * material.x0_mm}
    if settings.profile:
        edges_x0 = _period_edges_mm(calorimeter) / material.x0_mm
        truth["depth_profile_mev"] = em_shower.depth_profile_mev(slices["profile"], energy_gev * 1e3, edges_x0)
    return _assemble(energy_gev, dep["images"], dep["overflow"], truth)


def _escape(dep: dict, settings: SimulationSettings, shower_mev: np.ndarray) -> np.ndarray:
    """Lateral escape in deposited-energy units (the visible draw only knows its hits)."""
    if not settings.visible:
        return dep["lateral_escape_mev"]
    visible = sum(img.sum(axis=(1, 2)) for img in dep["images"]) + dep["overflow"].sum(axis=1) \
        + dep["lateral_escape_mev"]
    return shower_mev * _ratio(dep["lateral_escape_mev"], visible)


def _pion_block(energy_gev: np.ndarray, rng: np.random.Generator, *, settings: SimulationSettings,
                calorimeter: Calorimeter, slicing: DepthSlicing) -> dict:
    """pi+ showers: MIP track up to the first interaction, then the hadronic shower."""
    n, depth = len(energy_gev), calorimeter.depth_mm
    start_mm = hadron_shower.interaction_depth_mm(n, calorimeter, rng)
    periods = _period_edges_mm(calorimeter)[:-1]
    before = np.clip((start_mm[:, None] - periods[None, :]) / calorimeter.period_mm, 0.0, 1.0)
    track = hadron_shower.period_deposits_mev(n, calorimeter, rng) * before
    x_mm, y_mm = hadron_shower.track_positions_mm(energy_gev, calorimeter, rng)
    track_mev = track.sum(axis=1)
    interacts = start_mm < depth
    remaining = np.clip(energy_gev * 1e3 - track_mev, 0.0, None)
    available = np.where(interacts, remaining, 0.0)
    slices = hadron_shower.hadron_slices(available, np.minimum(start_mm, depth), calorimeter=calorimeter,
                                         slicing=slicing, rng=rng)
    dep = _deposit(slices, visible=settings.visible, calorimeter=calorimeter, slicing=slicing, rng=rng)
    track_scale = sampling.mip_sampling_fraction(calorimeter) if settings.visible else 1.0
    track_imgs, track_over = hadron_shower.track_images(track * track_scale, x_mm, y_mm, calorimeter)
    images = [a + b for a, b in zip(dep["images"], track_imgs)]
    shower_mev = slices["energy_mev"].sum(axis=(1, 2))
    leak = slices["longitudinal_leak_mev"] + _escape(dep, settings, shower_mev)
    truth = {"leakage_mev": leak + np.where(interacts, 0.0, remaining), "invisible_mev": slices["invisible_mev"],
             # the track stays well inside one Moliere radius (its scattering is millimetres)
             "containment_rm": _ratio(slices["in_moliere_mev"] + track_mev, shower_mev + track_mev),
             "shower_start_mm": start_mm}
    if settings.profile:
        truth["depth_profile_mev"] = _pion_profile(slices, track, start_mm, calorimeter)
    return _assemble(energy_gev, images, dep["overflow"] + track_over, truth)


def _pion_profile(slices: dict, track: np.ndarray, start_mm: np.ndarray, calorimeter: Calorimeter) -> np.ndarray:
    """Energy per 6 mm period of a pion event: the track plus both shower components."""
    material, edges = calorimeter.material, _period_edges_mm(calorimeter)
    a, start = slices["shape"], np.minimum(start_mm, calorimeter.depth_mm)
    em, _, _ = em_shower.gamma_slices(a, np.full_like(a, hadron_shower.BOCK_RATE_X0),
                                      start / material.x0_mm, edges / material.x0_mm)
    had, _, _ = em_shower.gamma_slices(a, np.full_like(a, hadron_shower.BOCK_RATE_LAMBDA),
                                       start / material.interaction_length_mm, edges / material.interaction_length_mm)
    return track + em * slices["em_mev"][:, None] + had * slices["hadronic_mev"][:, None]


def _period_edges_mm(calorimeter: Calorimeter) -> np.ndarray:
    return np.arange(calorimeter.n_periods + 1) * calorimeter.period_mm


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _assemble(energy_gev: np.ndarray, images: list[np.ndarray], overflow: np.ndarray, truth: dict) -> dict:
    """The CaloGAN layout (energy in GeV, cells and overflow in MeV) plus truth arrays."""
    out = {"energy": energy_gev[:, None].astype(np.float64), "overflow": overflow.astype(np.float64)}
    out.update({f"layer_{i}": img.astype(np.float64) for i, img in enumerate(images)})
    truth["deposited_mev"] = energy_gev * 1e3 - truth["leakage_mev"] - truth["invisible_mev"]
    out.update({TRUTH + key: np.asarray(value, dtype=np.float64) for key, value in truth.items()})
    return out


def simulate_block(energy_gev: np.ndarray, rng: np.random.Generator, *, settings: SimulationSettings,
                   calorimeter: Calorimeter | None = None) -> dict:
    """Simulate one shower per incident energy (GeV) with `rng`: the vectorised core of `simulate`."""
    calorimeter = calorimeter or calogan_calorimeter()
    slicing = depth_slicing(calorimeter, settings.slice_mm)
    block = _pion_block if settings.particle == "piplus" else _em_block
    return block(np.asarray(energy_gev, dtype=float), rng, settings=settings, calorimeter=calorimeter,
                 slicing=slicing)


def block_rng(seed: int, particle: str, block_index: int) -> np.random.Generator:
    """The independent random stream of one block: (seed, particle, block) -> generator."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PARTICLE_CODE[particle], block_index)))


def _blocks(n: int, seed: int, settings: SimulationSettings, blocks: range) -> Iterator[dict]:
    """Yield the showers of `blocks` (of the n showers' RNG blocks) block by block; incident energies are drawn
    inside each block, so a block's showers do not depend on which process simulates it."""
    low, high = settings.energy_gev
    for index in blocks:
        rng = block_rng(seed, settings.particle, index)
        energy_gev = rng.uniform(low, high, min(RNG_BLOCK, n - index * RNG_BLOCK))
        yield simulate_block(energy_gev, rng, settings=settings)


def shard_blocks(n: int, rank: int, world_size: int) -> tuple[range, int]:
    """The RNG blocks process `rank` of `world_size` simulates of `n` showers, and how many showers they hold:
    contiguous, in rank order, so the shards one after the other are the showers of one process."""
    from nnlab.data.shards import share_rows

    return share_rows(n, RNG_BLOCK, rank, world_size)


def _rechunk(blocks: Iterator[dict], chunk_size: int, n: int) -> Iterator[dict]:
    """Copy blocks into chunks of exactly `chunk_size` showers (the last may be shorter).

    Each chunk is preallocated and filled in place, so at most one chunk plus one block is
    being built while the caller holds the previous chunk: memory does not grow with n.
    """
    chunk, filled, done = None, 0, 0
    for block in blocks:
        used, size = 0, len(block["energy"])
        while used < size:
            if chunk is None:
                rows = min(chunk_size, n - done)
                chunk = {k: np.empty((rows,) + v.shape[1:], v.dtype) for k, v in block.items()}
            take = min(len(chunk["energy"]) - filled, size - used)
            for key, value in block.items():
                chunk[key][filled:filled + take] = value[used:used + take]
            filled, used = filled + take, used + take
            if filled == len(chunk["energy"]):
                done += filled
                yield chunk
                chunk, filled = None, 0


def _concatenate(chunks: list[dict]) -> dict:
    if len(chunks) == 1:
        return chunks[0]
    return {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}


def iter_showers(particle: str, n: int, *, energy_gev: float | tuple[float, float] = (1.0, 100.0), seed: int,
                 chunk_size: int = 10_000, visible: bool = False, profile: bool = True,
                 progress: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator[dict]:
    """Yield `n` simulated showers in chunks (dicts in the CaloGAN layout plus truth arrays).

    Memory stays bounded by `chunk_size` whatever `n` is; the showers depend on `seed` only.
    `energy_gev` is a fixed energy or a (low, high) range drawn uniformly per shower. `shard`
    (rank, world size): only that process's share of the showers (`shard_blocks`).
    """
    settings = make_settings(particle, energy_gev=energy_gev, visible=visible, profile=profile)
    if n < 0 or chunk_size < 1:
        raise ConfigError(f"need n >= 0 and chunk_size >= 1, got n={n}, chunk_size={chunk_size}")
    blocks, n_mine = shard_blocks(n, *shard)
    with Progress(f"simulate {particle}", total=n_mine, unit="shower", enabled=progress) as counter:
        for chunk in _rechunk(_blocks(n, seed, settings, blocks), chunk_size, n_mine):
            counter.update(len(chunk["energy"]))
            yield chunk


# The showers are parametrised for CaloGAN's 1-100 GeV; 10 TeV (the CaloChallenge's top energy is 4 TeV) bounds
# a request, whose spots grow with the energy (1e30 GeV overflowed the spot count)
MAX_ENERGY_GEV = 1e4


def parse_energy_gev(text: str) -> float | tuple[float, float]:
    """The --energy syntax: "1:100" -> (1.0, 100.0) GeV, uniform; "50" -> 50.0; else (energies not positive
    and finite, LOW above HIGH) a one-line error."""
    try:
        parts = [float(part) for part in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or not all(0 < part <= MAX_ENERGY_GEV for part in parts) or parts != sorted(parts):
        raise ConfigError(f"--energy '{text[:40]}': give GeV as LOW:HIGH with 0 < LOW <= HIGH <= {MAX_ENERGY_GEV:g} "
                          f"(e.g. 1:100) or one value (e.g. 50)")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def make_settings(particle: str, *, energy_gev: float | tuple[float, float] = (1.0, 100.0),
                  visible: bool = False, profile: bool = True) -> SimulationSettings:
    """Settings from the user-facing arguments (a single energy becomes a degenerate range)."""
    if np.ndim(energy_gev) == 0:
        energy_gev = (float(energy_gev), float(energy_gev))
    return SimulationSettings(particle, tuple(float(e) for e in energy_gev), visible=visible, profile=profile)


def simulate(particle: str, n: int, *, energy_gev: float | tuple[float, float] = (1.0, 100.0), seed: int,
             chunk_size: int = 10_000, visible: bool = False, profile: bool = True,
             progress: bool = False) -> dict:
    """Simulate `n` showers of `particle` ("eplus", "gamma", "piplus") into one dict of arrays.

    Keys: `energy` (n, 1) GeV, `layer_0/1/2` and `overflow` (n, 3) in MeV as in the CaloGAN
    files, plus `truth/...` arrays (leakage, invisible energy, containment within one Moliere
    radius, shower start and, with `profile`, the energy per 6 mm period). Same seed, same
    arrays, bit for bit. For large `n` stream with `iter_showers` or `simulate_to_file`.
    """
    chunks = list(iter_showers(particle, n, energy_gev=energy_gev, seed=seed, chunk_size=chunk_size,
                               visible=visible, profile=profile, progress=progress))
    if not chunks:
        settings = make_settings(particle, energy_gev=energy_gev, visible=visible, profile=profile)
        template = simulate_block(np.ones(1), block_rng(seed, particle, 0), settings=settings)
        return {key: value[:0] for key, value in template.items()}
    return _concatenate(chunks)


def simulate_to_file(path: str | os.PathLike, particle: str, n: int, *,
                     energy_gev: float | tuple[float, float] = (1.0, 100.0), seed: int, chunk_size: int = 10_000,
                     visible: bool = False, profile: bool = True, progress: bool = False,
                     shard: tuple[int, int] = (0, 1)) -> Path:
    """Stream `n` showers into a CaloGAN HDF5 file (atomically), with version, seed and settings as attributes
    (`shard`: only one process's share of them, as `iter_showers`)."""
    from nnlab.data.calo import SHOWER_BYTES, CaloWriter
    from nnlab.files import require_space

    settings = make_settings(particle, energy_gev=energy_gev, visible=visible, profile=profile)
    n_mine = shard_blocks(n, *shard)[1]
    require_space(path, n_mine * SHOWER_BYTES, request=f"-n {n}")  # before hours of simulation, not after
    with CaloWriter(path, attrs=settings.attrs(seed)) as writer:
        for chunk in iter_showers(particle, n, energy_gev=energy_gev, seed=seed, chunk_size=chunk_size,
                                  visible=visible, profile=profile, progress=progress, shard=shard):
            writer.append(chunk)
        if n_mine == 0:  # still write the (empty) layout
            writer.append(simulate(particle, 0, energy_gev=energy_gev, seed=seed, visible=visible, profile=profile))
    log.debug("wrote %d %s showers to %s", n, particle, path)  # the CLI prints it once, on stdout
    return Path(path)
