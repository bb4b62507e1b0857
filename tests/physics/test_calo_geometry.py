"""The CaloGAN geometry and its effective Pb/LAr material, derived from PDG component values.

Expected numbers: docs/physics.md, the detector and the effective medium (to the digits stated there).
"""

import numpy as np
import pytest

from nnlab.physics import sampling
from nnlab.physics.geometry import calogan_calorimeter
from nnlab.physics.materials import LEAD, LIQUID_ARGON, landau_width_mev, mass_fractions, mip_deposit_mev


@pytest.fixture(scope="module")
def calo():
    return calogan_calorimeter()


def test_mass_fractions_of_2mm_pb_and_4mm_lar():
    w_pb, w_ar = mass_fractions([(LEAD, 2.0), (LIQUID_ARGON, 4.0)])
    assert (round(w_pb, 3), round(w_ar, 3)) == (0.803, 0.197)


def test_effective_constants_match_physics_md(calo):
    m = calo.material
    assert round(m.density_g_cm3, 2) == 4.71
    assert round(m.x0_cm, 2) == 1.56
    assert round(m.moliere_radius_cm, 2) == 3.55
    assert round(m.critical_energy_mev, 1) == 9.3
    assert round(m.interaction_length_cm, 1) == 37.4
    assert round(m.z, 1) == 69.4


def test_stack_depth_in_radiation_and_interaction_lengths(calo):
    assert calo.depth_mm == 480.0
    assert round(calo.depth_x0, 1) == 30.8
    assert round(calo.depth_lambda, 2) == 1.28
    x0 = [round(layer.thickness_mm / calo.material.x0_mm, 1) for layer in calo.layers]
    lam = [round(layer.thickness_mm / calo.material.interaction_length_mm, 2) for layer in calo.layers]
    assert x0 == [5.8, 22.3, 2.8]
    assert lam == [0.24, 0.93, 0.11]


def test_readout_layers_cells_and_window(calo):
    assert [layer.thickness_mm for layer in calo.layers] == [90.0, 347.0, 43.0]
    assert [layer.shape for layer in calo.layers] == [(3, 96), (12, 12), (12, 6)]
    assert [layer.cell_mm for layer in calo.layers] == [(160.0, 5.0), (40.0, 40.0), (40.0, 80.0)]
    assert sum(a * b for a, b in calo.layer_shapes) == 504
    assert all(layer.edges_mm(axis)[[0, -1]].tolist() == [-240.0, 240.0] for layer in calo.layers for axis in (0, 1))


def test_beam_is_cell_centre_in_layer0_and_corner_in_layers_1_and_2(calo):
    # docs/physics.md#the-calogan-detector: centre along layer 0's coarse axis; the central 2 x 2 cells of layer 1 share the core.
    assert calo.layers[0].beam_cell_coordinate() == (1.5, 48.0)
    assert calo.layers[1].beam_cell_coordinate() == (6.0, 6.0)
    assert calo.layers[2].beam_cell_coordinate() == (6.0, 3.0)


def test_cell_rule_follows_stepping_action(calo):
    # SteppingAction.cc: bin i - 1 for the first i with pos < -240 + i w and pos > -240; else overflow.
    layer0 = calo.layers[0]
    ix, iy = layer0.cell_of(np.array([0.0, -80.0, -80.1, 239.9, 240.0, -240.0]),
                            np.array([0.0, -0.1, 0.0, 4.9, 0.0, 0.0]))
    assert ix.tolist() == [1, 1, 0, 2, -1, -1]  # an edge belongs to the cell above it
    assert iy.tolist() == [48, 47, 48, 48, 48, 48]


def test_layer_of_depth_uses_readout_edges(calo):
    depth = np.array([0.0, 89.9, 90.0, 436.9, 437.0, 479.9])
    assert calo.layer_of_depth(depth).tolist() == [0, 0, 1, 1, 2, 2]


def test_mip_deposit_and_sampling_fractions():
    # PDG dE/dx_min: Pb 1.122, LAr 2.105 MeV cm2/g -> 2.55 + 1.17 MeV per period (docs/physics.md#charged-pions).
    assert mip_deposit_mev(LEAD, 2.0) == pytest.approx(2.547, abs=1e-3)
    assert mip_deposit_mev(LIQUID_ARGON, 4.0) == pytest.approx(1.170, abs=1e-3)
    assert landau_width_mev(LEAD, 2.0) + landau_width_mev(LIQUID_ARGON, 4.0) == pytest.approx(0.176, abs=1e-3)
    calo = calogan_calorimeter()
    assert sampling.e_over_mip(calo) == pytest.approx(0.69, abs=0.005)  # e/mip of GFlash, docs/physics.md#visible-energy-in-a-sampling-calorimeter
    assert sampling.em_sampling_fraction(calo) == pytest.approx(0.2, abs=0.03)  # "about 0.2 (estimate)"
