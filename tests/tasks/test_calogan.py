"""The calogan task through the real entry point, on a small simulated CaloGAN file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab import api, live
from nnlab.data.calo import read_attrs, read_calogan
from nnlab.errors import ConfigError
from nnlab.evaluation.calo_observables import in_whole_quanta
from nnlab.models.calogan.inference import generate
from nnlab.physics.simulator import simulate_to_file
from nnlab.tasks import calogan as calogan_task
from nnlab.tasks import shower_generator
from nnlab.training.checkpoint import load_checkpoint
from tests import second_source
from tests.conftest import assert_one_line_error, edit_weights

TINY = ("--epochs", "1", "--batch-size", "64", "--set", "data.n_per_particle=400", "--set", "score.n_epoch=100",
        "--set", "score.classifier_epochs=1", "--set", "gan.d_steps=2", "--set", "model.energy_fit_steps=50")


@pytest.fixture(scope="module")
def showers(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("calo") / "eplus.h5"
    return simulate_to_file(path, "eplus", 400, energy_gev=(1.0, 100.0), seed=3, chunk_size=400)


def train(cli, out: Path, *args: str) -> Path:
    result = cli("train", "calogan", "--out", out, *TINY, *args)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    return Path(run)


def test_trains_on_a_file_and_generates_physical_showers(cli, tmp_path, showers):
    run = train(cli, tmp_path, "--data", str(showers))
    _, task = api.load_run(run)
    fake = generate(task.models["G"], np.array([10.0, 10.0, 90.0, 90.0]), seed=0)
    assert fake["layer_0"].shape == (4, 3, 96) and fake["layer_1"].shape == (4, 12, 12)
    assert fake["layer_2"].shape == (4, 12, 6) and fake["overflow"].shape == (4, 3)
    cells = np.concatenate([fake[f"layer_{k}"].reshape(4, -1) for k in range(3)], axis=1)
    assert (cells >= 0).all() and (cells == 0).any()  # ReLU-like output: exact zeros where cells are empty
    totals = cells.sum(1)
    assert totals[2:].min() > 3 * totals[:2].max()  # same z order, 9x the energy: far more deposited
    assert totals.max() <= 90_000 * (1 + 1e-5)  # never more than the incident energy (MeV)
    report = json.loads((run / "report.json").read_text())["eplus"]
    assert 0.0 <= report["classifier_auc"]["observables"] <= 1.0
    assert {row["observable"] for row in report["separation"]} >= {"E_tot/E_inc", "f_0", "s_d", "sparsity_1"}
    challenge = report["calochallenge"]  # the protocol's quick size by default
    assert challenge["settings"] == "3 x 256, 20 epochs"
    for level in ("low", "high"):
        assert 0.0 <= challenge[level]["auc"] <= 1.0 and 0.0 <= challenge[level]["jsd"] <= 1.0
    page = (run / "plots" / "eplus" / "report.md").read_text()
    assert "## CaloChallenge classifier (3 x 256, 20 epochs; calibrated)" in page
    assert (run / "plots" / "eplus" / "average_images.png").is_file()
    viewed = live.showers(run, energy="1:100", n=1000)  # the viewer's reference: the file's held-out showers
    held_out = task.reference["test"]
    assert viewed.reference_label == "held out" and viewed.n == len(held_out["energy"]) == 80
    np.testing.assert_array_equal(viewed.examples["reference"][0][1], held_out["layer_1"][0])
    with pytest.raises(ConfigError, match="only 0 held-out eplus showers lie within 475-525 GeV"):
        live.showers(run, energy="500")
    # showers drawn under bf16 autocast, judged beside the float32 ones
    judged = cli("evaluate", run, "--bf16", "--protocol", "none")
    assert judged.code == 0, judged.err
    bf16 = json.loads((run / "plots" / "bf16" / "report.json").read_text())
    assert bf16["generated in"] == "bf16 autocast" and (run / "plots" / "bf16" / "eplus" / "report.md").is_file()
    assert json.loads((run / "report.json").read_text())["generated in"] == "float32"  # the default report kept
    assert 0.0 <= bf16["eplus"]["classifier_auc"]["observables"] <= 1.0
    assert "calochallenge" not in bf16["eplus"]  # --protocol none
    assert_one_line_error(cli("evaluate", run, "--protocol", "huge"), "--protocol", "huge")


def test_trains_on_the_second_source_and_draws_no_energy_quantum(cli, tmp_path):
    """A file that nnlab's simulator did not write (tests/second_source.py): the generator learns it by default
    without a fitted spot energy, and neither its showers nor the file's have a quantum a layer's cells share."""
    path = tmp_path / "gamma_elsewhere.h5"
    second_source.write(path, "gamma", 400, seed=4)
    trained = cli("train", "calogan", "--out", tmp_path, *TINY, "--data", str(path), "--particle", "gamma")
    assert trained.code == 0, trained.err
    (run,) = [Path(line.split(": ", 1)[1]) for line in trained.out.splitlines() if line.startswith("run: ")]
    _, task = api.load_run(run)
    assert not task.models["G"].round_to_spots and not hasattr(task.models["G"], "spot_coefficients")
    fake = generate(task.models["G"], np.linspace(1.0, 100.0, 200), seed=1)
    lit = (fake["layer_1"].reshape(200, -1) > 0).sum(axis=1) >= 2
    assert lit.mean() > 0.5 and not in_whole_quanta(fake["layer_1"]).any()
    quanta = json.loads((run / "report.json").read_text())["gamma"]["whole_quanta"]
    assert quanta == {"generated": 0.0, "reference": 0.0}
    page = (run / "plots" / "gamma" / "report.md").read_text()
    assert "Layer 1 in whole multiples of one energy in 0.0% of the generated showers, 0.0% of the reference." in page
    assert "gamma: layer 1 in whole multiples of one energy in 0.0% of the generated showers, 0.0% of the reference" \
        in trained.out


def test_two_particles_and_sample_writes_the_calogan_layout(cli, tmp_path, monkeypatch):
    run = train(cli, tmp_path, "--particle", "gamma,piplus", "--set", "data.n_per_particle=200")
    result = cli("sample", run, "--particle", "piplus", "--energy", "50", "-n", "30", "-o", tmp_path / "fake.h5",
                 "--precision", "32")  # the default, auto, is bf16 on a CPU that computes it natively
    assert result.code == 0, result.err
    assert re.search(r"wrote 30 generated piplus showers to .*fake.h5 "
                     r"\(generated in [0-9.]+ s: [0-9,]+ showers/s in float32\)", result.out)
    fake = read_calogan(tmp_path / "fake.h5")
    assert fake["layer_0"].shape == (30, 3, 96) and np.allclose(fake["energy"], 50.0)
    again = cli("sample", run, "--particle", "piplus", "--energy", "50", "-n", "30", "-o", tmp_path / "again.h5",
                "--precision", "32")
    assert again.code == 0 and np.array_equal(read_calogan(tmp_path / "again.h5")["layer_1"], fake["layer_1"])
    fast = cli("sample", run, "--particle", "piplus", "--energy", "50", "-n", "30", "-o", tmp_path / "bf16.h5",
               "--bf16")
    in_bf16 = read_calogan(tmp_path / "bf16.h5")
    assert "showers/s in bf16 autocast)" in fast.out
    assert read_attrs(tmp_path / "bf16.h5")["precision"] == "bf16-mixed"
    assert fast.code == 0 and in_bf16["layer_0"].shape == (30, 3, 96) and (in_bf16["layer_0"] >= 0).all()
    assert not np.array_equal(in_bf16["layer_1"], fake["layer_1"])  # G's products rounded to bf16: other showers
    compiled = cli("sample", run, "--particle", "piplus", "--energy", "50", "-n", "30", "-o", tmp_path / "c.h5",
                   "--compile")
    assert compiled.code == 0, compiled.err
    assert re.search(r"showers/s in [a-z0-9 ]+, after [0-9]+ s compiling\)", compiled.out), compiled.out
    np.testing.assert_allclose(read_calogan(tmp_path / "c.h5")["layer_1"].sum(axis=(1, 2)),
                               fake["layer_1"].sum(axis=(1, 2)), rtol=1e-4)  # the same showers, up to rounding
    ranged = cli("sample", run, "--energy", "5:20", "-n", "50", "--seed", "2", "-o", tmp_path / "ranged.h5")
    energies = read_calogan(tmp_path / "ranged.h5")["energy"]
    assert ranged.code == 0 and energies.min() >= 5 and energies.max() <= 20 and energies.std() > 1
    assert "extrapolates" not in ranged.out  # inside the 160 training showers' energies (1-100 GeV drawn)
    beyond = cli("sample", run, "--energy", "200:500", "-n", "40", "-o", tmp_path / "beyond.h5")
    (note,) = [line for line in beyond.out.splitlines() if line.startswith("note: ")]
    assert beyond.code == 0 and note.startswith("note: 40 of 40 energies") and "extrapolates" in note
    sample_edge_cases(cli, run, tmp_path, monkeypatch)


def sample_edge_cases(cli, run: Path, tmp_path: Path, monkeypatch) -> None:
    """Huge requests refused before any work, large ones streamed in parts, a rare NaN shower drawn again."""
    huge = cli("sample", run, "-n", 10**12, "-o", tmp_path / "huge.h5")
    assert_one_line_error(huge, "-n 1000000000000: about 4.06 PB to write to", "but its disk has")
    assert not (tmp_path / "huge.h5").exists()
    whole = cli("sample", run, "--energy", "5:20", "-n", "40", "-o", tmp_path / "whole.h5", "--precision", "32")
    first = cli("sample", run, "--energy", "5:20", "-n", "16", "-o", tmp_path / "first.h5", "--precision", "32")
    monkeypatch.setattr(shower_generator, "SAMPLE_CHUNK", 16)  # 40 showers in parts of 16, 16 and 8
    parts = cli("sample", run, "--energy", "5:20", "-n", "40", "-o", tmp_path / "parts.h5", "--precision", "32")
    assert whole.code == first.code == parts.code == 0
    whole, parts = read_calogan(tmp_path / "whole.h5"), read_calogan(tmp_path / "parts.h5")
    assert np.array_equal(whole["energy"], parts["energy"])  # one stream of energies, however it is cut
    assert np.array_equal(read_calogan(tmp_path / "first.h5")["layer_1"], parts["layer_1"][:16])  # part 0: the seed
    assert parts["layer_1"].shape == (40, 12, 12) and np.isfinite(parts["layer_1"]).all()
    real_generate = calogan_task.generate

    def nan_in_row_3_once(*args, **kwargs):
        showers = real_generate(*args, **kwargs)
        if not getattr(nan_in_row_3_once, "done", False):
            showers["layer_2"][3, 0, 0], nan_in_row_3_once.done = np.nan, True
        return showers

    monkeypatch.setattr(calogan_task, "generate", nan_in_row_3_once)
    redrawn = cli("sample", run, "-n", "40", "-o", tmp_path / "redrawn.h5")
    assert redrawn.code == 0 and "note: 1 of 40 showers came out NaN or infinite and were drawn again" in redrawn.out
    assert np.isfinite(read_calogan(tmp_path / "redrawn.h5")["layer_2"]).all()
    monkeypatch.setattr(calogan_task, "generate", lambda *a, **k: {**real_generate(*a, **k), "layer_0": np.full(
        (len(a[1]), 3, 96), np.inf, np.float32)})
    assert_one_line_error(cli("sample", run, "-n", "40", "-o", tmp_path / "diverged.h5"),
                          "NaN or infinite values in 16 of 16 showers: its weights have diverged")
    assert not (tmp_path / "diverged.h5").exists()


def test_runs_saved_before_spot_rounding_the_critic_views_and_g_depth_load_without_them(tmp_path, showers):
    settings = [f"data.files={showers}", "data.n_per_particle=400", "train.batch_size=64", "gan.d_steps=2",
                "train.epochs=1", "model.round_to_spots=false", "model.critic_linear_views=[]",
                "model.critic_leakage=false", "gan.gp_per_layer=false", "score.select_by=separation",
                "model.energy_bumps=0", "model.layer_energies=generator", "model.outer_shares=[]", "model.depth=2"]
    old = api.train("calogan", out_dir=tmp_path, overrides=settings, evaluate=False).run.path
    config = (old / "config.yaml").read_text()
    lines = [line for line in config.splitlines(keepends=True)  # saved before these keys existed
             if not line.strip().startswith(("round_to_spots:", "critic_linear_views:", "critic_leakage:",
                                             "gp_per_layer:", "select_by:", "energy_bumps:", "layer_energies:",
                                             "outer_shares:", "depth:"))]
    (old / "config.yaml").write_text("".join(lines))
    assert len(lines) == len(config.splitlines()) - 9
    _, task = api.load_run(old)
    assert task.config.model.round_to_spots is False and not task.models["G"].round_to_spots
    assert task.config.model.critic_linear_views == () and task.models["D"].linear_views == ()
    assert task.config.model.critic_leakage is False and not task.models["D"].leakage
    assert task.config.gan.gp_per_layer is False
    assert task.config.model.energy_bumps == 0 and task.models["G"].energy_bumps == task.models["D"].energy_bumps == 0
    assert task.config.model.layer_energies == "generator" and task.models["G"].energy_model is None
    assert task.config.model.outer_shares == () and task.models["G"].outer_shares == ()
    assert task.config.model.depth == 2
    assert all(sum(isinstance(m, torch.nn.Linear) for m in stream.body) == 2 for stream in task.models["G"].streams)
    assert task.config.score.select_by == "separation" and task.monitor == ("sep_watched", "min")


def test_bad_requests_are_one_line_errors(cli, tmp_path, showers):
    run = train(cli, tmp_path, "--data", str(showers))
    assert_one_line_error(cli("sample", run, "--particle", "gamma"), "eplus")
    assert_one_line_error(cli("sample", run, "--energy", "fifty"), "--energy")
    assert_one_line_error(cli("sample", run, "--energy", "nan"), "--energy")
    assert_one_line_error(cli("sample", run, "--energy", "1:inf"), "--energy")
    assert_one_line_error(cli("sample", run, "--energy", "5:1"), "--energy '5:1'")
    assert_one_line_error(cli("sample", run, "--label", "3"), "--label")
    assert_one_line_error(cli("train", "calogan", "--particle", "muon"), "muon")
    assert_one_line_error(cli("train", "calogan", "--data", f"{showers},{showers}"), "one file per particle")
    assert_one_line_error(cli("train", "calogan", "--data", str(tmp_path / "missing.h5")), "missing.h5")
    photons = simulate_to_file(tmp_path / "gamma.h5", "gamma", 20, energy_gev=50.0, seed=9)
    assert_one_line_error(cli("train", "calogan", "--data", str(photons)), "gamma showers, not eplus")
    assert_one_line_error(cli("train", "calogan", "--resume", run, "--particle", "gamma", "--data", str(photons)),
                          "data.particles was ['eplus'], not ['gamma']")
    assert_one_line_error(cli("train", "calogan", "--loss", "l2"), "gan.loss")
    assert_one_line_error(cli("train", "calogan", "--set", "data.n_per_particle=10"),
                          "holds out 2 of the 10 eplus showers; the scores need at least 5")
    split_by_g = cli("train", "calogan", "--data", str(showers), "--set", "model.layer_energies=generator")
    assert_one_line_error(split_by_g, "model.outer_shares=[]")
    inert = cli("train", "calogan", "--data", str(showers), "--set", "gan.energy_weight=0")
    assert_one_line_error(inert, "gan.energy_weight")  # the mixture sets the energies: the term would do nothing

    def overflowing(weights):  # finite weights so large that G's sums overflow: inf - inf is NaN
        for key, value in weights.items():
            if key.startswith("G.") and value.is_floating_point():
                value.fill_(3e38)

    edit_weights(run, overflowing)
    assert_one_line_error(cli("sample", run, "-n", "5"), "NaN")
    assert_one_line_error(cli("evaluate", run), "NaN")


def test_evaluate_judges_against_a_reference_file_beside_the_held_out_report(cli, tmp_path, showers):
    run = train(cli, tmp_path, "--data", str(showers))
    held_out = (run / "report.json").read_text()
    at_50 = simulate_to_file(tmp_path / "eplus_50gev.h5", "eplus", 60, energy_gev=50.0, seed=9)
    result = cli("evaluate", run, "--reference", at_50)
    assert result.code == 0, result.err
    report = json.loads((run / "plots" / "vs_eplus_50gev" / "report.json").read_text())
    assert report["reference"] == str(at_50)
    (total,) = [row for row in report["eplus"]["separation"] if row["observable"] == "E_tot/E_inc"]
    assert [b["n_reference"] for b in total["by_energy"] if b["n_reference"]] == [60]  # all in 50 GeV's bin
    assert (run / "plots" / "vs_eplus_50gev" / "eplus" / "report.md").is_file()
    assert (run / "report.json").read_text() == held_out  # the held-out report is kept
    beyond = simulate_to_file(tmp_path / "eplus_150gev.h5", "eplus", 20, energy_gev=150.0, seed=9)
    extrapolated = cli("evaluate", run, "--reference", beyond)
    (note,) = [line for line in extrapolated.out.splitlines() if line.startswith("note: ")]
    assert extrapolated.code == 0 and note.startswith(f"note: 20 of 20 showers of {beyond} lie outside the 1.2-100 GeV")
    photons = simulate_to_file(tmp_path / "gamma.h5", "gamma", 20, energy_gev=50.0, seed=9)
    assert_one_line_error(cli("evaluate", run, "--reference", photons), "gamma showers, not eplus")
    assert_one_line_error(cli("evaluate", run, "--reference", f"{at_50},{at_50}"), "one CaloGAN file per particle")
    assert_one_line_error(cli("evaluate", run, "--reference", tmp_path / "missing.h5"), "missing.h5")
    assert_one_line_error(cli("evaluate", run, "--classifier", run), "--classifier does not apply to calogan")


@pytest.mark.parametrize("select_by", ["classifier", "separation"])
def test_the_epoch_kept_scores_lowest_on_what_it_is_selected_by(tmp_path, showers, select_by):
    settings = [f"data.files={showers}", "data.n_per_particle=400", "train.batch_size=64", "gan.d_steps=2",
                "score.n_epoch=200", "score.classifier_epochs=20", "train.epochs=3", f"score.select_by={select_by}",
                "model.energy_fit_steps=50", "train.seed=11"]  # a seed whose lowest separation power is not the first
    run = api.train("calogan", out_dir=tmp_path, overrides=settings, evaluate=False).run
    history = run.read_metrics()
    # by the classifier: the lowest AUC, and among equal AUCs the lowest separation power
    key = {"classifier": lambda row: (row["auc_watched"], row["sep_watched"]),
           "separation": lambda row: row["sep_watched"]}[select_by]
    kept = min(history, key=key)
    assert load_checkpoint(run.best_path, task="calogan")["best"]["epoch"] == kept["epoch"]
    assert all(("auc_watched" in row) is (select_by == "classifier") for row in history)
    assert all(0 < row["n_above"] <= 24 for row in history)  # a tiny G: some of the 24 observables far off
    if select_by == "classifier":  # a tiny G is told apart perfectly: the tie the separation power must break
        assert {row["auc_watched"] for row in history} == {1.0} and kept["epoch"] != 1


@pytest.mark.parametrize("layer_energies", ["generator", "mixture"])
def test_resume_continues_both_networks_and_optimisers_exactly(tmp_path, showers, layer_energies):
    settings = [f"data.files={showers}", "data.n_per_particle=400", "train.batch_size=64", "gan.d_steps=2",
                "score.n_epoch=100", "score.classifier_epochs=1", "train.checkpoint_every_s=0", "gan.g_average=0.9",
                f"model.layer_energies={layer_energies}", "model.energy_fit_steps=50",
                f"model.outer_shares={'[]' if layer_energies == 'generator' else '[0]'}"]
    straight = api.train("calogan", out_dir=tmp_path / "a", overrides=[*settings, "train.epochs=3"],
                         evaluate=False).run
    first = api.train("calogan", out_dir=tmp_path / "b", overrides=[*settings, "train.epochs=2"], evaluate=False).run
    api.train("calogan", resume=first.path, overrides=["train.epochs=3"], evaluate=False)
    a, b = (load_checkpoint(run.last_path, task="calogan") for run in (straight, first))
    for name in ("G", "D", "G_average"):
        for key, value in a["models"][name].items():
            assert torch.equal(value, b["models"][name][key]), (name, key)
    assert torch.equal(a["rng"], b["rng"])
