"""CaloGAN: a conditional GAN for the three-layer calorimeter showers (PHYSICS.md section 7).

After Paganini, de Oliveira and Nachman (arXiv:1705.02355, 1712.10321), scaled down: the
layers are generated in sequence, each from the latent, the requested energy (and particle)
and an encoding of the layers before it; every layer is an energy-scaled, normalised shape
ending in a ReLU, so empty cells are exact zeros. The layer energies are split by G's
streams or drawn from a mixture fitted by maximum likelihood (nnlab.models.calo_energy).
The discriminator sees log cells (and, for chosen layers, a linear view of them), layer
energies and the requested energy, with no BatchNorm (it must work under DDP and WGAN-GP).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.calo_energy import SHARE_FLOOR, N_UNITS, LayerEnergyMixture, energy_units, layer_energies

LAYER_SHAPES: tuple[tuple[int, int], ...] = ((3, 96), (12, 12), (12, 6))
N_CELLS = tuple(h * w for h, w in LAYER_SHAPES)  # (288, 144, 72)
N_OVERFLOW = len(LAYER_SHAPES)
ENERGY_PIVOT_GEV = 10.0  # log(E / 10 GeV) puts the 1-100 GeV range at [-2.3, 2.3]
ENERGY_BUMP_RANGE = (float(np.log(0.1)), float(np.log(10.0)))  # centres of the energy bumps: 1-100 GeV in log(E / 10)
LOG_CELL_SCALE = 10.0  # log1p of the hottest cells (~20 GeV in MeV) is ~10: inputs of order 1
CRITIC_CELL_UNIT_MEV = 0.1  # D reads log1p(E / 0.1 MeV): a 0.01 MeV cell no longer looks empty
CRITIC_CELL_SCALE = float(np.log1p(2e4 / CRITIC_CELL_UNIT_MEV))  # 12.2: the hottest cells (~20 GeV) again near 1
# D's linear view divides a layer's cells by its hottest plus this floor: a near-empty layer (a photon that
# has not converted yet) then cannot blow up D's gradient and with it the gradient penalty
LINEAR_VIEW_FLOOR_MEV = 10.0
MIN_LOG_SHARE = 50.0  # cells below e^-50 of a layer's hottest are floored (denormal guard)
N_SHOWER_FEATURES = 2 * len(N_CELLS) + 2  # D's log layer energies and fractions, log total, response
LEAKAGE_FLOOR = 1e-4  # the critic's log-leakage floor: 0.2% of simulated e+ and photon showers leak less
MEMORY_DIM = 32  # width of the encoding one layer hands to the layers after it
LEAKY_SLOPE = 0.2
N_SPOT_TERMS = 6  # log spot energy ~ 1, x, x^2, l, l^2, x l with x = log(E / 10 GeV), l = log(E_layer / E)
LAYER_ENERGIES = ("generator", "mixture")  # who draws the layer energies: G's streams, or a fitted mixture
SPOT_SAMPLING = ("random", "dither", "nearest")  # how a cell's whole spots are drawn from the number G expects
NO_SPOT_MEV = 1e-6  # the spot energy of a layer too rarely hit to fit: rounding to 1 eV changes nothing
GENERATE_BATCH = 4096  # showers a call of G in `generate` by default
# per layer, the rows (first image axis) the shower's axis runs through; the others are its outer rows, and in
# layer 0 (3 rows of 160 mm) the two outer rows alone set the layer's lateral width
AXIS_ROWS = ((1,), (5, 6), (5, 6))


class ShowerNoise(NamedTuple):
    """The random numbers of one generator call besides z, drawn up front (`CaloGenerator.draw_noise`): the
    call is then a pure function of its inputs, which `torch.compile` can fuse into a few kernels.

    `mixture`: (B, 2, n_units) for the layer-energy mixture, uniforms that pick a component and normals
    within it (None without the mixture, or where the units are given). `spots`: (B, 504) per cell, 16-bit
    random integers for the dither, uniforms for the Poisson-like counts (None without random spots).
    """
    mixture: torch.Tensor | None
    spots: torch.Tensor | None


def encode_condition(energy_gev: torch.Tensor, particle_index: torch.Tensor | None, n_particles: int,
                     energy_bumps: int = 0) -> torch.Tensor:
    """(B, 1 + energy_bumps + n_particles): log(E / 10 GeV), bumps, the particle one-hot (constant for one particle).

    The bumps, exp(-((x - c_k) / spacing)^2) at `energy_bumps` centres c_k evenly over 1-100 GeV
    in x = log(E / 10 GeV), give each energy region inputs of its own: through the one scalar x,
    a network's first layer can only tilt with the energy, and the showers below 10 GeV (9% of
    a uniform 1-100 GeV sample) are the ones a classifier told apart best (docs/benchmarks.md).
    """
    energy_gev = energy_gev.reshape(-1)
    if particle_index is None:
        if n_particles > 1:
            raise ValueError(f"this model is conditioned on {n_particles} particles: pass particle_index")
        particle_index = torch.zeros(len(energy_gev), dtype=torch.long, device=energy_gev.device)
    one_hot = F.one_hot(particle_index.reshape(-1).long(), n_particles).to(energy_gev.dtype)  # (B, P)
    x = torch.log(energy_gev / ENERGY_PIVOT_GEV)[:, None]  # (B, 1)
    if energy_bumps < 2:
        return torch.cat([x, one_hot], dim=1)
    centres = torch.linspace(*ENERGY_BUMP_RANGE, energy_bumps, dtype=x.dtype, device=x.device)
    spacing = (ENERGY_BUMP_RANGE[1] - ENERGY_BUMP_RANGE[0]) / (energy_bumps - 1)
    return torch.cat([x, torch.exp(-((x - centres) / spacing).square()), one_hot], dim=1)


def _check_energy_bumps(energy_bumps: int) -> None:
    if energy_bumps < 0 or energy_bumps == 1:
        raise ConfigError(f"energy_bumps must be 0 (off) or at least 2, got {energy_bumps}")


def flatten_layers(layers: Sequence[torch.Tensor]) -> torch.Tensor:
    """The three layer images as one (B, 504) tensor: D's input, and what the gradient penalty perturbs."""
    return torch.cat([image.flatten(1) for image in layers], dim=1)


