"""Tasks: the one place where data, model, step and evaluation meet, one module per task."""

from __future__ import annotations

import importlib

from nnlab.errors import ConfigError

# name -> "module:class"; imported on demand so `nnlab train iris` never imports the GAN code.
TASKS = {
    "iris": "nnlab.tasks.iris:IrisTask",
    "cnn": "nnlab.tasks.cnn:CNNTask",
    "calo-classifier": "nnlab.tasks.calo_classifier:CaloClassifierTask",
    "gan": "nnlab.tasks.gan:GANTask",
    "calogan": "nnlab.tasks.calogan:CaloGANTask",
}


def get_task(name: str) -> type:
    """The Task class registered under `name`, or a one-line ConfigError listing the choices."""
    if name not in TASKS:
        raise ConfigError(f"unknown task '{name}' (choose from {', '.join(TASKS)})")
    module, _, cls = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
