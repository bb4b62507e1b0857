"""The `nnlab` command: argparse subcommands over nnlab.api. User errors: one line, exit status 2.

This is the only module that reads sys.argv and the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nnlab import __version__
from nnlab.errors import NnlabError

log = logging.getLogger("nnlab")

TRAIN_FLAGS = (  # flag, config key, type, help: the everyday settings every task shares
    ("--epochs", "train.epochs", int, "number of epochs"),
    ("--batch-size", "train.batch_size", int, "global batch size (split over torchrun processes)"),
    ("--lr", "train.lr", float, "learning rate"),
    ("--seed", "train.seed", int, "random seed (recorded in the run)"),
    ("--device", "train.device", str, "auto, cpu, cuda, cuda:N or mps"),
    ("--precision", "train.precision", str, "32 or bf16-mixed (autocast)"),
)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to look, no usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one nnlab command; return the exit status (0 ok, 2 user error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _configure_logging()
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand's own parser, so the hint names the right --help
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.handler(args, argv) or 0
    except NnlabError as error:
        print(f"nnlab: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnlab: interrupted (a training run continues with: nnlab train TASK --resume RUN)",
              file=sys.stderr)
        return 130


def build_parser() -> Parser:
    from nnlab.foundations.demos import DEMOS
    from nnlab.tasks import TASKS

    parser = Parser(prog="nnlab", description="Hands-on deep learning for scientists.")
    parser.add_argument("--version", action="version", version=f"nnlab {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND", parser_class=Parser)

    train = verbs.add_parser("train", help="train a task into a run directory")
    tasks = train.add_subparsers(dest="task", required=True, metavar="TASK", parser_class=Parser)
    for name in TASKS:
        _add_train_task(tasks, name)

    evaluate = verbs.add_parser("evaluate", help="score a trained run on held-out data")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--device", default="auto")
    evaluate.set_defaults(handler=_evaluate, parser=evaluate)

    predict = verbs.add_parser("predict", help="apply a trained run to your own input")
    predict.add_argument("run", help="run directory")
    predict.add_argument("--input", required=True, help="a file, or inline values such as 5.1,3.5,1.4,0.2")
    predict.add_argument("--output", help="also write the predictions as CSV here")
    predict.add_argument("--device", default="auto")
    predict.set_defaults(handler=_predict, parser=predict)

    report = verbs.add_parser("report", help="summarise a run: config, best epoch, test metrics")
    report.add_argument("run", help="run directory")
    report.set_defaults(handler=_report, parser=report)

    foundations = verbs.add_parser("foundations", help="the from-scratch NumPy demos of the lecture")
    foundations.add_argument("demo", choices=DEMOS)
    foundations.add_argument("--out", default="runs/foundations", help="folder for the plots")
    foundations.add_argument("--seed", type=int, default=0)
    foundations.set_defaults(handler=_foundations, parser=foundations)

    tour = verbs.add_parser("tour", help="a short tour of everything on bundled data (make demo)")
    tour.add_argument("--out", default="runs", help="root folder for runs and plots")
    tour.set_defaults(handler=_tour, parser=tour)

    env = verbs.add_parser("env", help="versions, devices and threads of this machine")
    env.set_defaults(handler=_env, parser=env)
    return parser


def _add_train_task(tasks: argparse._SubParsersAction, name: str) -> None:
    from nnlab.tasks import get_task

    sub = tasks.add_parser(name, help=f"train {name}")
    sub.add_argument("--config", metavar="FILE", help="YAML config (a run's config.yaml works too)")
    sub.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config value, e.g. --set train.lr=0.01 (repeatable)")
    for flag, key, kind, text in TRAIN_FLAGS:
        sub.add_argument(flag, dest=key, type=kind, metavar=key.split(".")[-1].upper(), help=text)
    for option in get_task(name).options:
        sub.add_argument(option.flag, dest=option.key, metavar="VALUE", help=option.help)
    sub.add_argument("--out", default="runs", help="root folder for run directories (default: ./runs)")
    sub.add_argument("--name", default="", help="suffix for the run directory name")
    sub.add_argument("--resume", metavar="RUN", help="continue this run where it stopped")
    sub.set_defaults(handler=_train, parser=sub)


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab import api
    from nnlab.training.runtime import Launch

    flags = [f"{key}={value}" for key, value in vars(args).items() if "." in key and value is not None]
    launch = Launch.from_environment(os.environ, argv=("nnlab", *argv))
    result = api.train(args.task, config_path=args.config, overrides=[*flags, *args.set], out_dir=args.out,
                       name=args.name, resume=args.resume, launch=launch)
    if result.run is not None:
        for line in result.report.lines:
            print(line)
        print(f"run: {result.run.path}")
        for path in result.report.files:
            print(f"plot: {path}")
    return 0


def _evaluate(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab import api

    report = api.evaluate(args.run, device=args.device)
    print("\n".join(report.lines))
    for path in report.files:
        print(f"plot: {path}")
    return 0


def _predict(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab import api

    print("\n".join(api.predict(args.run, args.input, output_path=args.output, device=args.device)))
    return 0


def _report(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.reporting import summarize_run

    print("\n".join(summarize_run(args.run)))
    return 0


def _foundations(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.foundations.demos import run_demo

    print(run_demo(args.demo, Path(args.out), seed=args.seed))
    return 0


def _tour(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.tour import run_tour

    run_tour(Path(args.out), echo=print)
    return 0


def _env(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from nnlab.reporting import describe_environment

    print("\n".join(describe_environment()))
    return 0


def _configure_logging() -> None:
    """Send nnlab's log lines to stderr through tqdm, so progress bars and lines don't collide."""
    if log.handlers:
        return

    class TqdmHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            from tqdm.auto import tqdm

            tqdm.write(self.format(record), file=sys.stderr)

    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
