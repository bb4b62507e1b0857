"""Exact cell integrals of the GFlash radial law and the spot-fluctuation draw, against oracles.

Oracles: scipy's numerical double integral of the 2D density, and a brute-force GFlash spot
simulation in Geant4's way (gflash_reference.py).
"""

import numpy as np
import pytest
from scipy import integrate

from nnlab.physics import em_shower
from nnlab.physics.binning import LayerGrid, deposit_layers, depth_slicing, quadrant_integral, radial_containment
from nnlab.physics.geometry import calogan_calorimeter

from .gflash_reference import spot_showers


@pytest.mark.parametrize("a, b, radius", [(3.0, 5.0, 7.3), (40.0, 80.0, 12.0), (-20.0, 7.0, 2.0), (240.0, 5.0, 90.0)])
def test_quadrant_integral_matches_numerical_integration(a, b, radius):
    def density(y, x):
        return radius**2 / (np.pi * (x * x + y * y + radius**2) ** 2)

    value, _ = integrate.dblquad(density, 0.0, abs(a), 0.0, b, epsabs=1e-12)
    assert quadrant_integral(a, b, radius) == pytest.approx(np.sign(a) * value, rel=1e-9)


def test_radial_containment_is_half_at_the_scale_radius():
    # F(r) = r^2 / (r^2 + R^2): half the energy inside r = R (GFlash radial law, docs/physics.md#radial-profile).
    assert radial_containment(3.0, np.array([3.0]))[0] == pytest.approx(0.5)


@pytest.mark.parametrize("layer_index", [0, 1, 2])
def test_cell_fractions_are_symmetric_and_sum_to_the_window(layer_index):
    layer = calogan_calorimeter().layers[layer_index]
    grid = LayerGrid.build(layer)
    cells = grid.cells_from_table(grid.quadrant_table(np.array([15.0])))[0]
    assert cells.sum() == pytest.approx(4.0 * quadrant_integral(240.0, 240.0, 15.0), rel=1e-12)
    assert np.allclose(cells, cells[::-1, :]) and np.allclose(cells, cells[:, ::-1])
    assert (cells > 0).all()


def _slices(n, energy_gev=10.0):
    calo = calogan_calorimeter()
    mean = em_shower.mean_profile(np.full(n, energy_gev), calo.material)
    return em_shower.integrate_profile(mean, np.full(n, energy_gev), material=calo.material,
                                       slicing=depth_slicing(calo))


def test_deposit_conserves_each_layer_exactly_and_matches_the_mean():
    n, slicing = 2000, depth_slicing(calogan_calorimeter())
    s = _slices(n)
    dep = deposit_layers(s["energy_mev"], s["radius_mm"], s["spot_mev"], slicing=slicing, rng=np.random.default_rng(0))
    total = sum(img.sum(axis=(1, 2)) for img in dep["images"]) + dep["overflow"].sum(axis=1) + dep["lateral_escape_mev"]
    assert np.allclose(total, s["energy_mev"].sum(axis=(1, 2)), rtol=1e-12)
    grid, sel = slicing.grids[0], slicing.slices_of_layer(0)
    exact = grid.cells_from_table(np.einsum("sk,skxy->xy", s["energy_mev"][0, sel],
                                            grid.quadrant_table(s["radius_mm"][0, sel])))
    # mean of 2000 multinomial draws: within 5 standard errors of the exact cell integral
    mean, sem = dep["images"][0].mean(axis=0), dep["images"][0].std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(mean - exact) <= 5 * sem + 1e-9)


def test_fast_deposit_reproduces_brute_force_gflash_spots():
    """Same fixed profile, 300 showers: means agree (1-2 %, 4 s.e.), cell spreads within 12-20 %, occupancy 0.03."""
    calo, n, energy = calogan_calorimeter(), 300, 10.0
    mean = em_shower.mean_profile(np.array([energy]), calo.material)
    ref = spot_showers(mean, energy, n, calorimeter=calo, rng=np.random.default_rng(1))
    s = _slices(n, energy)
    dep = deposit_layers(s["energy_mev"], s["radius_mm"], s["spot_mev"], slicing=depth_slicing(calo),
                         rng=np.random.default_rng(2))
    for i in (0, 1):
        fast, slow = dep["images"][i], ref[f"layer_{i}"]
        assert fast.sum(axis=(1, 2)).mean() == pytest.approx(slow.sum(axis=(1, 2)).mean(), rel=0.01)
        assert (fast > 0).mean() == pytest.approx((slow > 0).mean(), abs=0.03)
    core_fast, core_slow = dep["images"][1][:, 5:7, 5:7], ref["layer_1"][:, 5:7, 5:7]
    assert core_fast.mean() == pytest.approx(core_slow.mean(), rel=0.02)
    assert core_fast.std() == pytest.approx(core_slow.std(), rel=0.12)
    strips_fast, strips_slow = dep["images"][0][:, 1, 44:52], ref["layer_0"][:, 1, 44:52]
    sem = np.hypot(strips_fast.std(axis=0), strips_slow.std(axis=0)) / np.sqrt(n)
    assert np.all(np.abs(strips_fast.mean(axis=0) - strips_slow.mean(axis=0)) < 4 * sem)
    assert np.allclose(strips_fast.std(axis=0), strips_slow.std(axis=0), rtol=0.2)


