"""Generative adversarial networks for small grey images (lecture: "generative adversarial networks").

G maps a Gaussian latent z (plus a class label when conditional) to an image in [-1, 1]
through tanh; D maps an image (plus label) to one raw logit. `mlp` is the lecture's
feed-forward pair (Goodfellow et al. 2014); `dcgan` is Radford et al. 2016 scaled down to
28x28, with the TensorFlow DCGAN tutorial's normalisation-free discriminator; `refine` adds
3x3 convolutions to both (nnlab's default: docs/gan.md#the-refined-dcgan).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

GAN_ARCHS = ("mlp", "dcgan")
MLP_WIDTHS = (256, 512)  # G's hidden widths; D mirrors them (512, 256), as in the lecture
DCGAN_CHANNELS = (128, 64)  # G's channels at 1/4 and 1/2 resolution; D mirrors them (64, 128)
LEAKY_SLOPE = 0.2  # Radford et al. 2016, for every LeakyReLU here
INIT_STD = 0.02  # Radford et al. 2016: "zero-centered Normal distribution with standard deviation 0.02"


class Generator(nn.Module):
    """z (B, latent_dim) and optional labels (B,) -> images (B, *image_shape) in [-1, 1].

    Conditioning concatenates a one-hot label to z (Mirza & Osindero 2014). One-hot into the
    first linear layer equals a learned label embedding added to its pre-activation (the
    layer's label columns are that embedding), without an embedding table whose N(0, 0.02)
    init would make the label signal 50 times weaker than z's at the start.
    """

    def __init__(self, body: nn.Module, *, latent_dim: int, n_classes: int = 0,
                 image_shape: Sequence[int] = (1, 28, 28)):
        super().__init__()
        self.latent_dim, self.n_classes, self.image_shape = latent_dim, n_classes, tuple(image_shape)
        self.body = body

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = _with_one_hot(z, labels, self.n_classes)  # (B, latent_dim + n_classes)
        return self.body(h)  # (B, 1, 28, 28)

    def sample_latent(self, n: int, *, generator: torch.Generator) -> torch.Tensor:
        """n draws of the prior z ~ N(0, I), shape (n, latent_dim), on the torch.Generator's device."""
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)


class Discriminator(nn.Module):
    """Images (B, *image_shape) and optional labels (B,) -> raw logits (B,), no sigmoid.

    `features` maps x to a vector phi(x) (B, F); the logit is psi(phi(x)) = w . phi(x) + b.
    Conditional D is a projection discriminator (Miyato & Koyama 2018, eq. 3): it adds
    <embed(y), phi(x)>, the form the log density ratio takes when p(y|x) is a softmax in
    phi(x). They found it beats concatenating the label to the input (better Inception
    score, and G covers the classes); it also keeps one logit per image with no label in
    the image path.
    """

    def __init__(self, features: nn.Module, *, feature_dim: int, n_classes: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.features = features
        self.head = nn.Linear(feature_dim, 1)
        self.embedding = nn.Embedding(n_classes, feature_dim) if n_classes > 0 else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_labels(labels, self.n_classes)
        h = self.features(x)  # (B, F)
        logits = self.head(h).squeeze(1)  # (B,)
        if self.embedding is not None:
            logits = logits + (self.embedding(labels) * h).sum(dim=1)  # projection term (B,)
        return logits


def build_gan(arch: str, *, latent_dim: int, n_classes: int = 0, image_shape: Sequence[int] = (1, 28, 28),
              dropout: float = 0.0, refine: bool = False, batchnorm: bool = False,
              generator: torch.Generator | None = None) -> tuple[Generator, Discriminator]:
    """The (G, D) pair called `arch` (one of GAN_ARCHS), DCGAN-initialised from `generator`.

    `n_classes > 0` makes both class-conditional. `dropout` acts after each hidden layer of D
    only (it regularises D, which otherwise memorises a small training set). `refine` gives
    the dcgan G a 3x3 convolution at 1/4 and at 1/2 resolution and D one at 1/4 (the mlp has
    no resolutions to refine). `batchnorm` normalises the mlp G's hidden layers (the dcgan G
    always does, as Radford et al. 2016 prescribe). The latent size is the caller's: the
    lecture's 10 lives in the task config.
    """
    if arch not in GAN_ARCHS:
        raise ValueError(f"unknown GAN architecture {arch!r}: choose one of {', '.join(GAN_ARCHS)}")
    if latent_dim < 1 or n_classes < 0:
        raise ValueError(f"need latent_dim >= 1 and n_classes >= 0, got {latent_dim} and {n_classes}")
    image_shape = tuple(image_shape)
    in_dim = latent_dim + n_classes
    if arch == "mlp":
        g_body, d_features = _mlp_generator(in_dim, image_shape, batchnorm), _mlp_features(image_shape, dropout)
    else:
        g_body = _dcgan_generator(in_dim, image_shape, refine)
        d_features = _dcgan_features(image_shape, dropout, refine)
    G = Generator(g_body, latent_dim=latent_dim, n_classes=n_classes, image_shape=image_shape)
    D = Discriminator(d_features, feature_dim=_out_dim(d_features, image_shape), n_classes=n_classes)
    init_dcgan_weights(G, generator=generator)
    init_dcgan_weights(D, generator=generator)
    return G, D


def init_dcgan_weights(model: nn.Module, *, generator: torch.Generator | None = None) -> None:
    """Radford et al. 2016: weights ~ N(0, 0.02), biases 0; norm scales ~ N(1, 0.02), shifts 0.

    Covers every parameter of the models here (linear, convolution, embedding, norm), so a
    seeded `generator` makes the whole initialisation reproducible.
    """
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, INIT_STD, generator=generator)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.normal_(module.weight, 1.0, INIT_STD, generator=generator)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


