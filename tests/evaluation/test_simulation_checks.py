"""`validate_simulation`: the report of simulated showers against docs/physics.md, its plots and files."""

import json

import numpy as np
import pytest

from nnlab.physics.simulator import simulate, simulate_to_file
from nnlab.evaluation.simulation_checks import Check, validate_simulation


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
