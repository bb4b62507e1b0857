"""Using a trained generator: latent walks, and inversion for filling in missing pixels and denoising.

Lecture: "sampling, denoising, filling in missing pixels". In-painting by searching the
latent space for the image that best matches the observed pixels follows Yeh et al. 2017
("Semantic image inpainting with deep generative models"); slerp follows White 2016.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.progress import progress


def interpolate(generator: nn.Module, z_start: torch.Tensor, z_end: torch.Tensor, *, n_steps: int,
                labels: torch.Tensor | int | None = None, spherical: bool = True) -> torch.Tensor:
    """Images (n_steps, 1, 28, 28) along a path from z_start to z_end (each (latent_dim,) or (1, latent_dim)).

    Spherical interpolation by default (White 2016): under a Gaussian prior almost all mass
    sits near the sphere of radius sqrt(latent_dim), and a straight line's midpoint falls
    inside it, where G saw no training latents. `labels` (one class, or (n_steps,)) for a
    conditional G. G runs in eval mode; its mode is restored afterwards.
    """
    if n_steps < 2:
        raise ValueError(f"need n_steps >= 2 to include both ends, got {n_steps}")
    z0, z1 = z_start.reshape(-1), z_end.reshape(-1)  # (latent_dim,)
    t = torch.linspace(0.0, 1.0, n_steps, dtype=z0.dtype, device=z0.device)[:, None]  # (n_steps, 1)
    z = _slerp(z0, z1, t) if spherical else (1 - t) * z0 + t * z1  # (n_steps, latent_dim)
    if labels is not None:
        labels = torch.as_tensor(labels, device=z.device).expand(n_steps)  # (n_steps,)
    with _frozen(generator), torch.no_grad():
        return generator(z, labels)  # (n_steps, 1, 28, 28)


def strongest_directions(generator: nn.Module, z: torch.Tensor, *, labels: torch.Tensor | int | None = None,
                         k: int = 10, step: float = 0.01) -> torch.Tensor:
    """The k unit directions (k, latent_dim) in which a step from z (latent_dim,) changes G(z)'s pixels most,
    strongest first: the top right-singular vectors of G's Jacobian at z. The Jacobian is taken by central
    differences, all 2 x latent_dim latents in one batch (one forward pass: a few milliseconds, where autograd
    took seconds). Sliders along them move the image where an axis of a wide latent hardly does."""
    z = z.reshape(-1)
    offsets = step * torch.eye(len(z), dtype=z.dtype, device=z.device)
    batch = torch.cat([z + offsets, z - offsets])  # (2d, d)
    if labels is not None:
        labels = torch.as_tensor(labels, device=z.device).reshape(-1).expand(len(batch))
    with _frozen(generator), torch.no_grad():
        images = generator(batch, labels).to(z.dtype).reshape(len(batch), -1)  # float32 from bf16 autocast too
    jacobian = (images[:len(z)] - images[len(z):]).T / (2 * step)  # (pixels, d)
    _, _, directions = torch.linalg.svd(jacobian, full_matrices=False)  # rows: right-singular vectors
    return directions[:k]


def search_latent(generator: nn.Module, target: torch.Tensor, mask: torch.Tensor, *, steps: int = 300,
                  lr: float = 0.05, prior_weight: float = 1e-3, n_restarts: int = 4,
                  labels: torch.Tensor | None = None, seed: int, desc: str = "latent search") -> torch.Tensor:
    """The latent z (B, latent_dim) whose image best matches each target (B, 1, 28, 28) where mask is 1.

    Minimises ||mask * (G(z) - target)||^2 / n_observed + prior_weight * ||z||^2 with Adam
    over z alone; the second term is the Gaussian prior's -log p(z) (up to a constant and
    scale), which keeps z where G was trained (Yeh et al. 2017 use a GAN-realism prior
    instead). All images and n_restarts seeded starts run as one batch; the start with the
    lowest final loss wins per image. G is frozen in eval mode; its parameters, modes and
    requires_grad flags are as before afterwards. `desc` names the search in its progress lines.
    """
    _check_images(target, mask)
    n_images = len(target)
    rng = torch.Generator().manual_seed(seed)
    starts = torch.randn(n_restarts * n_images, generator.latent_dim, generator=rng)  # (R * B, latent_dim)
    z = starts.to(target.device).requires_grad_(True)
    targets = target.repeat(n_restarts, 1, 1, 1)  # (R * B, 1, 28, 28), restart-major
    masks = mask.to(target.dtype).repeat(n_restarts, 1, 1, 1)  # (R * B, 1, 28, 28)
    labels = None if labels is None else labels.repeat(n_restarts)  # (R * B,)
    optimizer = torch.optim.Adam([z], lr=lr)
    with _frozen(generator):
        for _ in progress(range(steps), desc, unit="step"):
            loss = _inversion_loss(generator, z, targets, masks, labels=labels, prior_weight=prior_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # the images are independent, so each z gets its own gradient
            optimizer.step()
        with torch.no_grad():
            final = _inversion_loss(generator, z, targets, masks, labels=labels, prior_weight=prior_weight)
    best = final.view(n_restarts, n_images).argmin(dim=0)  # (B,)
    return z.detach().view(n_restarts, n_images, -1)[best, torch.arange(n_images)]  # (B, latent_dim)


def inpaint(generator: nn.Module, image: torch.Tensor, mask: torch.Tensor, *,
            labels: torch.Tensor | None = None, **search_kw) -> torch.Tensor:
    """The image (B, 1, 28, 28) with its observed pixels (mask 1) kept and the hole filled from G(z*).

    z* = search_latent(G, image, mask, ...); keeping the observed pixels verbatim means
    in-painting never makes what was seen worse (Yeh et al. 2017 blend the two instead).
    """
    search_kw = {"desc": f"in-painting {len(image)} images", **search_kw}
    z = search_latent(generator, image, mask, labels=labels, **search_kw)  # (B, latent_dim)
    with _frozen(generator), torch.no_grad():
        filled = generator(z, labels)  # (B, 1, 28, 28)
    return torch.where(mask.bool(), image, filled.to(image.dtype))


def denoise(generator: nn.Module, noisy: torch.Tensor, *, labels: torch.Tensor | None = None,
            **search_kw) -> torch.Tensor:
    """G(z*) (B, 1, 28, 28) for the z* that best explains every pixel of `noisy`: a projection onto G's range.

    Noise that G cannot produce is left out; the result is G's output, so it lies in [-1, 1].
    """
    search_kw = {"desc": f"denoising {len(noisy)} images", **search_kw}
    z = search_latent(generator, noisy, torch.ones_like(noisy), labels=labels, **search_kw)  # (B, latent_dim)
    with _frozen(generator), torch.no_grad():
        return generator(z, labels).to(noisy.dtype)  # (B, 1, 28, 28)


def restore(generator: nn.Module, clean: torch.Tensor, *, mode: str, labels: torch.Tensor | None, seed: int,
            steps: int, hole: int, noise_sigma: float) -> tuple[dict[str, float], np.ndarray]:
    """Corrupt images (n, 1, H, W) in [-1, 1], a square hole in-painted or noise removed, and restore them.

    The hole (`hole` pixels a side) and the noise (`noise_sigma` on pixels in [0, 1]) are drawn from
    `seed`, which also seeds the latent search of `steps` Adam steps. Returns the mean PSNRs (dB) of
    the corrupted and the restored images and a (3n, H, W) stack in [0, 1] (clean, corrupted,
    restored) for a picture.
    """
    rng = torch.Generator().manual_seed(seed)
    # float32: one autocast region around the whole search would reuse its first bf16 copy of the
    # latent leaf z at every step (autocast caches casts of leaves that require grad), freezing z.
    corrupted, restored = _corrupt_and_restore(generator, clean, mode=mode, labels=labels, rng=rng, seed=seed,
                                               steps=steps, hole=hole, noise_sigma=noise_sigma)
    before, after = psnr(corrupted, clean).mean().item(), psnr(restored.float(), clean).mean().item()
    stack = torch.cat([clean, corrupted, restored.float()]).squeeze(1).add(1).div(2).clamp(0, 1)
    return {"psnr_input": before, "psnr_output": after, "psnr_gain": after - before}, stack.cpu().numpy()


def hole_masks(n: int, size: torch.Size, *, hole: int, generator: torch.Generator) -> torch.Tensor:
    """Masks (n, 1, H, W), 1 where observed, 0 in a hole x hole square placed at random inside the centre 20x20."""
    h, w = size
    if not 0 < hole <= min(h, w):
        raise ConfigError(f"score.hole must be between 1 and {min(h, w)}, got {hole}")
    low, high_r, high_c = 4, max(4, h - 4 - hole), max(4, w - 4 - hole)
    top = torch.randint(low, high_r + 1, (n,), generator=generator)
    left = torch.randint(low, high_c + 1, (n,), generator=generator)
    rows, cols = torch.arange(h), torch.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + hole)  # (n, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + hole)  # (n, W)
    return (~(in_rows[:, :, None] & in_cols[:, None, :])).float().unsqueeze(1)


def psnr(a: torch.Tensor, b: torch.Tensor, *, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image (B,) in dB: 10 log10(data_range^2 / MSE); inf where equal.

    data_range is max - min of the pixel scale: 2 for images in [-1, 1].
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    mse = (a.double() - b.double()).square().flatten(1).mean(dim=1)  # (B,)
    return 10.0 * torch.log10(data_range**2 / mse)


def _corrupt_and_restore(generator: nn.Module, clean: torch.Tensor, *, mode: str, labels: torch.Tensor | None,
                         rng: torch.Generator, seed: int, steps: int, hole: int,
                         noise_sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The corrupted images, drawn from `rng`, and G's restoration of them."""
    if mode == "inpaint":
        mask = hole_masks(len(clean), clean.shape[-2:], hole=hole, generator=rng).to(clean.device)
        corrupted = torch.where(mask.bool(), clean, torch.full_like(clean, -1.0))  # a black square
        restored = inpaint(generator, corrupted, mask, labels=labels, steps=steps, seed=seed)
    elif mode == "denoise":
        noise = torch.randn(clean.shape, generator=rng).to(clean.device) * (2 * noise_sigma)  # [0,1] sigma
        corrupted = (clean + noise).clamp(-1.0, 1.0)
        restored = denoise(generator, corrupted, labels=labels, steps=steps, seed=seed)
    else:
        raise ConfigError(f"unknown restoration '{mode}' (choose inpaint or denoise)")
    return corrupted, restored


