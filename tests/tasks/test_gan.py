"""The gan task through the real entry point, on small synthetic images: every model, loss and verb."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab import api
from nnlab.tasks import gan as gan_task
from nnlab.training.checkpoint import load_checkpoint
from nnlab.training.rundir import RunDir
from tests.conftest import assert_one_line_error

TINY = ("--data", "synthetic", "--epochs", "1", "--batch-size", "32", "--precision", "32",
        "--set", "data.n_train=96", "--set", "score.n_epoch=64", "--set", "score.n_eval=96",
        "--set", "score.n_restore=2", "--set", "score.restore_steps=3", "--set", "score.every=1")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    """A tiny cnn run on the same synthetic images: the feature space of the scores."""
    overrides = ["data.source=synthetic", "data.n_train=200", "train.epochs=1", "train.batch_size=50"]
    return api.train("cnn", overrides=overrides, out_dir=tmp_path_factory.mktemp("cnn")).run.path


def train(cli, out: Path, classifier: Path, *args: str) -> Path:
    result = cli("train", "gan", "--out", out, *TINY, "--classifier", classifier, *args)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    return Path(run)


@pytest.mark.parametrize("arch,loss,extra", [
    ("mlp", "nonsaturating", ()),
    ("dcgan", "minimax", ("--set", "gan.d_label_smoothing=0.1")),
    ("dcgan", "wgan-gp", ("--set", "gan.d_steps=2")),
    ("mlp", "hinge", ("--conditional",)),
])
def test_every_model_and_loss_trains_scores_and_reports(cli, tmp_path, classifier, arch, loss, extra):
    run = train(cli, tmp_path, classifier, "--model", arch, "--loss", loss, *extra)
    rows = (run / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    for column in ("train_d_loss", "train_g_loss", "train_d_real_acc", "train_d_fake_acc", "spread", "fid_cnn",
                   "precision", "recall"):
        assert column in header
    assert (run / "plots" / "samples" / "epoch_001.png").is_file()
    scores = json.loads((run / "report.json").read_text())["scores"]
    assert scores["fid_cnn"] >= 0 and scores["fid_cnn_floor"] >= 0
    assert scores["kid_cnn_se"] > 0 and abs(scores["kid_cnn_floor"]) < 4 * scores["kid_cnn_floor_se"] + 1e-3
    assert 0 <= scores["precision"] <= 1 and 0 <= scores["recall"] <= 1
    assert sum(scores["class_histogram"]) == pytest.approx(1.0)
    for mode in ("inpaint", "denoise"):
        assert set(scores[mode]) == {"psnr_input", "psnr_output", "psnr_gain"}
    for name in ("samples", "nearest_training_images", "class_histogram", "interpolation", "inpaint", "denoise",
                 "history"):
        assert (run / "plots" / f"{name}.png").is_file()


def test_the_lecture_mlp_has_a_ten_dimensional_latent_space(tmp_path, classifier):
    result = api.train("gan", out_dir=tmp_path, overrides=["data.source=synthetic", "data.n_train=64",
                                                            "model.arch=mlp", "train.epochs=1", "score.every=0",
                                                            f"score.classifier={classifier}", "score.n_restore=1",
                                                            "score.restore_steps=1", "score.n_eval=64"])
    assert result.task.latent_dim == 10
    assert result.task.models["G"](torch.randn(3, 10)).shape == (3, 1, 28, 28)


def test_sample_writes_a_sheet_and_the_raw_array_deterministically(cli, tmp_path, classifier, monkeypatch):
    run = train(cli, tmp_path, classifier, "--conditional", "--set", "score.every=0")
    first = cli("sample", run, "-n", "12", "--seed", "3", "--label", "7", "--interpolate", "5", "--out", tmp_path / "a")
    again = cli("sample", run, "-n", "12", "--seed", "3", "--label", "7", "--out", tmp_path / "b")
    other = cli("sample", run, "-n", "12", "--seed", "4", "--out", tmp_path / "c")
    assert first.code == again.code == other.code == 0, first.err
    a = np.load(tmp_path / "a" / "samples_seed3_label7.npy")
    assert a.shape == (12, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, np.load(tmp_path / "b" / "samples_seed3_label7.npy"))
    assert not np.array_equal(a, np.load(tmp_path / "c" / "samples_seed4.npy"))
    assert (tmp_path / "a" / "samples_seed3_label7.png").is_file() and (tmp_path / "a" / "walk_seed3.png").is_file()
    assert cli("sample", run, "-n", "5", "--seed", "3", "--label", "7", "--out", tmp_path / "five").code == 0
    monkeypatch.setattr(gan_task, "SAMPLE_CHUNK", 5)  # 12 images in parts of 5, 5 and 2: memory holds one part
    parts = cli("sample", run, "-n", "12", "--seed", "3", "--label", "7", "--out", tmp_path / "parts")
    in_parts = np.load(tmp_path / "parts" / "samples_seed3_label7.npy")
    assert parts.code == 0 and in_parts.shape == (12, 28, 28) and not np.array_equal(in_parts[5:10], in_parts[:5])
    assert np.array_equal(in_parts[:5], np.load(tmp_path / "five" / "samples_seed3_label7.npy"))  # part 0: the seed


def test_generated_images_have_the_data_shape_and_range(tmp_path, classifier):
    run = api.train("gan", out_dir=tmp_path, overrides=[*_overrides(classifier), "score.every=0"]).run
    _, task = api.load_run(run.path)
    images = task.generate(10, seed=0)
    assert images.shape == (10, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    raw = task.models["G"](torch.randn(4, task.latent_dim))
    assert raw.min() >= -1.0 and raw.max() <= 1.0  # tanh


def test_g_learns_at_g_lr_factor_times_the_rate_of_d(tmp_path, classifier):
    settings = [*_overrides(classifier), "score.every=0", "score.n_restore=1", "score.restore_steps=1",
                "train.lr=0.001", "gan.g_lr_factor=3"]
    run = api.train("gan", out_dir=tmp_path, overrides=settings, evaluate=False).run
    optimizers = load_checkpoint(run.last_path, task="gan")["optimizers"]
    assert [optimizers[name]["param_groups"][0]["lr"] for name in ("G", "D")] == pytest.approx([0.003, 0.001])


def test_samples_come_from_the_moving_average_of_g_unless_it_is_turned_off(tmp_path, classifier):
    """And a run saved before `gan.g_average`, `gan.g_lr_factor` and `model.refine` existed loads as it was trained."""
    settings = [*_overrides(classifier), "score.every=0", "score.n_restore=1", "score.restore_steps=1"]
    _, task = api.load_run(api.train("gan", out_dir=tmp_path / "a", overrides=settings).run.path)
    G, average = task.models["G"], task.models["G_average"]
    assert task.sampler is average.module and int(average.n_averaged) == 3  # 96 images, batch 32: 3 G steps
    assert any(not torch.equal(p, q) for p, q in zip(G.parameters(), average.module.parameters()))
    old = api.train("gan", out_dir=tmp_path / "b", overrides=[*settings, "gan.g_average=0", "model.arch=dcgan",
                                                             "model.refine=false"]).run.path
    _, plain = api.load_run(old)
    assert "G_average" not in plain.models and plain.sampler is plain.models["G"]
    config = (old / "config.yaml").read_text()
    for line in ("  g_average: 0.0\n", "  g_lr_factor: 1.0\n", "  refine: false\n"):  # saved before the keys existed
        assert line in config
        config = config.replace(line, "")
    (old / "config.yaml").write_text(config)
    _, older = api.load_run(old)
    assert older.config.gan.g_average == 0.0 and "G_average" not in older.models
    assert older.config.model.refine is False and older.config.gan.g_lr_factor == 1.0
    torch.testing.assert_close(older.generate(4, seed=0), plain.generate(4, seed=0), rtol=0, atol=0)


def test_bad_sample_and_restore_requests_are_one_line_errors(cli, tmp_path, classifier):
    run = train(cli, tmp_path, classifier, "--set", "score.every=0")
    assert_one_line_error(cli("sample", run, "--label", "3"), "--conditional")
    assert_one_line_error(cli("sample", run, "-n", "0"), "-n")
    rejected = cli("sample", run, "--interpolate", "65", "--out", tmp_path / "rejected")
    assert_one_line_error(rejected, "--interpolate takes 2 to 64 steps")
    assert not (tmp_path / "rejected").exists()  # refused before any sample is drawn or written
    many = cli("sample", run, "-n", "300", "--out", tmp_path / "many")
    assert many.code == 0 and "(the first 256 of 300; all of them in the .npy)" in many.out
    assert np.load(tmp_path / "many" / "samples_seed0.npy").shape == (300, 28, 28)
    huge = cli("sample", run, "-n", 10**12, "--out", tmp_path / "huge")
    assert_one_line_error(huge, "-n 1000000000000: about 784 TB to write to", "but its disk has")
    assert not (tmp_path / "huge").exists()
    # 16 columns, not 300: 16 * 30 + 2 = 482 cells across, drawn 2 pixels each to be 600 px or more
    assert Image.open(tmp_path / "many" / "samples_seed0.png").size[0] == 2 * (16 * 30 + 2)
    assert_one_line_error(cli("sample", run, "--bf16"), "--precision does not apply to gan runs")
    assert_one_line_error(cli("restore", run, "inpaint", "-n", "100000"), "-n")
    assert_one_line_error(cli("restore", run, "sharpen"), "invalid choice")
    assert_one_line_error(cli("train", "gan", "--loss", "lsgan", "--data", "synthetic"), "gan.loss")
    assert_one_line_error(cli("train", "gan", "--data", "synthetic", "--set", "gan.g_lr_factor=0"), "g_lr_factor")
    # each of these was a traceback before the config checked ranges
    for setting in ("gan.g_average=1.5", "score.n_restore=0", "model.d_dropout=1.5", "score.n_eval=3"):
        assert_one_line_error(cli("train", "gan", "--data", "synthetic", "--set", setting), setting.split("=")[0])
    assert_one_line_error(cli("train", "gan", "--data", "synthetic", "--set", "data.n_train=3"), "10 classes")
    iris = cli("train", "iris", "--epochs", "1", "--out", tmp_path)
    iris_run = [line.split(": ", 1)[1] for line in iris.out.splitlines() if line.startswith("run: ")][0]
    assert_one_line_error(cli("sample", iris_run), "gan")
    assert_one_line_error(cli("train", "gan", "--resume", iris_run), "iris")
    assert_one_line_error(cli("evaluate", run, "--classifier", iris_run),
                          f"{iris_run} is a run of task 'iris'; the scores need a cnn classifier run")


def test_restore_reports_psnr_and_inpainting_keeps_the_observed_pixels(cli, tmp_path, classifier):
    run = train(cli, tmp_path, classifier, "--set", "score.every=0")
    result = cli("restore", run, "inpaint", "-n", "3", "--steps", "4")
    assert result.code == 0, result.err
    assert "PSNR" in result.out and (run / "plots" / "inpaint_seed0.png").is_file()
    _, task = api.load_run(run)
    psnrs, stack = task.restore("inpaint", n=3, seed=0, steps=4)
    clean, corrupted, restored = stack[:3], stack[3:6], stack[6:]
    observed = corrupted != 0.0  # the hole is black (0 after mapping back to [0, 1])
    assert np.array_equal(restored[observed], clean[observed])
    assert psnrs["psnr_input"] == pytest.approx(_psnr(corrupted, clean), abs=1e-3)


def test_the_full_data_sets_have_their_own_epochs_rates_and_d_dropout():
    default = api.resolve_config("gan")
    full = api.resolve_config("gan", overrides=["data.source=fashion-mnist"])
    assert (default.train.epochs, default.train.lr, default.model.d_dropout, default.gan.g_lr_factor) == (
        60, 2e-4, 0.3, 1.0)
    assert (full.train.epochs, full.train.lr, full.model.d_dropout, full.gan.g_lr_factor) == (7, 8e-4, 0.0, 2.0)
    assert api.resolve_config("gan", overrides=["data.source=mnist", "model.d_dropout=0.1"]).model.d_dropout == 0.1


def test_the_mlp_recipe_trains_the_lectures_pair_with_batchnorm_in_g_and_repeats_exactly(tmp_path, classifier):
    mlp = api.resolve_config("gan", overrides=["model.arch=mlp"])
    assert (mlp.train.epochs, mlp.train.batch_size, mlp.train.lr) == (450, 128, 4e-4)
    assert (mlp.gan.g_lr_factor, mlp.gan.d_label_smoothing, mlp.model.g_batchnorm, mlp.model.latent_dim) == (
        2.0, 0.1, True, 0)
    assert api.resolve_config("gan", overrides=["model.arch=mlp", "data.source=mnist"]).train.epochs == 30
    assert api.resolve_config("gan", overrides=["model.arch=mlp", "train.batch_size=64"]).train.batch_size == 64
    settings = ["data.source=synthetic", "data.n_train=256", "model.arch=mlp", "train.epochs=2", "score.every=0",
                "train.precision=32",
                f"score.classifier={classifier}"]
    runs = [api.train("gan", out_dir=tmp_path / name, overrides=settings, evaluate=False) for name in "ab"]
    task = runs[0].task
    assert task.latent_dim == 10 and any(isinstance(m, torch.nn.BatchNorm1d) for m in task.models["G"].modules())
    assert [group["lr"] for name in ("G", "D") for group in task.optimizers[name].param_groups] == [8e-4, 4e-4]
    losses = [[(row["train_d_loss"], row["train_g_loss"]) for row in run.history] for run in runs]
    assert losses[0] == losses[1] and len(losses[0]) == 2
    for p, q in zip(task.sampler.state_dict().values(), runs[1].task.sampler.state_dict().values()):
        assert torch.equal(p, q)
    images = task.generate(20, seed=0)
    assert images.shape == (20, 28, 28) and 0 <= images.min() and images.max() <= 1


def test_resume_continues_both_networks_both_optimisers_and_the_latent_stream(tmp_path, classifier):
    # 9 G steps leave the refined G's samples alike: no collapse check, this test is about resuming
    settings = [*_overrides(classifier), "score.every=0", "train.checkpoint_every_s=0", "gan.collapse_threshold=0"]
    straight = api.train("gan", out_dir=tmp_path / "a", overrides=[*settings, "train.epochs=3"], evaluate=False).run
    first = api.train("gan", out_dir=tmp_path / "b", overrides=[*settings, "train.epochs=2"], evaluate=False).run
    api.train("gan", resume=first.path, overrides=["train.epochs=3"], evaluate=False)
    a, b = (load_checkpoint(run.last_path, task="gan") for run in (straight, first))
    for name in ("G", "D", "G_average"):
        _assert_same(a["models"][name], b["models"][name])
    for name in ("G", "D"):
        _assert_same(a["optimizers"][name], b["optimizers"][name])
    assert torch.equal(a["rng"], b["rng"])


def test_a_collapsed_generator_stops_the_run_and_keeps_the_last_good_checkpoint(cli, tmp_path, classifier):
    result = cli("train", "gan", "--out", tmp_path, *TINY, "--classifier", classifier, "--epochs", "4",
                 "--set", "gan.collapse_threshold=10", "--set", "score.every=0")
    assert result.code == 2  # after the epoch lines, the reason in one line
    assert "collapsed in epoch 3" in result.err.splitlines()[-1] and "Traceback" not in result.err
    (run,) = (tmp_path / "gan").iterdir()
    kept = load_checkpoint(run / "checkpoints" / "last.pt", task="gan")
    assert 1 <= len(json.loads(kept["history_json"])) <= 2  # a good epoch from before the collapse


def test_evaluate_trains_the_default_classifier_once_and_caches_it(cli, tmp_path, classifier, monkeypatch):
    import nnlab.tasks.cnn as cnn

    monkeypatch.setitem(cnn.DATA_RECIPES, "synthetic", {"train": {"epochs": 1}, "data": {"n_train": 100}})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = train(cli, tmp_path, classifier, "--set", "score.every=0")
    shutil.copy(run / "config.yaml", run / "config.orig")
    config = (run / "config.yaml").read_text().replace(f"classifier: {classifier}", "classifier: ''")
    (run / "config.yaml").write_text(config)
    chosen = cli("evaluate", run, "--classifier", classifier)  # named on the command line: nothing trained
    assert chosen.code == 0 and "training" not in chosen.err and not (tmp_path / "cache").exists()
    assert json.loads((run / "report.json").read_text())["classifier"] == str(classifier)
    assert_one_line_error(cli("evaluate", run, "--classifier", run), "is a run of task 'gan'")
    assert_one_line_error(cli("evaluate", run, "--reference", run / "x.h5"), "--reference does not apply to gan")
    first = cli("evaluate", run)
    assert first.code == 0, first.err
    assert "training nnlab's default cnn" in first.err
    assert (tmp_path / "cache" / "nnlab" / "classifiers" / "synthetic" / "model.safetensors").is_file()
    second = cli("evaluate", run)
    assert second.code == 0 and "training" not in second.err
    assert "FID-CNN" in second.out and "floor" in second.out
    cached = tmp_path / "cache" / "nnlab" / "classifiers" / "synthetic" / "model.safetensors"
    shutil.copy(run / "model.safetensors", cached)  # weights that do not fit a cnn, as from an older nnlab
    third = cli("evaluate", run)
    assert third.code == 0 and "does not fit" in third.err and "training it again" in third.err
    assert "FID-CNN" in third.out


def _overrides(classifier: Path) -> list[str]:
    return ["data.source=synthetic", "data.n_train=96", "train.batch_size=32", "train.precision=32", "train.epochs=1",
            f"score.classifier={classifier}", "score.n_eval=96", "score.n_restore=2", "score.restore_steps=2"]


def _assert_same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    else:
        assert a == b


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b) ** 2).reshape(len(a), -1).mean(1) * 4  # [0, 1] -> [-1, 1] scale
    return float(np.mean(10 * np.log10(4 / mse)))


def test_the_latent_search_converges_in_a_bf16_run(tmp_path, classifier):
    """One autocast region around the search would reuse its first bf16 copy of z at every step."""
    overrides = [*_overrides(classifier), "score.every=0", "train.precision=bf16-mixed", "gan.g_average=0"]
    _, task = api.load_run(api.train("gan", out_dir=tmp_path, overrides=overrides, evaluate=False).run.path)
    task.models["G"] = _LinearGenerator(task.latent_dim)  # z matters, and the best z is reachable
    target = task.models["G"](torch.randn(4, task.latent_dim, generator=torch.Generator().manual_seed(5)))
    task.test_data = (target.detach().squeeze(1).add(1).mul(127.5).round().to(torch.uint8), torch.zeros(4).long())
    task.config = dataclasses.replace(task.config, score=dataclasses.replace(task.config.score, noise_sigma=0.0))
    errors = [float(np.abs(stack[8:] - stack[:4]).mean()) for stack in
              (task.restore("denoise", n=4, seed=0, steps=steps)[1] for steps in (1, 200))]
    assert errors[1] < 0.3 * errors[0]


class _LinearGenerator(torch.nn.Module):
    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.linear = torch.nn.Linear(latent_dim, 784)

    def forward(self, z, labels=None):
        return torch.tanh(self.linear(z)).view(-1, 1, 28, 28)


def test_an_interrupted_default_classifier_is_resumed_not_started_again(tmp_path, monkeypatch):
    import nnlab.tasks.cnn as cnn
    from nnlab.classifiers import RunClassifiers

    monkeypatch.setitem(cnn.DATA_RECIPES, "synthetic", {"train": {"epochs": 2}, "data": {"n_train": 100}})
    notes: list[str] = []
    classifiers = RunClassifiers(device=torch.device("cpu"), cache_dir=tmp_path, echo=notes.append)
    finish_epoch = cnn.CNNTask.epoch_end

    def ctrl_c_in_epoch_2(self, epoch, run):
        if epoch == 1:
            raise KeyboardInterrupt
        return finish_epoch(self, epoch, run)

    monkeypatch.setattr(cnn.CNNTask, "epoch_end", ctrl_c_in_epoch_2)
    with pytest.raises(KeyboardInterrupt, match="is kept in .*synthetic.partial.*the next command that needs it "
                                                "goes on from there"):
        classifiers.default("synthetic")
    monkeypatch.setattr(cnn.CNNTask, "epoch_end", finish_epoch)
    classifiers.default("synthetic")
    assert any("going on with the interrupted training" in note for note in notes)
    folder = tmp_path / "classifiers" / "synthetic"
    kept = RunDir.open(folder)
    assert [row["epoch"] for row in kept.read_metrics()] == [1, 2]
    assert len(kept.read_json(kept.env_path)["resumes"]) == 1  # epoch 1 was kept, not trained again
    assert not folder.with_name("synthetic.partial").exists()
