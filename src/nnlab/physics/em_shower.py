"""Electromagnetic showers (e+, gamma) by the GFlash parametrisation in the effective Pb/LAr medium.

Source (docs/physics.md#electromagnetic-showers-the-gflash-parametrisation): Grindhammer & Peters,
hep-ex/0001020 and NIM A290 (1990) 469, as coded in Geant4 `GFlashHomoShowerParameterisation.cc`
(fluctuated T and alpha, spot profile, radial law, and `ComputeTau`'s normalisation of the depth
by the shower's mean).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import gammainc

from nnlab.physics.binning import DepthSlicing, radial_containment
from nnlab.physics.materials import Material

# Geant4 clamps (docs/physics.md#fluctuations-of-one-shower): keep sigma(ln) moderate, T >= 1 X0, alpha >= 1.1.
MAX_LOG_SIGMA = 0.5
MIN_T_X0 = 1.0
MIN_ALPHA = 1.1
GEANT4_STEP_X0 = 0.1  # GFlash steps 0.1 X0 and lays at least one spot per step
PHOTON_CONVERSION_X0 = 9.0 / 7.0  # mean free path of pair production


@dataclasses.dataclass(frozen=True)
class LongitudinalProfile:
    """One gamma-function profile per shower, depths in X0 of the effective medium."""

    t_max_x0: np.ndarray  # T: depth of the maximum after the start
    alpha: np.ndarray
    start_x0: np.ndarray  # where the profile begins (photon conversion depth; 0 for e+)

    @property
    def beta(self) -> np.ndarray:
        return (self.alpha - 1.0) / self.t_max_x0


def mean_profile(energy_gev: np.ndarray, material: Material) -> LongitudinalProfile:
    """GFlash's average shower: T = ln y - 0.858, alpha = 0.21 + (0.492 + 2.38/Z) ln y."""
    ln_y = np.log(np.asarray(energy_gev) * 1e3 / material.critical_energy_mev)
    alpha = 0.21 + (0.492 + 2.38 / material.z) * ln_y
    return LongitudinalProfile(ln_y - 0.858, alpha, np.zeros_like(ln_y))


def mean_log_alpha(energy_gev: np.ndarray, material: Material) -> np.ndarray:
    """<ln alpha> = ln(0.81 + (0.458 + 2.26/Z) ln y) of the fluctuated parametrisation."""
    ln_y = np.log(np.asarray(energy_gev) * 1e3 / material.critical_energy_mev)
    return np.log(0.81 + (0.458 + 2.26 / material.z) * ln_y)


def fluctuated_profile(energy_gev: np.ndarray, material: Material, rng: np.random.Generator) -> LongitudinalProfile:
    """Draw T and alpha per shower with GFlash's correlated log-normal fluctuations.

    z1, z2 ~ N(0, 1); ln T and ln alpha share c1 z1 and differ in the sign of c2 z2, so
    their correlation is c1^2 - c2^2 = rho (docs/physics.md#fluctuations-of-one-shower, Geant4 clamps applied).
    """
    ln_y = np.log(np.asarray(energy_gev) * 1e3 / material.critical_energy_mev)
    sigma_t = np.minimum(1.0 / (-1.4 + 1.26 * ln_y), MAX_LOG_SIGMA)
    sigma_a = np.minimum(1.0 / (-0.58 + 0.86 * ln_y), MAX_LOG_SIGMA)
    rho = 0.705 - 0.023 * ln_y
    z1, z2 = rng.standard_normal((2, len(ln_y)))
    c1, c2 = np.sqrt((1.0 + rho) / 2.0), np.sqrt((1.0 - rho) / 2.0)
    t_max = np.exp(np.log(ln_y - 0.812) + sigma_t * (c1 * z1 + c2 * z2))
    alpha = np.exp(mean_log_alpha(energy_gev, material) + sigma_a * (c1 * z1 - c2 * z2))
    return LongitudinalProfile(np.maximum(t_max, MIN_T_X0), np.maximum(alpha, MIN_ALPHA), np.zeros_like(ln_y))


def spot_profile(profile: LongitudinalProfile, material: Material) -> LongitudinalProfile:
    """Spots follow their own, earlier profile: T_S = T (0.698 + 0.00212 Z), alpha_S = alpha (0.639 + 0.00334 Z)."""
    t_max = profile.t_max_x0 * (0.698 + 0.00212 * material.z)
    alpha = np.maximum(profile.alpha * (0.639 + 0.00334 * material.z), MIN_ALPHA)
    return LongitudinalProfile(t_max, alpha, profile.start_x0)


def spot_count(energy_gev: np.ndarray, material: Material) -> np.ndarray:
    """GFlash spot number N_S = 93 ln(Z) E^0.876 (E in GeV): about 3,000 at 10 GeV in Pb/LAr."""
    return 93.0 * np.log(material.z) * np.power(energy_gev, 0.876)


