"""The GAN pair: shapes, tanh range, conditioning, gradients, no BatchNorm in D, seeded init."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nnlab.models.gan import GAN_ARCHS, INIT_STD, Discriminator, Generator, UniformDropout, build_gan


def _pair(arch: str, *, n_classes: int = 0, seed: int = 0, **kwargs) -> tuple[Generator, Discriminator]:
    return build_gan(arch, latent_dim=10, n_classes=n_classes, generator=torch.Generator().manual_seed(seed),
                     **kwargs)


@pytest.mark.parametrize("arch", GAN_ARCHS)
@pytest.mark.parametrize("n_classes", [0, 10])
def test_shapes_and_tanh_range_in_train_and_eval_mode(arch, n_classes):
    G, D = _pair(arch, n_classes=n_classes)
    labels = torch.arange(5) % 10 if n_classes else None
    for train in (True, False):
        G.train(train), D.train(train)
        z = 3 * torch.randn(5, G.latent_dim)  # large z pushes tanh towards its limits
        images = G(z, labels)
        assert images.shape == (5, 1, 28, 28)
        assert images.min() >= -1 and images.max() <= 1
        assert D(images, labels).shape == (5,)


@pytest.mark.parametrize("arch", GAN_ARCHS)
def test_bf16_autocast_runs_and_stays_close_to_float32(arch):
    G, D = _pair(arch)
    G.eval(), D.eval()
    z = torch.randn(4, 10)
    expected = D(G(z))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = D(G(z))
    torch.testing.assert_close(logits.float(), expected, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("arch", GAN_ARCHS)
def test_labels_change_both_networks_for_the_same_input(arch):
    G, D = _pair(arch, n_classes=10)
    G.eval()
    z = torch.randn(1, 10).expand(10, 10)  # one z, ten classes
    images = G(z, torch.arange(10))
    assert not torch.allclose(images[0], images[1])
    x = images[:1].expand(10, -1, -1, -1)
    logits = D(x, torch.arange(10))
    assert logits.unique().numel() == 10  # the projection term differs per class


def test_labels_required_exactly_when_conditional():
    G, D = _pair("mlp", n_classes=10)
    with pytest.raises(ValueError, match="pass labels"):
        G(torch.randn(2, 10))
    G0, D0 = _pair("mlp")
    with pytest.raises(ValueError, match="unconditional"):
        D0(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("arch", GAN_ARCHS)
@pytest.mark.parametrize("n_classes", [0, 10])
def test_gradients_reach_every_parameter_of_both_networks(arch, n_classes):
    G, D = _pair(arch, n_classes=n_classes)
    labels = torch.arange(8) % 10 if n_classes else None
    D(G(torch.randn(8, 10), labels), labels).sum().backward()
    for name, p in [*G.named_parameters(prefix="G"), *D.named_parameters(prefix="D")]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", GAN_ARCHS)
def test_discriminator_has_no_batch_norm_and_treats_samples_independently(arch):
    _, D = _pair(arch, n_classes=10, dropout=0.3)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    assert not list(D.buffers())  # nothing for DDP to broadcast
    D.eval()
    x, y = torch.rand(6, 1, 28, 28) * 2 - 1, torch.arange(6)
    torch.testing.assert_close(D(x, y)[:2], D(x[:2], y[:2]))  # batch composition does not matter


@pytest.mark.parametrize("arch", GAN_ARCHS)
def test_seeded_init_is_deterministic_and_dcgan_scaled(arch):
    G1, D1 = _pair(arch, seed=3)
    G2, D2 = _pair(arch, seed=3)
    G3, _ = _pair(arch, seed=4)
    for a, b, c in zip(G1.state_dict().values(), G2.state_dict().values(), G3.state_dict().values()):
        assert torch.equal(a, b)
    assert not all(torch.equal(a, c) for a, c in zip(G1.state_dict().values(), G3.state_dict().values()))
    for a, b in zip(D1.state_dict().values(), D2.state_dict().values()):
        assert torch.equal(a, b)
    weights = torch.cat([m.weight.flatten() for m in D1.modules() if isinstance(m, (nn.Linear, nn.Conv2d))])
    assert weights.std().item() == pytest.approx(INIT_STD, rel=0.05)  # Radford et al. 2016: N(0, 0.02)


@pytest.mark.parametrize("n_classes", [0, 10])
def test_refine_adds_shape_keeping_3x3_convolutions_to_both_networks(n_classes):
    plain_G, plain_D = _pair("dcgan", n_classes=n_classes)
    G, D = _pair("dcgan", n_classes=n_classes, refine=True)

    def size(model):
        return sum(p.numel() for p in model.parameters())

    def square_convs(model):
        return [(m.in_channels, m.out_channels, m.kernel_size) for m in model.modules()
                if type(m) is nn.Conv2d and m.kernel_size == (3, 3)]

    assert square_convs(G) == [(128, 128, (3, 3)), (64, 64, (3, 3))] and square_convs(D) == [(128, 128, (3, 3))]
    assert size(G) - size(plain_G) == 9 * (128 * 128 + 64 * 64) + 2 * (128 + 64)  # the convolutions, BatchNorms
    assert size(D) - size(plain_D) == 9 * 128 * 128 + 128  # one convolution with its bias
    labels = torch.arange(8) % 10 if n_classes else None
    images = G(3 * torch.randn(8, 10), labels)
    assert images.shape == (8, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    D(images, labels).sum().backward()
    for name, p in [*G.named_parameters(prefix="G"), *D.named_parameters(prefix="D")]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert size(_pair("mlp")[0]) == size(_pair("mlp", refine=True)[0])  # the mlp has no resolutions to refine


def test_sizes_follow_the_image_shape():
    for arch in GAN_ARCHS:
        G, D = build_gan(arch, latent_dim=4, image_shape=(3, 32, 32))
        images = G(torch.randn(2, 4))
        assert images.shape == (2, 3, 32, 32) and D(images).shape == (2,)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_gan("dcgan", latent_dim=4, image_shape=(1, 30, 30))
    with pytest.raises(ValueError, match="unknown GAN"):
        build_gan("vae", latent_dim=4)


def test_sample_latent_is_seeded_standard_normal():
    G, _ = _pair("mlp")
    z = G.sample_latent(4000, generator=torch.Generator().manual_seed(1))
    assert z.shape == (4000, 10)
    assert torch.equal(z, G.sample_latent(4000, generator=torch.Generator().manual_seed(1)))
    assert abs(z.mean().item()) < 0.02 and z.std().item() == pytest.approx(1.0, abs=0.02)


def test_uniform_dropout_keeps_each_value_with_probability_one_minus_p_and_rescales():
    torch.manual_seed(0)
    x = torch.randn(64, 32, 14, 14).contiguous(memory_format=torch.channels_last).requires_grad_()
    dropout = UniformDropout(0.3)
    y = dropout(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # 401,408 draws: 5 standard deviations is 0.0036
    torch.testing.assert_close(y[kept], x[kept] / 0.7)
    assert y.is_contiguous(memory_format=torch.channels_last)  # the next convolution keeps its fast layout
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.7)  # the gradient flows through the kept values only
    assert torch.equal(dropout.eval()(x), x)
