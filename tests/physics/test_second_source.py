"""The test-only second shower source (tests/second_source.py): a valid CaloGAN file, and not nnlab's simulator."""

import numpy as np

from nnlab.data.calo import read_calogan
from nnlab.evaluation import calo_observables as obs
from nnlab.evaluation.shower_classifiers import QUICK, protocol_test
from nnlab.physics.simulator import simulate
from tests import second_source


def test_second_source_writes_continuous_contained_showers(tmp_path):
    second_source.write(tmp_path / "e.h5", "eplus", 300, seed=1)
    showers = read_calogan(tmp_path / "e.h5")
    assert showers["layer_0"].shape == (300, 3, 96) and showers["overflow"].shape == (300, 3)
    deposited = obs.total_energy(obs.layers_of(showers)) + showers["overflow"].sum(axis=1)
    assert np.all(deposited <= showers["energy"][:, 0] * 1e3 * (1 - second_source.BACKSCATTER) * (1 + 1e-9))
    assert obs.response(showers).mean() > 0.95  # 30 X0 deep: nearly contained, less the 1 % backscatter
    assert not obs.in_whole_quanta(showers["layer_1"]).any()
    again = second_source.showers("eplus", 300, seed=1)
    assert all(np.array_equal(again[key], showers[key]) for key in again)  # seeded


def test_second_source_is_told_apart_from_the_simulator():
    """Other depth and lateral laws: the CaloChallenge classifier separates the two sources on high-level features."""
    other = second_source.showers("gamma", 1000, seed=2)
    ours = simulate("gamma", 1000, seed=2, profile=False)
    assert protocol_test(ours, other, level="high", protocol=QUICK)["auc"] > 0.9
