"""CaloGAN's generator: one stream per layer, in sequence, with energy-scaled shapes and optional whole spots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.calo_energy import SHARE_FLOOR, N_UNITS, LayerEnergyMixture, energy_units, layer_energies
from nnlab.models.calogan.blocks import LEAKY_SLOPE, mlp
from nnlab.models.calogan.conditioning import ENERGY_PIVOT_GEV, check_energy_bumps, encode_condition
from nnlab.models.calogan.layout import LOG_CELL_SCALE, N_CELLS, cells_per_layer
from nnlab.models.calogan.spots import N_SPOT_TERMS, SPOT_SAMPLING, in_whole_spots, random_int16, spot_terms
from nnlab.physics.geometry import LAYER_SHAPES

MIN_LOG_SHARE = 50.0  # cells below e^-50 of a layer's hottest are floored (denormal guard)
MEMORY_DIM = 32  # width of the encoding one layer hands to the layers after it
NO_SPOT_MEV = 1e-6  # the spot energy of a layer too rarely hit to fit: rounding to 1 eV changes nothing
LAYER_ENERGIES = ("generator", "mixture")  # who draws the layer energies: G's streams, or a fitted mixture
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
        self.body = mlp(in_dim, width, n_hidden=depth)
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
    the mean (`dithered_counts`); 'random', drawn like a Poisson count (`spot_counts`); or
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
    shapes, and the energies' joint law is the fit's (docs/calogan.md#the-layer-energies-come-from-a-fitted-mixture).

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
        check_energy_bumps(energy_bumps)
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
        if round_to_spots:  # log spot energy (MeV) per particle and layer: coefficients of spot_terms
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
                    cells = in_whole_spots(cells, energy, spot, sampling=self.spot_sampling, draws=draws[k])
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
            spots = random_int16((n, sum(N_CELLS)), generator, device)
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
        return in_whole_spots(cells, energy, spot, sampling=self.spot_sampling, draws=draws,
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
        return torch.exp((c * spot_terms(x, share.to(c.dtype))).sum(dim=1, keepdim=True))

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
            terms = spot_terms(x, part.sum(dim=1, keepdim=True) / (energy_gev.double()[:, None] * 1e3))
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