def _inversion_loss(generator: nn.Module, z: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor, *,
                    labels: torch.Tensor | None, prior_weight: float) -> torch.Tensor:
    """Per-image masked mean squared error plus the prior term, (N,)."""
    error = masks * (generator(z, labels) - targets)  # (N, 1, 28, 28)
    n_observed = masks.flatten(1).sum(dim=1).clamp_min(1.0)  # (N,)
    return error.square().flatten(1).sum(dim=1) / n_observed + prior_weight * z.square().sum(dim=1)


def _slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985) of z0, z1 (d,) at fractions t (n, 1); linear when (anti)parallel."""
    cos_omega = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos_omega.clamp(-1.0, 1.0))
    if math.sin(float(omega)) < 1e-6:  # the great circle is undefined; the straight line is exact or as good
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)  # (n, d)


def _check_images(target: torch.Tensor, mask: torch.Tensor) -> None:
    if target.shape != mask.shape or target.dim() != 4:
        raise ValueError(f"target and mask must both be (B, C, H, W), got {tuple(target.shape)} "
                         f"and {tuple(mask.shape)}")
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must hold only 0 (missing) and 1 (observed)")


@contextlib.contextmanager
def _frozen(generator: nn.Module) -> Iterator[nn.Module]:
    """G in eval mode with requires_grad off inside the block; every module's mode and flag restored after."""
    modes = [m.training for m in generator.modules()]
    flags = [p.requires_grad for p in generator.parameters()]
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    try:
        yield generator
    finally:
        for module, mode in zip(generator.modules(), modes):
            module.training = mode
        for p, flag in zip(generator.parameters(), flags):
            p.requires_grad_(flag)