def _mlp_generator(in_dim: int, image_shape: tuple[int, ...], batchnorm: bool) -> nn.Sequential:
    """The lecture's G: z -> 256 -> 512 -> 784 with LeakyReLU (after BatchNorm if asked), tanh out, as an image."""
    layers: list[nn.Module] = []
    widths = [in_dim, *MLP_WIDTHS]
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        norm = [nn.BatchNorm1d(fan_out)] if batchnorm else []
        layers += [nn.Linear(fan_in, fan_out, bias=not batchnorm), *norm, nn.LeakyReLU(LEAKY_SLOPE)]
    layers += [nn.Linear(widths[-1], math.prod(image_shape)), nn.Tanh(),  # (B, 784)
               nn.Unflatten(1, image_shape)]  # (B, 1, 28, 28)
    return nn.Sequential(*layers)


def _mlp_features(image_shape: tuple[int, ...], dropout: float) -> nn.Sequential:
    """The lecture's D trunk: 784 -> 512 -> 256 with LeakyReLU(0.2); the head adds the logit."""
    layers: list[nn.Module] = [nn.Flatten()]  # (B, 784)
    widths = [math.prod(image_shape), *reversed(MLP_WIDTHS)]
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.LeakyReLU(LEAKY_SLOPE)] + _dropout(dropout)
    return nn.Sequential(*layers)  # (B, 256)


