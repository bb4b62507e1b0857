"""GFlash longitudinal parametrisation (docs/physics.md#longitudinal-profile; Grindhammer & Peters hep-ex/0001020)."""

import numpy as np
import pytest
from scipy import integrate, stats

from nnlab.physics import em_shower
from nnlab.physics.geometry import calogan_calorimeter

MATERIAL = calogan_calorimeter().material


def test_mean_profile_formulas_at_10_gev():
    ln_y = np.log(10_000.0 / MATERIAL.critical_energy_mev)
    p = em_shower.mean_profile(np.array([10.0]), MATERIAL)
    assert p.t_max_x0[0] == pytest.approx(ln_y - 0.858)
    assert p.alpha[0] == pytest.approx(0.21 + (0.492 + 2.38 / MATERIAL.z) * ln_y)


def test_fluctuated_t_and_alpha_have_the_stated_log_normal_moments():
    n, energy = 40_000, 10.0
    ln_y = np.log(energy * 1e3 / MATERIAL.critical_energy_mev)
    p = em_shower.fluctuated_profile(np.full(n, energy), MATERIAL, np.random.default_rng(0))
    ln_t, ln_a = np.log(p.t_max_x0), np.log(p.alpha)
    assert ln_t.mean() == pytest.approx(np.log(ln_y - 0.812), abs=0.003)
    assert ln_t.std() == pytest.approx(1 / (-1.4 + 1.26 * ln_y), rel=0.02)
    assert ln_a.mean() == pytest.approx(np.log(0.81 + (0.458 + 2.26 / MATERIAL.z) * ln_y), abs=0.003)
    assert ln_a.std() == pytest.approx(1 / (-0.58 + 0.86 * ln_y), rel=0.02)
    assert np.corrcoef(ln_t, ln_a)[0, 1] == pytest.approx(0.705 - 0.023 * ln_y, abs=0.01)


def test_spot_count_matches_physics_md():
    # GFlash (docs/physics.md#spots): ~3,000 spots at 10 GeV, ~22,000 at 100 GeV for Z_eff 69
    n10, n100 = em_shower.spot_count(np.array([10.0, 100.0]), MATERIAL)
    assert n10 == pytest.approx(3000, rel=0.05)
    assert n100 == pytest.approx(22_000, rel=0.05)


def test_gamma_slices_integrate_the_profile_exactly():
    alpha, beta, start = np.array([3.5]), np.array([0.45]), np.array([1.2])
    edges = np.array([0.0, 2.0, 5.0, 11.0, 30.8])
    fraction, centroid, tail = em_shower.gamma_slices(alpha, beta, start, edges)
    assert fraction.sum() + tail.sum() == pytest.approx(1.0)
    pdf = stats.gamma(a=alpha[0], scale=1 / beta[0]).pdf
    for i in range(len(edges) - 1):
        u1, u2 = max(edges[i] - start[0], 0), edges[i + 1] - start[0]
        mass, _ = integrate.quad(pdf, u1, u2)
        moment, _ = integrate.quad(lambda u: u * pdf(u), u1, u2)
        assert fraction[0, i] == pytest.approx(mass, rel=1e-9)
        assert centroid[0, i] == pytest.approx(moment / mass, rel=1e-7)


def test_radial_parameters_are_physical():
    tau = np.linspace(0.0, 3.0, 31)
    r_core, r_tail, p = em_shower.radial_parameters(10.0, tau, MATERIAL.z)
    assert np.all((p >= 0) & (p <= 1)) and np.all(r_tail > r_core) and np.all(r_core > 0)
    assert np.all(np.diff(r_core) > 0)  # the core widens with depth


def test_reduced_depth_is_t_over_t_for_the_average_alpha():
    # Geant4 ComputeTau: tau = t / T when the shower's alpha equals the average one
    mean_alpha = np.exp(em_shower.mean_log_alpha(np.array([10.0]), MATERIAL))
    profile = em_shower.LongitudinalProfile(np.array([6.0]), mean_alpha, np.zeros(1))
    assert em_shower.reduced_depth(np.array([[3.0, 6.0]]), profile, mean_alpha)[0].tolist() == pytest.approx([0.5, 1.0])
