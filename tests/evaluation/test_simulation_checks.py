"""`validate_simulation`: the report of simulated showers against docs/physics.md, its plots and files."""

import json

import numpy as np
import pytest

from nnlab.physics.simulator import simulate, simulate_to_file
from nnlab.evaluation.simulation_checks import Check, resolution_fit, validate_simulation


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    path = simulate_to_file(out / "eplus.h5", "eplus", 3000, seed=21)
    gamma = {**simulate("gamma", 3000, seed=21), "particle": "gamma"}
    pion = {**simulate("piplus", 3000, seed=21), "particle": "piplus"}
    return out, validate_simulation([path, gamma, pion], out / "plots")


def test_every_physics_check_passes(report):
    _, result = report
    failed = [c for c in result["checks"] if not c["passed"]]
    assert result["passed"], failed
    names = {(c["particle"], c["name"]) for c in result["checks"]}
    assert ("eplus", "L0 fraction at 10 GeV") in names and ("eplus", "t_max slope vs ln y") in names
    assert ("gamma-eplus", "t_max offset at ln y = 7 (X0)") in names
    assert ("piplus", "MIP (no interaction) fraction") in names and ("gamma", "energy within 1 R_M") in names


def test_report_files_plots_and_summary(report):
    out, result = report
    plots = out / "plots"
    for particle in ("eplus", "gamma", "piplus"):
        for kind in ("average_images", "observables", "response"):
            assert (plots / f"{particle}_{kind}.png").read_bytes()[:4] == b"\x89PNG"
    assert (plots / "eplus_tmax.png").exists() and not (plots / "piplus_tmax.png").exists()
    saved = json.loads((plots / "report.json").read_text())
    assert saved["passed"] == result["passed"] and len(saved["checks"]) == len(result["checks"])
    assert (plots / "report.txt").read_text() == result["text"]
    summary = result["summary"]["piplus"]
    assert len(summary["response_mean"]) == 10 and sum(summary["count"]) == 3000
    assert np.all(np.array(result["summary"]["eplus"]["response_mean"]) > 0.99)


def test_check_pass_rule():
    assert Check("eplus", "x", 0.5, 0.4, 0.6, "s").passed
    assert not Check("eplus", "x", 0.7, 0.4, 0.6, "s").passed
    assert not Check("eplus", "x", float("nan"), 0.4, 0.6, "s").passed


def test_every_particle_is_checked_for_an_energy_quantum(report):
    _, result = report
    quanta = {c["particle"]: c for c in result["checks"] if c["name"] == "layer 1 in whole quanta (share)"}
    assert set(quanta) == {"eplus", "gamma", "piplus"} and quanta["eplus"]["value"] == quanta["gamma"]["value"] == 0
    assert quanta["piplus"]["value"] < 0.01  # a pion's few lit cells, whole multiples of each other by chance


def test_resolution_fit_recovers_known_terms():
    """Responses of relative spread sqrt(a^2 / E + c^2) with a = 10 %, c = 1 %: the fit gives both back."""
    rng = np.random.default_rng(0)
    energy = rng.uniform(1.0, 100.0, 200_000)
    response = 0.2 * (1 + rng.normal(size=energy.size) * np.sqrt(0.1**2 / energy + 0.01**2))
    empty = np.zeros((energy.size, 1, 1))
    a, c = resolution_fit({"energy": energy[:, None], "layer_0": (response * energy * 1e3)[:, None, None],
                           "layer_1": empty, "layer_2": empty, "overflow": np.zeros((energy.size, 3))})
    assert a == pytest.approx(0.1, rel=0.03) and c == pytest.approx(0.01, rel=0.15)


def test_the_lar_signal_is_checked_for_its_sampling_fraction_and_resolution(tmp_path):
    path = simulate_to_file(tmp_path / "visible.h5", "eplus", 3000, seed=5, visible=True)
    result = validate_simulation([path], tmp_path / "plots")
    checks = {c["name"]: c for c in result["checks"]}
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]
    assert "deposited/incident mean" not in checks
    assert checks["visible/incident mean"]["value"] == pytest.approx(0.217, abs=0.005)
    assert checks["sampling term a (sqrt GeV)"]["value"] == pytest.approx(0.101, abs=0.01)
    assert "eplus: E (GeV)   N     visible/incident (mean, std)" in result["text"]
