"""Photon or hadron, through the real entry point, on a few hundred simulated showers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error

TINY = ("--epochs", "3", "--batch-size", "32", "--set", "data.n_per_particle=300", "--set", "model.width=4",
        "--precision", "32")


def train(cli, out: Path, *args: str) -> Path:
    result = cli("train", "calo-classifier", "--out", out, *TINY, *args)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    return Path(run)


def test_gamma_vs_pion_is_learned_and_reported(cli, tmp_path):
    run = train(cli, tmp_path)
    report = json.loads((run / "report.json").read_text())
    (pair,) = report["pairs"]
    assert (pair["signal"], pair["background"]) == ("gamma", "piplus")
    assert pair["auc"] > 0.9  # pions are deeper, wider and often MIP-like: easy even for a tiny net
    assert 0.85 <= report["cut_baseline"]["signal_efficiency"] <= 1.0
    assert len(report["energy_bins"]) == 5
    for name in ("roc.png", "confusion_matrix.png", "history.png"):
        assert (run / "plots" / name).is_file()
    result = cli("evaluate", run)
    assert result.code == 0 and "gamma vs piplus" in result.out


def test_three_classes_from_files(cli, tmp_path):
    files = []
    for particle in ("eplus", "gamma", "piplus"):
        path = tmp_path / f"{particle}.h5"
        assert cli("simulate", "--particle", particle, "-n", "200", "--seed", "3", "-o", path).code == 0
        files.append(str(path))
    run = train(cli, tmp_path, "--particles", "eplus,gamma,piplus", "--data", ",".join(files))
    report = json.loads((run / "report.json").read_text())
    assert [(p["signal"], p["background"]) for p in report["pairs"]] == [
        ("eplus", "gamma"), ("eplus", "piplus"), ("gamma", "piplus")]
    assert report["data"] == ", ".join(files)
    swapped = ",".join([files[1], files[0], files[2]])  # each file's label is read, so the classes cannot swap
    assert_one_line_error(cli("train", "calo-classifier", "--out", tmp_path, *TINY, "--particles", "eplus,gamma,piplus",
                              "--data", swapped), f"--data {files[1]} holds gamma showers, not eplus")


@pytest.mark.parametrize("args, fragment", [
    (("--particles", "gamma,proton"), "unknown particle 'proton'"),
    (("--particles", "gamma"), "at least 2 different particles"),
    (("--data", "only-one.h5"), "one file per particle (2), got 1"),
    (("--data", "a.h5,b.h5"), "a.h5"),
    (("--set", "data.n_per_particle=5"), "of 10 showers (data.n_per_particle): too few to split"),
])
def test_bad_calo_settings_are_one_line_errors(cli, tmp_path, args, fragment):
    assert_one_line_error(cli("train", "calo-classifier", "--out", tmp_path, *TINY, *args), fragment)


def test_a_rejection_without_passing_background_is_reported_as_a_bound():
    from nnlab.tasks.calo_classifier import _rejection_text

    assert _rejection_text(float("inf"), 4000) == "> 4000"
    assert _rejection_text(200.0, 4000) == "200.0"
