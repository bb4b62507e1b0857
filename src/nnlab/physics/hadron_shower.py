"""Charged-pion showers: a MIP track to a random first interaction, then a two-component shower.

Source: docs/physics.md#charged-pions: interaction depth ~ Exponential(1.2 lambda_eff); Bock et al.,
NIM 186 (1981) 533 (profile shape a = 0.786 + 0.427 ln E, b = 0.29 per X0, d = 0.978 per
lambda, via hep-ex/9903019); e/h = 1.74 (hep-ex/9911033); Landau width and multiple
scattering from the PDG review; hadronic spot size 0.2 GeV of CMS FastSim (HDShower eSpotSize).
"""

from __future__ import annotations

import numpy as np

from nnlab.physics.binning import DepthSlicing, radial_containment
from nnlab.physics.em_shower import MIN_T_X0, gamma_slices, radial_components, spot_count
from nnlab.physics.geometry import Calorimeter
from nnlab.physics.materials import landau_width_mev, mip_deposit_mev

PION_LAMBDA_RATIO = 1.2  # lambda_pi / lambda_I (docs/physics.md#charged-pions, an estimate)
E_OVER_H = 1.74
EM_FRACTION_EXPONENT = 0.18  # <f_em> = 1 - E^-0.18, E in GeV (estimate)
EM_FRACTION_CONCENTRATION = 15.0  # Beta(k m, k (1 - m)): sigma(f_em) = 0.12 at 10 GeV (estimate)
BOCK_RATE_X0 = 0.29
BOCK_RATE_LAMBDA = 0.978
HADRON_SPOT_MEV = 200.0
# Halo radius R = lambda min(0.1 + 0.2 u / lambda, 0.3) at depth u after the interaction
# (docs/physics.md#charged-pions: R ~ 0.1-0.3 lambda growing with depth, ~95 % within 1 lambda: estimate).
HALO_START, HALO_GROWTH, HALO_MAX = 0.1, 0.2, 0.3
MOYAL_MEAN = np.euler_gamma + np.log(2.0)  # mean of the standard Moyal distribution


def interaction_depth_mm(n: int, calorimeter: Calorimeter, rng: np.random.Generator) -> np.ndarray:
    """Depth of the first inelastic interaction, Exponential(lambda_pi = 1.2 lambda_eff)."""
    return rng.exponential(PION_LAMBDA_RATIO * calorimeter.material.interaction_length_mm, n)


def period_deposits_mev(n: int, calorimeter: Calorimeter, rng: np.random.Generator) -> np.ndarray:
    """MIP energy loss in each 2 mm Pb + 4 mm LAr period, Moyal-distributed (n, n_periods).

    The mean is PDG's minimum-ionising dE/dx (2.55 + 1.17 = 3.72 MeV, 0.30 GeV over the
    stack); the width is the Landau xi of the period (0.18 MeV). A Moyal variate is
    -ln(z^2) for z ~ N(0, 1): a Landau-like tail from rare hard collisions.
    """
    mean = sum(mip_deposit_mev(m, d) for m, d in
               ((calorimeter.absorber, calorimeter.absorber_mm), (calorimeter.gap, calorimeter.gap_mm)))
    xi = landau_width_mev(calorimeter.absorber, calorimeter.absorber_mm) + \
        landau_width_mev(calorimeter.gap, calorimeter.gap_mm)
    z2 = np.square(rng.standard_normal((n, calorimeter.n_periods)))
    return np.clip(mean - xi * MOYAL_MEAN - xi * np.log(np.maximum(z2, 1e-300)), 0.0, None)