def _dcgan_generator(in_dim: int, image_shape: tuple[int, ...], refine: bool) -> nn.Sequential:
    """Linear to (128, H/4, W/4), then two stride-2 transposed convolutions up to (C, H, W).

    BatchNorm then ReLU after each hidden layer (Radford et al. 2016); a kernel of 4 with
    stride 2 and padding 1 exactly doubles H and W and avoids the checkerboard of a 3x3.
    `refine` adds a 3x3 convolution (same channels) before each upsampling: a transposed
    convolution alone mixes each output pixel from only 2x2 inputs.
    """
    channels, height, width = image_shape
    if height % 4 or width % 4:
        raise ValueError(f"dcgan needs image sides divisible by 4, got {height}x{width}")
    c_quarter, c_half = DCGAN_CHANNELS
    return nn.Sequential(
        nn.Linear(in_dim, c_quarter * (height // 4) * (width // 4), bias=False),  # BatchNorm's shift replaces it
        nn.Unflatten(1, (c_quarter, height // 4, width // 4)),  # (B, 128, 7, 7)
        nn.BatchNorm2d(c_quarter), nn.ReLU(),
        *(_g_refinement(c_quarter) if refine else []),  # (B, 128, 7, 7)
        nn.ConvTranspose2d(c_quarter, c_half, 4, stride=2, padding=1, bias=False),  # (B, 64, 14, 14)
        nn.BatchNorm2d(c_half), nn.ReLU(),
        *(_g_refinement(c_half) if refine else []),  # (B, 64, 14, 14)
        nn.ConvTranspose2d(c_half, channels, 4, stride=2, padding=1), nn.Tanh(),  # (B, 1, 28, 28)
    )


def _g_refinement(channels: int) -> list[nn.Module]:
    """G's shape-keeping 3x3 convolution, with BatchNorm and ReLU like its other hidden layers."""
    return [nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()]


def _d_refinement(channels: int, dropout: float) -> list[nn.Module]:
    """D's shape-keeping 3x3 convolution, with LeakyReLU (and dropout) like its other layers."""
    return [nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(LEAKY_SLOPE), *_dropout(dropout)]


def _dcgan_features(image_shape: tuple[int, ...], dropout: float, refine: bool) -> nn.Sequential:
    """Two stride-2 convolutions with LeakyReLU(0.2) and no normalisation, flattened.

    `refine` adds a 3x3 convolution at 1/4 resolution, so D's features see 3x3 neighbourhoods
    of the 7x7 map rather than single positions.

    No BatchNorm in D: it couples the samples of a batch, so under DDP each rank would
    normalise with its own shard's statistics, real and fake batches would be normalised
    apart (D can tell them by their batch statistics), and the per-sample gradient penalty
    of WGAN-GP would be wrong (Gulrajani et al. 2017, sec. 4). Plain layers have no buffers
    to synchronise and fit every loss in nnlab.training.gan_losses; the TensorFlow DCGAN
    tutorial trains this D on 28x28 images without normalisation.
    """
    c_quarter, c_half = DCGAN_CHANNELS  # mirrors G: c_half channels at 1/2 resolution, c_quarter at 1/4
    return nn.Sequential(
        nn.Conv2d(image_shape[0], c_half, 4, stride=2, padding=1), nn.LeakyReLU(LEAKY_SLOPE),  # (B, 64, 14, 14)
        *_dropout(dropout),
        nn.Conv2d(c_half, c_quarter, 4, stride=2, padding=1), nn.LeakyReLU(LEAKY_SLOPE),  # (B, 128, 7, 7)
        *_dropout(dropout),
        *(_d_refinement(c_quarter, dropout) if refine else []),  # (B, 128, 7, 7)
        nn.Flatten(),  # (B, 6272)
    )


def _dropout(p: float) -> list[nn.Module]:
    return [UniformDropout(p)] if p > 0 else []


class UniformDropout(nn.Module):
    """nn.Dropout's law (keep each value with probability 1 - p, scaled by 1 / (1 - p)), its mask drawn by
    comparing float32 uniforms with p: on the CPU, torch's bernoulli_ behind nn.Dropout took 2.3x the time
    (fwd + bwd of a (64, 64, 14, 14) map: 10 against 4.3 ms, AVX2, 2 threads), 30% of a dcgan epoch."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        keep = torch.rand_like(x, dtype=torch.float32) >= self.p  # float32 uniforms (exact p under bf16), x's layout
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _out_dim(features: nn.Module, image_shape: tuple[int, ...]) -> int:
    """The trunk's output width, found by a dummy forward pass rather than by hand."""
    features.eval()  # dropout would draw from the global RNG
    with torch.no_grad():
        width = features(torch.zeros(1, *image_shape)).shape[1]
    features.train()
    return width


def _check_labels(labels: torch.Tensor | None, n_classes: int) -> None:
    if n_classes > 0 and labels is None:
        raise ValueError(f"this model is class-conditional ({n_classes} classes): pass labels")
    if n_classes == 0 and labels is not None:
        raise ValueError("this model is unconditional: labels must be None")


def _with_one_hot(z: torch.Tensor, labels: torch.Tensor | None, n_classes: int) -> torch.Tensor:
    """z with the one-hot labels appended when the model is conditional, else z itself."""
    _check_labels(labels, n_classes)
    if n_classes == 0:
        return z
    return torch.cat([z, F.one_hot(labels, n_classes).to(z.dtype)], dim=1)  # (B, latent_dim + n_classes)