@pytest.mark.parametrize("energy_gev", [1.0, 100.0])
def test_default_slices_agree_with_1mm_slices(energy_gev):
    """The radial law is evaluated once per slice: 15 mm slices keep cell means within 1.5 % of 1 mm ones."""
    calo, energy = calogan_calorimeter(), np.array([energy_gev])
    mean = em_shower.mean_profile(energy, calo.material)
    images = []
    for slice_mm in (15.0, 1.0):
        slicing = depth_slicing(calo, slice_mm)
        s = em_shower.integrate_profile(mean, energy, material=calo.material, slicing=slicing)
        images.append([grid.cells_from_table(np.einsum("nsk,nskxy->nxy", s["energy_mev"][:, sel],
                                                       grid.quadrant_table(s["radius_mm"][:, sel])))[0]
                       for grid in slicing.grids for sel in [slicing.slices_of_layer(grid.layer.index)]])
    for coarse, fine in zip(*images):
        hot = fine > 1e-3 * fine.max()
        assert np.allclose(coarse[hot], fine[hot], rtol=0.015)
        assert np.abs(coarse - fine).sum() < 2e-3 * fine.sum()


@pytest.mark.parametrize("hit_shape", [None, 1.0, 0.5])
def test_poisson_mode_fluctuates_the_layer_sum_like_hits(hit_shape):
    """Equal hits or continuous ones (more of them, each lighter): the same sigma / E."""
    n, slicing = 4000, depth_slicing(calogan_calorimeter())
    s = _slices(n)
    spot = np.full_like(s["spot_mev"], 10.0)  # 10 MeV hits: 10000 MeV / 10 MeV -> 1000 hits, 3.2 %
    dep = deposit_layers(s["energy_mev"], s["radius_mm"], spot, slicing=slicing, rng=np.random.default_rng(3),
                         poisson=True, hit_shape=hit_shape)
    total = sum(img.sum(axis=(1, 2)) for img in dep["images"]) + dep["overflow"].sum(axis=1) + dep["lateral_escape_mev"]
    assert total.mean() == pytest.approx(10_000.0, rel=0.003)
    assert total.std() / total.mean() == pytest.approx(np.sqrt(1 / 1000), rel=0.1)


def test_continuous_hits_keep_each_layer_and_the_cell_spreads_of_equal_spots():
    """Spots of Gamma-distributed energy, (1 + 1/k) times as many: the layer keeps its energy exactly, cell means
    and spreads stay those of equal-energy spots (compound Poisson: m e (1 + 1/k) / (1 + 1/k)^2 ... = m e), and
    cells no longer share a quantum."""
    from nnlab.evaluation.calo_observables import in_whole_quanta

    n, slicing = 3000, depth_slicing(calogan_calorimeter())
    s = _slices(n)
    total = s["energy_mev"].sum(axis=(1, 2))
    draws = [deposit_layers(s["energy_mev"], s["radius_mm"], s["spot_mev"], slicing=slicing,
                            rng=np.random.default_rng(seed), hit_shape=shape) for seed, shape in ((4, None), (5, 1.0))]
    equal, continuous = ({"core": d["images"][1][:, 5:7, 5:7].reshape(n, -1), "strips": d["images"][0][:, 1, 44:52]}
                         for d in draws)
    dep = draws[1]
    kept = sum(img.sum(axis=(1, 2)) for img in dep["images"]) + dep["overflow"].sum(axis=1) + dep["lateral_escape_mev"]
    assert np.allclose(kept, total, rtol=1e-12)
    for part in ("core", "strips"):
        sem = np.hypot(equal[part].std(axis=0), continuous[part].std(axis=0)) / np.sqrt(n)
        assert np.all(np.abs(equal[part].mean(axis=0) - continuous[part].mean(axis=0)) < 4 * sem)
        assert np.allclose(continuous[part].std(axis=0), equal[part].std(axis=0), rtol=0.08)
    assert in_whole_quanta(draws[0]["images"][1]).all() and not in_whole_quanta(dep["images"][1]).any()
