"""The Python API, one function per CLI verb, each returning a typed result (`nnlab.results`).

Training writes one run directory; `evaluate`, `predict`, `sample`, `inspect` and `restore`
rebuild the model from its config.yaml and model.safetensors alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shlex
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.classifiers import RunClassifiers
from nnlab.config import dump_yaml, load_yaml, merge, parse_overrides, to_dict
from nnlab.errors import CheckpointError, ConfigError, NnlabError, TrainingInterrupted
from nnlab.memory import retain_freed_memory
from nnlab.progress import logs_like_the_cli
from nnlab.results import DataSets, Demo, Files, Predictions, Result, Simulation, Summary, plain, written
from nnlab.tasks import TASKS, get_task
from nnlab.tasks.base import Report, Task
from nnlab.training.checkpoint import load_checkpoint, load_weights
from nnlab.training.distributed import process_group
from nnlab.training.rundir import RunDir, environment
from nnlab.training.runtime import Launch, describe_precision, resolve_device, resolve_precision, seed_everything
from nnlab.training.trainer import Trainer

log = logging.getLogger("nnlab")


@dataclasses.dataclass
class TrainResult(Result):
    """A finished training: its run directory (None on ranks other than 0), history, report, task."""

    run: RunDir | None
    history: list[dict[str, float]]
    report: Report | None
    task: Task

    def to_dict(self) -> dict[str, Any]:
        return {"run": plain(self.run.path if self.run else None), "task": self.task.name,
                "history": plain(self.history),
                "report": dataclasses.replace(self.report, run=self.run.path).to_dict() if self.report else None}

    def text(self) -> list[str]:
        if self.run is None:
            return []
        report = self.report or Report({}, [])
        return [*report.lines, f"run: {self.run.path}", *map(written, report.files)]


def resolve_config(task_name: str, *, config_path: str | os.PathLike | None = None,
                   overrides: Mapping[str, Any] | Sequence[str] = (), base: Mapping[str, Any] | None = None) -> Any:
    """The task's config: defaults < the task's recipe for the chosen data < `base` (a saved run)
    < the YAML file < `--set` overrides."""
    task_cls = get_task(task_name)
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    layers = [(base, "run"), (load_yaml(config_path) if config_path else None, str(config_path)),
              (overrides, "")]
    defaults = task_cls.config_class()
    if base is not None and task_cls.saved_run_defaults:
        defaults = merge(defaults, task_cls.saved_run_defaults)
    config = _layered(defaults, layers, task_name)
    recipe = task_cls.recipe(config) if base is None else {}  # a saved run already holds its recipe
    return _layered(merge(task_cls.config_class(), recipe), layers, task_name) if recipe else config


def _layered(config: Any, layers: Sequence[tuple[Mapping[str, Any] | None, str]], task_name: str) -> Any:
    for values, origin in layers:
        if values is None:
            continue
        values = dict(values)
        named = values.pop("task", task_name)
        if named != task_name:
            raise ConfigError(f"{origin} is a config for task '{named}', not '{task_name}'")
        config = merge(config, values)
    return config


def training_config_yaml(task_name: str, *, config_path: str | os.PathLike | None = None,
                         overrides: Mapping[str, Any] | Sequence[str] = (),
                         resume: str | os.PathLike | None = None) -> str:
    """The settings `train` would run with, as the YAML of a run's config.yaml (`--config` reads it back)."""
    base = RunDir.open_for_resume(resume, task_name).read_config() if resume else None
    config = resolve_config(task_name, config_path=config_path, overrides=overrides, base=base)
    return dump_yaml({"task": task_name, **to_dict(config)})


