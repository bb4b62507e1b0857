"""Hostile run folders: links out of the run, damaged small files, damaged checkpoints and weights.

Every one is refused in one line with exit 2, reads nothing outside the run and writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import string

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import edit_weights

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-epoch Iris run (under a second), copied by each test before it is damaged."""
    from nnlab import api

    return api.train("iris", overrides=["train.epochs=2"], out_dir=tmp_path_factory.mktemp("runs")).run.path


@pytest.fixture
def copy(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def test_a_link_inside_a_run_is_not_followed(refused, copy, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret"
    secret.write_text("root:$6$hash\n")
    shutil.rmtree(copy / "plots")
    (copy / "plots").symlink_to(outside, target_is_directory=True)
    refused(tmp_path, "evaluate", copy, fragments=(f"{copy / 'plots'} is a symbolic link",))
    assert sorted(outside.iterdir()) == [secret]  # evaluate wrote nothing there
    (copy / "plots").unlink()
    (copy / "metrics.csv").unlink()
    (copy / "metrics.csv").symlink_to(secret)
    line = refused(tmp_path, "report", copy, fragments=("metrics.csv is a symbolic link",))
    assert "$6$hash" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_a_pipe_inside_a_run_is_refused_not_read(refused, copy, tmp_path):
    (copy / "metrics.csv").unlink()
    os.mkfifo(copy / "metrics.csv")  # reading it would wait forever
    refused(tmp_path, "report", copy, fragments=("metrics.csv is a device, pipe or socket",))


@pytest.mark.parametrize(("name", "text", "fragment"), [
    ("metrics.csv", "epoch,step,loss\n1,3," + "9" * 200_000 + "\n", "metrics.csv line 1: field larger than"),
    ("metrics.csv", "step,loss\n3,0.5\n", "metrics.csv line 1: no 'epoch' column"),
    ("metrics.csv", "epoch,step,loss\nnan,3,0.5\n", "metrics.csv line 2: 'epoch' is 'nan', not a whole number"),
    ("report.json", '{"test": {"accuracy": "high"}}', "report.json: 'test' or 'files' is not what"),
    ("report.json", '{"files": ["a\\nfile: /etc/shadow"]}', "report.json: 'test' or 'files' is not what"),
    ("report.json", "[" * 100_000, "report.json is not valid JSON"),
    ("config.yaml", "task: iris\ntrain: [1, 2]\n", "config.yaml: section 'train' is list, not a mapping"),
    ("config.yaml", "task: iris\ntrain: fast\n", "config.yaml: section 'train' is str, not a mapping"),
    ("config.yaml", "task: [iris]\n", "config.yaml: 'task' is list, not a task name"),
])
def test_damaged_small_files_are_one_line_errors(refused, copy, tmp_path, name, text, fragment):
    (copy / name).write_text(text)
    refused(tmp_path, "report", copy, fragments=(fragment,))


def test_a_huge_sparse_env_json_is_not_read_whole(refused, copy, tmp_path):
    with open(copy / "env.json", "r+b") as handle:
        handle.truncate(1 << 30)  # 1 GiB of holes: no disk used, all of it read before
    refused(tmp_path, "train", "iris", "--resume", copy, "--epochs", "3", fragments=("env.json is over 4 MiB",))


@pytest.mark.parametrize(("field", "value"), [
    ("rng", "not a tensor"), ("history_json", "[1, 2]"), ("history_json", 7), ("models", []),
    ("best", {"epoch": "one"}), ("bad_epochs", 1.5), ("task_state", None), ("optimizers", {"model": [1]}),
])
def test_a_checkpoint_with_damaged_fields_is_refused_before_training(refused, copy, tmp_path, field, value):
    last = copy / "checkpoints" / "last.pt"
    payload = torch.load(last, weights_only=True)
    payload[field] = value
    torch.save(payload, last)
    refused(tmp_path, "train", "iris", "--resume", copy, "--epochs", "3",
            fragments=(f"last.pt: damaged checkpoint: '{field}'",))


def test_a_checkpoint_whose_models_do_not_match_names_the_mismatch(refused, copy, tmp_path):
    last = copy / "checkpoints" / "last.pt"
    payload = torch.load(last, weights_only=True)
    payload["models"] = {"other": payload["models"]["model"]}
    torch.save(payload, last)
    refused(tmp_path, "train", "iris", "--resume", copy, "--epochs", "3", fragments=("does not fit this run",))


@pytest.mark.parametrize("dtype", [torch.int8, torch.float16, torch.bool, torch.float64])
def test_weights_of_another_dtype_are_refused_not_cast(refused, copy, tmp_path, dtype):
    edit_weights(copy, lambda tensors: tensors.update({k: v.to(dtype) for k, v in tensors.items()}))
    refused(tmp_path, "predict", copy, "--input", "5.1,3.5,1.4,0.2", fragments=(f"holds {str(dtype)[6:]} values",))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=12)


@SETTINGS
@given(report=st.dictionaries(st.sampled_from(["test", "files", "task"]), json_values, max_size=3),
       train=json_values)
def test_any_report_or_config_is_summarised_or_refused_in_one_line(cli, copy, report, train):
    (copy / "report.json").write_text(json.dumps(report))
    config = yaml.safe_load((copy / "config.yaml").read_text())
    (copy / "config.yaml").write_text(yaml.safe_dump({**config, "train": train}))
    result = cli("report", copy)
    assert result.code in (0, 2) and "Traceback" not in result.err
    assert len(result.err.splitlines()) == (result.code == 2)
    printable = set(string.printable) - set("\r\x0b\x0c")
    assert all(set(line) <= printable | set(line if line.isprintable() else "") for line in result.out.splitlines())
    # run, task, train, status, trained, last epoch, best epoch, test accuracy, and a line per file
    assert len(result.out.splitlines()) <= 8 + len(report.get("files", []) if isinstance(report.get("files"), list)
                                                    else [])


@SETTINGS
@given(status=st.dictionaries(st.sampled_from(["state", "detail", "best", "at"]), json_values, max_size=4),
       state=st.sampled_from(["training", "finished", "interrupted", "bogus"]))
def test_any_status_is_shown_or_refused_in_one_line(cli, copy, status, state):
    (copy / "status.json").write_text(json.dumps({"state": state, **status}))
    result = cli("report", copy)
    assert result.code in (0, 2) and "Traceback" not in result.err
    assert len(result.err.splitlines()) == (result.code == 2)
    assert all(line.isprintable() for line in result.out.splitlines())


@SETTINGS
@given(rows=st.lists(st.lists(st.text(alphabet=string.digits + ".-,e\"\nnai", max_size=12), min_size=1, max_size=4),
                     max_size=5))
def test_any_metrics_csv_is_read_or_refused_in_one_line(cli, copy, rows):
    (copy / "metrics.csv").write_text("epoch,step,loss\n" + "\n".join(",".join(row) for row in rows))
    result = cli("report", copy)
    assert result.code in (0, 2) and "Traceback" not in result.err
    assert len(result.err.splitlines()) == (result.code == 2)