def split_cells(cells: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of `flatten_layers`: (B, 504) -> [(B, 3, 96), (B, 12, 12), (B, 12, 6)]."""
    chunks = torch.split(cells, N_CELLS, dim=1)
    return [chunk.reshape(len(cells), *shape) for chunk, shape in zip(chunks, LAYER_SHAPES)]


def _mlp(in_dim: int, width: int, n_hidden: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in in [in_dim] + [width] * (n_hidden - 1):
        layers += [nn.Linear(fan_in, width), nn.LeakyReLU(LEAKY_SLOPE)]
    return nn.Sequential(*layers)


def _normalised_shape(logits: torch.Tensor) -> torch.Tensor:
    """Cell fractions summing to 1 (or all 0: an empty layer), with exact zeros from a ReLU.

    relu(exp(a) - 1), computed as relu(exp(a - m) - exp(-m)) with m = max a, which the
    normalisation cancels: it spans decades like a softmax yet sets cells with a < 0 to
    exactly 0. Measured against a linear relu(a) head (same nets, 1,350 non-saturating
    steps on 20k e+): mean separation power 0.37 against 0.59.
    """
    a = logits.float()  # (B, n_cells); exp and sums in float32 even under bf16 autocast
    m = a.amax(dim=1, keepdim=True).detach()
    # floor the exponents (e^-50 of the hottest cell is far below any deposit) so that no
    # denormal floats appear, which are ~100x slower on CPUs; the floor is monotone, so a < 0 stays 0
    v = F.relu(torch.exp((a - m).clamp_min(-MIN_LOG_SHARE)) - torch.exp((-m).clamp_min(-MIN_LOG_SHARE)))
    return v / v.sum(dim=1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


class LayerGenerator(nn.Module):
    """One layer's stream: [z, condition, memory] -> normalised cell shape and `n_energy_logits` energy logits."""

    def __init__(self, in_dim: int, n_cells: int, width: int, n_energy_logits: int, depth: int = 2):
        super().__init__()
        self.body = _mlp(in_dim, width, n_hidden=depth)
        self.cells = nn.Linear(width, n_cells)
        self.energy = nn.Linear(width, n_energy_logits) if n_energy_logits else None

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.body(h)  # (B, width)
        logits = None if self.energy is None else self.energy(h).float()  # (B, n_energy_logits)
        with torch.autocast(h.device.type, enabled=False):  # cell logits in float32 even under bf16 autocast
            cell_logits = self.cells(h.float())  # (B, n_cells)
        return _normalised_shape(cell_logits), logits


class CaloGenerator(nn.Module):
    """z (B, latent_dim), energy (B,) GeV and optional particle index (B,) -> three layer images in MeV.

    Layer k's stream reads an encoding of log1p(layers < k), so the layers come out in
    sequence like the shower (CaloGAN passes them on by attention; an embedding is simpler).
    Energy-scaled outputs (CaloGAN's trick) keep the network's numbers of order 1 while cells
    span 1e-3 to 1e4 MeV: layer k = E_k * shape_k, with the energies split stick by stick:
    stream 0 draws the response r = E_tot / E in (0, 1) and layer 0's share of it, stream 1
    splits the rest between layers 1 and 2. So E_tot <= E, as in a real calorimeter, and the
    response and fractions that physicists check first are single outputs. Measured against
    three independent per-layer shares (WGAN-GP, 3,000 critic steps): e+ fractions f_0
    separation power 0.02 against 0.20, pi+ response 0.15 against 0.27; mean over all
    observables 0.18 against 0.17 (e+) and 0.38 against 0.32 (pi+), within seed noise.

    With `round_to_spots`, each layer's cells hold whole spots, the energy quantum in which
    the simulator (like GFlash) deposits: every non-empty cell then holds at least one spot,
    as in the data. The spot energy is a fit to the training showers' smallest cells
    (`fit_spot_energy`). `spot_sampling` says how a cell's count comes from the number G
    expects there: 'dither', the whole number below or above it at random, as often as keeps
    the mean (`_dithered_counts`); 'random', drawn like a Poisson count (`_spot_counts`); or
    'nearest', rounded. Drawn counts put single spots in the tail cells that rounding empties
    (e+, 150 epochs: classifier AUC 0.93 against 0.95, mean separation power 0.022 against
    0.028). Dithered and Poisson-like counts trained equally well (the default run, 400 epochs:
    AUC 0.711 and 0.693 against 0.719 and 0.698 for e+ and gamma, largest separation power
    0.039 and 0.026 against 0.039 and 0.033), and dithering costs 3 passes over the cells, not
    30. Either way the spots stretch to keep the layer's energy; gradients pass straight through.

    `energy_bumps` adds that many bumps over 1-100 GeV to the energy condition (`encode_condition`).
    `depth`: the hidden layers of each stream, all `width` wide.

    With `layer_energies="mixture"` the streams split nothing: the three layer energies come
    first, from a `LayerEnergyMixture` fitted to the training showers by maximum likelihood
    (`fit_layer_energies`), and every stream reads them and shapes its layer for them. In
    training G shapes the training showers' own energies (`units`), so the critic judges the
    shapes, and the energies' joint law is the fit's (docs/benchmarks.md).

    With `outer_shares` (and the mixture), the mixture also draws, for those layers, the share of the
    layer's energy in its outer rows, off the axis (`AXIS_ROWS`), and G's rows are scaled to it as the
    layers are to their energies (`_outer_share_layer`). In layer 0 the two outer rows, 160 mm off the
    axis, alone set the lateral width: G itself spread their share too widely from shower to shower
    and left them empty too rarely.
    """

    N_ENERGY_LOGITS = (2, 1, 0)  # stream 0: response and layer 0's share; stream 1: layer 1's share

    def __init__(self, latent_dim: int = 64, n_particles: int = 1, width: int = 256, round_to_spots: bool = False,
                 spot_sampling: str = "nearest", energy_bumps: int = 0, layer_energies: str = "generator",
                 outer_shares: Sequence[int] = (), depth: int = 2):
        super().__init__()
        if latent_dim < 1 or n_particles < 1 or width < 1 or depth < 1:
            raise ConfigError(f"CaloGenerator needs latent_dim, n_particles, width and depth >= 1, "
                              f"got {latent_dim}, {n_particles}, {width}, {depth}")
        if spot_sampling not in SPOT_SAMPLING:
            raise ConfigError(f"spot_sampling must be one of {', '.join(SPOT_SAMPLING)}, got {spot_sampling!r}")
        _check_energy_bumps(energy_bumps)
        if layer_energies not in LAYER_ENERGIES:
            raise ConfigError(f"layer_energies must be one of {', '.join(LAYER_ENERGIES)}, got {layer_energies!r}")
        mixture = layer_energies == "mixture"
        if outer_shares and not mixture:
            raise ConfigError("outer shares are drawn by the layer-energy mixture: with layer_energies='generator' "
                              "set outer_shares to none (--set model.outer_shares=[])")
        if len(set(outer_shares)) != len(outer_shares) or not set(outer_shares) <= set(range(len(N_CELLS))):
            raise ConfigError(f"outer_shares must name layers among 0, 1, 2 once each, got {list(outer_shares)}")
        self.latent_dim, self.n_particles, self.round_to_spots = latent_dim, n_particles, round_to_spots
        self.spot_sampling, self.energy_bumps, self.outer_shares = spot_sampling, energy_bumps, tuple(outer_shares)
        if round_to_spots:  # log spot energy (MeV) per particle and layer: coefficients of _spot_terms
            spot_coefficients = torch.zeros(n_particles, len(N_CELLS), N_SPOT_TERMS)
            spot_coefficients[..., 0] = float(np.log(NO_SPOT_MEV))
            self.register_buffer("spot_coefficients", spot_coefficients)
        condition_dim = 1 + energy_bumps + n_particles
        n_units = N_UNITS + len(outer_shares)
        in_dim = latent_dim + condition_dim + (n_units if mixture else 0)
        n_energy_logits = (0,) * len(N_CELLS) if mixture else self.N_ENERGY_LOGITS
        self.streams = nn.ModuleList(LayerGenerator(in_dim + k * MEMORY_DIM, n, width, n_logits, depth)
                                     for k, (n, n_logits) in enumerate(zip(N_CELLS, n_energy_logits)))
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(n, MEMORY_DIM), nn.LeakyReLU(LEAKY_SLOPE))
                                      for n in N_CELLS[:-1])
        self.energy_model = LayerEnergyMixture(condition_dim, n_units=n_units) if mixture else None

    def forward(self, z: torch.Tensor, energy_gev: torch.Tensor, particle_index: torch.Tensor | None = None, *,
                noise: ShowerNoise | torch.Generator | None = None,
                units: torch.Tensor | None = None) -> list[torch.Tensor]:
        """`noise`: the call's random numbers (`draw_noise`), or the RNG they are drawn from (default: the
        global RNG of z's device). `units`: with the mixture, (B, n_units) `shower_units` to shape rather
        than drawn ones (training shapes the training showers' own energies)."""
        if not isinstance(noise, ShowerNoise):
            noise = self.draw_noise(len(z), generator=noise, device=z.device, units_given=units is not None)
        condition = encode_condition(energy_gev, particle_index, self.n_particles, self.energy_bumps)
        h = torch.cat([z, condition.to(z.dtype)], dim=1)
        incident = energy_gev.reshape(-1, 1).float() * 1e3  # (B, 1) MeV
        given = None
        if units is not None and self.energy_model is None:
            raise ValueError("units set the layer energies of a generator with layer_energies='mixture' only")
        if self.energy_model is not None:
            if units is None:
                units = self.energy_model.sample(condition, noise=noise.mixture)
            given = layer_energies(units, energy_gev)  # (B, 3) MeV
            h = torch.cat([h, self.energy_model.standardise(units).to(h.dtype)], dim=1)
        remaining = incident  # MeV not yet given to a layer
        layers = []
        draws = [None] * len(N_CELLS) if noise.spots is None else torch.split(noise.spots, N_CELLS, dim=1)
        for k, stream in enumerate(self.streams):
            shape, logits = stream(h)  # (B, n_cells_k), (B, n_logits_k)
            if given is not None:
                energy = given[:, k:k + 1]
            else:
                if k == 0:
                    remaining = remaining * torch.sigmoid(logits[:, 1:])  # r E: the deposited energy
                if logits is None:  # the last layer takes what is left
                    energy = remaining
                else:
                    t = logits[:, :1]  # (B, 1): logit of this layer's share of what is left
                    energy, remaining = remaining * torch.sigmoid(t), remaining * torch.sigmoid(-t)
            spot = self.spot_mev(k, energy_gev, energy / incident, particle_index) if self.round_to_spots else None
            if k in self.outer_shares:
                unit = N_UNITS + self.outer_shares.index(k)
                cells = self._outer_share_layer(k, shape, energy, torch.sigmoid(units[:, unit:unit + 1].float()), spot,
                                                draws[k])
            else:
                cells = shape * energy  # (B, n_cells_k) MeV
                if spot is not None:
                    cells = _in_whole_spots(cells, energy, spot, sampling=self.spot_sampling, draws=draws[k])
            layers.append(cells.reshape(len(z), *LAYER_SHAPES[k]))
            if k < len(self.encoders):
                memory = self.encoders[k](torch.log1p(cells) / LOG_CELL_SCALE)  # (B, MEMORY_DIM)
                h = torch.cat([h, memory.to(h.dtype)], dim=1)
        return layers

    def draw_noise(self, n: int, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                   units_given: bool = False) -> ShowerNoise:
        """The random numbers of a call for n showers (`ShowerNoise`), from `generator` (default: the global RNG)."""
        mixture = None
        if self.energy_model is not None and not units_given:
            mixture = self.energy_model.draw_noise(n, generator=generator, device=device)
        spots = None
        if self.round_to_spots and self.spot_sampling == "dither":
            spots = _random_int16((n, sum(N_CELLS)), generator, device)
        elif self.round_to_spots and self.spot_sampling == "random":
            spots = torch.rand(n, sum(N_CELLS), generator=generator, device=device)
        return ShowerNoise(mixture, spots)

    def _outer_share_layer(self, k: int, shape: torch.Tensor, energy: torch.Tensor, share: torch.Tensor,
                           spot: torch.Tensor | None, draws: torch.Tensor | None) -> torch.Tensor:
        """Layer k (B, n) MeV holding `energy` (B, 1), its outer rows `share` (B, 1) of it, in whole spots.

        The drawn share already holds the spots' graininess (it is read off showers made of spots), so
        the outer rows and the axis rows each keep their energy through the draw of whole spots: the
        share stays the one drawn. A share under half a spot leaves the outer rows empty.
        """
        if spot is not None:
            share = torch.where(share * energy < spot / 2, 0.0, share)
        cells = _with_outer_share(shape, share, k) * energy
        if spot is None:
            return cells
        return _in_whole_spots(cells, energy, spot, sampling=self.spot_sampling, draws=draws,
                               part=_outer_rows(k, cells)[:, 0])

    @torch.no_grad()
    def start_at_response(self, response: float) -> None:
        """Start the response E_tot / E at `response` (the training showers' mean) rather than at 0.5.

        The response is a sigmoid: an e+ deposits 0.995 +- 0.0015 of its energy, a logit of
        5.3 that the critic's gradients, damped 200-fold by the saturated sigmoid, are slow to
        reach from 0. Only the bias of that one output moves; the spread is still learned.
        """
        if self.energy_model is not None:
            return  # the mixture draws the response
        response = min(max(float(response), 1e-4), 1 - 1e-4)
        self.streams[0].energy.bias[1] = float(np.log(response / (1 - response)))

    @torch.no_grad()
    def spot_mev(self, k: int, energy_gev: torch.Tensor, share: torch.Tensor,
                 particle_index: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1) fitted spot energy (MeV) of layer k: incident energies (B,) GeV, layer shares E_layer / E (B, 1)."""
        index = 0 if particle_index is None else particle_index.reshape(-1).long()
        c = self.spot_coefficients[index, k].reshape(-1, N_SPOT_TERMS)  # (B or 1, N_SPOT_TERMS)
        x = torch.log(energy_gev.reshape(-1, 1).to(c.dtype) / ENERGY_PIVOT_GEV)
        return torch.exp((c * _spot_terms(x, share.to(c.dtype))).sum(dim=1, keepdim=True))

    @torch.no_grad()
    def fit_spot_energy(self, cells: torch.Tensor, energy_gev: torch.Tensor, particle_index: torch.Tensor) -> None:
        """Fit log(spot energy) per particle and layer to training showers: cells (N, 504) MeV, energy (N,) GeV.

        A layer's smallest non-empty cell is one spot (shower-to-shower it varies: 2.1-3.1 MeV
        in e+ layer 0); fitted against the incident energy and the layer's share of it, the
        residual is 3% (layers 0, 1) to 14% (layer 2) for e+. Showers with a single hit cell
        in the layer are left out (that cell may hold several spots). Where fewer than 60
        showers remain, the layer is not rounded (a 1 eV spot). Cells that are not quantised
        fit a spot near their smallest deposits, and rounding moves a cell by half a spot at most.
        """
        x = torch.log(energy_gev.double() / ENERGY_PIVOT_GEV)[:, None]
        for k, part in enumerate(torch.split(cells.double(), N_CELLS, dim=1)):
            hit = part > 0
            smallest = torch.where(hit, part, torch.inf).amin(dim=1)
            terms = _spot_terms(x, part.sum(dim=1, keepdim=True) / (energy_gev.double()[:, None] * 1e3))
            for p in range(self.n_particles):
                use = (particle_index == p) & (hit.sum(dim=1) >= 2)
                fit = torch.zeros(N_SPOT_TERMS, dtype=torch.float64)
                fit[0] = np.log(NO_SPOT_MEV)
                if use.sum() >= 10 * N_SPOT_TERMS:
                    fit = torch.linalg.lstsq(terms[use], torch.log(smallest[use])[:, None]).solution[:, 0]
                self.spot_coefficients[p, k] = fit.float()

    def fit_layer_energies(self, cells: torch.Tensor, energy_gev: torch.Tensor, particle_index: torch.Tensor, *,
                           steps: int, seed: int) -> float:
        """Fit the mixture of layer energies to training showers (cells (N, 504) MeV, energy (N,) GeV); its NLL."""
        condition = encode_condition(energy_gev, particle_index, self.n_particles, self.energy_bumps)
        return self.energy_model.fit(self.shower_units(cells, energy_gev), condition, steps=steps, seed=seed)

    def shower_units(self, cells: torch.Tensor, energy_gev: torch.Tensor) -> torch.Tensor:
        """What the mixture draws, read off showers (cells (B, 504) MeV, energy (B,) GeV): (B, 3) `energy_units`,
        and after them, for each layer of `outer_shares`, the logit of its outer rows' share of the layer."""
        units = [energy_units(cells_per_layer(cells), energy_gev)]
        layers = torch.split(cells.double(), N_CELLS, dim=1)
        for k in self.outer_shares:
            rows = layers[k].reshape(len(cells), *LAYER_SHAPES[k]).sum(dim=2)  # (B, R)
            share = (rows * _outer_rows(k, rows)[:, 0]).sum(dim=1) / rows.sum(dim=1).clamp_min(1e-30)
            units.append(torch.logit(share.clamp(SHARE_FLOOR, 1 - SHARE_FLOOR))[:, None].float())
        return torch.cat(units, dim=1)

    def sample_latent(self, n: int, *, generator: torch.Generator) -> torch.Tensor:
        """n draws of z ~ N(0, I), shape (n, latent_dim), on the torch.Generator's device."""
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)