@logs_like_the_cli
def train(task_name: str, *, config_path: str | os.PathLike | None = None,
          overrides: Mapping[str, Any] | Sequence[str] = (), out_dir: str | os.PathLike = "runs",
          name: str = "", resume: str | os.PathLike | None = None, launch: Launch = Launch(),
          data_dirs: Sequence[Path] = (), cache_dir: Path | None = None, evaluate: bool = True) -> TrainResult:
    """Train `task_name` into a new run directory, or continue the run at `resume` where it stopped.

    Unless `evaluate` is False, the best epoch is then scored as `nnlab evaluate` would.
    """
    retain_freed_memory()
    task_cls = get_task(task_name)
    run = RunDir.open_for_resume(resume, task_name) if resume else None
    saved = run.read_config() if run else None
    config = resolve_config(task_name, config_path=config_path, overrides=overrides, base=saved)
    if run:
        _check_resume_keeps(resolve_config(task_name, base=saved), config)
    if len(config.train.betas) != 2:  # each one's range is checked with the config
        raise ConfigError(f"train.betas needs two values (Adam's b1, b2), got {list(config.train.betas)}")
    if config.train.batch_size % launch.world_size:
        raise ConfigError(f"train.batch_size {config.train.batch_size} must be divisible by the "
                          f"{launch.world_size} processes of this launch")
    device = resolve_device(config.train.device, local_rank=launch.local_rank)
    config_dict = {"task": task_name, **to_dict(config)}
    with process_group(launch, device, timeout_s=config.train.dist_timeout_s):
        seed_everything(config.train.seed)
        task = task_cls(config, device=device, data_dirs=data_dirs,
                        classifiers=RunClassifiers(device=device, data_dirs=data_dirs, cache_dir=cache_dir))
        task.build(training=True)
        seed_everything(config.train.seed + launch.rank)  # each rank its own dropout/augmentation stream
        checkpoint = load_checkpoint(run.last_path, task=task_name) if run else None
        trainer = Trainer(config.train, device=device, launch=launch, task_name=task_name, config=config_dict)
        trainer.setup(task, checkpoint=checkpoint)
        if launch.is_main:  # only rank 0 writes
            run = run or RunDir.new(out_dir, task_name, name=name)
        with run.lock() if run else contextlib.nullcontext():
            with _saying_what_is_kept(run, task_name, new=resume is None):
                if run is not None:
                    _record_run(run, config_dict, launch=launch, device=device)
                    run.write_status("training")
                    log.info(describe_precision(config.train.precision, device))
                history = trainer.fit(run)
                if run is not None:
                    stopped = f"by {trainer.stopped_by} " if trainer.stopped_by else ""
                    run.write_status("stopped" if stopped else "finished",
                                     f"{stopped}after epoch {len(history)} of {config.train.epochs}", best=trainer.best)
            report = None
            if run is not None and evaluate:
                load_weights(run.weights_path, task.models, task=task_name)  # evaluate the best epoch
                report = task.evaluate(run)
    return TrainResult(run, history, report, task)


@contextlib.contextmanager
def _saying_what_is_kept(run: RunDir | None, task_name: str, *, new: bool) -> Iterator[None]:
    """When training stops early (a full disk, NaN, Ctrl-C), add to its message what is kept and how to go on.

    A run stopped before its first checkpoint can be neither resumed nor evaluated: a new one is
    removed rather than left as a husk.
    """
    try:
        yield
    except (NnlabError, KeyboardInterrupt) as error:
        if run is None:  # another rank: rank 0 speaks
            raise
        kept = run.last_path.is_file()
        if kept:
            outcome = f"continue with: nnlab train {task_name} --resume {shlex.quote(str(run.path))}"
        elif new:
            shutil.rmtree(run.path, ignore_errors=True)
            outcome = f"no checkpoint was written, so {run.path} was removed"
        else:
            outcome = "nothing was saved"
        interrupted = isinstance(error, KeyboardInterrupt)
        with contextlib.suppress(NnlabError, OSError):  # a full disk: the message below says more than this file
            if run.path.is_dir():
                run.write_status("interrupted" if interrupted else "failed",
                                 outcome if interrupted else f"{' '.join(str(error).split())}; {outcome}")
        if interrupted:
            raise TrainingInterrupted(outcome) from None
        raise type(error)(f"{error}; {'the last good checkpoint is kept: ' if kept else ''}{outcome}") from None


