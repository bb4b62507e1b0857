"""--logger tensorboard: the epoch rows as TensorBoard scalars, read back with TensorBoard's own reader."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import assert_one_line_error


def test_tensorboard_event_files_hold_every_epoch_metric(cli, tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    assert cli("train", "iris", "--epochs", "2", "--logger", "tensorboard", "--out", tmp_path).code == 0
    (run,) = (tmp_path / "iris").iterdir()
    assert cli("train", "iris", "--resume", run, "--epochs", "3", "--logger", "tensorboard").code == 0
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    rows = [line.split(",") for line in (run / "metrics.csv").read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    assert "train_loss" in events.Tags()["scalars"] and "val_acc" in events.Tags()["scalars"]
    for name in ("train_loss", "val_acc"):
        column = header.index(name)
        scalars = sorted(events.Scalars(name), key=lambda event: event.step)
        assert [event.step for event in scalars] == [1, 2, 3]  # the resumed epoch joins the first two
        assert [event.value for event in scalars] == pytest.approx([float(row[column]) for row in rows], rel=1e-6)


def test_tensorboard_without_its_package_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    assert_one_line_error(cli("train", "iris", "--epochs", "1", "--logger", "tensorboard", "--out", tmp_path),
                          "pip install 'nnlab[tensorboard]'")
    assert not (tmp_path / "iris").exists()  # refused before a run folder was made
