"""Tasks: the one place where data, model, step and evaluation meet, one module per task."""

from __future__ import annotations

import importlib

from nnlab.errors import ConfigError

# name -> ("module:class", what it trains); imported on demand, so `nnlab train iris` never imports the GAN
# code and `nnlab --help` imports no task (nor torch) at all.
TASKS = {
    "iris": ("nnlab.tasks.iris:IrisTask", "an MLP on Fisher's 150 Iris flowers (the lecture's basic PyTorch)"),
    "cnn": ("nnlab.tasks.cnn:CNNTask", "a CNN on MNIST-format images (mnist-5k, MNIST, Fashion-MNIST, a folder)"),
    "calo-classifier": ("nnlab.tasks.calo_classifier:CaloClassifierTask",
                        "a network telling photons from pions by their calorimeter showers"),
    "gan": ("nnlab.tasks.gan:GANTask", "a GAN (DCGAN or the lecture's MLP pair) drawing MNIST-format images"),
    "calogan": ("nnlab.tasks.calogan:CaloGANTask", "a generator of calorimeter showers, by particle and energy"),
}


def get_task(name: str) -> type:
    """The Task class registered under `name`, or a one-line ConfigError listing the choices."""
    if name not in TASKS:
        raise ConfigError(f"unknown task '{name}' (choose from {', '.join(TASKS)})")
    module, _, cls = TASKS[name][0].partition(":")
    return getattr(importlib.import_module(module), cls)
