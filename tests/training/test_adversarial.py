"""The shared adversarial update on a tiny conditioned pair: D every batch, G every d_steps, extra terms, metrics."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from nnlab.training.adversarial import AdversarialLoss, accuracies, adversarial_step, wasserstein


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor, energy: torch.Tensor, particle: torch.Tensor) -> torch.Tensor:
        self.seen.append((len(x), len(energy), len(particle)))
        return self.linear(x * energy[:, None] + particle[:, None]).squeeze(1)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 4)

    def forward(self, z: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        return self.linear(z) * energy[:, None]


class FakeStep:
    """What adversarial_step touches of the Trainer's Step: models, autocast, frozen, update, global_step."""

    def __init__(self):
        self.models = {"G": Generator(), "D": Critic()}
        self.optimizers = {name: torch.optim.SGD(model.parameters(), lr=0.1) for name, model in self.models.items()}
        self.global_step = 0
        self.updated: list[str] = []

    def autocast(self):
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def frozen(self, name: str):
        self.models[name].requires_grad_(False)
        try:
            yield self.models[name]
        finally:
            self.models[name].requires_grad_(True)

    def update(self, loss: torch.Tensor, optimizer: str) -> None:
        self.optimizers[optimizer].zero_grad()
        loss.backward()
        self.optimizers[optimizer].step()
        self.updated.append(optimizer)


@pytest.mark.parametrize("loss", ["wgan-gp", "nonsaturating"])
def test_d_every_batch_g_every_d_steps_with_its_extra_term(loss):
    torch.manual_seed(0)
    step, real = FakeStep(), torch.randn(8, 4)
    energy, particle = torch.rand(8) + 0.5, torch.randint(0, 2, (8,)).float()
    averaged = []
    kwargs = dict(losses=AdversarialLoss(loss=loss, d_steps=2, gp_weight=10.0),
                  draw=lambda G: G(torch.randn(8, 2), energy), critic_metrics=wasserstein,
                  generator_term=lambda samples: (samples.square().mean(), {"size": samples.square().mean().detach()}),
                  after_generator_step=averaged.append)
    first = adversarial_step(step, real, (energy, particle), **kwargs)
    assert list(first) == ["d_loss", "wasserstein"] and step.updated == ["D"] and not averaged
    step.global_step = 1
    second = adversarial_step(step, real, (energy, particle), **kwargs)
    assert list(second) == ["d_loss", "wasserstein", "g_loss", "size"] and step.updated == ["D", "D", "G"]
    assert averaged == [step.models["G"]]
    assert (16, 16, 16) in step.models["D"].seen  # real and fake in one pass, the conditions repeated
    if loss == "wgan-gp":  # the penalty's critic reads every condition too
        assert step.models["D"].seen.count((8, 8, 8)) == 3  # the penalty twice, G's step once


def test_accuracies_count_real_logits_above_and_fake_below_zero():
    found = accuracies(torch.tensor([1.0, -1.0, 2.0, 3.0]), torch.tensor([-1.0, -2.0, 1.0, 1.0]))
    assert found["d_real_acc"] == 0.75 and found["d_fake_acc"] == 0.5
