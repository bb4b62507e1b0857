"""What CaloGAN's networks are conditioned on: the incident energy (with optional bumps) and the particle."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.errors import ConfigError

ENERGY_PIVOT_GEV = 10.0  # log(E / 10 GeV) puts the 1-100 GeV range at [-2.3, 2.3]
ENERGY_BUMP_RANGE = (float(np.log(0.1)), float(np.log(10.0)))  # centres of the energy bumps: 1-100 GeV in log(E / 10)


def encode_condition(energy_gev: torch.Tensor, particle_index: torch.Tensor | None, n_particles: int,
                     energy_bumps: int = 0) -> torch.Tensor:
    """(B, 1 + energy_bumps + n_particles): log(E / 10 GeV), bumps, the particle one-hot (constant for one particle).

    The bumps, exp(-((x - c_k) / spacing)^2) at `energy_bumps` centres c_k evenly over 1-100 GeV
    in x = log(E / 10 GeV), give each energy region inputs of its own: through the one scalar x,
    a network's first layer can only tilt with the energy, and the showers below 10 GeV (9% of
    a uniform 1-100 GeV sample) are the ones a classifier told apart best (docs/calogan.md#the-energy-read-as-8-bumps).
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


def check_energy_bumps(energy_bumps: int) -> None:
    """Refuse a negative count or a single bump: the bumps' spacing needs two centres (0 turns them off)."""
    if energy_bumps < 0 or energy_bumps == 1:
        raise ConfigError(f"energy_bumps must be 0 (off) or at least 2, got {energy_bumps}")