def _outer_rows(k: int, like: torch.Tensor) -> torch.Tensor:
    """(R, 1) 1 for layer k's outer rows, 0 for those on the axis, of the dtype and device of `like`."""
    outer = torch.ones(LAYER_SHAPES[k][0], 1, dtype=like.dtype, device=like.device)
    outer[list(AXIS_ROWS[k])] = 0
    return outer


def _with_outer_share(shape: torch.Tensor, share: torch.Tensor, k: int) -> torch.Tensor:
    """Layer k's normalised shape (B, n), its outer rows rescaled to hold `share` (B, 1) of it, the axis rows the rest.

    Outer rows G left empty stay empty (in layer 0: a width of 0, as in 1-5% of showers).
    """
    rows = shape.reshape(len(shape), *LAYER_SHAPES[k])  # (B, R, C)
    outer = _outer_rows(k, shape)
    outer_sum = (rows * outer).sum(dim=(1, 2))[:, None]  # (B, 1)
    centre_sum = rows.sum(dim=(1, 2))[:, None] - outer_sum
    share = torch.where(outer_sum > 0, share, 0.0)
    share = torch.where(centre_sum > 0, share, 1.0)
    tiny = torch.finfo(shape.dtype).tiny
    scale = torch.where(outer.bool(), (share / outer_sum.clamp_min(tiny))[:, None],
                        ((1 - share) / centre_sum.clamp_min(tiny))[:, None])  # (B, R, 1)
    return (rows * scale).reshape(len(shape), -1)