def load_run(run_path: str | os.PathLike, *, device: str = "auto", data_dirs: Sequence[Path] = (),
             cache_dir: Path | None = None, verb: str | None = None) -> tuple[RunDir, Task]:
    """Rebuild a run's task and trained models from its directory, without unpickling anything.

    `verb` (evaluate, sample, ...): refused, before the run's data is loaded, unless its task answers it
    (`Task.verbs`).
    """
    retain_freed_memory()
    run = RunDir.open(run_path)
    values = run.read_config()
    task_name = values.get("task")
    if not isinstance(task_name, str):
        raise CheckpointError(f"{run.config_path} does not name its task")
    if verb is not None and task_name in TASKS and verb not in get_task(task_name).verbs:
        offering = [other for other in TASKS if verb in get_task(other).verbs]
        raise ConfigError(f"{verb} does not apply to {task_name} runs; {verb} works on {' and '.join(offering)} runs")
    config = resolve_config(task_name, base=values)
    device = resolve_device(device)
    task = get_task(task_name)(config, device=device, data_dirs=data_dirs,
                               classifiers=RunClassifiers(device=device, data_dirs=data_dirs, cache_dir=cache_dir))
    task.build(training=False)
    load_weights(run.weights_path, task.models, task=task_name)
    return run, task


@logs_like_the_cli
def evaluate(run_path: str | os.PathLike, *, device: str = "auto", data_dirs: Sequence[Path] = (),
             cache_dir: Path | None = None, **options: Any) -> Report:
    """Score a trained run on its held-out data; writes report.json and plots into the run.

    `options` are task-specific: `reference` (calogan: CaloGAN files to judge against), `bf16`
    (calogan: judge showers generated under bf16 autocast), `classifier` (gan: the cnn run whose
    features score the samples).
    """
    run, task = load_run(run_path, device=device, data_dirs=data_dirs, cache_dir=cache_dir, verb="evaluate")
    with run.lock():  # report.json and the plots: not while a resumed training writes them too
        return dataclasses.replace(task.evaluate(run, **options), run=run.path)


@logs_like_the_cli
def predict(run_path: str | os.PathLike, source: str, *, output_path: str | os.PathLike | None = None,
            device: str = "auto", data_dirs: Sequence[Path] = ()) -> Predictions:
    """Apply a trained run to user input (`source`: a file or inline values): each input's class and probabilities."""
    run, task = load_run(run_path, device=device, data_dirs=data_dirs, verb="predict")
    return task.predict(source, output_path=Path(output_path) if output_path else None)


@logs_like_the_cli
def inspect(run_path: str | os.PathLike, *, index: int = 0, steps: int = 200, device: str = "auto",
            data_dirs: Sequence[Path] = ()) -> Files:
    """Draw what a trained network learned (filters, feature maps, activation maximisation)."""
    run, task = load_run(run_path, device=device, data_dirs=data_dirs, verb="inspect")
    return dataclasses.replace(task.inspect(run, index=index, steps=steps), run=run.path)


@logs_like_the_cli
def sample(run_path: str | os.PathLike, *, n: int, seed: int = 0, out_dir: str | os.PathLike | None = None,
           device: str = "auto", data_dirs: Sequence[Path] = (), launch: Launch | None = None, **options: Any) -> Files:
    """Draw n samples from a trained generator into `out_dir` (default: the run's samples/ folder); under torchrun
    (`launch`: a calogan run's showers to `output`) each process its share, joined by rank 0 (nnlab.data.shards)."""
    from nnlab.tasks.shower_generator import ShowerGeneratorTask
    from nnlab.training.distributed import write_sharded

    run, task = load_run(run_path, device=device, data_dirs=data_dirs, verb="sample")
    if n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    out, launch = Path(out_dir) if out_dir else run.path / "samples", launch or Launch()
    if not launch.distributed:
        return dataclasses.replace(task.sample(n, seed=seed, out_dir=out, **options), run=run.path)
    output = options.pop("output", None)
    if not isinstance(task, ShowerGeneratorTask) or not output:
        raise ConfigError("under torchrun, sample writes a calogan run's showers in shards joined into one file: "
                          "give a calogan run and -o FILE.h5")
    found, joined = write_sharded(output, launch, lambda target, shard: task.sample(
        n, seed=seed, out_dir=out, output=str(target), shard=shard, **options))
    if joined:
        found = dataclasses.replace(found, files=[joined, *found.files], lines=[
            *found.lines, f"joined the {launch.world_size} shards into {joined}: {n} showers"])
    return dataclasses.replace(found, run=run.path)