def gamma_slices(alpha: np.ndarray, beta: np.ndarray, start: np.ndarray,
                 edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact fractions of gamma profiles in depth slices, their centroids and the tail beyond.

    A profile beta (beta u)^(alpha-1) e^(-beta u) / Gamma(alpha), u = depth - start, holds
    P(alpha, beta u2) - P(alpha, beta u1) in [u1, u2] (regularised incomplete gamma); the
    first moment is (alpha / beta) times the same difference of P(alpha + 1, .). Inputs (n,)
    and edges (S+1,) in one depth unit; returns fractions (n, S), centroids (depth after the
    start) (n, S) and the fraction beyond the last edge (n,).
    """
    alpha, beta = alpha[:, None], beta[:, None]
    u = np.clip(edges[None, :] - start[:, None], 0.0, None)  # (n, S+1)
    cdf = gammainc(alpha, beta * u)
    fraction = np.diff(cdf, axis=1)
    moment = alpha / beta * np.diff(gammainc(alpha + 1.0, beta * u), axis=1)
    midpoint = 0.5 * (u[:, 1:] + u[:, :-1])
    centroid = np.divide(moment, fraction, out=midpoint, where=fraction > 1e-12)
    return fraction, np.clip(centroid, u[:, :-1], u[:, 1:]), 1.0 - cdf[:, -1]


def slice_integrals(profile: LongitudinalProfile, edges_x0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`gamma_slices` of a GFlash profile over depth edges in X0."""
    return gamma_slices(profile.alpha, profile.beta, profile.start_x0, edges_x0)


def radial_parameters(energy_gev: np.ndarray, tau: np.ndarray, z: float) -> tuple[np.ndarray, ...]:
    """Core radius, tail radius (units of R_M) and core weight p at reduced depth tau.

    docs/physics.md#radial-profile gives the law and its source.
    """
    ln_e = np.log(energy_gev)
    r_core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z) * tau
    k4 = 0.3585 + 0.0421 * ln_e
    r_tail = (0.659 - 0.00309 * z) * (np.exp(-2.59 * (tau - 0.645)) + np.exp(k4 * (tau - 0.645)))
    x = (0.401 + 0.00187 * z - tau) / (1.313 - 0.0686 * ln_e)
    p_core = np.clip((2.632 - 0.00094 * z) * np.exp(x - np.exp(x)), 0.0, 1.0)
    return r_core, r_tail, p_core


def reduced_depth(depth_x0: np.ndarray, profile: LongitudinalProfile, mean_alpha: np.ndarray) -> np.ndarray:
    """tau of Geant4's ComputeTau: depth over the shower's mean depth T alpha/(alpha-1), rescaled
    by the average shower's alpha/(alpha-1), so that tau = t/T for an average shower."""
    a = profile.alpha[:, None]
    scale = (a - 1.0) / a * (mean_alpha / (mean_alpha - 1.0))[:, None]
    return depth_x0 / profile.t_max_x0[:, None] * scale


def radial_components(slice_energy_mev: np.ndarray, energy_gev: np.ndarray, tau: np.ndarray, material: Material):
    """Split slice energies (n, S) into core and tail: energies and radii in mm, each (n, S, 2)."""
    r_core, r_tail, p_core = radial_parameters(energy_gev[:, None], tau, material.z)
    energies = np.stack([slice_energy_mev * p_core, slice_energy_mev * (1.0 - p_core)], axis=-1)
    radii = np.stack([r_core, r_tail], axis=-1) * material.moliere_radius_mm
    return energies, radii


def em_slices(energy_gev: np.ndarray, start_x0: np.ndarray, *, material: Material, slicing: DepthSlicing,
              rng: np.random.Generator) -> dict:
    """Draw one GFlash shower per energy, starting at `start_x0`, and integrate it over the slices."""
    energy_gev = np.asarray(energy_gev, dtype=float)
    profile = dataclasses.replace(fluctuated_profile(energy_gev, material, rng), start_x0=start_x0)
    return integrate_profile(profile, energy_gev, material=material, slicing=slicing)


def integrate_profile(profile: LongitudinalProfile, energy_gev: np.ndarray, *, material: Material,
                      slicing: DepthSlicing) -> dict:
    """Integrate given GFlash profiles over the depth slices (deterministic).

    Returns per-slice component energies, radii and spot energies (n, S, 2) for
    `deposit_layers`, the longitudinal leakage, the energy within one Moliere radius (exact,
    from the radial law) and the profile itself (for truth depth profiles).
    """
    edges_x0 = slicing.edges_mm / material.x0_mm
    fraction, centroid, tail = slice_integrals(profile, edges_x0)
    tau = reduced_depth(centroid, profile, np.exp(mean_log_alpha(energy_gev, material)))
    slice_mev = fraction * (energy_gev * 1e3)[:, None]
    energies, radii = radial_components(slice_mev, energy_gev, tau, material)
    spot_fraction, _, _ = slice_integrals(spot_profile(profile, material), edges_x0)
    min_spots = np.diff(edges_x0)[None, :] / GEANT4_STEP_X0
    n_spots = np.maximum(spot_fraction * spot_count(energy_gev, material)[:, None], min_spots)
    spot_mev = np.repeat((slice_mev / n_spots)[..., None], 2, axis=-1)
    return {"energy_mev": energies, "radius_mm": radii, "spot_mev": spot_mev,
            "longitudinal_leak_mev": tail * energy_gev * 1e3,
            "in_moliere_mev": np.einsum("nsk,nsk->n", energies, radial_containment(material.moliere_radius_mm, radii)),
            "profile": profile}


def depth_profile_mev(profile: LongitudinalProfile, energy_mev: np.ndarray, edges_x0: np.ndarray) -> np.ndarray:
    """Energy of each shower in fine depth bins (n, n_bins): the truth used for the shower maximum."""
    fraction, _, _ = slice_integrals(profile, edges_x0)
    return fraction * np.asarray(energy_mev)[:, None]
