"""Material constants of the CaloGAN sampling stack, mixed from PDG component values.

Source: PDG "Atomic and nuclear properties of materials" for Pb and liquid argon, and the mixture
rules of the PDG review "Passage of particles through matter"
(docs/physics.md#the-effective-medium-of-2-mm-pb-and-4-mm-lar).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# Moliere radius scale energy E_s = m_e sqrt(4 pi / alpha) (PDG eq. 34.37 uses 21.2052 MeV).
SCALE_ENERGY_MEV = 21.2


@dataclasses.dataclass(frozen=True)
class Material:
    """One material's constants, lengths in cm (as the PDG tables give them) and energies in MeV."""

    name: str
    z: float
    a_g_mol: float
    density_g_cm3: float
    x0_cm: float
    moliere_radius_cm: float
    critical_energy_mev: float
    interaction_length_cm: float
    # Mean dE/dx of a minimum-ionising particle (PDG tables), MeV cm2/g: the MIP track deposit.
    dedx_min_mev_cm2_g: float = 0.0

    @property
    def x0_g_cm2(self) -> float:
        return self.x0_cm * self.density_g_cm3

    @property
    def interaction_length_g_cm2(self) -> float:
        return self.interaction_length_cm * self.density_g_cm3

    @property
    def x0_mm(self) -> float:
        return 10.0 * self.x0_cm

    @property
    def moliere_radius_mm(self) -> float:
        return 10.0 * self.moliere_radius_cm

    @property
    def interaction_length_mm(self) -> float:
        return 10.0 * self.interaction_length_cm


# docs/physics.md#the-effective-medium-of-2-mm-pb-and-4-mm-lar (PDG values); dE/dx_min from the same PDG tables.
LEAD = Material("Pb", z=82.0, a_g_mol=207.2, density_g_cm3=11.35, x0_cm=0.561,
                moliere_radius_cm=1.60, critical_energy_mev=7.43, interaction_length_cm=17.6,
                dedx_min_mev_cm2_g=1.122)
# LAr density 1.390 g/cm3 as in CaloGAN's DetectorConstruction.cc.
LIQUID_ARGON = Material("LAr", z=18.0, a_g_mol=39.95, density_g_cm3=1.390, x0_cm=14.0,
                        moliere_radius_cm=9.04, critical_energy_mev=32.84,
                        interaction_length_cm=85.8, dedx_min_mev_cm2_g=2.105)


def mass_fractions(layers: Sequence[tuple[Material, float]]) -> list[float]:
    """Mass fractions w_i = rho_i d_i / sum_j rho_j d_j of a periodic stack of (material, thickness)."""
    masses = [m.density_g_cm3 * thickness for m, thickness in layers]
    return [mass / sum(masses) for mass in masses]


def mix(layers: Sequence[tuple[Material, float]], *, name: str = "mixture") -> Material:
    """Return the effective homogeneous material of a periodic stack, by the PDG's mixing rules.

    Lengths add inversely by mass fraction in g/cm2 (X0, lambda_I), Z and A linearly, the
    critical energy through E_c/X0, and the Moliere radius as E_s / sum(w E_c / X0): the
    rules that make a sampling calorimeter behave like one medium for GFlash.
    """
    w = mass_fractions(layers)
    materials = [m for m, _ in layers]
    total_thickness = sum(t for _, t in layers)
    density = sum(m.density_g_cm3 * t for m, t in layers) / total_thickness
    x0_g_cm2 = 1.0 / sum(wi / m.x0_g_cm2 for wi, m in zip(w, materials))
    ec_over_x0 = sum(wi * m.critical_energy_mev / m.x0_g_cm2 for wi, m in zip(w, materials))
    lambda_g_cm2 = 1.0 / sum(wi / m.interaction_length_g_cm2 for wi, m in zip(w, materials))
    return Material(
        name,
        z=sum(wi * m.z for wi, m in zip(w, materials)),
        a_g_mol=sum(wi * m.a_g_mol for wi, m in zip(w, materials)),
        density_g_cm3=density,
        x0_cm=x0_g_cm2 / density,
        moliere_radius_cm=SCALE_ENERGY_MEV / ec_over_x0 / density,
        critical_energy_mev=x0_g_cm2 * ec_over_x0,
        interaction_length_cm=lambda_g_cm2 / density,
        dedx_min_mev_cm2_g=sum(wi * m.dedx_min_mev_cm2_g for wi, m in zip(w, materials)),
    )


def mip_deposit_mev(material: Material, thickness_mm: float) -> float:
    """Mean energy a minimum-ionising particle deposits crossing `thickness_mm` of `material`."""
    return material.dedx_min_mev_cm2_g * material.density_g_cm3 * thickness_mm / 10.0


def landau_width_mev(material: Material, thickness_mm: float) -> float:
    """Landau width xi = (K/2) (Z/A) rho x for beta ~ 1 (PDG eq. 34.11, K/2 = 0.1535 MeV cm2/mol)."""
    return 0.1535 * material.z / material.a_g_mol * material.density_g_cm3 * thickness_mm / 10.0
