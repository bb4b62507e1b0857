"""Validation of generated showers on simulated samples: separation powers, classifier AUC, plots and report."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.errors import ConfigError, DataError
from nnlab.evaluation import shower_validation as val
from nnlab.physics.simulator import simulate

N = 2000


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than they save


@pytest.fixture(scope="module")
def samples() -> dict[str, dict[str, np.ndarray]]:
    """Two independent e+ samples and one pi+ sample, 1-100 GeV (0.3 s each)."""
    return {"eplus": simulate("eplus", N, seed=1, profile=False),
            "eplus_2": simulate("eplus", N, seed=2, profile=False),
            "piplus": simulate("piplus", N, seed=3, profile=False)}


def _halves(showers: dict[str, np.ndarray]) -> tuple[dict, dict]:
    return ({k: v[: N // 2] for k, v in showers.items()}, {k: v[N // 2:] for k, v in showers.items()})


def _by_name(rows: list[dict]) -> dict[str, float]:
    return {row["observable"]: row["separation_power"] for row in rows}


def test_every_observable_is_compared_and_a_sample_against_itself_scores_zero(samples):
    rows = val.compare_observables(samples["eplus"], samples["eplus"])
    assert [row["observable"] for row in rows] == [n for names in val.FAMILIES.values() for n in names]
    assert all(row["separation_power"] == 0.0 for row in rows)
    assert all(b["separation_power"] == 0.0 for row in rows for b in row["by_energy"])


def test_independent_samples_score_near_zero_and_eplus_against_piplus_far_from_it(samples):
    same = _by_name(val.compare_observables(samples["eplus"], samples["eplus_2"]))
    assert max(same.values()) < 0.05  # statistical noise of 2000 showers in 50 bins
    different = _by_name(val.compare_observables(samples["eplus"], samples["piplus"]))
    assert np.mean(list(different.values())) > 0.3
    assert different["E_tot/E_inc"] > 0.9  # 0.995 +- 0.001 against 0.29 +- 0.25: disjoint


def test_without_energy_bins_the_overall_powers_are_the_same(samples):
    full = val.compare_observables(samples["eplus"], samples["piplus"])
    overall = val.compare_observables(samples["eplus"], samples["piplus"], by_energy=False)
    assert [row["separation_power"] for row in overall] == [row["separation_power"] for row in full]
    assert all(row["by_energy"] == [] for row in overall) and all(row["by_energy"] for row in full)


def test_energy_bins_count_showers_and_skip_the_sparse_ones(samples):
    rows = val.compare_observables(samples["eplus"], samples["piplus"], energy_bins=(1.0, 1.1, 50.0, 100.0))
    bins = rows[0]["by_energy"]
    assert [(b["low_gev"], b["high_gev"]) for b in bins] == [(1.0, 1.1), (1.1, 50.0), (50.0, 100.0)]
    assert sum(b["n_reference"] for b in bins) == N  # the last bin is closed: E = 100 GeV counts
    assert bins[0]["n_reference"] < val.MIN_SHOWERS_PER_BIN and bins[0]["separation_power"] is None
    assert bins[2]["separation_power"] > 0.3


def test_log_edges_keep_a_bin_for_zeros_and_disjoint_samples_score_one():
    edges = val.common_edges(np.array([0.0, 1.0]), np.array([100.0]), log=True, n_bins=2)
    np.testing.assert_allclose(edges, [0.0, 1.0, 10.0, 100.0], rtol=1e-6)
    assert val.obs.separation_power(np.zeros(10), np.ones(10), bins=edges) == pytest.approx(1.0)


def test_a_histogram_bins_both_samples_alike_and_divides_them():
    p, q = np.array([0.0, 0.0, 1.0, 10.0, 10.0, 100.0]), np.array([1.0, 10.0, 100.0, 100.0])
    drawn = val.histogram("E_1", p, q)  # log-binned: the zeros' bin is left out of the picture, not out of S
    assert drawn["log"] and drawn["unit"] == "MeV" and drawn["meaning"] == "energy in layer 1"
    np.testing.assert_allclose(drawn["edges"][[0, -1]], [1.0, 100.0], rtol=1e-6)
    assert drawn["reference"].sum() == pytest.approx(1) and drawn["generated"].sum() == pytest.approx(1)
    filled = drawn["reference"] > 0
    np.testing.assert_allclose(drawn["ratio"][filled], drawn["generated"][filled] / drawn["reference"][filled])
    assert np.isnan(drawn["ratio"][~filled]).all()
    assert drawn["separation_power"] == val._separation(p, q, "E_1") > 0  # the zeros count
    same = val.histogram("f_0", q / 100, q / 100)
    assert same["separation_power"] == 0.0 and not same["log"] and np.all(same["ratio"][same["reference"] > 0] == 1)


@pytest.mark.parametrize("atom, top", [(1 / 7, 5 / 7), (0.5, 1.0), (0.98, 1.0)])
def test_a_value_many_showers_share_is_never_split_by_an_edge(atom, top):
    # E_ratio of a few whole spots: (a - b) / (a + b) = 1/7 in 500 showers of each sample, rounded up in one and
    # down in the other; over [0, 5/7] in 50 bins 1/7 is an edge (as is 0.5 over [0, 1]; 0.98 is the last inner one)
    p = np.r_[np.full(500, atom) * (1 + 1e-9), 0.0, top]
    q = np.r_[np.full(500, atom) * (1 - 1e-9), 0.0, top]
    assert val.obs.separation_power(p, q, bins=np.histogram_bin_edges(np.r_[p, q], 50)) > 0.99  # split: "disjoint"
    edges = val.common_edges(p, q, log=False)
    assert edges[0] == 0.0 and edges[-1] == top and np.all(np.diff(edges) >= 0)
    assert val.obs.separation_power(p, q, bins=edges) == 0.0  # the same distributions
    log_edges = val.common_edges(p, q, log=True)
    assert val.obs.separation_power(p, q, bins=log_edges) == 0.0


def test_an_edge_inside_a_run_of_values_moves_to_its_nearer_side_with_a_gap():
    values = np.r_[0.0, 0.1, np.arange(0.5, 0.751, 0.05), 0.9, 1.0]  # 0.5-0.75: a run at a tolerance of 0.06
    edges = np.array([0.0, 0.05, 0.49, 0.52, 0.74, 1.0])
    moved = val._clear_of_values(edges, values, tolerance=0.06)
    # 0.05 and 0.49 fall in gaps; 0.52 and 0.74 inside the run: moved below it (0.47, then kept in order behind
    # 0.49: an empty bin) and above it (0.78)
    np.testing.assert_allclose(moved, [0.0, 0.05, 0.49, 0.49, 0.78, 1.0])
    top = val._clear_of_values(np.array([0.0, 0.76, 1.0]), np.r_[0.0, np.arange(0.5, 1.001, 0.05)], tolerance=0.06)
    np.testing.assert_allclose(top, [0.0, 0.47, 1.0])  # a run up to the top: below it


def test_edges_move_only_off_shared_values():
    draw = np.random.default_rng(0)
    p, q = draw.normal(size=5000), draw.normal(size=5000)
    plain = np.histogram_bin_edges(np.r_[p, q], val.N_BINS)
    edges = val.common_edges(p, q, log=False)
    span = plain[-1] - plain[0]
    assert np.abs(edges - plain).max() < 1e-3 * span  # a continuous sample: edges on a value move a hair
    assert val.obs.separation_power(p, q, bins=edges) == pytest.approx(val.obs.separation_power(p, q, bins=plain))


@pytest.mark.parametrize("bins", [(10.0,), (10.0, 5.0)])
def test_bad_energy_bins_are_a_config_error(samples, bins):
    with pytest.raises(ConfigError, match="energy_bins"):
        val.compare_observables(samples["eplus"], samples["eplus"], energy_bins=bins)


def test_a_broken_layout_is_a_data_error(samples):
    broken = {k: v for k, v in samples["eplus"].items() if k != "layer_2"}
    with pytest.raises(DataError, match="generated: missing dataset 'layer_2'"):
        val.compare_observables(samples["eplus"], broken)


def test_observable_plots_are_written_per_family(samples, tmp_path):
    paths = val.plot_observable_grid(samples["eplus"], samples["piplus"], tmp_path, families=("fractions",))
    assert [p.name for p in paths] == ["observables_fractions.png"] and paths[0].stat().st_size > 10_000


def test_average_images_are_written(samples, tmp_path):
    path = val.plot_average_images(samples["eplus"], samples["piplus"], tmp_path / "plots" / "average_images.png")
    assert path.stat().st_size > 10_000


def test_report_holds_the_tables_and_links_the_images_relative_to_itself(samples, tmp_path):
    rows = val.compare_observables(samples["eplus"], samples["piplus"])
    images = [tmp_path / "plots" / "average_images.png"]
    path = val.write_report(tmp_path / "report.md", {"separation": rows, "images": images, "n_reference": N,
                                                     "n_generated": N, "classifier_auc": {"observables": 0.987}})
    text = path.read_text()
    assert "| observable | family | S (all) | 1-10 GeV | 10-50 GeV | 50-100 GeV |" in text
    assert "| observables | 0.987 |" in text and "| E_tot/E_inc | energies | 1.000 |" in text
    assert "![average_images](plots/average_images.png)" in text


def test_unknown_plot_family_is_a_config_error(samples, tmp_path):
    with pytest.raises(ConfigError, match="family"):
        val.plot_observable_grid(samples["eplus"], samples["eplus"], tmp_path, families=("widths",))
