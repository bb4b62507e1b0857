"""CaloGAN observables on small hand-made showers, against values computed by hand (docs/physics.md#validation-observables)."""

import numpy as np
import pytest

from nnlab.evaluation import calo_observables as obs


def _empty(n=1):
    return [np.zeros((n, 3, 96)), np.zeros((n, 12, 12)), np.zeros((n, 12, 6))]


@pytest.fixture
def showers():
    """Shower 0: 10 MeV in layer 0, 30 + 10 MeV in layer 1, nothing in layer 2. Shower 1: empty.
    Shower 2: 5 MeV in layer 2 only."""
    layers = _empty(3)
    layers[0][0, 1, 48] = 10.0
    layers[1][0, 5, 5], layers[1][0, 6, 5] = 30.0, 10.0
    layers[2][2, 6, 3] = 5.0
    return layers


def test_layer_energies_total_and_fractions(showers):
    assert obs.layer_energies(showers).tolist() == [[10, 40, 0], [0, 0, 0], [0, 0, 5]]
    assert obs.total_energy(showers).tolist() == [50, 0, 5]
    assert obs.energy_fractions(showers).tolist() == [[0.2, 0.8, 0.0], [0, 0, 0], [0, 0, 1]]


def test_depth_and_depth_weighted_quantities(showers):
    assert obs.depth(showers).tolist() == [1, 0, 2]
    assert obs.depth_weighted_total(showers).tolist() == [40, 0, 10]  # 0*10 + 1*40; 2*5
    assert obs.shower_depth(showers).tolist() == [0.8, 0.0, 2.0]
    # shower 0: sqrt(1^2 * 40/50 - 0.8^2) = sqrt(0.16) = 0.4; single-layer showers have width 0
    assert obs.shower_depth_width(showers) == pytest.approx([0.4, 0.0, 0.0])


def test_lateral_width_along_the_first_axis(showers):
    # layer 1 cells 5 and 6 of the first axis are centred at -20 and +20 mm; weights 30, 10:
    # mean -10 mm, second moment 400 mm^2 -> std sqrt(400 - 100) = 17.32 mm
    assert obs.lateral_width(showers[1])[0] == pytest.approx(np.sqrt(300.0))
    assert obs.lateral_width(showers[0])[0] == 0.0  # a single cell has no width
    two_strips = _empty()[0]
    two_strips[0, 1, 47] = two_strips[0, 1, 48] = 1.0  # strips centred at -2.5 and +2.5 mm
    assert obs.lateral_width(two_strips, axis=1)[0] == pytest.approx(2.5)
    assert obs.lateral_width(two_strips)[0] == 0.0  # along the coarse axis both sit in one cell
    assert obs.cell_centres_mm(3).tolist() == [-160.0, 0.0, 160.0]


def test_energy_ratio_of_the_two_hottest_cells(showers):
    # layer 1: (30 - 10) / (30 + 10) = 0.5; one hot cell gives 1; an empty layer 0
    assert obs.energy_ratio(showers[1]).tolist() == [0.5, 0.0, 0.0]
    assert obs.energy_ratio(showers[0]).tolist() == [1.0, 0.0, 0.0]


def test_sparsity_spectrum_and_average_image(showers):
    assert obs.sparsity(showers[1]).tolist() == [2 / 144, 0.0, 0.0]
    assert obs.sparsity(showers[1], threshold=15.0).tolist() == [1 / 144, 0.0, 0.0]
    assert sorted(obs.cell_energy_spectrum(showers[1]).tolist()) == [10.0, 30.0]
    mean = obs.average_image(showers[1])
    assert mean[5, 5] == 10.0 and mean.sum() == pytest.approx(40 / 3)
    assert obs.average_image(showers[1], normalise=True)[5, 5] == pytest.approx(0.75 / 3)


def test_shower_observables_has_every_observable(showers):
    values = obs.shower_observables({f"layer_{i}": img for i, img in enumerate(showers)})
    assert {"E_tot", "depth", "l_d", "s_d", "sigma_sd", "E_0", "f_2", "lateral_width_1", "E_ratio_2",
            "sparsity_0"} <= set(values)
    assert all(v.shape == (3,) and np.isfinite(v).all() for v in values.values())


def test_separation_power_hand_values():
    assert obs.separation_power([0.1, 0.2, 0.7], [0.1, 0.2, 0.7], bins=[0, 0.5, 1]) == 0.0
    assert obs.separation_power([0.1, 0.2], [0.8, 0.9], bins=[0, 0.5, 1]) == pytest.approx(1.0)
    # p = (1, 0), q = (1/2, 1/2): 1/2 [(1/2)^2 / (3/2) + (1/2)^2 / (1/2)] = 1/3
    assert obs.separation_power([0.1, 0.2], [0.1, 0.9], bins=[0, 0.5, 1]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        obs.separation_power([np.nan], [1.0])


def test_response_and_binned_stats():
    layers = _empty(2)
    layers[1][:, 0, 0] = [900.0, 4500.0]
    showers = {f"layer_{i}": img for i, img in enumerate(layers)}
    showers.update(energy=np.array([[1.0], [5.0]]), overflow=np.array([[100.0, 0, 0], [0, 0, 0]]))
    assert obs.response(showers).tolist() == [1.0, 0.9]
    stats = obs.binned_stats([1.0, 2.0, 3.0, 7.0], [1.0, 3.0, 5.0, 9.0], [0.0, 4.0, 8.0])
    assert stats["mean"].tolist() == [3.0, 9.0] and stats["count"].tolist() == [3, 1]
    assert stats["std"][0] == pytest.approx(np.sqrt(8 / 3))


def test_shower_max_depth_refines_with_a_parabola():
    # samples of -(k - 4.3)^2 peak at bin 4; the vertex sits 0.3 bins further: (4 + 0.5 + 0.3) * 6 mm
    k = np.arange(10.0)
    profile = 100.0 - (k - 4.3) ** 2
    assert obs.shower_max_depth_mm(profile[None, :])[0] == pytest.approx((4.3 + 0.5) * 6.0)
    edge = np.array([[5.0, 3.0, 1.0]])  # maximum in the first bin: its centre
    assert obs.shower_max_depth_mm(edge)[0] == pytest.approx(3.0)
    assert obs.fit_line([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]) == pytest.approx((1.0, 0.5))


def test_in_whole_quanta_finds_a_shared_energy_quantum():
    quantum = 2.7
    counts = np.array([[[1, 4, 0, 9]], [[2, 3, 0, 8]], [[2, 4, 6, 0]], [[0, 5, 0, 0]], [[0, 0, 0, 0]]])
    quantised = obs.in_whole_quanta(counts * quantum)
    # the smallest cell is 1, 2 or 2 quanta: divided by 1 or 2 it is the quantum; one or no hit cell says nothing
    assert quantised.tolist() == [True, True, True, False, False]
    continuous = np.random.default_rng(0).gamma(2.0, 1.0, size=(200, 12, 12))
    assert not obs.in_whole_quanta(continuous).any()
    nearly = counts[:3] * quantum * (1 + np.array([0, 2e-5, 0, 0]))  # within 1e-3 quanta still whole
    assert obs.in_whole_quanta(nearly).all()
    assert not obs.in_whole_quanta(counts[:1] * quantum + np.array([0, 0.01, 0, 0])).any()
