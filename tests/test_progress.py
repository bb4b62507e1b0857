"""Progress where the output is not a terminal (CI, a log, a pipe): timed lines, silenced with nnlab's logger."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from nnlab import progress as progress_module
from nnlab.progress import Progress, progress


@pytest.fixture
def every_update(monkeypatch, caplog):
    """A line for every update (no waiting for the first 10 s), captured; the timer thread kept out of it."""
    monkeypatch.setattr(progress_module, "FIRST_LINE_S", 0.0)
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 0.0)
    monkeypatch.setattr(progress_module, "TIMER_FIRST_S", 3600.0)
    caplog.set_level(logging.INFO, logger="nnlab")
    return caplog


def test_a_phase_logs_how_far_it_is_when_no_bar_can_be_drawn(every_update):
    assert list(progress(range(3), "counting", unit="batch")) == [0, 1, 2]
    lines = [r.getMessage() for r in every_update.records]
    assert [line.split(",")[0] for line in lines] == ["counting: 1/3 batches (33%)", "counting: 2/3 batches (67%)",
                                                      "counting: 3/3 batches (100%)", "counting: done in 0 s"]
    assert "left" in lines[0]


def test_a_phase_of_few_long_units_still_reports_on_time(monkeypatch, caplog):
    import time

    monkeypatch.setattr(progress_module, "FIRST_LINE_S", 0.1)
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 10.0)
    monkeypatch.setattr(progress_module, "TIMER_FIRST_S", 0.1)
    caplog.set_level(logging.INFO, logger="nnlab")
    with Progress("one long step", total=2, unit="part") as phase:
        waited = time.monotonic()
        while not caplog.records and time.monotonic() - waited < 10:  # no update comes: the timer writes the line
            time.sleep(0.05)
        lines = [r.getMessage() for r in caplog.records]
        phase.update()
    time.sleep(0.3)
    assert [line.split(",")[0] for line in lines] == ["one long step: 0/2 parts (0%)"]
    # nothing more was due within 10 s; having reported, the phase says where it ended, and then nothing more
    assert [r.getMessage().split(" in ")[0] for r in caplog.records[1:]] == ["one long step: done"]


def test_the_line_says_what_how_far_how_long_and_how_long_still():
    phase = Progress("epoch 2/7", total=938, unit="batch", enabled=False)
    phase.done = 412
    assert phase.line(61.0) == "epoch 2/7: 412/938 batches (44%), 1:01, about 1:18 left"  # 61 s * 526 / 412 = 78 s
    assert phase.line(3725.0).endswith("1:02:05, about 1:19:16 left")
    open_ended = Progress("simulate eplus", total=None, unit="shower", enabled=False)
    open_ended.done = 12_000
    assert open_ended.line(7.4) == "simulate eplus: 12,000 showers, 7 s"


def test_quiet_phases_and_a_silenced_logger_print_nothing(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="nnlab")
    list(progress(range(5), "short"))  # ends before its first line is due
    monkeypatch.setattr(progress_module, "FIRST_LINE_S", 0.0)
    list(progress(range(5), "disabled", enabled=False))  # another rank's
    caplog.set_level(logging.WARNING, logger="nnlab")
    list(progress(range(5), "silenced"))
    assert caplog.records == []


def test_the_trainer_logs_progress_within_an_epoch(every_update, tmp_path):
    from nnlab import api

    api.train("iris", overrides=["train.epochs=1", "train.batch_size=40"], out_dir=tmp_path, evaluate=False)
    lines = [r.getMessage() for r in every_update.records]
    assert [line.split(",")[0] for line in lines if line.startswith("epoch 1/1: ")][:2] == [
        "epoch 1/1: 1/3 batches (33%)", "epoch 1/1: 2/3 batches (67%)"]  # 120 training flowers


def _python(code: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_the_api_logs_its_epochs_as_the_cli_does_unless_told_otherwise(tmp_path):
    train = "api.train('iris', overrides=['train.epochs=2'], out_dir='runs')"
    done = _python(f"import logging, sys; from nnlab import api; {train}; print('--- silenced', file=sys.stderr); "
                   f"logging.getLogger('nnlab').setLevel(logging.WARNING); {train}", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    by_default, silenced = done.stderr.split("--- silenced")
    assert "epoch 1/2" in by_default and "epoch 2/2" in by_default
    assert "epoch" not in silenced
    own = _python(f"import logging; logging.basicConfig(format='mine: %(message)s', level=logging.INFO); "
                  f"from nnlab import api; {train}", tmp_path)
    assert own.returncode == 0, own.stderr[-2000:]
    assert "mine: epoch 1/2" in own.stderr  # the user's logging set-up is theirs
