"""PyTorch's own DCGAN example (pytorch/examples, dcgan/main.py), re-implemented as the yardstick of nnlab's GANs.

benchmarks/gan.py trains it beside nnlab's GANs on the same images for the same wall time and
scores both in the same feature space. Its recipe is the example's: z of 100 values, G of
transposed convolutions with BatchNorm and ReLU, D of strided convolutions with BatchNorm (not on
its first layer) and LeakyReLU(0.2) ending in a sigmoid, weights N(0, 0.02) and BatchNorm scales
N(1, 0.02), Adam at 2e-4 with betas (0.5, 0.999) for both, batches of 64, BCE with real label 1 and
fake label 0; D steps on a real then a fake batch, then G steps on the same fake batch towards the
real label.

The one adaptation, to 28x28 grey images instead of the 64x64 colour images the example resizes
everything to: 64 is 4 doubled four times, 28 is 4 -> 7 -> 14 -> 28, three steps. Each network
keeps its layers next to the image (G's 64, 128, 256 channels at 14x14, 7x7, 4x4; D's mirror) and
loses the deepest one (the 512 channels at 4x4), and the 4 <-> 7 step uses a 3x3 kernel
((4 - 1) * 2 - 2 + 3 = 7) where the others keep the example's 4x4. One channel in and out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from nnlab.models.gan import init_dcgan_weights

LATENT_DIM = 100  # the example's nz
WIDTH = 64  # the example's ngf and ndf
LR, BETAS, BATCH_SIZE = 2e-4, (0.5, 0.999), 64  # the example's optimiser and batch
REAL, FAKE = 1.0, 0.0  # the example's labels


def peer_generator() -> nn.Sequential:
    """z (B, 100, 1, 1) -> images (B, 1, 28, 28) in [-1, 1]."""
    return nn.Sequential(
        nn.ConvTranspose2d(LATENT_DIM, WIDTH * 4, 4, 1, 0, bias=False),  # (B, 256, 4, 4)
        nn.BatchNorm2d(WIDTH * 4), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH * 4, WIDTH * 2, 3, 2, 1, bias=False),  # (B, 128, 7, 7)
        nn.BatchNorm2d(WIDTH * 2), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH * 2, WIDTH, 4, 2, 1, bias=False),  # (B, 64, 14, 14)
        nn.BatchNorm2d(WIDTH), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH, 1, 4, 2, 1, bias=False), nn.Tanh(),  # (B, 1, 28, 28)
    )


def peer_discriminator() -> nn.Sequential:
    """Images (B, 1, 28, 28) -> probabilities of being real (B,)."""
    return nn.Sequential(
        nn.Conv2d(1, WIDTH, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),  # (B, 64, 14, 14)
        nn.Conv2d(WIDTH, WIDTH * 2, 4, 2, 1, bias=False),  # (B, 128, 7, 7)
        nn.BatchNorm2d(WIDTH * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(WIDTH * 2, WIDTH * 4, 3, 2, 1, bias=False),  # (B, 256, 4, 4)
        nn.BatchNorm2d(WIDTH * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(WIDTH * 4, 1, 4, 1, 0, bias=False), nn.Sigmoid(),  # (B, 1, 1, 1)
        nn.Flatten(0),  # (B,)
    )


@dataclass
class PeerDCGAN:
    """G, D and their optimisers; `step` is one iteration of the example's training loop."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: torch.Generator  # the latents (the example draws them from the global RNG)

    @classmethod
    def create(cls, seed: int) -> PeerDCGAN:
        rng = torch.Generator().manual_seed(seed)
        G, D = peer_generator(), peer_discriminator()
        init_dcgan_weights(G, generator=rng)  # the example's weights_init: N(0, 0.02), BatchNorm scales N(1, 0.02)
        init_dcgan_weights(D, generator=rng)
        return cls(G, D, torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS),
                   torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS), rng)

    def step(self, real: torch.Tensor) -> dict[str, float]:
        """One D update (real batch, then fake batch) and one G update on real images (B, 1, 28, 28) in [-1, 1]."""
        bce = nn.BCELoss()
        b = len(real)
        self.D.zero_grad()
        d_real = self.D(real)
        loss_real = bce(d_real, torch.full((b,), REAL))
        loss_real.backward()
        fake = self.G(self.latents(b))
        d_fake = self.D(fake.detach())
        loss_fake = bce(d_fake, torch.full((b,), FAKE))
        loss_fake.backward()
        self.opt_d.step()
        self.G.zero_grad()
        loss_g = bce(self.D(fake), torch.full((b,), REAL))  # the non-saturating loss: fakes labelled real
        loss_g.backward()
        self.opt_g.step()
        return {"d_loss": (loss_real + loss_fake).item(), "g_loss": loss_g.item(),
                "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, LATENT_DIM, 1, 1, generator=self.rng)

    def train(self, images: torch.Tensor, *, seconds: float, seed: int) -> dict[str, float]:
        """Train on uint8 images (N, 28, 28) for `seconds` of wall time (checked after every step); the
        example's loader: shuffled each epoch, batches of 64, the last one smaller."""
        order_rng = torch.Generator().manual_seed(seed)
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            for index in torch.randperm(len(images), generator=order_rng).split(BATCH_SIZE):
                self.step(images[index].unsqueeze(1).float().div(127.5).sub(1.0))
                steps += 1
                if time.perf_counter() - start >= seconds:
                    break
        steps_per_epoch = -(-len(images) // BATCH_SIZE)
        return {"steps": steps, "epochs": steps / steps_per_epoch, "seconds": time.perf_counter() - start}

    @torch.no_grad()
    def generate(self, n: int, *, seed: int) -> torch.Tensor:
        """n images (n, 28, 28) in [0, 1], drawn as the example draws its sample sheets: G in training mode
        (BatchNorm on each batch of 64's own statistics), from latents seeded by `seed`."""
        z = torch.randn(n, LATENT_DIM, 1, 1, generator=torch.Generator().manual_seed(seed))
        images = torch.cat([self.G(chunk) for chunk in z.split(BATCH_SIZE)])
        return images.squeeze(1).add(1.0).div(2.0).clamp(0.0, 1.0)