def track_positions_mm(energy_gev: np.ndarray, calorimeter: Calorimeter,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Transverse (x, y) of the track at each period's centre: a multiple-scattering random walk.

    Highland's theta_0 for the whole stack, shared equally by the periods; p = E (beta = 1).
    The beam starts at x = y = 0, so the walk decides which side of a cell edge the track takes.
    """
    x0_mm, period = calorimeter.material.x0_mm, calorimeter.period_mm
    depth_x0 = calorimeter.depth_mm / x0_mm
    theta0 = 13.6 / (energy_gev * 1e3) * np.sqrt(depth_x0) * (1.0 + 0.038 * np.log(depth_x0))
    kicks = rng.standard_normal((2, len(energy_gev), calorimeter.n_periods))
    kicks *= (theta0 / np.sqrt(calorimeter.n_periods))[None, :, None]
    angle = np.cumsum(kicks, axis=2)
    position = np.cumsum(angle * period, axis=2) - 0.5 * period * angle
    return position[0], position[1]


def track_images(deposit_mev: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray,
                 calorimeter: Calorimeter) -> tuple[list[np.ndarray], np.ndarray]:
    """Bin per-period track deposits (n, n_periods) into the three images and the overflow."""
    n = len(deposit_mev)
    centres = (np.arange(calorimeter.n_periods) + 0.5) * calorimeter.period_mm
    layer_of_period = calorimeter.layer_of_depth(centres)
    images, overflow = [], np.zeros((n, len(calorimeter.layers)))
    for layer in calorimeter.layers:
        sel = layer_of_period == layer.index
        ix, iy = layer.cell_of(x_mm[:, sel], y_mm[:, sel])
        n_cells = layer.shape[0] * layer.shape[1]
        flat = np.where((ix >= 0) & (iy >= 0), ix * layer.shape[1] + iy, n_cells)
        flat = flat + (np.arange(n) * (n_cells + 1))[:, None]
        sums = np.bincount(flat.ravel(), weights=deposit_mev[:, sel].ravel(), minlength=n * (n_cells + 1))
        sums = sums.reshape(n, n_cells + 1)
        images.append(sums[:, :-1].reshape((n,) + layer.shape))
        overflow[:, layer.index] = sums[:, -1]
    return images, overflow


def em_fraction(energy_gev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-event EM fraction f_em ~ Beta with mean 1 - E^-0.18 (clipped to [0.05, 0.95])."""
    mean = np.clip(1.0 - np.power(np.maximum(energy_gev, 1e-3), -EM_FRACTION_EXPONENT), 0.05, 0.95)
    k = EM_FRACTION_CONCENTRATION
    return rng.beta(k * mean, k * (1.0 - mean))


def bock_shape(energy_gev: np.ndarray) -> np.ndarray:
    """Shape a = 0.786 + 0.427 ln E shared by the EM (per X0) and hadronic (per lambda) parts.

    Floored at 0.5: only showers left with well under 1 GeV reach it, where the fit says nothing.
    """
    return np.maximum(0.786 + 0.427 * np.log(np.maximum(energy_gev, 1e-3)), 0.5)


def halo_radius_mm(depth_after_mm: np.ndarray, lambda_mm: float) -> np.ndarray:
    """Radius scale of the hadronic halo at a depth after the interaction (an estimate, docs/physics.md)."""
    return lambda_mm * np.minimum(HALO_START + HALO_GROWTH * depth_after_mm / lambda_mm, HALO_MAX)


def hadron_slices(available_mev: np.ndarray, start_mm: np.ndarray, *, calorimeter: Calorimeter,
                  slicing: DepthSlicing, rng: np.random.Generator) -> dict:
    """Split each hadronic shower into EM core/tail and hadronic halo per slice, with its losses.

    The EM part (fraction f_em, drawn per event) follows Bock's gamma profile in X0 and
    GFlash's radial law; the rest is scaled by h/e = 1/1.74 (the invisible nuclear share)
    and follows the gamma profile in lambda with a wide halo. Returns (n, S, 3) energies,
    radii and spot energies, the longitudinal leak, the invisible energy and R_M containment.
    """
    material = calorimeter.material
    energy_gev = available_mev / 1e3
    f_em = em_fraction(energy_gev, rng)
    em_mev, had_mev = available_mev * f_em, available_mev * (1.0 - f_em) / E_OVER_H
    a = bock_shape(energy_gev)
    em_frac, em_centroid, em_tail = gamma_slices(a, np.full_like(a, BOCK_RATE_X0), start_mm / material.x0_mm,
                                                 slicing.edges_mm / material.x0_mm)
    had_frac, had_centroid, had_tail = gamma_slices(a, np.full_like(a, BOCK_RATE_LAMBDA),
                                                    start_mm / material.interaction_length_mm,
                                                    slicing.edges_mm / material.interaction_length_mm)
    em_gev = np.maximum(em_mev / 1e3, 0.05)  # the radial fit's ln E needs a floor
    t_max = np.maximum((a - 1.0) / BOCK_RATE_X0, MIN_T_X0)
    em_e, em_r = radial_components(em_frac * em_mev[:, None], em_gev, em_centroid / t_max[:, None], material)
    had_r = halo_radius_mm(had_centroid * material.interaction_length_mm, material.interaction_length_mm)
    energies = np.concatenate([em_e, (had_frac * had_mev[:, None])[..., None]], axis=-1)
    radii = np.concatenate([em_r, had_r[..., None]], axis=-1)
    em_spot = em_mev / np.maximum(spot_count(em_gev, material), 1.0)
    spots = np.broadcast_to(np.array([1.0, 1.0, 0.0]) * em_spot[:, None, None]
                            + np.array([0.0, 0.0, HADRON_SPOT_MEV]), energies.shape)
    return {"energy_mev": energies, "radius_mm": radii, "spot_mev": np.ascontiguousarray(spots),
            "longitudinal_leak_mev": em_mev * em_tail + had_mev * had_tail,
            "invisible_mev": available_mev * (1.0 - f_em) * (1.0 - 1.0 / E_OVER_H),
            "in_moliere_mev": np.einsum("nsk,nsk->n", energies, radial_containment(material.moliere_radius_mm, radii)),
            "em_mev": em_mev, "hadronic_mev": had_mev, "shape": a}
