"""Iris through the real entry point: accuracy, determinism, resume, evaluate, predict, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import assert_one_line_error, edit_weights, untimed_metrics
from nnlab.training.checkpoint import load_checkpoint
from nnlab.memory import freed_memory_retained
from nnlab.training.trainer import Trainer


def train(cli, out: Path, *args: str) -> Path:
    result = cli("train", "iris", "--out", out, *args)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    return Path(run)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One default Iris run shared by the evaluate/predict tests (about a second of training)."""
    from nnlab import api

    return api.train("iris", out_dir=tmp_path_factory.mktemp("runs")).run.path


def test_default_training_reaches_90_percent_test_accuracy(trained):
    report = json.loads((trained / "report.json").read_text())
    assert report["test"]["accuracy"] >= 0.9  # 28 of 30 on the default split; 26 to 30 over 60 split seeds
    assert report["test"]["n"] == 30
    for name in ("config.yaml", "env.json", "metrics.csv", "model.safetensors", "checkpoints/last.pt",
                 "checkpoints/best.pt", "plots/confusion_matrix.png", "plots/history.png"):
        assert (trained / name).is_file(), name
    env = json.loads((trained / "env.json").read_text())
    assert env["seed"] == 0 and env["world_size"] == 1 and env["torch"] == torch.__version__
    assert env["freed_memory_retained"] is freed_memory_retained()  # the CLI set it before training


def test_same_seed_gives_the_same_metrics_file(cli, tmp_path):
    first = train(cli, tmp_path / "a", "--epochs", "4", "--set", "model.dropout=0.2")
    second = train(cli, tmp_path / "b", "--epochs", "4", "--set", "model.dropout=0.2")
    assert untimed_metrics(first) == untimed_metrics(second)
    other = train(cli, tmp_path / "c", "--epochs", "4", "--set", "model.dropout=0.2", "--seed", "1")
    assert untimed_metrics(first) != untimed_metrics(other)



def test_two_epochs_plus_resume_one_equals_three_epochs(cli, tmp_path):
    common = ("--set", "model.dropout=0.3", "--set", "train.scheduler=step")
    straight = train(cli, tmp_path / "a", "--epochs", "3", *common)
    resumed = train(cli, tmp_path / "b", "--epochs", "2", *common)
    assert train(cli, tmp_path / "b", "--resume", resumed, "--epochs", "3") == resumed
    assert untimed_metrics(straight) == untimed_metrics(resumed)
    a = load_checkpoint(straight / "checkpoints/last.pt", task="iris")
    b = load_checkpoint(resumed / "checkpoints/last.pt", task="iris")
    for key, value in a["models"]["model"].items():
        assert torch.equal(value, b["models"]["model"][key]), key
    env = json.loads((resumed / "env.json").read_text())
    assert len(env["resumes"]) == 1


def test_evaluate_prints_the_test_metrics(cli, trained):
    result = cli("evaluate", trained)
    assert result.code == 0, result.err
    assert "accuracy" in result.out and "virginica" in result.out


