"""The moving average of a generator's weights: the formula, the warm-up, and what it leaves alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nnlab.training.ema import averaged_copy


@pytest.mark.parametrize("warmup", [10.0, 20.0])
def test_the_average_follows_the_warmed_up_decay_step_by_step(warmup):
    model = nn.Linear(3, 2)
    average = averaged_copy(model, decay=0.9, warmup=warmup) if warmup != 10 else averaged_copy(model, decay=0.9)
    expected = [p.detach().clone() for p in model.parameters()]
    for n in range(6):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        average.update_parameters(model)
        if n == 0:  # the first update copies the weights
            expected = [p.detach().clone() for p in model.parameters()]
        else:  # then keeps min(0.9, (1 + n) / (warmup + n)) of the old average
            keep = min(0.9, (1 + n) / (warmup + n))
            expected = [keep * e + (1 - keep) * p.detach() for e, p in zip(expected, model.parameters())]
    for mean, want in zip(average.module.parameters(), expected):
        torch.testing.assert_close(mean, want)


def test_the_copy_needs_no_gradients_and_copies_the_batchnorm_statistics():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    average = averaged_copy(model, decay=0.99)
    assert not any(p.requires_grad for p in average.parameters())
    model(torch.randn(16, 4) * 3 + 1)  # training mode: the running statistics move
    average.update_parameters(model)
    average.update_parameters(model)
    torch.testing.assert_close(average.module[1].running_mean, model[1].running_mean)
    torch.testing.assert_close(average.module[1].running_var, model[1].running_var)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_the_open_unit_interval_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        averaged_copy(nn.Linear(2, 2), decay=decay)


@pytest.mark.parametrize("warmup", [1.0, 0.5, -3.0])
def test_a_warmup_of_one_or_less_is_refused(warmup):
    with pytest.raises(ValueError, match="warm-up must exceed 1"):
        averaged_copy(nn.Linear(2, 2), decay=0.9, warmup=warmup)
