"""The adversarial update both GANs train with: the critic on real and fresh fake samples, then G every few batches.

Written once so that the image GAN and the shower GAN cannot drift apart in what a step is: the
order of the random draws (G's latents, D's dropout, the penalty's mixing weights, then G's
latents again) and the loss arithmetic are the same for both. What differs, how G draws, what
D is conditioned on, extra terms in G's loss, is handed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from nnlab.training import distributed
from nnlab.training.gan_losses import discriminator_loss, generator_loss, gradient_penalty
from nnlab.training.trainer import Metrics, Step

Conditions = tuple[torch.Tensor | None, ...]  # what D reads beside the samples: D(x, *conditions)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdversarialLoss:
    """The loss family and its settings: critic steps per G step, the gradient penalty, label smoothing."""

    loss: str
    d_steps: int
    gp_weight: float
    gp_blocks: Sequence[int] | None = None  # the penalty's blocks (a calorimeter's layers); None: one per sample
    label_smoothing: float = 0.0


def adversarial_step(step: Step, real: torch.Tensor, conditions: Conditions, *, losses: AdversarialLoss,
                     draw: Callable[[nn.Module], Any], critic_metrics: Callable[[torch.Tensor, torch.Tensor], Metrics],
                     critic_input: Callable[[Any], torch.Tensor] = lambda samples: samples,
                     generator_term: Callable[[Any], tuple[torch.Tensor, Metrics]] | None = None,
                     after_generator_step: Callable[[nn.Module], None] = lambda generator: None) -> Metrics:
    """One D update on `real` and as many fresh fakes; every `d_steps`-th batch also one G update.

    `draw(G)`: G's samples for this batch's conditions (the critic's are drawn without a graph, from G
    unwrapped: no DDP sync of G); `critic_input` turns them into what D reads. `critic_metrics` of the
    real and fake logits are logged beside d_loss; `generator_term(samples)` adds a term to G's loss and
    its metrics; `after_generator_step(G)` follows G's optimiser step (the moving average of G).
    """
    G, D = step.models["G"], step.models["D"]
    with torch.no_grad(), step.autocast():  # D's step needs no graph through G (nor a DDP sync of G)
        fake = critic_input(draw(distributed.unwrap(G)))
    with step.autocast():
        logits = D(torch.cat([real, fake.detach()]), *_twice(conditions)).float()  # one pass: DDP syncs once
        real_logits, fake_logits = logits.chunk(2)
        d_loss = discriminator_loss(losses.loss, real_logits, fake_logits, label_smoothing=losses.label_smoothing)
        if losses.loss == "wgan-gp":
            first, *rest = conditions
            critic = _conditioned(distributed.unwrap(D), rest)
            d_loss = d_loss + losses.gp_weight * gradient_penalty(critic, real, fake, labels=first,
                                                                  blocks=losses.gp_blocks,
                                                                  generator=torch.default_generator)
    step.update(d_loss, "D")
    metrics = {"d_loss": d_loss.detach(), **critic_metrics(real_logits, fake_logits)}
    if step.global_step % losses.d_steps == losses.d_steps - 1:
        metrics.update(_generator_step(step, conditions, losses=losses, draw=draw, critic_input=critic_input,
                                       generator_term=generator_term))
        after_generator_step(step.models["G"])
    return metrics


def accuracies(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> Metrics:
    """D's accuracy on real and on fake samples: how far ahead of G it is (BCE-style losses)."""
    return {"d_real_acc": (real_logits > 0).float().mean(), "d_fake_acc": (fake_logits < 0).float().mean()}


def wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> Metrics:
    """The critic's estimate of the Wasserstein distance: mean real minus mean fake logit."""
    return {"wasserstein": (real_logits.mean() - fake_logits.mean()).detach()}


def _generator_step(step: Step, conditions: Conditions, *, losses: AdversarialLoss, draw: Callable[[nn.Module], Any],
                    critic_input: Callable[[Any], torch.Tensor],
                    generator_term: Callable[[Any], tuple[torch.Tensor, Metrics]] | None) -> Metrics:
    """G's step through a frozen, unwrapped D: no gradients for D's weights, nothing for DDP to sync."""
    extra: Metrics = {}
    with step.frozen("D") as D:
        with step.autocast():
            samples = draw(step.models["G"])
            g_loss = generator_loss(losses.loss, D(critic_input(samples), *conditions).float())
            if generator_term is not None:
                term, extra = generator_term(samples)
                g_loss = g_loss + term
        step.update(g_loss, "G")
    return {"g_loss": g_loss.detach(), **extra}


def _twice(conditions: Conditions) -> Conditions:
    """The conditions of a batch of real and fake samples stacked: each one repeated."""
    return tuple(None if c is None else torch.cat([c, c]) for c in conditions)


def _conditioned(critic: nn.Module, rest: list[torch.Tensor | None]) -> Callable[..., torch.Tensor]:
    """The critic as the penalty calls it, critic(x) or critic(x, labels), with the further conditions added."""
    if not rest:
        return critic
    return lambda x, *labels: critic(x, *labels, *rest)
