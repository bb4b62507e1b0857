"""`--json` on every verb: the result's data, parsed back, with the keys a script reads; paths inside a run are
given relative to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnlab import api
from nnlab.data import registry
from nnlab.physics.simulator import simulate_to_file


def as_json(cli, *argv) -> dict:
    result = cli(*argv, "--json")
    assert result.code in (0, 1), result.err  # evaluate-sim: 1 when a physics check fails on a tiny sample
    return json.loads(result.out)


@pytest.fixture(scope="module")
def iris(tmp_path_factory) -> Path:
    return api.train("iris", overrides=["train.epochs=2"], out_dir=tmp_path_factory.mktemp("runs")).run.path


@pytest.fixture(scope="module")
def gan(tmp_path_factory, cnn_run) -> Path:
    settings = ["data.source=synthetic", "data.n_train=96", "train.batch_size=32", "train.precision=32",
                "train.epochs=1", f"score.classifier={cnn_run}", "score.n_eval=96", "score.n_restore=2",
                "score.restore_steps=2", "score.every=0"]
    return api.train("gan", overrides=settings, out_dir=tmp_path_factory.mktemp("runs")).run.path


def test_train_evaluate_report_predict(cli, tmp_path, iris):
    trained = as_json(cli, "train", "iris", "--epochs", "1", "--out", tmp_path)
    assert trained["task"] == "iris" and Path(trained["run"]).is_dir() and len(trained["history"]) == 1
    assert {"epoch", "train_loss", "val_acc"} <= set(trained["history"][0])
    assert 0 <= trained["report"]["test"]["accuracy"] <= 1 and "plots/history.png" in trained["report"]["files"]
    evaluated = as_json(cli, "evaluate", iris)
    assert evaluated["test"]["n"] == 30 and "plots/confusion_matrix.png" in evaluated["files"]
    summary = as_json(cli, "report", iris)
    assert summary["values"]["task"] == "iris" and summary["values"]["train"]["epochs"] == 2
    assert summary["values"]["last_epoch"]["epoch"] == 2 and summary["values"]["test"]["n"] == 30
    predicted = as_json(cli, "predict", iris, "--input", "5.1,3.5,1.4,0.2", "--output", tmp_path / "p.csv")
    assert predicted["predicted"] == ["setosa"] and predicted["classes"] == ["setosa", "versicolor", "virginica"]
    assert np.isclose(sum(predicted["probabilities"][0]), 1.0) and predicted["output"] == str(tmp_path / "p.csv")


def test_inspect_and_predict_pictures(cli, tmp_path, cnn_run):
    inspected = as_json(cli, "inspect", cnn_run, "--steps", "2")
    assert Path(inspected["run"]) == Path(cnn_run) and "plots/inspect/filters.png" in inspected["files"]
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    predicted = as_json(cli, "predict", cnn_run, "--input", tmp_path / "x.npy")
    assert predicted["inputs"] == ["x.npy[0]", "x.npy[1]"] and len(predicted["probabilities"][0]) == 10


def test_sample_and_restore(cli, tmp_path, gan):
    sampled = as_json(cli, "sample", gan, "-n", "5")
    assert sampled["measured"] == {"n": 5} and sampled["files"] == ["samples/samples_seed0.png",
                                                                    "samples/samples_seed0.npy"]
    restored = as_json(cli, "restore", gan, "inpaint", "-n", "2", "--steps", "2")
    assert restored["measured"]["mode"] == "inpaint" and {"psnr_input", "psnr_output"} <= set(restored["measured"])
    assert restored["files"] == ["plots/inpaint_seed0.png"]


def test_simulate_and_evaluate_sim(cli, tmp_path):
    simulated = as_json(cli, "simulate", "--particle", "eplus", "-n", "30", "-o", tmp_path / "s.h5")
    assert simulated == {"path": str(tmp_path / "s.h5"), "particle": "eplus", "n": 30, "shards": 0}
    checked = as_json(cli, "evaluate-sim", tmp_path / "s.h5", "--out", tmp_path / "v")
    assert isinstance(checked["values"]["passed"], bool) and checked["values"]["checks"]
    assert {"particle", "name", "value"} <= set(checked["values"]["checks"][0])


def test_foundations_and_data(cli, tmp_path, monkeypatch):
    demo = as_json(cli, "foundations", "gates", "--out", tmp_path)
    assert demo["name"] == "gates" and "XOR" in demo["printout"]
    listed = as_json(cli, "data", "list")
    assert {row["name"] for row in listed["rows"]} >= {"mnist-5k", "mnist", "fashion-mnist", "synthetic"}
    path = simulate_to_file(tmp_path / "unused.h5", "eplus", 1, seed=0)  # any file: data check refuses it
    assert cli("data", "check", path, "--json").code == 2
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2))
    checked = as_json(cli, "data", "check", tmp_path / "mnist.npz")
    assert checked["values"] == {"path": str(tmp_path / "mnist.npz"), "ok": True}
    fetched = tmp_path / "fetched"
    entry = registry.DATASETS["mnist"]
    monkeypatch.setitem(registry.DATASETS, "mnist", registry.DataSet(
        entry.name, entry.summary, entry.load, entry.find, download=lambda folder: folder))  # offline
    assert as_json(cli, "data", "download", "mnist", "--dir", fetched)["values"] == {
        "dataset": "mnist", "folder": str(fetched)}
