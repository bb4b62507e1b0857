"""The `nnlab` command: argparse subcommands over nnlab.api. User errors: one line, exit status 2.

This is the only module that reads sys.argv and the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnlab import __version__
from nnlab.errors import NnlabError, TrainingInterrupted
from nnlab.progress import log_to_console

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default: auto)"
TRAIN_FLAGS = (  # flag, config key, type, help: the everyday settings every task shares
    ("--epochs", "train.epochs", int, "number of epochs"),
    ("--batch-size", "train.batch_size", int, "global batch size (split over torchrun processes)"),
    ("--lr", "train.lr", float, "learning rate"),
    ("--seed", "train.seed", int, "random seed (recorded in the run)"),
    ("--device", "train.device", str, "auto, cpu, cuda, cuda:N or mps"),
    ("--precision", "train.precision", str,
     "auto (bf16-mixed where the device computes bf16 natively, else 32), 32 or bf16-mixed"),
    ("--logger", "train.logger", str, "none or tensorboard: also write TensorBoard event files into RUN/tensorboard"),
    ("--time-budget", "train.time_budget_s", float,
     "seconds of training (0: none): stop after the batch that spends them (that epoch is still evaluated)"),
)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to look, no usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def seed_number(text: str) -> int:
    """argparse type of --seed: a whole number >= 0 (numpy's generators refuse negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"give a whole number >= 0, got '{text}'")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run one nnlab command; return the exit status (0 ok, 2 user error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    log_to_console(defer_to_user=False)
    from nnlab.memory import retain_freed_memory

    retain_freed_memory()  # before the first tensor: every command's batches reuse freed memory
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand's own parser, so the hint names the right --help
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.handler(args, argv) or 0
    except NnlabError as error:
        print(f"nnlab: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder that cannot be made or read: the user's to mend, not a bug
        where = f"{error.filename}: " if error.filename else ""
        print(f"nnlab: error: {where}{error.strerror or str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except TrainingInterrupted as interrupt:
        print(f"nnlab: interrupted ({interrupt})", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("nnlab: interrupted (a training run continues with: nnlab train TASK --resume RUN)",
              file=sys.stderr)
        return 130


def build_parser(argv: Sequence[str] = ()) -> Parser:
    """The command line; only the task `argv` trains gets its options (`nnlab --help` imports no task, no torch)."""
    from nnlab.data.registry import DATASETS
    from nnlab.demos import DEMOS
    from nnlab.tasks import TASKS

    parser = Parser(prog="nnlab", description="Hands-on deep learning for scientists.")
    parser.add_argument("--version", action="version", version=f"nnlab {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND", parser_class=Parser)

    train = verbs.add_parser("train", help="train a task into a run directory")
    tasks = train.add_subparsers(dest="task", required=True, metavar="TASK", parser_class=Parser)
    trained = argv[1] if len(argv) > 1 and argv[0] == "train" else None
    for name, (_, summary) in TASKS.items():
        _add_train_task(tasks, name, summary, with_options=name == trained)

    evaluate = verbs.add_parser("evaluate", help="score a trained run on held-out data")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--device", default="auto", help=DEVICE_HELP)
    _add_task_options(evaluate, "evaluate", argv=argv, handler=_shows(lambda api, a: api.evaluate(
        a.run, device=a.device, data_dirs=_data_dirs(), cache_dir=_cache_dir(), **_task_options(a))))

    predict = verbs.add_parser("predict", help="apply a trained run to your own input")
    predict.add_argument("run", help="run directory")
    predict.add_argument("--input", required=True, help="a file, or inline values such as 5.1,3.5,1.4,0.2")
    predict.add_argument("--output", help="also write the predictions as CSV here")
    predict.add_argument("--device", default="auto", help=DEVICE_HELP)
    _add_task_options(predict, "predict", argv=argv, handler=_shows(lambda api, a: api.predict(
        a.run, a.input, output_path=a.output, device=a.device, data_dirs=_data_dirs())))

    inspect = verbs.add_parser("inspect", help="pictures of what a trained CNN learned")
    inspect.add_argument("run", help="run directory of a cnn run")
    inspect.add_argument("--index", type=int, default=0, help="test image whose feature maps are drawn")
    inspect.add_argument("--steps", type=int, default=200, help="gradient steps of activation maximisation")
    inspect.add_argument("--device", default="auto", help=DEVICE_HELP)
    _add_task_options(inspect, "inspect", argv=argv, handler=_shows(lambda api, a: api.inspect(
        a.run, index=a.index, steps=a.steps, device=a.device, data_dirs=_data_dirs())))

    sample = verbs.add_parser("sample", help="draw samples from a trained generator (a gan or calogan run)")
    sample.add_argument("run", help="run directory")
    sample.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--seed", type=seed_number, default=0, help="latent seed: the same seed draws the same samples")
    sample.add_argument("--out", help="folder for what sample writes (default RUN/samples)")
    sample.add_argument("--device", default="auto", help=DEVICE_HELP)
    _add_task_options(sample, "sample", argv=argv, handler=_shows_sharded(lambda api, a, launch: api.sample(
        a.run, n=a.n, seed=a.seed, out_dir=a.out, device=a.device, data_dirs=_data_dirs(), launch=launch,
        **_task_options(a))))

    restore = verbs.add_parser("restore", help="in-paint or denoise held-out images with a trained generator")
    restore.add_argument("run", help="run directory of a gan run")
    restore.add_argument("mode", choices=("inpaint", "denoise"))
    restore.add_argument("-n", type=int, default=16, help="held-out test images to corrupt and restore")
    restore.add_argument("--seed", type=seed_number, default=0, help="seed of the corruption and the search's starts")
    restore.add_argument("--steps", type=int, default=300, help="Adam steps of the latent search")
    restore.add_argument("--out", help="folder for the picture (default RUN/plots)")
    restore.add_argument("--device", default="auto", help=DEVICE_HELP)
    _add_task_options(restore, "restore", argv=argv, handler=_shows(lambda api, a: api.restore(
        a.run, a.mode, n=a.n, seed=a.seed, steps=a.steps, out_dir=a.out, device=a.device, data_dirs=_data_dirs())))

    data = verbs.add_parser("data", help="list, check or download data sets")
    data_verbs = data.add_subparsers(dest="data_verb", required=True, metavar="ACTION", parser_class=Parser)
    listing = data_verbs.add_parser("list", help="which data sets are available and where")
    _handles(listing, _shows(lambda api, a: api.data_sets(_data_dirs())))
    check = data_verbs.add_parser("check", help="validate a folder of IDX files (or mnist.npz)")
    check.add_argument("path")
    _handles(check, _shows(lambda api, a: api.check_data(a.path)))
    download = data_verbs.add_parser("download", help="fetch a data set into the user cache")
    download.add_argument("dataset", choices=[name for name, entry in DATASETS.items() if entry.download])
    download.add_argument("--dir", help="download into this folder instead of the user cache")
    _handles(download, _shows(lambda api, a: api.download(a.dataset,
                                                          Path(a.dir) if a.dir else _cache_dir() / a.dataset)))

    simulate = verbs.add_parser("simulate", help="simulate calorimeter showers into a CaloGAN HDF5 file")
    simulate.add_argument("--particle", required=True, choices=("eplus", "gamma", "piplus"),
                          help="eplus (positron), gamma (photon) or piplus (positive pion)")
    simulate.add_argument("-n", type=int, required=True, help="number of showers")
    simulate.add_argument("--energy", default="1:100", help="GeV: a range LOW:HIGH (uniform) or one value")
    simulate.add_argument("--seed", type=seed_number, default=0, help="the same seed simulates the same showers")
    simulate.add_argument("-o", "--output", required=True, help="HDF5 file to write (atomically)")
    simulate.add_argument("--visible", action="store_true", help="record the LAr signal, not the total deposit")
    simulate.add_argument("--chunk-size", type=int, default=10_000, help="showers held in memory at once")
    _handles(simulate, _shows_sharded(lambda api, a, launch: api.simulate(
        a.particle, a.n, a.output, energy=a.energy, seed=a.seed, chunk_size=a.chunk_size, visible=a.visible,
        launch=launch)))

    evaluate_sim = verbs.add_parser("evaluate-sim", help="check simulated showers against the physics")
    evaluate_sim.add_argument("files", nargs="+", help="CaloGAN HDF5 files (e.g. one per particle)")
    evaluate_sim.add_argument("--out", help="folder for plots and report (default: runs/evaluate-sim/FIRST_FILE_NAME)")
    _handles(evaluate_sim, _evaluate_sim)

    runs = verbs.add_parser("runs", help="list the runs under a folder, or compare runs side by side")
    runs_verbs = runs.add_subparsers(dest="runs_verb", required=True, metavar="ACTION", parser_class=Parser)
    listing = runs_verbs.add_parser("list", help="every run: task, start, status, epochs, score, size")
    listing.add_argument("folder", nargs="?", default="runs", help="a runs folder, or one task's folder in it "
                         "(default: runs)")
    _handles(listing, _shows(lambda api, a: api.list_runs(a.folder)))
    compare = runs_verbs.add_parser("compare", help="runs side by side: a table, and their curves in one PNG")
    compare.add_argument("runs", nargs="+", metavar="RUN", help="two or more run directories (runs/TASK/latest is "
                         "that task's newest)")
    compare.add_argument("-o", "--output", default="runs_compared.png", help="the PNG of their curves "
                         "(default: runs_compared.png)")
    _handles(compare, _shows(lambda api, a: api.compare_runs(a.runs, output=a.output)))

    report = verbs.add_parser("report", help="summarise a run: status, config, last and best epoch, test metrics")
    report.add_argument("run", help="run directory")
    _handles(report, _shows(lambda api, a: api.report(a.run)))

    foundations = verbs.add_parser("foundations", help="the from-scratch NumPy demos of the lecture")
    foundations.add_argument("demo", choices=DEMOS)
    foundations.add_argument("--out", default="runs/foundations", help="folder for the plots")
    foundations.add_argument("--seed", type=seed_number, default=0, help="seed of the demo's random draws")
    _handles(foundations, _shows(lambda api, a: api.foundations(a.demo, Path(a.out), seed=a.seed)))

    tour = verbs.add_parser("tour", help="a short tour of everything on bundled data (make demo)")
    tour.add_argument("--out", default="runs", help="root folder for runs and plots")
    tour.add_argument("--quick", action="store_true", help="one short epoch per network (a smoke test)")
    tour.set_defaults(handler=_tour, parser=tour)

    serve = verbs.add_parser("serve", help="a local web app: the playground, your runs (the serve extra)")
    serve.add_argument("--runs", default="runs", help="the runs folder it shows (default: runs)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this "
                       "machine only; another address lets other machines in, and says so)")
    serve.set_defaults(handler=_serve, parser=serve)

    env = verbs.add_parser("env", help="versions, devices and threads of this machine")
    env.set_defaults(handler=_env, parser=env)
    return parser


def _add_train_task(tasks: argparse._SubParsersAction, name: str, summary: str, *, with_options: bool) -> None:
    sub = tasks.add_parser(name, help=summary, description=f"Train {summary}.")
    if not with_options:  # a task not named on this command line: its name and help line are enough
        return
    from nnlab.api import resolve_config
    from nnlab.tasks import get_task

    sub.description += (" Defaults shown are those of the default data set; another data set's recipe may change "
                        "them (--print-config shows every setting).")
    config = resolve_config(name)
    sub.add_argument("--config", metavar="FILE", help="YAML config (a run's config.yaml works too)")
    sub.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config value, e.g. --set train.lr=0.01 (repeatable)")
    for flag, key, kind, text in TRAIN_FLAGS:
        sub.add_argument(flag, dest=key, type=kind, metavar=key.split(".")[-1].upper(),
                         help=f"{text} (default: {_default_of(config, key)})")
    for option in get_task(name).options:
        if option.switch:
            sub.add_argument(option.flag, dest=option.key, action="store_const", const="true", help=option.help)
        else:
            default = "" if "(default" in option.help else f" (default: {_default_of(config, option.key) or 'none'})"
            sub.add_argument(option.flag, dest=option.key, metavar="VALUE", help=option.help + default)
    sub.add_argument("--out", default="runs", help="root folder for run directories (default: ./runs)")
    sub.add_argument("--name", default="", help="suffix for the run directory name")
    sub.add_argument("--resume", metavar="RUN", help="continue this run where it stopped")
    sub.add_argument("--print-config", action="store_true",
                     help="print the settings it would train with (defaults, the data set's recipe, --config, "
                          "--set) as YAML, and exit")
    _handles(sub, _train)


def _default_of(config: object, key: str) -> str:
    """The value of `section.key` in a task config, as a command line would give it."""
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _add_task_options(sub: argparse.ArgumentParser, verb: str, *, handler: Callable, argv: Sequence[str]) -> None:
    """The flags the tasks declare for `verb` (`Task.verbs`), added when `verb` is the command run (its help
    included); a task refuses the ones it does not take in one line."""
    dests: dict[str, None] = {}
    if argv[:1] == [verb]:
        from nnlab.tasks import TASKS, get_task

        taken: set[str] = set()
        for option in (option for name in TASKS for option in get_task(name).verbs.get(verb, ())):
            if not taken & set(option.flags):
                sub.add_argument(*option.flags, dest=option.dest, help=option.help, **option.kwargs)
                taken |= set(option.flags)
                dests[option.dest] = None
    _handles(sub, handler, task_options=list(dests))


def _handles(sub: argparse.ArgumentParser, handler: Callable, **defaults: object) -> None:
    """`handler` runs the command; `--json` prints its result's data instead of its lines."""
    sub.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")
    sub.set_defaults(handler=handler, parser=sub, **defaults)


def _shows(call: Callable[[Any, argparse.Namespace], Any]) -> Callable[[argparse.Namespace, Sequence[str]], int]:
    """The handler of a verb whose work is one nnlab.api call, `call(api, args)`: it prints the result."""
    def handler(args: argparse.Namespace, argv: Sequence[str]) -> int:
        from nnlab import api

        _emit(args, call(api, args))
        return 0
    return handler


def _shows_sharded(call: Callable[..., Any]) -> Callable[[argparse.Namespace, Sequence[str]], int]:
    """`_shows` for a verb torchrun may start on several processes, each writing its shard of one file
    (simulate, sample): `call(api, args, launch)`; rank 0 prints the result."""
    def handler(args: argparse.Namespace, argv: Sequence[str]) -> int:
        from nnlab import api
        from nnlab.training.runtime import Launch

        launch = Launch.from_environment(os.environ, argv=("nnlab", *argv))
        result = call(api, args, launch)
        if launch.is_main:  # rank 0 alone reports, as in training: the joined file
            _emit(args, result)
        if launch.distributed:
            from nnlab.training.distributed import exit_worker

            exit_worker(0)
        return 0
    return handler


def _emit(args: argparse.Namespace, result) -> None:
    print(json.dumps(result.to_dict(), indent=2) if args.json else "\n".join(result.text()))


def _task_options(args: argparse.Namespace) -> dict[str, object]:
    return {dest: getattr(args, dest) for dest in args.task_options}


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab import api
    from nnlab.training.runtime import Launch

    flags = [f"{key}={value}" for key, value in vars(args).items() if "." in key and value is not None]
    if args.print_config:
        print(api.training_config_yaml(args.task, config_path=args.config, overrides=[*flags, *args.set],
                                       resume=args.resume), end="")
        return 0
    launch = Launch.from_environment(os.environ, argv=("nnlab", *argv))
    result = api.train(args.task, config_path=args.config, overrides=[*flags, *args.set], out_dir=args.out,
                       name=args.name, resume=args.resume, launch=launch, data_dirs=_data_dirs(),
                       cache_dir=_cache_dir())
    if result.run is not None:
        _emit(args, result)
    if launch.distributed:
        from nnlab.training.distributed import exit_worker

        exit_worker(0)
    return 0











def _evaluate_sim(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab import api

    out = Path(args.out) if args.out else Path("runs") / "evaluate-sim" / Path(args.files[0]).stem
    result = api.evaluate_simulation(args.files, out)
    _emit(args, result)
    return 0 if result.values["passed"] else 1


def _cache_dir() -> Path:
    """The user cache ($XDG_CACHE_HOME/nnlab or ~/.cache/nnlab): downloads and the scoring classifiers."""
    from nnlab.data.registry import default_cache_dir

    return default_cache_dir(os.environ)


def _data_dirs() -> tuple[Path, ...]:
    """Where data sets are looked for: $NNLAB_DATA, then the user cache (`nnlab data download`)."""
    env = os.environ.get("NNLAB_DATA")
    return tuple(p for p in (Path(env) if env else None, _cache_dir()) if p)






def _tour(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.tour import run_tour

    run_tour(Path(args.out), echo=print, quick=args.quick)
    return 0


def _serve(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.serve import serve

    serve(args.runs, host=args.host, port=args.port)
    return 0


def _env(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.reporting import describe_environment

    print("\n".join(describe_environment()))
    return 0
