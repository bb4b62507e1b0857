"""Adversarial losses: golden values, the saturation argument, the common fixed point, the gradient penalty."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nnlab.training.gan_losses import LOSSES, discriminator_loss, generator_loss, gradient_penalty

LN2 = math.log(2.0)


def test_bce_losses_at_an_undecided_discriminator():
    # D(x) = sigmoid(0) = 1/2: -log(1/2) = ln 2 per term (Goodfellow et al. 2014, eq. 1)
    zeros = torch.zeros(7)
    for kind in ("nonsaturating", "minimax"):
        assert discriminator_loss(kind, zeros, zeros).item() == pytest.approx(2 * LN2)
    assert generator_loss("nonsaturating", zeros).item() == pytest.approx(LN2)
    assert generator_loss("minimax", zeros).item() == pytest.approx(-LN2)  # log(1 - 1/2)


def test_bce_losses_against_their_probability_form():
    real, fake = torch.tensor([2.0, -0.5, 1.0], dtype=torch.float64), torch.tensor([-1.0, 0.3], dtype=torch.float64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    assert discriminator_loss("nonsaturating", real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert generator_loss("nonsaturating", fake).item() == pytest.approx(-torch.log(d_fake).mean().item(), rel=1e-6)
    assert generator_loss("minimax", fake).item() == pytest.approx(torch.log(1 - d_fake).mean().item(), rel=1e-6)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = torch.tensor([0.0, 3.0]), torch.tensor([-2.0, 1.0])
    s = 0.1  # real target 0.9 (Salimans et al. 2016, sec. 3.4): BCE = -(0.9 log p + 0.1 log(1 - p))
    p_real = torch.sigmoid(real)
    real_term = -(0.9 * torch.log(p_real) + 0.1 * torch.log(1 - p_real)).mean()
    fake_term = -torch.log(1 - torch.sigmoid(fake)).mean()
    got = discriminator_loss("nonsaturating", real, fake, label_smoothing=s)
    assert got.item() == pytest.approx((real_term + fake_term).item(), rel=1e-5)
    with pytest.raises(ValueError, match="BCE"):
        discriminator_loss("hinge", real, fake, label_smoothing=s)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        discriminator_loss("minimax", real, fake, label_smoothing=1.0)


def test_wgan_and_hinge_golden_values():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 1.0])
    # WGAN critic: mean(fake) - mean(real) = -2/3 - 1/2 (Arjovsky et al. 2017)
    assert discriminator_loss("wgan-gp", real, fake).item() == pytest.approx(-7 / 6)
    # hinge: relu(1 - real) = (0, 0.5, 2) -> 5/6; relu(1 + fake) = (0, 1, 2) -> 1
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx(5 / 6 + 1)
    for kind in ("wgan-gp", "hinge"):
        assert generator_loss(kind, fake).item() == pytest.approx(2 / 3)


def test_saturation_minimax_gradient_vanishes_where_nonsaturating_stays_near_one():
    # D confidently rejects the fakes: D(G(z)) = sigmoid(-10) ~ 4.5e-5 (Goodfellow et al. 2014, sec. 3)
    for logit, minimax_grad, nonsat_grad in [(-10.0, -4.54e-5, -1.0), (0.0, -0.5, -0.5)]:
        grads = {}
        for kind in ("minimax", "nonsaturating"):
            x = torch.tensor([logit], requires_grad=True)
            generator_loss(kind, x).backward()
            grads[kind] = x.grad.item()
        assert grads["minimax"] == pytest.approx(minimax_grad, rel=1e-2)
        assert grads["nonsaturating"] == pytest.approx(nonsat_grad, rel=1e-3)


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_both_generator_losses_stop_at_p_g_equal_p_data_and_move_towards_it(kind):
    # Discrete toy: with D's optimum logit log(p_data / p_g) held fixed, G's expected loss
    # sum_x p_g(x) loss(logit(x)) is stationary at p_g = p_data (all logits 0) and its
    # gradient step reduces KL(p_data || p_g) elsewhere.
    p_data = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)

    def gradient(theta: torch.Tensor) -> torch.Tensor:
        theta = theta.clone().requires_grad_(True)
        p_g = torch.softmax(theta, 0)
        logits = torch.log(p_data / p_g).detach()
        per_bin = torch.stack([generator_loss(kind, logit.view(1)) for logit in logits])
        (p_g * per_bin).sum().backward()
        return theta.grad

    assert gradient(torch.log(p_data)).abs().max() < 1e-12
    theta = torch.zeros(4, dtype=torch.float64)
    kl = lambda t: (p_data * torch.log(p_data / torch.softmax(t, 0))).sum()  # noqa: E731
    assert kl(theta - 0.1 * gradient(theta)) < kl(theta)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        generator_loss("lsgan", torch.zeros(2))
    assert len(LOSSES) == 4


def _linear_critic(weight: torch.Tensor) -> nn.Module:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(weight.numel(), 1))
    with torch.no_grad():
        critic[1].weight.copy_(weight.view(1, -1))
    return nn.Sequential(critic, nn.Flatten(0))


def test_gradient_penalty_vanishes_for_a_unit_norm_linear_critic():
    # D(x) = w . x + b has gradient w everywhere: ||w|| = 1 makes it exactly 1-Lipschitz
    w = torch.randn(1, 4, 4, generator=torch.Generator().manual_seed(0))
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    g = torch.Generator().manual_seed(0)
    assert gradient_penalty(_linear_critic(w / w.norm()), real, fake, generator=g).item() < 1e-10
    assert gradient_penalty(_linear_critic(3 * w / w.norm()), real, fake, generator=g).item() == pytest.approx(4.0)


def test_gradient_penalty_matches_an_independent_computation_and_trains_d():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()
    real, fake = torch.randn(6, 1, 4, 4, dtype=torch.float64), torch.randn(6, 1, 4, 4, dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(6, generator=torch.Generator().manual_seed(7), dtype=torch.float32).double()
    norms = []
    for i in range(6):  # one sample at a time, with torch.func's per-sample gradient
        x_hat = eps[i] * real[i] + (1 - eps[i]) * fake[i]
        grad = torch.func.grad(lambda x: critic(x.unsqueeze(0)).squeeze())(x_hat)
        norms.append(grad.norm())
    expected = ((torch.stack(norms) - 1) ** 2).mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # create_graph=True: the penalty reaches D's weights
    for p in (critic[1].weight, critic[1].bias, critic[3].weight):  # the output bias leaves grad_x unchanged
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_gradient_penalty_passes_labels_and_is_seeded():
    class Conditional(nn.Module):
        def forward(self, x, labels):
            return x.flatten(1).sum(1) * (labels + 1)  # gradient norm sqrt(16) * (label + 1)

    real, fake, labels = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4), torch.tensor([0, 1, 2])
    value = gradient_penalty(Conditional(), real, fake, labels=labels, generator=torch.Generator())
    assert value.item() == pytest.approx(((torch.tensor([4.0, 8.0, 12.0]) - 1) ** 2).mean().item())
    crit = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0))
    a, b = (gradient_penalty(crit, real, fake, generator=torch.Generator().manual_seed(s)) for s in (1, 1))
    assert torch.equal(a, b)


def test_gradient_penalty_per_block_holds_each_block_to_unit_norm():
    # a linear critic's gradient is its weight: blocks of norm 1 and 3 cost 0 + (3 - 1)^2, while
    # one norm over both (sqrt(10)) would cost (sqrt(10) - 1)^2
    w = torch.randn(1, 16, generator=torch.Generator().manual_seed(0))
    w[:, :6] /= w[:, :6].norm()
    w[:, 6:] *= 3 / w[:, 6:].norm()
    real, fake = torch.randn(4, 16), torch.randn(4, 16)
    per_block = gradient_penalty(_linear_critic(w), real, fake, generator=torch.Generator(), blocks=(6, 10))
    whole = gradient_penalty(_linear_critic(w), real, fake, generator=torch.Generator())
    assert per_block.item() == pytest.approx(4.0)
    assert whole.item() == pytest.approx((10 ** 0.5 - 1) ** 2)