@logs_like_the_cli
def restore(run_path: str | os.PathLike, mode: str, *, n: int = 16, seed: int = 0, steps: int = 300,
            out_dir: str | os.PathLike | None = None, device: str = "auto",
            data_dirs: Sequence[Path] = ()) -> Files:
    """In-paint or denoise held-out test images with a trained generator; PSNR before and after."""
    run, task = load_run(run_path, device=device, data_dirs=data_dirs, verb="restore")
    if not 1 <= n <= len(task.test_data[0]) or steps < 1:
        raise ConfigError(f"-n must be between 1 and {len(task.test_data[0])} and --steps at least 1")
    found = task.restore_report(mode, n=n, seed=seed, steps=steps, folder=Path(out_dir or run.plots_dir))
    return dataclasses.replace(found, run=run.path)


@logs_like_the_cli
def simulate(particle: str, n: int, output: str | os.PathLike, *, energy: str = "1:100", seed: int = 0,
             chunk_size: int = 10_000, visible: bool = False, progress: bool = True,
             launch: Launch | None = None) -> Simulation:
    """Simulate `n` showers of `particle` into a CaloGAN HDF5 file (`energy`: GeV, "50" or "LOW:HIGH"); under
    torchrun (`launch`) each process its share, joined into `output` by rank 0 (nnlab.data.shards)."""
    from nnlab.physics.simulator import parse_energy_gev, shard_blocks, simulate_to_file
    from nnlab.training.distributed import write_sharded

    if n < 1 or chunk_size < 1:
        raise ConfigError("-n and --chunk-size must be at least 1")
    energy_gev, launch = parse_energy_gev(energy), launch or Launch()
    path, joined = write_sharded(output, launch, lambda target, shard: simulate_to_file(
        target, particle, n, energy_gev=energy_gev, seed=seed, chunk_size=chunk_size, visible=visible,
        progress=progress, shard=shard))
    if joined:
        return Simulation(joined, particle, n, shards=launch.world_size)
    return Simulation(path, particle, shard_blocks(n, launch.rank, launch.world_size)[1])


