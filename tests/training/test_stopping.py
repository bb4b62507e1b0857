"""A run that stops early (full disk, NaN, Ctrl-C) says what is kept and how to go on; a run is written by one
process at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nnlab.training.rundir import RunDir
from nnlab.training.trainer import Trainer
from tests.conftest import assert_one_line_error, fill_disk


def only_run(out: Path) -> Path:
    (run,) = (out / "iris").iterdir()
    return run


def test_a_full_disk_before_the_first_checkpoint_leaves_no_husk(cli, full_disk):
    fill_disk(full_disk, leave=8 * 1024)  # config and env fit, the checkpoint does not
    result = cli("train", "iris", "--epochs", "2", "--out", full_disk / "runs")
    assert_one_line_error(result, "No space left on device",
                          "no checkpoint was written, so", "was removed")
    assert list((full_disk / "runs" / "iris").iterdir()) == []


def test_a_full_disk_mid_run_keeps_the_last_checkpoint_and_names_the_resume(cli, full_disk):
    out = full_disk / "runs"
    assert cli("train", "iris", "--epochs", "2", "--out", out).code == 0
    run = only_run(out)
    before = (run / "checkpoints" / "last.pt").read_bytes()
    fill_disk(full_disk, leave=4 * 1024)
    result = cli("train", "iris", "--resume", run, "--epochs", "4")
    assert_one_line_error(result, "No space left on device", "the last good checkpoint is kept: "
                          f"continue with: nnlab train iris --resume {run}")
    assert (run / "checkpoints" / "last.pt").read_bytes() == before
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]
    (full_disk / "filler").unlink()
    assert cli("train", "iris", "--resume", run, "--epochs", "4").code == 0  # and it does continue
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 4


def test_nan_in_the_first_epoch_leaves_no_husk(cli, tmp_path):
    result = cli("train", "iris", "--epochs", "2", "--lr", "1e30", "--out", tmp_path)
    assert result.code == 2 and "Traceback" not in result.err
    assert "became nan in epoch 1" in result.err and result.err.rstrip().endswith("was removed")
    assert list((tmp_path / "iris").iterdir()) == []


def test_ctrl_c_before_the_first_checkpoint_says_the_run_was_removed(cli, tmp_path, monkeypatch):
    def interrupted(self, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_run_epoch", interrupted)
    result = cli("train", "iris", "--out", tmp_path)
    assert result.code == 130
    assert "interrupted (no checkpoint was written, so" in result.err.splitlines()[-1]
    assert list((tmp_path / "iris").iterdir()) == []


def test_a_run_in_use_is_refused_and_a_stale_lock_is_reported(cli, tmp_path):
    assert cli("train", "iris", "--epochs", "1", "--out", tmp_path).code == 0
    run = only_run(tmp_path)
    held, release = threading.Event(), threading.Event()

    def other_process():  # flock locks belong to an open file: another open of it, as another process does
        with RunDir(run).lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_process)
    holder.start()
    try:
        held.wait(30)
        for argv in (("train", "iris", "--resume", run, "--epochs", "2"), ("evaluate", run)):
            assert_one_line_error(cli(*argv), f"{run} is in use by pid ", "wait for it to finish or stop it")
    finally:
        release.set()
        holder.join()
    assert (run / "nnlab.lock").read_text() == ""  # released
    (run / "nnlab.lock").write_text("pid 999999999 on elsewhere\n")  # as kill -9 leaves it
    result = cli("train", "iris", "--resume", run, "--epochs", "2")
    assert result.code == 0
    assert f"note: {run} was last held by pid 999999999 on elsewhere, which stopped without releasing it" in result.err


@pytest.mark.parametrize("text", ["", "garbage\nwith lines\n"])
def test_a_lock_file_that_names_no_owner_is_no_obstacle(cli, tmp_path, text):
    assert cli("train", "iris", "--epochs", "1", "--out", tmp_path).code == 0
    run = only_run(tmp_path)
    (run / "nnlab.lock").write_text(text)
    result = cli("train", "iris", "--resume", run, "--epochs", "2")
    assert result.code == 0 and "last held" not in result.err


def test_a_run_says_where_it_stands_and_how_to_go_on(cli, tmp_path, monkeypatch):
    assert cli("train", "iris", "--epochs", "2", "--out", tmp_path).code == 0
    run = only_run(tmp_path)
    report = cli("report", run).out
    assert "status: finished after epoch 2 of 2" in report and "best epoch: " in report and " by val_loss " in report
    run_epoch = Trainer._run_epoch

    def ctrl_c_in_epoch_4(self, epoch):
        if epoch == 3:
            raise KeyboardInterrupt
        return run_epoch(self, epoch)

    monkeypatch.setattr(Trainer, "_run_epoch", ctrl_c_in_epoch_4)
    assert cli("train", "iris", "--resume", run, "--epochs", "5").code == 130
    status = RunDir(run).read_status()
    assert status["state"] == "interrupted"
    assert f"continue with: nnlab train iris --resume {run}" in cli("report", run).out
    monkeypatch.setattr(Trainer, "_run_epoch", run_epoch)
    assert cli("train", "iris", "--resume", run, "--epochs", "5", "--time-budget", "1e-6").code == 0
    assert "status: stopped by the time budget after epoch 3 of 5" in cli("report", run).out
    RunDir(run).write_status("training")  # as a run killed without a word leaves it
    assert "if no nnlab process is training it, it was killed" in cli("report", run).out