def _in_whole_spots(cells: torch.Tensor, energy: torch.Tensor, spot: torch.Tensor, *, sampling: str,
                    draws: torch.Tensor | None = None, part: torch.Tensor | None = None) -> torch.Tensor:
    """Cells (B, n) of a layer holding energy (B, 1), as whole spots (B, 1) that keep the energy, all in MeV.

    The counts are the whole numbers either side of cells / spot at random (`_dithered_counts`), drawn
    like a Poisson count (`_spot_counts`), from `draws` (B, n) (16-bit integers or uniforms, as
    `ShowerNoise` holds them), or the nearest whole number, as `sampling` says; gradients pass straight
    through; empty cells are exact zeros.
    No layer comes out empty: where the hottest cell holds less than a spot, it is the spot. `part`, (R,)
    1 for some of the layer's R rows and 0 for the others, keeps their energy and the rest's apart (`_by_part`).
    """
    with torch.no_grad():
        if part is None:
            spot = torch.minimum(spot, cells.amax(dim=1, keepdim=True))
        spot = spot.clamp_min(torch.finfo(cells.dtype).tiny)
        expected = cells / spot  # (B, n_cells_k) spots per cell
        if sampling == "random":
            spots = _spot_counts(expected, draws)
        elif sampling == "dither":
            spots = _dithered_counts(expected, draws)
        else:
            spots = torch.round(expected)
        if part is None:
            # the counts add or drop energy; the spots then stretch to keep the layer's energy exactly
            whole = spots.mul_(energy / spots.sum(dim=1, keepdim=True).clamp_min(1))
        else:
            whole = _by_part(spots, cells, part)
    if not torch.is_grad_enabled():
        return whole  # sampling: no gradient to pass on
    through = cells + (whole - cells).detach()
    return torch.where(whole > 0, through, through - through.detach())  # x - x: exactly 0, gradient kept