def test_predict_inline_and_from_csv(cli, trained, tmp_path):
    result = cli("predict", trained, "--input", "5.1,3.5,1.4,0.2")
    assert result.code == 0 and "-> setosa" in result.out
    flowers = tmp_path / "flowers.csv"
    flowers.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    out = tmp_path / "predictions.csv"
    result = cli("predict", trained, "--input", flowers, "--output", out)
    assert result.code == 0, result.err
    rows = out.read_text().splitlines()
    assert len(rows) == 3 and rows[1].split(",")[4] == "setosa" and rows[2].split(",")[4] == "virginica"
    probabilities = [float(p) for p in rows[1].split(",")[5:]]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("content, fragment", [
    ("5.1,3.5,1.4\n", "line 1: expected 4 values"),
    ("5.1,3.5,1.4,0.2\n5.1,abc,1.4,0.2\n", "line 2: sepal width (cm) = 'abc' is not a number"),
    ("5.1,3.5,nan,0.2\n", "line 1: petal length (cm) is nan"),
    ("", "no data rows"),
])
def test_predict_rejects_bad_csv_in_one_line(cli, trained, tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    out = tmp_path / "never.csv"
    assert_one_line_error(cli("predict", trained, "--input", path, "--output", out), fragment)
    assert not out.exists()


def test_predict_rejects_missing_file_and_bad_inline(cli, trained):
    assert_one_line_error(cli("predict", trained, "--input", "missing.csv"), "input file not found")
    assert_one_line_error(cli("predict", trained, "--input", "1,2,3"), "expected 4 values")


def test_commands_for_other_tasks_say_which_tasks_they_serve(cli, trained):
    assert_one_line_error(cli("sample", trained), "sample works on gan and calogan runs")
    assert_one_line_error(cli("inspect", trained), "inspect works on cnn runs")
    assert_one_line_error(cli("restore", trained, "inpaint"), "restore works on gan runs")


def test_user_errors_are_one_line_and_exit_2(cli, tmp_path):
    assert_one_line_error(cli("train", "nosuchtask"), "invalid choice: 'nosuchtask'")
    assert_one_line_error(cli("train", "iris", "--bogus"), "unrecognized arguments: --bogus", "nnlab train iris --help")
    assert_one_line_error(cli("train", "iris", "--epochs", "x"), "--epochs")
    assert_one_line_error(cli("train", "iris", "--config", tmp_path / "none.yaml"), "config file not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: [1, 2}\n")
    assert_one_line_error(cli("train", "iris", "--config", bad), "not valid YAML")
    bad.write_text("train:\n  epoch: 3\n")
    assert_one_line_error(cli("train", "iris", "--config", bad, "--out", tmp_path), "unknown config key 'train.epoch'")
    assert_one_line_error(cli("train", "iris", "--set", "train.lr=fast"), "train.lr")
    assert_one_line_error(cli("train", "iris", "--set", "train.warmup=1.5"), "train.warmup: 1.5 is not in [0, 1)")
    assert_one_line_error(cli("train", "iris", "--set", "data.test_fraction=0.01"),  # 2 flowers of 3 species
                          "data.test_fraction 0.01 of the 150 flowers: too few to split with every class in each part")
    assert_one_line_error(cli("train", "iris", "--device", "cuda:0"), "CUDA is not available")
    assert_one_line_error(cli("evaluate", tmp_path), "not an nnlab run directory")
    (tmp_path / "plain").write_text("a file, not a folder")
    assert_one_line_error(cli("train", "iris", "--out", tmp_path / "plain" / "runs"), "Not a directory")
    assert not (tmp_path / "iris").exists()  # nothing half-done was written


def test_ctrl_c_names_the_command_that_continues_the_run(cli, tmp_path, monkeypatch):
    run_epoch = Trainer._run_epoch

    def interrupted_in_epoch_3(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return run_epoch(self, epoch)

    monkeypatch.setattr(Trainer, "_run_epoch", interrupted_in_epoch_3)
    result = cli("train", "iris", "--epochs", "4", "--out", tmp_path / "with space")
    (run,) = (tmp_path / "with space" / "iris").iterdir()
    assert result.code == 130
    assert result.err.splitlines()[-1] == f"nnlab: interrupted (continue with: nnlab train iris --resume '{run}')"
    monkeypatch.undo()
    assert cli("train", "iris", "--resume", run, "--epochs", "4").code == 0
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 4


def test_print_config_shows_the_settings_and_trains_nothing(cli, trained, tmp_path):
    result = cli("train", "iris", "--print-config", "--set", "train.lr=0.5", "--epochs", "4", "--out", tmp_path)
    assert result.code == 0 and not any(tmp_path.iterdir())  # no run directory
    values = yaml.safe_load(result.out)
    assert values["task"] == "iris" and (values["train"]["lr"], values["train"]["epochs"]) == (0.5, 4)
    (tmp_path / "settings.yaml").write_text(result.out)
    assert cli("train", "iris", "--print-config", "--config", tmp_path / "settings.yaml").out == result.out
    resumed = yaml.safe_load(cli("train", "iris", "--print-config", "--resume", trained).out)
    assert resumed == yaml.safe_load((trained / "config.yaml").read_text())  # a resume continues the run's own
    assert_one_line_error(cli("train", "iris", "--print-config", "--set", "train.lr=-1"), "train.lr")


def test_weights_holding_nan_are_refused_in_one_line(cli, trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)

    def one_nan(weights):  # one weight of a diverged or damaged run
        next(iter(weights.values()))[0] = float("nan")

    edit_weights(copy, one_nan)
    assert_one_line_error(cli("predict", copy, "--input", "5.1,3.5,1.4,0.2"), "NaN or infinite")
    assert_one_line_error(cli("evaluate", copy), "NaN or infinite")


def test_resume_of_another_task_or_model_is_refused(cli, trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    config_before = (copy / "config.yaml").read_text()
    for setting, fragment in [("model.hidden_dims=32", "model.hidden_dims was [16], not [32]"),
                              ("model.activation=tanh", "model.activation was 'relu', not 'tanh'"),  # would load
                              ("data.split_seed=1", "data.split_seed was 0, not 1")]:
        result = cli("train", "iris", "--resume", copy, "--set", setting)
        assert_one_line_error(result, "--resume continues a run as it was trained: " + fragment)
    assert (copy / "config.yaml").read_text() == config_before  # a failed resume changes nothing

    config = yaml.safe_load(config_before)
    config["model"]["hidden_dims"] = [8]  # a config.yaml edited by hand: the weights no longer fit
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert_one_line_error(cli("train", "iris", "--resume", copy), "does not fit this model", "size mismatch")
    assert_one_line_error(cli("evaluate", copy), "does not fit this model")

    config["task"] = "cnn"
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert_one_line_error(cli("train", "iris", "--resume", copy), "is a run of task 'cnn', not 'iris'")


def test_report_and_env_commands(cli, trained):
    result = cli("report", trained)
    assert result.code == 0 and "test accuracy" in result.out and "task: iris" in result.out
    result = cli("env")
    assert result.code == 0 and "torch" in result.out



def test_damaged_small_files_of_a_run_are_one_line_errors(cli, trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    (copy / "metrics.csv").write_text("epoch,step,train_loss\n1,3,abc\n")
    assert_one_line_error(cli("report", copy), "metrics.csv line 2: could not convert string to float: 'abc'")
    (copy / "report.json").write_text("[1, 2]")
    (copy / "metrics.csv").unlink()
    assert_one_line_error(cli("report", copy), "report.json holds list, not a JSON object")
    (copy / "env.json").write_text("{half")
    before = (copy / "config.yaml").read_text()
    assert_one_line_error(cli("train", "iris", "--resume", copy, "--epochs", "70"), "env.json is not valid JSON")
    assert (copy / "config.yaml").read_text() == before and (copy / "env.json").read_text() == "{half"


def test_report_names_the_files_of_a_moved_run_where_they_now_are(cli, trained, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(trained, moved)
    files = json.loads((moved / "report.json").read_text())["files"]
    assert files and all(not Path(f).is_absolute() and f.startswith("plots/") for f in files)
    listed = [line.split(": ", 1)[1] for line in cli("report", moved).out.splitlines() if line.startswith("file: ")]
    assert listed == [str(moved / f) for f in files] and all(Path(f).is_file() for f in listed)
