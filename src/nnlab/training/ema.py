"""An exponential moving average of a network's weights, for sampling from a GAN's generator.

G's weights chase a moving target, so the last iterate is noisy; their running average
(Yazici et al. 2019, "The unusual effectiveness of averaging in GAN training"; Karras et
al. 2018) draws better samples at no training cost. torch's `AveragedModel` holds the
copy; the decay warms up as min(decay, (1 + n) / (warmup + n)) after n updates (warmup 10 as in
TensorFlow's ExponentialMovingAverage with num_updates) so that the average does not
remember the random initialisation for thousands of steps. Until the decay is reached the
average spans about the last n / (warmup - 1) updates: a ninth of them with warmup 10.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from nnlab.training import distributed

WARMUP = 10.0  # TensorFlow's: the average spans about the last ninth of the updates until it reaches its decay


def averaged_copy(model: nn.Module, *, decay: float, warmup: float = WARMUP) -> AveragedModel:
    """A frozen copy of `model` whose `update_parameters(model)` folds in the current weights.

    Buffers (BatchNorm statistics) are copied, not averaged. The copy needs no gradients, so
    the Trainer's DDP wrapper leaves it alone; it is saved and resumed with the other models.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"the moving average's decay must lie in (0, 1), got {decay}")
    if not warmup > 1.0:
        raise ValueError(f"the moving average's warm-up must exceed 1, got {warmup}")

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        n = n_averaged.float()  # stays a tensor on the model's device: no host sync at every G step on a GPU
        rate = 1.0 - torch.clamp((1.0 + n) / (warmup + n), max=decay)
        for mean, value in zip(averaged, current, strict=True):
            mean.lerp_(value, rate)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=False).requires_grad_(False)


class GeneratorAverage:
    """For GAN tasks: keep a moving average of `models["G"]` as `models["G_average"]` and sample from it."""

    models: dict[str, nn.Module]

    def add_generator_average(self, decay: float, warmup: float = WARMUP) -> None:
        """Start the average (decay 0: none, samples come from G itself)."""
        if decay:
            self.models["G_average"] = averaged_copy(self.models["G"], decay=decay, warmup=warmup)

    def update_generator_average(self, generator: nn.Module) -> None:
        """Fold in G's weights after its optimiser step (`generator` may be DDP-wrapped)."""
        if "G_average" in self.models:
            self.models["G_average"].update_parameters(distributed.unwrap(generator))

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws samples, scores and restorations: G's average when kept, else G."""
        return self.models["G_average"].module if "G_average" in self.models else self.models["G"]
