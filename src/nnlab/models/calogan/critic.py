"""CaloGAN's critic: one stream per layer on log (and optionally linear) cells, and a head on the shower's energies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.calogan.blocks import LEAKY_SLOPE, mlp
from nnlab.models.calogan.conditioning import check_energy_bumps, encode_condition
from nnlab.models.calogan.layout import LOG_CELL_SCALE, N_CELLS, cells_per_layer, flatten_layers

CRITIC_CELL_UNIT_MEV = 0.1  # D reads log1p(E / 0.1 MeV): a 0.01 MeV cell no longer looks empty
CRITIC_CELL_SCALE = float(np.log1p(2e4 / CRITIC_CELL_UNIT_MEV))  # 12.2: the hottest cells (~20 GeV) again near 1
# D's linear view divides a layer's cells by its hottest plus this floor: a near-empty layer (a photon that
# has not converted yet) then cannot blow up D's gradient and with it the gradient penalty
LINEAR_VIEW_FLOOR_MEV = 10.0
N_SHOWER_FEATURES = 2 * len(N_CELLS) + 2  # D's log layer energies and fractions, log total, response
LEAKAGE_FLOOR = 1e-4  # the critic's log-leakage floor: 0.2% of simulated e+ and photon showers leak less


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
    which shows D the core's energy sharing that the log scale hides (docs/calogan.md#what-the-critic-reads).
    With `leakage`, the head also reads `leakage_feature`, the log share of E the cells miss.
    `energy_bumps`: the condition's bumps over 1-100 GeV, as for the generator.
    """

    def __init__(self, n_particles: int = 1, width: int = 128, linear_views: Sequence[int] = (),
                 leakage: bool = False, energy_bumps: int = 0):
        super().__init__()
        if n_particles < 1 or width < 1:
            raise ConfigError(f"CaloDiscriminator needs n_particles and width >= 1, got {n_particles}, {width}")
        check_energy_bumps(energy_bumps)
        if not set(linear_views) <= set(range(len(N_CELLS))):
            raise ConfigError(f"linear_views must name layers among 0, 1, 2, got {list(linear_views)}")
        self.n_particles, self.linear_views = n_particles, tuple(sorted(set(linear_views)))
        self.leakage, self.energy_bumps = leakage, energy_bumps
        self.streams = nn.ModuleList(mlp(n * (2 if k in self.linear_views else 1), width)
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
