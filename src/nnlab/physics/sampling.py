"""Visible (liquid-argon) energy of the sampling calorimeter: sampling fractions and hit statistics.

Source: docs/physics.md#visible-energy-in-a-sampling-calorimeter: e/mip = 1 / (1 + 0.007 (Z_Pb - Z_Ar)) of
Grindhammer & Peters (hep-ex/0001020); hits N ~ Poisson(1 / (a^2/E + c^2)) as in ATLAS
FastCaloSim with the LAr EM barrel a = 10.1 %, c = 0.2 %; MIP deposits from PDG dE/dx.
"""

from __future__ import annotations

import numpy as np

from nnlab.physics.geometry import Calorimeter
from nnlab.physics.materials import mip_deposit_mev

STOCHASTIC_TERM = 0.101  # a, per sqrt(GeV)
CONSTANT_TERM = 0.002  # c


def e_over_mip(calorimeter: Calorimeter) -> float:
    """e/mip of the stack (0.69 for Pb/LAr): showers' soft electrons sample less than a MIP."""
    return 1.0 / (1.0 + 0.007 * (calorimeter.absorber.z - calorimeter.gap.z))


def mip_sampling_fraction(calorimeter: Calorimeter) -> float:
    """Share of a MIP's deposit that lands in the argon: 1.17 / (2.55 + 1.17) MeV = 0.31."""
    gap = mip_deposit_mev(calorimeter.gap, calorimeter.gap_mm)
    return gap / (gap + mip_deposit_mev(calorimeter.absorber, calorimeter.absorber_mm))


def em_sampling_fraction(calorimeter: Calorimeter) -> float:
    """Sampling fraction of showers, e/mip x the MIP one: 0.22 (docs/physics.md: about 0.2, an estimate)."""
    return e_over_mip(calorimeter) * mip_sampling_fraction(calorimeter)


def expected_hits(energy_gev: np.ndarray) -> np.ndarray:
    """Mean number of equal-energy hits 1 / (a^2/E + c^2): Poisson hits give sigma/E = sqrt(a^2/E + c^2)."""
    return 1.0 / (STOCHASTIC_TERM**2 / np.maximum(energy_gev, 1e-6) + CONSTANT_TERM**2)
