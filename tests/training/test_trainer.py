"""The Trainer on a tiny test-only task, apart from any real model: fit, resume, early stop, NaN."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.config import TrainConfig
from nnlab.errors import CheckpointError
from nnlab.training.checkpoint import load_checkpoint, save_checkpoint
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import Launch, seed_everything
from nnlab.training.schedules import lr_factor, make_optimizer
from nnlab.training.trainer import Trainer, TrainingError


class BoringTask:
    """Noisy linear regression through a dropout layer, so resume must restore the RNG too."""

    monitor = ("val_loss", "min")

    def __init__(self, cfg: TrainConfig):
        generator = torch.Generator().manual_seed(123)
        x = torch.randn(96, 3, generator=generator)
        y = x @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.1 * torch.randn(96, 1, generator=generator)
        self.train_data, self.val_data = (x[:64], y[:64]), (x[64:], y[64:])
        seed_everything(cfg.seed)
        self.models = {"model": nn.Sequential(nn.Dropout(0.2), nn.Linear(3, 1))}
        self.optimizers = {"model": make_optimizer(self.models["model"].parameters(), cfg)}

    def train_step(self, batch, step):
        x, y = batch
        with step.autocast():
            loss = F.mse_loss(step.models["model"](x).float(), y)
        step.update(loss)
        return {"loss": loss.detach()}

    def eval_step(self, batch, models):
        x, y = batch
        return {"loss": F.mse_loss(models["model"](x).float(), y)}

    def epoch_end(self, epoch, run):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def fit(tmp_path, cfg: TrainConfig, *, checkpoint=None, run=None):
    task = BoringTask(cfg)
    run = run or RunDir.new(tmp_path, "boring")
    trainer = Trainer(cfg, device=torch.device("cpu"), launch=Launch(), task_name="boring",
                      config={"train": dataclasses.asdict(cfg)})
    trainer.setup(task, checkpoint=checkpoint)
    history = trainer.fit(run)
    return task, history, run


CFG = TrainConfig(epochs=3, batch_size=16, lr=0.05, scheduler="cosine")


def test_fit_lowers_the_loss_and_writes_the_run(tmp_path):
    _, history, run = fit(tmp_path, dataclasses.replace(CFG, epochs=8, lr=0.2))
    assert len(history) == 8
    assert history[-1]["val_loss"] < 0.2 * history[0]["val_loss"]
    assert run.last_path.is_file() and run.best_path.is_file() and run.weights_path.is_file()
    assert [row["epoch"] for row in run.read_metrics()] == list(range(1, 9))
    assert history[-1]["step"] == 8 * 4  # 64 samples / batch 16


def test_resume_extends_a_finished_run_bit_for_bit(tmp_path):
    """2 epochs, then --resume with 3, equals 3 epochs straight: weights, optimiser, RNG, history."""
    cfg = dataclasses.replace(CFG, scheduler="step")  # a schedule that does not depend on the run length
    straight, straight_history, _ = fit(tmp_path / "a", cfg)
    _, _, run = fit(tmp_path / "b", dataclasses.replace(cfg, epochs=2))
    resumed, resumed_history, _ = fit(tmp_path / "b", cfg, run=run,
                                      checkpoint=load_checkpoint(run.last_path, task="boring"))
    assert_same_weights(straight, resumed)
    untimed = [[{k: v for k, v in row.items() if k != "seconds"} for row in h]
               for h in (resumed_history, straight_history)]
    assert untimed[0] == untimed[1]


class Interrupted(BoringTask):
    def train_step(self, batch, step):
        if step.global_step == 8:  # first step of epoch 3
            raise KeyboardInterrupt
        return super().train_step(batch, step)


def test_an_interrupted_run_resumes_bit_for_bit(tmp_path):
    straight, straight_history, _ = fit(tmp_path / "a", CFG)
    run = RunDir.new(tmp_path / "b", "boring")
    trainer = Trainer(CFG, device=torch.device("cpu"), launch=Launch(), task_name="boring", config={})
    trainer.setup(Interrupted(CFG))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(run)
    resumed, resumed_history, _ = fit(tmp_path / "b", CFG, run=run,
                                      checkpoint=load_checkpoint(run.last_path, task="boring"))
    assert_same_weights(straight, resumed)
    untimed = [[{k: v for k, v in row.items() if k != "seconds"} for row in h]
               for h in (resumed_history, straight_history)]
    assert untimed[0] == untimed[1]


class AlternatingTask(BoringTask):
    """Two optimisers like a GAN with d_steps=3: "model" steps every batch, "slow" every third."""

    def __init__(self, cfg: TrainConfig):
        super().__init__(cfg)
        self.models["slow"] = nn.Linear(3, 1)
        self.optimizers["slow"] = make_optimizer(self.models["slow"].parameters(), cfg)

    def train_step(self, batch, step):
        metrics = super().train_step(batch, step)
        if step.global_step % 3 == 2:
            x, y = batch
            step.update(F.mse_loss(step.models["slow"](x), y), "slow")
        return metrics


@pytest.mark.parametrize("scheduler", ["cosine", "onecycle"])
def test_an_optimiser_that_steps_every_few_batches_follows_the_same_schedule(tmp_path, scheduler):
    cfg = dataclasses.replace(CFG, epochs=3, scheduler=scheduler)  # 12 batches; "slow" steps after 3, 6, 9, 12
    task = AlternatingTask(cfg)
    trainer = Trainer(cfg, device=torch.device("cpu"), launch=Launch(), task_name="boring", config={})
    trainer.setup(task)
    trainer.fit(RunDir.new(tmp_path, "boring"))
    factor = lr_factor(scheduler, steps_per_epoch=4, total_steps=12)
    for name in ("model", "slow"):
        assert trainer.schedulers[name].last_epoch == 12
        assert task.optimizers[name].param_groups[0]["lr"] == pytest.approx(cfg.lr * factor(12), abs=1e-12)


def assert_same_weights(a, b):
    for p, q in zip(a.models["model"].parameters(), b.models["model"].parameters()):
        assert torch.equal(p, q)


def test_early_stopping_stops_when_nothing_improves(tmp_path):
    _, history, _ = fit(tmp_path, dataclasses.replace(CFG, epochs=20, lr=0.0, early_stopping=2))
    assert len(history) == 3  # epoch 1 sets the best, epochs 2 and 3 fail to beat it


def test_a_time_budget_stops_at_the_batch_that_spends_it_and_holds_on_resume(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="nnlab")
    _, history, run = fit(tmp_path, dataclasses.replace(CFG, epochs=20, time_budget_s=1e-6))
    assert len(history) == 1 and history[0]["step"] == 1  # any batch takes longer than a microsecond
    assert "val_loss" in history[0]  # the partial epoch is evaluated and recorded like a whole one
    assert "time budget: stopped after batch 1 of 4 in epoch 1 of 20" in caplog.text
    assert [row["epoch"] for row in run.read_metrics()] == [1]  # the epoch it stopped in is saved
    payload = load_checkpoint(run.last_path, task="boring")
    before = {k: v.clone() for k, v in payload["models"]["model"].items()}
    caplog.clear()
    resumed, history, _ = fit(tmp_path, dataclasses.replace(CFG, epochs=20, time_budget_s=1e-6), run=run,
                              checkpoint=payload)
    assert len(history) == 1  # the budget is spent: resuming trains nothing, and says so
    assert "already trained, nothing to do" in caplog.text
    assert all(torch.equal(v, resumed.models["model"].state_dict()[k]) for k, v in before.items())
    _, history, _ = fit(tmp_path, dataclasses.replace(CFG, time_budget_s=1e6), run=run,
                        checkpoint=load_checkpoint(run.last_path, task="boring"))
    assert [row["step"] for row in history] == [1, 5, 9]  # a larger budget: the next epochs, whole


def test_a_budget_no_epoch_comes_near_trains_exactly_as_none(tmp_path):
    plain, history, _ = fit(tmp_path, CFG)
    budgeted, budgeted_history, _ = fit(tmp_path, dataclasses.replace(CFG, time_budget_s=1e6))
    assert [row["step"] for row in budgeted_history] == [row["step"] for row in history] == [4, 8, 12]
    assert_same_weights(plain, budgeted)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path):
    _, _, run = fit(tmp_path, dataclasses.replace(CFG, epochs=1))
    with pytest.raises(TrainingError, match="train_loss became (nan|inf) in epoch 2"):
        fit(tmp_path, dataclasses.replace(CFG, epochs=2, lr=1e30, optimizer="sgd"), run=run,
            checkpoint=_reset_optimizer(load_checkpoint(run.last_path, task="boring")))
    assert json.loads(load_checkpoint(run.last_path, task="boring")["history_json"])[-1]["epoch"] == 1


def _reset_optimizer(payload):
    cfg = dataclasses.replace(CFG, lr=1e30, optimizer="sgd")
    fresh = BoringTask(cfg)
    fresh.models["model"].load_state_dict(payload["models"]["model"])
    payload["optimizers"]["model"] = make_optimizer(fresh.models["model"].parameters(), cfg).state_dict()
    return payload


def test_bf16_mixed_precision_trains(tmp_path):
    _, history, _ = fit(tmp_path, dataclasses.replace(CFG, epochs=6, precision="bf16-mixed"))
    assert history[-1]["val_loss"] < history[0]["val_loss"]


def test_checkpoints_are_checked_before_use(tmp_path):
    _, _, run = fit(tmp_path, dataclasses.replace(CFG, epochs=1))
    with pytest.raises(CheckpointError, match="made by task 'boring', not 'iris'"):
        load_checkpoint(run.last_path, task="iris")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(run.last_path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable nnlab checkpoint"):
        load_checkpoint(truncated, task="boring")
    save_checkpoint(tmp_path / "old.pt", {"task": "boring"})
    payload = torch.load(tmp_path / "old.pt", weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(tmp_path / "old.pt", task="boring")


class Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_checkpoints_are_never_unpickled_blindly(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "task": "boring", "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable nnlab checkpoint"):
        load_checkpoint(path, task="boring")


def test_one_process_shuffles_exactly_as_distributed_sampler_with_one_replica():
    from torch.utils.data import DistributedSampler

    from nnlab.training.batches import train_batches

    data = torch.arange(50)
    ours = torch.cat([b[0] for b in train_batches((data,), batch_size=7, seed=3, epoch=4)])
    sampler = DistributedSampler(range(50), num_replicas=1, rank=0, shuffle=True, seed=3)
    sampler.set_epoch(4)
    assert ours.tolist() == list(sampler)


@pytest.mark.parametrize("warmup", [0.25, 0.1])
def test_one_cycle_rises_over_the_warmup_then_anneals_to_zero(warmup):
    factor = lr_factor("onecycle", steps_per_epoch=10, total_steps=100, warmup=warmup)
    peak = round(warmup * 100)
    assert factor(0) == pytest.approx(0.04)
    assert factor(peak // 2) == pytest.approx(0.04 + 0.96 * (peak // 2) / peak)  # linear rise
    assert factor(peak) == pytest.approx(1.0)
    assert factor(peak + (100 - peak) // 2) == pytest.approx(0.5, abs=0.02)  # half-way down the cosine
    assert factor(100) == pytest.approx(0.0, abs=1e-12)
