"""The run verbs are built from what the tasks declare (`Task.verbs`): no task's flag is written into the CLI."""

from __future__ import annotations

from nnlab.tasks import TASKS, get_task
from nnlab.tasks.base import VerbOption


def test_a_flag_a_task_declares_is_a_flag_of_its_verb(cli, monkeypatch):
    gan = get_task("gan")
    extra = VerbOption(("--truncation",), "truncation", "gan: a flag no task had", {"type": float})
    monkeypatch.setattr(gan, "verbs", {**gan.verbs, "sample": (*gan.verbs["sample"], extra)})
    shown = cli("sample", "--help")
    assert shown.code == 0 and "--truncation TRUNCATION" in shown.out and "gan: a flag no task had" in shown.out
    assert "--truncation" not in cli("evaluate", "--help").out


def test_every_task_flag_of_every_verb_is_in_its_help(cli):
    for verb in ("evaluate", "predict", "inspect", "sample", "restore"):
        shown = cli(verb, "--help").out
        for name in TASKS:
            for option in get_task(name).verbs.get(verb, ()):
                assert option.flags[-1] in shown, (verb, option.flags)


def test_the_verbs_a_run_answers_are_declared():
    offered = {name: set(get_task(name).verbs) for name in TASKS}
    assert offered == {"iris": {"evaluate", "predict"}, "cnn": {"evaluate", "predict", "inspect"},
                       "gan": {"evaluate", "sample", "restore"}, "calo-classifier": {"evaluate"},
                       "calogan": {"evaluate", "sample"}}
