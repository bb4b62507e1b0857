"""Pion ingredients: MIP losses, multiple scattering, EM fraction, halo (docs/physics.md#charged-pions; PDG review)."""

import numpy as np
import pytest

from nnlab.physics import hadron_shower as hs
from nnlab.physics.binning import depth_slicing, radial_containment
from nnlab.physics.geometry import calogan_calorimeter

CALO = calogan_calorimeter()


def test_mip_loss_per_period_has_the_pdg_mean_and_a_landau_tail():
    losses = hs.period_deposits_mev(5000, CALO, np.random.default_rng(0))
    assert losses.mean() == pytest.approx(2.547 + 1.170, rel=0.005)  # PDG dE/dx_min, Pb + LAr
    low, median, high = np.percentile(losses, [0.1, 50.0, 99.9])
    assert median < losses.mean() and high - median > 3 * (median - low)  # Landau-like: a long high tail


def test_track_spreads_like_highland_multiple_scattering():
    # a random walk of the angle: sigma_x at the exit = theta_0 L / sqrt(3) (PDG eq. 34.20)
    energy = np.full(20_000, 1.0)
    x, y = hs.track_positions_mm(energy, CALO, np.random.default_rng(1))
    depth_x0 = CALO.depth_x0
    theta0 = 13.6 / 1e3 * np.sqrt(depth_x0) * (1 + 0.038 * np.log(depth_x0))
    expected = theta0 * (CALO.depth_mm - CALO.period_mm / 2) / np.sqrt(3)
    assert x[:, -1].std() == pytest.approx(expected, rel=0.05)
    assert y[:, -1].std() == pytest.approx(expected, rel=0.05)
    assert abs(np.corrcoef(x[:, -1], y[:, -1])[0, 1]) < 0.03


def test_em_fraction_mean_follows_the_power_law():
    f = hs.em_fraction(np.full(20_000, 10.0), np.random.default_rng(2))
    assert f.mean() == pytest.approx(1 - 10.0**-0.18, abs=0.005)  # docs/physics.md#charged-pions, an estimate
    assert np.all((f > 0) & (f < 1))


def test_halo_holds_95_percent_within_one_interaction_length():
    """docs/physics.md#charged-pions: ~95 % of the hadronic halo within 1 lambda_I (+-0.02), energy-weighted over depth."""
    rng, lam = np.random.default_rng(3), CALO.material.interaction_length_mm
    start = np.minimum(hs.interaction_depth_mm(3000, CALO, rng), CALO.depth_mm)
    s = hs.hadron_slices(np.full(3000, 10_000.0), start, calorimeter=CALO, slicing=depth_slicing(CALO), rng=rng)
    halo, radius = s["energy_mev"][..., 2], s["radius_mm"][..., 2]
    assert (halo * radial_containment(lam, radius)).sum() / halo.sum() == pytest.approx(0.95, abs=0.02)


def test_hadronic_bookkeeping_adds_up():
    rng = np.random.default_rng(4)
    available = np.full(500, 50_000.0)
    s = hs.hadron_slices(available, np.full(500, 100.0), calorimeter=CALO, slicing=depth_slicing(CALO), rng=rng)
    visible = s["energy_mev"].sum(axis=(1, 2)) + s["longitudinal_leak_mev"]
    assert np.allclose(visible + s["invisible_mev"], available)
    assert np.allclose(visible, s["em_mev"] + s["hadronic_mev"])