@logs_like_the_cli
def evaluate_simulation(files: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> Summary:
    """Check simulated showers against the expected physics; plots and report into `out_dir`."""
    from nnlab.evaluation.simulation_checks import validate_simulation

    report = validate_simulation([str(f) for f in files], Path(out_dir))
    values = {key: value for key, value in report.items() if key != "text"}
    return Summary({**values, "out": str(out_dir)}, lines=[*report["text"].splitlines(),
                                                           f"plots and report: {out_dir}"])


def report(run_path: str | os.PathLike) -> Summary:
    """A run at a glance: task, settings, epochs, the last epoch and the test scores, the files."""
    from nnlab.reporting import summarize_run

    values, lines = summarize_run(run_path)
    return Summary(values, lines=lines)


RUN_COLUMNS = ("run", "task", "started", "status", "epochs", "score", "size_mb")


def list_runs(root: str | os.PathLike = "runs") -> Summary:
    """Every run under `root`, oldest first: task, start, status, epochs, headline score, size on disk."""
    from nnlab import runs

    rows = [runs.describe(run) for run in runs.find_runs(root)]
    return Summary({"runs": rows}, lines=runs.table(rows, RUN_COLUMNS) if rows else [f"no runs under {root}"])


def compare_runs(paths: Sequence[str | os.PathLike], *, output: str | os.PathLike = "runs_compared.png") -> Files:
    """Runs side by side: their rows, each metric they share at its last epoch, and their curves in one PNG."""
    from nnlab import runs
    from nnlab.plots.training import plot_runs

    opened = runs.open_runs(paths)
    rows, curves = [runs.describe(run) for run in opened], runs.curves(opened)
    last = {metric: {label: points[-1][1] for label, points in series.items()} for metric, series in curves.items()}
    labels = runs.labels(opened)
    shared = [{"metric": metric, **{label: f"{values[label]:.4g}" if label in values else "-" for label in labels}}
              for metric, values in last.items()]
    plot = plot_runs(curves, output, title=f"{len(opened)} runs, epoch by epoch: " + ", ".join(labels))
    lines = [*runs.table(rows, RUN_COLUMNS), "", "at each run's last epoch:",
             *(runs.table(shared, ["metric", *labels]) if shared else ["(no metric that two of the runs share)"]),
             written(plot)]
    return Files([plot], measured={"runs": rows, "last_epoch": last}, lines=lines)


def foundations(name: str, out_dir: str | os.PathLike, *, seed: int = 0) -> Demo:
    """One of the lecture's from-scratch demos (`nnlab.demos.DEMOS`): its printout, its plots in `out_dir`."""
    from nnlab.demos import run_demo

    return Demo(name, Path(out_dir), run_demo(name, Path(out_dir), seed=seed))


def data_sets(data_dirs: Sequence[Path] = ()) -> DataSets:
    """Every named data set: ready or not, and where it is (or how to get it)."""
    from nnlab.data.registry import list_datasets

    return DataSets([{"name": name, "status": status, "where": where}
                     for name, status, where in list_datasets(data_dirs)])


def check_data(path: str | os.PathLike) -> Summary:
    """Read and validate every IDX file (and Keras .npz) in `path`."""
    from nnlab.data.images import check_folder

    lines = check_folder(path).splitlines()
    return Summary({"path": str(path), "ok": True}, lines=lines)


def download(dataset: str, folder: str | os.PathLike) -> Summary:
    """Fetch a named data set (one with a download in `nnlab.data.registry`) into `folder`."""
    from nnlab.data.registry import DATASETS

    entry = DATASETS.get(dataset)
    if entry is None or entry.download is None:
        raise ConfigError(f"{dataset!r} cannot be downloaded; these can: "
                          f"{', '.join(name for name, e in DATASETS.items() if e.download)}")
    done = entry.download(Path(folder))
    return Summary({"dataset": dataset, "folder": str(done)}, lines=[f"downloaded to {done}"])


def _record_run(run: RunDir, config_dict: dict[str, Any], *, launch: Launch, device: Any) -> None:
    """Record the run's config and environment (a resumed run appends its own environment)."""
    env = environment(seed=config_dict["train"]["seed"], argv=launch.argv, world_size=launch.world_size,
                      device=str(device), precision=resolve_precision(config_dict["train"]["precision"], device))
    if run.env_path.is_file():
        first = run.read_json(run.env_path)
        env = {**first, "resumes": [*first.get("resumes", []), env]}
    run.write_config(config_dict)
    run.write_json(run.env_path, env)


# where the data lives and how fast a step runs: a resumed run may change these, not what it trains
RESUME_MAY_CHANGE = frozenset({"data.data_dir", "data.files", "model.channels_last"})


def _check_resume_keeps(saved: Any, config: Any) -> None:
    """A resumed run stays the run it was: its data and model settings stay (else one record would hold a
    model trained on two data sets, or weights loaded into another network: relu weights under tanh)."""
    for section in ("data", "model"):
        before, after = to_dict(getattr(saved, section)), to_dict(getattr(config, section))
        for key, value in after.items():
            if f"{section}.{key}" not in RESUME_MAY_CHANGE and value != before.get(key):
                raise ConfigError(f"--resume continues a run as it was trained: {section}.{key} was "
                                  f"{before.get(key)!r}, not {value!r} (train a new run for other settings)")

