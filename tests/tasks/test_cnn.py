"""The cnn task through the real entry point, on small synthetic images: every model and verb."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab.data.idx import write_idx
from nnlab.training.checkpoint import read_weights
from tests.conftest import assert_one_line_error, untimed_metrics

TINY = ("--data", "synthetic", "--epochs", "1", "--batch-size", "32", "--set", "data.n_train=96",
        "--precision", "32")


def train(cli, out: Path, *args: str) -> Path:
    result = cli("train", "cnn", "--out", out, *TINY, *args)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    return Path(run)


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    from nnlab import api

    overrides = ["data.source=synthetic", "data.n_train=256", "train.epochs=3", "train.batch_size=32"]
    return api.train("cnn", overrides=overrides, out_dir=tmp_path_factory.mktemp("runs")).run.path


@pytest.mark.parametrize("arch", ["lecture", "fast", "resnet", "inception", "vgg"])
def test_every_model_trains_and_evaluates(cli, tmp_path, arch):
    run = train(cli, tmp_path, "--model", arch)
    report = json.loads((run / "report.json").read_text())
    assert 0.0 <= report["test"]["accuracy"] <= 1.0 and report["test"]["n"] == 500
    assert (run / "plots" / "confusion_matrix.png").is_file()


def test_bf16_and_validation_split(cli, tmp_path):
    run = train(cli, tmp_path, "--precision", "bf16-mixed", "--set", "data.val_fraction=0.25")
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "val_acc" in header


def test_fast_learns_the_synthetic_shapes(fast_run):
    assert json.loads((fast_run / "report.json").read_text())["test"]["accuracy"] > 0.5  # chance is 0.1


def test_evaluate_predict_and_inspect(cli, fast_run, tmp_path):
    assert cli("evaluate", fast_run).code == 0
    images = np.zeros((3, 28, 28), dtype=np.float32)
    images[:, 8:20, 13:15] = 1.0
    np.save(tmp_path / "images.npy", images)
    result = cli("predict", fast_run, "--input", tmp_path / "images.npy", "--output", tmp_path / "p.csv")
    assert result.code == 0, result.err
    assert result.out.count("images.npy[") == 3 and len((tmp_path / "p.csv").read_text().splitlines()) == 4
    result = cli("inspect", fast_run, "--steps", "5")
    assert result.code == 0, result.err
    for name in ("filters.png", "activation_maximisation.png"):
        assert (fast_run / "plots" / "inspect" / name).is_file()
    assert list((fast_run / "plots" / "inspect").glob("feature_maps_*.png"))
    assert_one_line_error(cli("inspect", fast_run, "--index", "100000"), "outside the 500 test images")
    assert_one_line_error(cli("inspect", fast_run, "--steps", "0"), "--steps")
    assert_one_line_error(cli("predict", fast_run, "--input", tmp_path / "missing.png"), "missing.png")


def test_transfer_learning_keeps_frozen_features(cli, fast_run, tmp_path):
    run = train(cli, tmp_path, "--init-from", fast_run, "--freeze", "features")
    source, _ = read_weights(fast_run / "model.safetensors")
    tuned, _ = read_weights(run / "model.safetensors")
    features = [k for k in source if k.startswith("model.network.features.")]
    head = [k for k in source if k.startswith("model.network.head.") and k.endswith("weight")]
    assert features and head
    for key in features:
        assert torch.equal(source[key], tuned[key]), key  # weights and BatchNorm statistics alike
    assert any(not torch.equal(source[k], tuned[k]) for k in head)


def test_init_from_another_model_is_refused(cli, fast_run, tmp_path):
    result = cli("train", "cnn", "--out", tmp_path, *TINY, "--model", "vgg", "--init-from", fast_run)
    assert_one_line_error(result, "trained model 'fast', this run uses 'vgg'")
    narrow = cli("train", "cnn", "--out", tmp_path, *TINY, "--init-from", fast_run, "--set", "model.widths=8,16,24")
    assert_one_line_error(narrow, "widths default, this run uses 8,16,24")
    frozen = cli("train", "cnn", "--out", tmp_path, *TINY, "--freeze", "features")
    assert_one_line_error(frozen, "--freeze features keeps trained features fixed: name them with --init-from RUN")
    iris = cli("train", "iris", "--epochs", "1", "--out", tmp_path / "iris")
    (iris_run,) = (tmp_path / "iris" / "iris").iterdir()
    assert iris.code == 0
    assert_one_line_error(cli("train", "cnn", "--out", tmp_path, *TINY, "--init-from", iris_run),
                          "is a run of task 'iris', not a cnn run")


def test_settings_the_model_or_images_cannot_take_are_a_one_line_error(cli, tmp_path):
    result = cli("train", "cnn", "--out", tmp_path, *TINY, "--model", "lecture", "--set", "model.widths=8,8,8")
    assert_one_line_error(result, "model: the lecture network has fixed widths")
    resnet = cli("train", "cnn", "--out", tmp_path, *TINY, "--model", "resnet", "--set", "model.dropout=0.1")
    assert_one_line_error(resnet, "can be set for fast, inception, vgg")
    shifted = cli("train", "cnn", "--out", tmp_path, *TINY, "--set", "data.max_shift=14")
    assert_one_line_error(shifted, "data.max_shift=14 would shift the 28x28 images out of their frame")
    one_each = cli("train", "cnn", "--out", tmp_path, *TINY, "--set", "data.n_train=10",
                   "--set", "data.val_fraction=0.5")
    assert_one_line_error(one_each, "data.val_fraction 0.5 of 10 training images: too few to split")


def test_resume_restores_the_augmentation_stream(cli, tmp_path):
    straight = train(cli, tmp_path / "a", "--epochs", "2", "--set", "train.scheduler=none")
    resumed = train(cli, tmp_path / "b", "--epochs", "1", "--set", "train.scheduler=none")
    train(cli, tmp_path / "b", "--resume", resumed, "--epochs", "2")
    assert untimed_metrics(straight) == untimed_metrics(resumed)


def test_data_commands(cli, tmp_path):
    result = cli("data", "list")
    assert result.code == 0 and "mnist-5k" in result.out
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    result = cli("data", "check", tmp_path)
    assert result.code == 0, result.err
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    assert_one_line_error(cli("data", "check", tmp_path), "t10k-labels-idx1-ubyte.gz")
    assert_one_line_error(cli("train", "cnn", "--data", str(tmp_path / "nothing")), "unknown data set")


def test_data_recipe_sets_epochs_under_the_users_choice():
    from nnlab.api import resolve_config

    default = resolve_config("cnn")
    assert (default.train.epochs, default.train.warmup, default.data.max_shift) == (30, 0.25, 2)
    fashion = resolve_config("cnn", overrides=["data.source=fashion-mnist"])
    fashion_settings = (fashion.train.epochs, fashion.train.warmup, fashion.data.max_shift, fashion.data.max_rotation)
    assert fashion_settings == (4, 0.1, 0, 0)
    assert (default.model.widths, fashion.model.widths) == ((), (16, 32, 160))
    assert (default.model.dropout, fashion.model.dropout) == (None, 0.0)
    assert (default.data.val_fraction, fashion.data.val_fraction) == (0.0, 0.1)  # a validation curve on full sets
    resnet = resolve_config("cnn", overrides=["data.source=fashion-mnist", "model.arch=resnet"])
    assert (resnet.model.widths, resnet.train.epochs) == ((), 4)  # the narrower trunk is fast's only
    subset = resolve_config("cnn", overrides=["data.source=fashion-mnist", "data.n_train=1000"])
    assert (subset.train.epochs, subset.data.max_rotation) == (30, 10.0)  # small data keeps the defaults
    assert subset.model.widths == ()
    assert resolve_config("cnn", overrides=["data.source=fashion-mnist", "train.epochs=2"]).train.epochs == 2
    saved = {"task": "cnn", "data": {"source": "fashion-mnist"}, "train": {"epochs": 9}}
    assert resolve_config("cnn", base=saved).train.epochs == 9  # a saved run keeps what it ran with
