"""DDP on CPU: two torchrun processes end with identical weights that match one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab import api

SETTINGS = ["train.epochs=3", "train.batch_size=16", "train.lr=0.01"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_two_ranks_agree_and_match_one_process_with_the_same_global_batch(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    done = torchrun(str(worker), str(tmp_path), "iris", *SETTINGS, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    single_run = api.train("iris", overrides=SETTINGS, out_dir=tmp_path / "single")
    single = {f"model.{k}": v for k, v in single_run.task.models["model"].state_dict().items()}
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
        torch.testing.assert_close(rank0[key], single[key], rtol=1e-4, atol=1e-5)
    (run,) = (tmp_path / "runs" / "iris").iterdir()  # only rank 0 wrote a run directory
    assert json.loads((run / "env.json").read_text())["world_size"] == 2
    ddp_metrics = [{k: float(v) for k, v in row.items()} for row in _read_csv(run / "metrics.csv")]
    assert len(ddp_metrics) == len(single_run.history) == 3
    for a, b in zip(ddp_metrics, single_run.history):
        for key in ("train_loss", "val_loss", "val_acc"):
            assert abs(a[key] - b[key]) < 1e-4, (key, a[key], b[key])


def test_the_cli_runs_under_torchrun(tmp_path):
    done = torchrun("-m", "nnlab", "train", "iris", "--epochs", "2", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("run: ") == 1  # rank 0 alone reports
    (run,) = (tmp_path / "iris").iterdir()
    assert (run / "model.safetensors").is_file()


def test_ranks_stop_together_on_a_time_budget(tmp_path):
    done = torchrun("-m", "nnlab", "train", "iris", "--epochs", "5", "--time-budget", "1e-6", "--out", str(tmp_path),
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    # both ranks stop after the same batch (rank 0 alone reports it)
    assert (done.stdout + done.stderr).count("time budget: stopped after batch 1 of ") == 1
    (run,) = (tmp_path / "iris").iterdir()
    assert [row["step"] for row in _read_csv(run / "metrics.csv")] == ["1"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_a_gan_trains_under_ddp_with_identical_networks_on_both_ranks(tmp_path):
    """D has no BatchNorm and the gradient penalty runs through the unwrapped D: both must hold under DDP."""
    cnn = api.train("cnn", overrides=["data.source=synthetic", "data.n_train=100", "train.epochs=1"],
                    out_dir=tmp_path / "cnn").run.path
    settings = ["data.source=synthetic", "data.n_train=64", "train.epochs=2", "train.batch_size=16",
                "train.precision=32", "gan.loss=wgan-gp", "gan.d_steps=2", "model.conditional=true",
                f"score.classifier={cnn}", "score.n_epoch=32", "score.n_eval=64", "score.n_restore=1",
                "score.restore_steps=1"]
    worker = Path(__file__).with_name("ddp_worker.py")
    done = torchrun(str(worker), str(tmp_path), "gan", *settings, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert any(key.startswith("G.") for key in rank0) and any(key.startswith("D.") for key in rank0)
    for key in rank0:
        if "running_" in key or "num_batches" in key:
            continue  # G's BatchNorm statistics are per rank, as in any DDP run; rank 0 saves its own
        assert torch.equal(rank0[key], rank1[key]), key
    (run,) = (tmp_path / "runs" / "gan").iterdir()
    assert json.loads((run / "report.json").read_text())["scores"]["fid_cnn"] >= 0


def test_calogan_trains_under_ddp_with_identical_networks_on_both_ranks(tmp_path):
    settings = ["data.n_per_particle=128", "train.epochs=1", "train.batch_size=32", "gan.d_steps=2",
                "score.n_epoch=64", "score.classifier_epochs=1", "model.energy_fit_steps=20"]
    worker = Path(__file__).with_name("ddp_worker.py")
    done = torchrun(str(worker), str(tmp_path), "calogan", *settings, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key


def test_exit_worker_flushes_what_was_printed_and_exits_with_the_status():
    code = "from nnlab.training.distributed import exit_worker; print('written'); exit_worker(3)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (3, "written\n")


@pytest.mark.parametrize("how", ["kill", "freeze"])
def test_a_lost_process_is_reported_in_one_line_and_the_run_resumes(tmp_path, how):
    worker = Path(__file__).with_name("ddp_lost_worker.py")
    started = time.monotonic()
    done = torchrun(str(worker), how, str(tmp_path), cwd=tmp_path)
    assert done.returncode != 0 and time.monotonic() - started < 60  # not torch's 30 minutes
    (run,) = (tmp_path / "iris").iterdir()
    lines = [line for line in done.stderr.splitlines() if line.startswith("nnlab: error:")]
    assert all(" lost contact with another process of this distributed run (" in line for line in lines), lines
    (line,) = [line for line in lines if line.startswith("nnlab: error: rank 0 ")]  # each process one line
    assert line.endswith(f"the last good checkpoint is kept: continue with: nnlab train iris --resume {run}")
    assert "Traceback" not in done.stderr.split("torch/distributed/elastic")[0]  # nnlab's own part of the log
    assert len(_read_csv(run / "metrics.csv")) == 2
    assert api.train("iris", overrides=["train.epochs=6"], resume=run).history[-1]["epoch"] == 6


def test_simulate_and_sample_under_torchrun_join_their_shards_into_the_file_of_one_process(tmp_path):
    from nnlab.data.calo import read_calogan
    from nnlab.errors import ConfigError
    from nnlab.physics.simulator import RNG_BLOCK
    from nnlab.tasks.shower_generator import SAMPLE_CHUNK
    from nnlab.training.runtime import Launch

    n = 2 * RNG_BLOCK + 500  # rank 0 simulates one RNG block, rank 1 the other two
    done = torchrun("-m", "nnlab", "simulate", "--particle", "eplus", "-n", str(n), "--seed", "3", "-o", "eplus.h5",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote 2500 eplus showers to eplus.h5 (joining 2 shards in eplus.shards/)" in done.stdout
    assert done.stdout.count("wrote ") == 1  # rank 0 alone reports
    single = api.simulate("eplus", n, tmp_path / "one.h5", seed=3, progress=False)
    alone, joined = read_calogan(single.path, truth=True), read_calogan(tmp_path / "eplus.h5", truth=True)
    assert alone.keys() == joined.keys() and all(np.array_equal(joined[k], alone[k]) for k in alone)

    run = api.train("calogan", out_dir=tmp_path / "runs", overrides=[
        "train.epochs=1", "data.n_per_particle=300", "score.n_epoch=60", "score.classifier_epochs=1",
        "model.energy_fit_steps=20"]).run.path
    n = SAMPLE_CHUNK + 100  # two parts: one for each rank
    done = torchrun("-m", "nnlab", "sample", str(run), "-n", str(n), "--energy", "10:90", "--precision", "32",
                    "-o", "fake.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"joined the 2 shards into fake.h5: {n} showers" in done.stdout
    api.sample(run, n=n, energy="10:90", precision="32", output=str(tmp_path / "one_fake.h5"))
    alone, joined = read_calogan(tmp_path / "one_fake.h5"), read_calogan(tmp_path / "fake.h5")
    assert all(np.array_equal(joined[k], alone[k]) for k in alone) and len(joined["energy"]) == n
    with pytest.raises(ConfigError, match="give a calogan run and -o FILE.h5"):  # before any process group
        api.sample(run, n=10, launch=Launch(rank=1, world_size=2))