def _by_part(spots: torch.Tensor, cells: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Spot counts (B, n) turned into MeV so that the rows `part` (R,) marks and the other rows each keep their
    energy in `cells` (the spots stretch): a part holding energy but drawn no spot gets one in its hottest cell."""
    energy = _split_sums(cells, part)  # (B, 2): in the part, in the rest
    counts = _split_sums(spots, part)
    missing = (counts == 0) & (energy > 0)  # (B, 2): a part with energy but no spot
    rows = cells.reshape(len(cells), len(part), -1)
    for i, mask in enumerate((part, 1 - part)):  # a loop over the two parts, not the showers
        if torch.compiler.is_compiling():  # static shapes: every shower's hottest cell gets 0 or 1 spot
            hottest = (rows * mask[:, None]).flatten(1).argmax(dim=1, keepdim=True)
            spots.scatter_add_(1, hottest, missing[:, i:i + 1].to(spots.dtype))
        else:  # only the showers missing a spot (usually none): the argmax over all took 5x the time
            picked = missing[:, i].nonzero()[:, 0]
            if len(picked):
                spots[picked, (rows[picked] * mask[:, None]).flatten(1).argmax(dim=1)] += 1
    stretch = energy / (counts + missing).clamp_min(1)  # (B, 2): MeV a spot, in the part and in the rest
    per_row = torch.addcmul(stretch[:, 1:], stretch[:, :1] - stretch[:, 1:], part)  # (B, R)
    return spots.view(len(spots), len(part), -1).mul_(per_row[:, :, None]).view(spots.shape)


def _split_sums(values: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """(B, 2) sums of values (B, n), seen as R rows, over the rows `part` (R,) marks with 1 and over the rest."""
    per_row = values.reshape(len(values), len(part), -1).sum(dim=2)  # (B, R)
    return torch.stack([(per_row * part).sum(dim=1), (per_row * (1 - part)).sum(dim=1)], dim=1)


def _spot_counts(expected: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Whole spots around `expected` that fall like a Poisson count's, from one uniform draw per cell (`uniform`).

    Below one spot, the Poisson law's inverse CDF up to three spots (P(N > 3) < 2%). From one
    spot on, its normal limit with the skewness term of the Cornish-Fisher expansion, rounded,
    at least one: within 1% of the exact law in total variation from 1 expected spot on (the
    plain normal limit: 2-7%). A cell G expects a spot in keeps one (with holes drawn in the
    core by exact Poisson draws, e+ training stalled: three seeds stuck for over 100 of 150
    epochs). torch's exact sampler draws one cell at a time and took longer than G itself.
    """
    uniform = uniform.to(expected.dtype, copy=True)  # changed in place below, the caller's draws kept
    # float arithmetic throughout: ceil(u - F) is [u > F], and torch mixes bool and float masks
    # several times slower than these (one thread: where 2.2 ms, lerp 0.4 ms for 1,024 x 504 cells);
    # in place where a value is not needed again (no gradient flows here): fewer cell-sized allocations
    probability = torch.exp(-expected)  # P(N = k), from k = 0
    below = probability.clone()  # P(N <= k)
    tail = torch.sub(uniform, below).ceil_()
    for k in (1, 2):
        below.add_(probability.mul_(expected).div_(k))
        tail.add_(torch.sub(uniform, below).ceil_())
    tail.clamp_min_(0)  # a draw of exactly 0 where P(N = 0) rounds to 1 makes ceil(u - F) = -1
    eps = torch.finfo(uniform.dtype).eps  # keeps erfinv finite where the draw is 0
    z = uniform.mul_(2).sub_(1).clamp_(-1 + eps, 1 - eps).erfinv_().mul_(2**0.5)
    # sqrt of an exact 0 ran ten times slower than of a positive number here (2 cores: 0.57 against 0.07 ms
    # for 1,024 x 288 cells, half empty); the floor changes nothing kept, as below one spot the core is unused
    core = expected.clamp_min(1e-30).sqrt_().mul_(z).add_(expected).add_(z.square_().sub_(1).div_(6))
    core = core.round_().clamp_min_(1)
    return core.lerp_(tail, torch.sub(1, expected).ceil_().clamp_(0, 1))  # the tail below one spot


def _dithered_counts(expected: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """floor(expected + u), u uniform: the whole number either side of `expected`, on average `expected`.

    A few passes over the cells against the Poisson-like law's thirty (`_spot_counts`): the
    cells below one spot are drawn as often as G expects there, one spot or none, but a
    cell's count varies by at most one spot, so the spread of the hot cells is G's own.
    u is (k + 1/2) / 2^16 for the random 16-bit integers k + 2^15 of `bits` (`_random_int16`).
    The mean stays exact; a cell G expects under 2^-17 spots is never hit (under 0.01 hits a shower).
    """
    return torch.add(expected, bits, alpha=2**-16).add_(0.5 + 2**-17).floor_()


def _random_int16(shape: tuple[int, ...], generator: torch.Generator | None,
                  device: torch.device | str) -> torch.Tensor:
    """Uniform random 16-bit integers, four to each 64-bit draw: torch's CPU generator makes its words one at a
    time on one core, and one float per cell took longer than G's matrix products for a layer (1,024 x 288
    cells, 2 cores: 0.92 against 0.39 ms for the counts)."""
    n = int(np.prod(shape))
    words = torch.randint(-2**63, 2**63 - 1, ((n + 3) // 4,), generator=generator, device=device)
    return words.view(torch.int16)[:n].view(shape)


def _spot_terms(x: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """(B, N_SPOT_TERMS) regressors of log(spot energy): x = log(E / 10 GeV) (B, 1), share = E_layer / E (B, 1)."""
    l = torch.log(share.clamp_min(1e-12))
    return torch.cat([torch.ones_like(x), x, x * x, l, l * l, x * l], dim=1)


def cells_per_layer(cells: torch.Tensor) -> torch.Tensor:
    """(B, 504) cells -> (B, 3) layer energies, in the cells' unit."""
    return torch.stack([part.sum(dim=1) for part in torch.split(cells, N_CELLS, dim=1)], dim=1)


def _shower_features(cells: torch.Tensor, energy_gev: torch.Tensor) -> torch.Tensor:
    """Per-layer log energies and fractions, log total and response E_tot / E: what physicists look at first."""
    energies = cells_per_layer(cells)  # (B, 3) MeV
    total = energies.sum(dim=1, keepdim=True)  # (B, 1)
    fractions = energies / total.clamp_min(1e-6)
    response = total / (energy_gev.reshape(-1, 1) * 1e3)
    return torch.cat([torch.log1p(energies) / LOG_CELL_SCALE, torch.log1p(total) / LOG_CELL_SCALE,
                      fractions, response], dim=1)  # (B, N_SHOWER_FEATURES)


def leakage_feature(cells: torch.Tensor, energy_gev: torch.Tensor) -> torch.Tensor:
    """(B, 1) log of the incident energy's share the cells miss, log(1 - E_tot / E), floored at log(1e-4).

    An e+ leaves 0.995 +- 0.0015 of its energy in the cells: linearly the critic barely sees
    that spread, as a log leakage it is -5.3 +- 0.3, and a response drifting with the energy shows.
    """
    response = cells.sum(dim=1, keepdim=True) / (energy_gev.reshape(-1, 1) * 1e3)
    return torch.log((1 - response).clamp_min(LEAKAGE_FLOOR))


def critic_cells(cells: torch.Tensor) -> torch.Tensor:
    """Cells in MeV as D reads them: log1p(E / 0.1 MeV) / 12.2, 0 for an empty cell, ~1 at 20 GeV."""
    return torch.log1p(cells / CRITIC_CELL_UNIT_MEV) / CRITIC_CELL_SCALE


def linear_view(layer_cells: torch.Tensor) -> torch.Tensor:
    """One layer's cells (B, n) MeV over its hottest cell plus 10 MeV: ~1 at the core, linear in energy.

    The observables physicists check first (lateral width, E_ratio) weigh cells by energy, so the
    hottest few decide them; on the log scale two core cells 5% apart differ by 0.004.
    """
    return layer_cells / (layer_cells.amax(dim=1, keepdim=True) + LINEAR_VIEW_FLOOR_MEV)


class CaloDiscriminator(nn.Module):
    """Cells (B, 504) MeV (or the three layer images), energy (B,) GeV, particle (B,) -> raw logits (B,).

    One MLP stream per layer on log1p(cells / 0.1 MeV) / 12.2, which keeps empty cells at 0
    but lets small deposits show (log1p(cells / MeV) / 10 made a 0.01 MeV cell look empty:
    e+, two seeds, mean separation power 0.122 and 0.118 against 0.125 and 0.133, sparsity
    of layer 2 0.35 and 0.43 against 0.57 and 0.52), then a head that also sees the layer
    energies, fractions, response E_tot / E and the condition (CaloGAN's D compares E_tot
    with the requested energy the same way). LayerNorm in the head only; nothing couples the
    samples of a batch. For WGAN-GP call nnlab.training.gan_losses.gradient_penalty with
    `functools.partial(D, particle_index=p)`, flat cells and `labels=energy_gev`.

    With `linear_views`, the streams of those layers also read `linear_view` of their cells,
    which shows D the core's energy sharing that the log scale hides (see docs/benchmarks.md).
    With `leakage`, the head also reads `leakage_feature`, the log share of E the cells miss.
    `energy_bumps`: the condition's bumps over 1-100 GeV, as for the generator.
    """

    def __init__(self, n_particles: int = 1, width: int = 128, linear_views: Sequence[int] = (),
                 leakage: bool = False, energy_bumps: int = 0):
        super().__init__()
        if n_particles < 1 or width < 1:
            raise ConfigError(f"CaloDiscriminator needs n_particles and width >= 1, got {n_particles}, {width}")
        _check_energy_bumps(energy_bumps)
        if not set(linear_views) <= set(range(len(N_CELLS))):
            raise ConfigError(f"linear_views must name layers among 0, 1, 2, got {list(linear_views)}")
        self.n_particles, self.linear_views = n_particles, tuple(sorted(set(linear_views)))
        self.leakage, self.energy_bumps = leakage, energy_bumps
        self.streams = nn.ModuleList(_mlp(n * (2 if k in self.linear_views else 1), width)
                                     for k, n in enumerate(N_CELLS))
        # the streams, the shower features (and the leakage), the condition
        head_in = len(N_CELLS) * width + N_SHOWER_FEATURES + int(leakage) + 1 + energy_bumps + n_particles
        self.head = nn.Sequential(nn.Linear(head_in, width), nn.LayerNorm(width), nn.LeakyReLU(LEAKY_SLOPE),
                                  nn.Linear(width, 1))

    def forward(self, cells: torch.Tensor | Sequence[torch.Tensor], energy_gev: torch.Tensor,
                particle_index: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(cells, torch.Tensor):
            cells = flatten_layers(cells)  # (B, 504)
        cells = cells.float()
        features = []
        for k, (stream, part) in enumerate(zip(self.streams, torch.split(cells, N_CELLS, dim=1))):
            views = [critic_cells(part), linear_view(part)] if k in self.linear_views else [critic_cells(part)]
            features.append(stream(torch.cat(views, dim=1)))
        condition = encode_condition(energy_gev.float(), particle_index, self.n_particles, self.energy_bumps)
        if self.leakage:
            features.append(leakage_feature(cells, energy_gev.float()))
        h = torch.cat([*features, _shower_features(cells, energy_gev.float()), condition], dim=1)
        return self.head(h).squeeze(1)  # (B,)


def energy_consistency(layers: Sequence[torch.Tensor], energy_gev: torch.Tensor,
                       target_response: float | torch.Tensor | None = None, *,
                       particle_index: torch.Tensor | None = None) -> torch.Tensor:
    """CaloGAN's auxiliary loss: the relative gap between the cells' sum and the requested energy.

    Without a target, mean |E_tot / E - 1| per shower (CaloGAN's |sum - E|, relative so every
    energy weighs the same). With a target response (a float, or one per particle indexed by
    `particle_index`), only the batch mean of E_tot / E is pulled to it, per particle: a pion
    leaves 0.28 +- 0.25 of its energy in the cells of this 1.3-lambda stack, and a per-shower
    pull would collapse that spread. Even e+ leave only 0.995 +- 0.0015 (leakage and
    overflow), so pass the training file's mean cell response for them too.
    """
    total_mev = sum(image.float().flatten(1).sum(dim=1) for image in layers)  # (B,)
    response = total_mev / (energy_gev.reshape(-1).float() * 1e3)
    if target_response is None:
        return (response - 1.0).abs().mean()
    target = torch.as_tensor(target_response, dtype=response.dtype, device=response.device)
    if target.ndim == 0:
        return (response.mean() - target).abs()
    if particle_index is None:
        raise ValueError("a per-particle target_response needs particle_index")
    index = particle_index.reshape(-1).long()
    gap = torch.zeros_like(target).index_add(0, index, response - target[index])  # (P,) summed gaps
    count = torch.zeros_like(target).index_add(0, index, torch.ones_like(response))
    present = count > 0
    return (gap[present] / count[present]).abs().mean()


def _check_request(energy_gev: np.ndarray, particle_index: np.ndarray | None, n_particles: int) -> None:
    if energy_gev.ndim != 1 or not np.all(np.isfinite(energy_gev)) or np.any(energy_gev <= 0):
        raise ConfigError("generate needs a 1-D array of finite, positive incident energies in GeV")
    if particle_index is not None and (particle_index.shape != energy_gev.shape or particle_index.min(initial=0) < 0
                                       or particle_index.max(initial=0) >= n_particles):
        raise ConfigError(f"particle_index must hold one index in [0, {n_particles}) per energy")
    if particle_index is None and n_particles > 1:
        raise ConfigError(f"the generator knows {n_particles} particles: pass particle_index")


class CompiledGenerator:
    """A CaloGenerator compiled whole for inference by `torch.compile` (static shapes, the weights frozen in
    as constants): `generate` takes it in place of the generator. A few fused kernels replace ~550 small
    operations a call, for less time a batch (docs/benchmarks.md), after a one-off compilation of 20-30 s
    per batch size and dtype on the first call (6-8 s once inductor's cache holds the kernels; it needs a
    C++ compiler). For a generator whose weights no longer change; the same random numbers go in, so the
    showers agree with the eager ones up to float rounding (a cell's count near a whole number of spots
    may differ by one spot).
    """

    def __init__(self, generator: CaloGenerator):
        self.generator = generator
        # the kernels called from C++ rather than Python: ~3% less time a batch of 1,024 (docs/benchmarks.md)
        self.forward = torch.compile(generator, dynamic=False, fullgraph=True,
                                     options={"freezing": True, "cpp_wrapper": True})


def generate(generator: CaloGenerator | CompiledGenerator, energy_gev: np.ndarray, *,
             particle_index: np.ndarray | None = None, batch_size: int = GENERATE_BATCH, seed: int,
             autocast_dtype: torch.dtype | None = None) -> dict[str, np.ndarray]:
    """One shower per requested energy, in the CaloGAN layout (energy GeV, layer_0/1/2 and overflow MeV).

    All latents are drawn up front from `seed`, and each batch's other random numbers from a stream
    seeded by it, so the same seed and batch size give the same showers. Runs in eval mode in
    inference mode (no autograd bookkeeping: 6% less time a batch of 1,024 than under
    no_grad) on the model's device (optionally under bf16 autocast) and restores the mode.
    Overflow is zero: the model has no overflow head. A `CompiledGenerator` runs every batch at
    one size (the first's): the last is padded to it with copies of its last shower's inputs.
    """
    compiled = isinstance(generator, CompiledGenerator)
    call, generator = (generator.forward, generator.generator) if compiled else (generator, generator)
    energy_gev = np.asarray(energy_gev, dtype=np.float64).reshape(-1)
    particle = None if particle_index is None else np.asarray(particle_index, dtype=np.int64).reshape(-1)
    _check_request(energy_gev, particle, generator.n_particles)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    with torch.inference_mode():  # like every other input: a compiled call re-compiles for a tensor of another kind
        z_all = generator.sample_latent(len(energy_gev), generator=rng)
    noise_rng = torch.Generator(device).manual_seed(int(torch.randint(2**62, (1,), generator=rng)))
    size = min(batch_size, len(energy_gev))
    chunks: list[list[np.ndarray]] = []
    was_training = generator.training
    if was_training:  # only then: setting the mode walks every submodule, and a compiled call re-checks them all
        generator.eval()
    try:
        with torch.inference_mode(), torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                                   enabled=autocast_dtype is not None):
            for start in range(0, len(energy_gev), batch_size):
                stop = min(start + batch_size, len(energy_gev))
                energy = torch.as_tensor(energy_gev[start:stop], dtype=torch.float32, device=device)
                index = None if particle is None else torch.as_tensor(particle[start:stop], device=device)
                inputs = (z_all[start:stop].to(device), energy, index,
                          generator.draw_noise(stop - start, generator=noise_rng, device=device))
                if compiled and stop - start < size:
                    inputs = tuple(_padded(value, size) for value in inputs)
                layers = call(*inputs[:3], noise=inputs[3])
                chunks.append([image[:stop - start].float().cpu().numpy() for image in layers])
    except torch._dynamo.exc.BackendCompilerFailed as error:  # say, no C++ compiler
        cause = getattr(error, "inner_exception", error)
        raise ConfigError(f"torch.compile could not compile the generator ({type(cause).__name__}: "
                          f"{(str(cause).strip().splitlines() or [''])[0]}); run without compiling") from None
    finally:
        if was_training:
            generator.train()
    return _assemble(energy_gev, chunks)


def _padded(value: torch.Tensor | ShowerNoise | None, size: int) -> torch.Tensor | ShowerNoise | None:
    """A batch's tensor (or the ShowerNoise of them) padded to `size` rows with copies of its last row."""
    if value is None:
        return None
    if isinstance(value, ShowerNoise):
        return ShowerNoise(*(_padded(part, size) for part in value))
    return torch.cat([value, value[-1:].expand(size - len(value), *value.shape[1:])])


def _assemble(energy_gev: np.ndarray, chunks: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    out = {"energy": energy_gev[:, None].copy(), "overflow": np.zeros((len(energy_gev), N_OVERFLOW), np.float32)}
    for k, shape in enumerate(LAYER_SHAPES):
        parts = [chunk[k] for chunk in chunks] or [np.zeros((0, *shape), np.float32)]
        whole = parts[0] if len(parts) == 1 else np.concatenate(parts)  # one batch: no copy
        out[f"layer_{k}"] = whole.astype(np.float32, copy=False)
    return out


def n_parameters(model: nn.Module) -> int:
    """Trainable parameter count (CaloGAN had ~30 M; the defaults here: 0.23 M in G before its layer-energy
    mixture is fitted, 0.22 M in D)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
