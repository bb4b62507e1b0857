"""Showers from a trained generator: seeded, batched `generate` (eager or `torch.compile`d) in the CaloGAN layout."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.calogan.generator import CaloGenerator, ShowerNoise
from nnlab.physics.geometry import LAYER_SHAPES

GENERATE_BATCH = 4096  # showers a call of G in `generate` by default
N_OVERFLOW = len(LAYER_SHAPES)  # the CaloGAN layout's overflow: one per layer, always 0 here


def _check_request(energy_gev: np.ndarray, particle_index: np.ndarray | None, n_particles: int) -> None:
    if energy_gev.ndim != 1 or not np.all(np.isfinite(energy_gev)) or np.any(energy_gev <= 0):
        raise ConfigError("generate needs a 1-D array of finite, positive incident energies in GeV")
    if particle_index is not None and (particle_index.shape != energy_gev.shape or particle_index.min(initial=0) < 0
                                       or particle_index.max(initial=0) >= n_particles):
        raise ConfigError(f"particle_index must hold one index in [0, {n_particles}) per energy")
    if particle_index is None and n_particles > 1:
        raise ConfigError(f"the generator knows {n_particles} particles: pass particle_index")


class CompiledGenerator:
    """A CaloGenerator compiled whole for inference by `torch.compile` (static shapes, the weights frozen in
    as constants): `generate` takes it in place of the generator. A few fused kernels replace ~550 small
    operations a call, for less time a batch (docs/calogan.md#precision-sampling-speed-and-compiling), after
    a one-off compilation of 20-30 s per batch size and dtype on the first call (6-8 s once inductor's cache
    holds the kernels; it needs a C++ compiler). For a generator whose weights no longer change; the same
    random numbers go in, so the showers agree with the eager ones up to float rounding (a cell's count
    near a whole number of spots may differ by one spot).
    """

    def __init__(self, generator: CaloGenerator):
        self.generator = generator
        # the kernels called from C++ rather than Python: ~3% less time a batch of 1,024 (docs/calogan.md)
        self.forward = torch.compile(generator, dynamic=False, fullgraph=True,
                                     options={"freezing": True, "cpp_wrapper": True})


def generate(generator: CaloGenerator | CompiledGenerator, energy_gev: np.ndarray, *,
             particle_index: np.ndarray | None = None, batch_size: int = GENERATE_BATCH, seed: int,
             autocast_dtype: torch.dtype | None = None) -> dict[str, np.ndarray]:
    """One shower per requested energy, in the CaloGAN layout (energy GeV, layer_0/1/2 and overflow MeV).

    All latents are drawn up front from `seed`, and each batch's other random numbers from a stream
    seeded by it, so the same seed and batch size give the same showers. Runs in eval mode in
    inference mode (no autograd bookkeeping: 6% less time a batch of 1,024 than under
    no_grad) on the model's device (optionally under bf16 autocast) and restores the mode.
    Overflow is zero: the model has no overflow head. A `CompiledGenerator` runs every batch at
    one size (the first's): the last is padded to it with copies of its last shower's inputs.
    """
    compiled = isinstance(generator, CompiledGenerator)
    call, generator = (generator.forward, generator.generator) if compiled else (generator, generator)
    energy_gev = np.asarray(energy_gev, dtype=np.float64).reshape(-1)
    particle = None if particle_index is None else np.asarray(particle_index, dtype=np.int64).reshape(-1)
    _check_request(energy_gev, particle, generator.n_particles)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    with torch.inference_mode():  # like every other input: a compiled call re-compiles for a tensor of another kind
        z_all = generator.sample_latent(len(energy_gev), generator=rng)
    noise_rng = torch.Generator(device).manual_seed(int(torch.randint(2**62, (1,), generator=rng)))
    size = min(batch_size, len(energy_gev))
    chunks: list[list[np.ndarray]] = []
    was_training = generator.training
    if was_training:  # only then: setting the mode walks every submodule, and a compiled call re-checks them all
        generator.eval()
    try:
        with torch.inference_mode(), torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                                   enabled=autocast_dtype is not None):
            for start in range(0, len(energy_gev), batch_size):
                stop = min(start + batch_size, len(energy_gev))
                energy = torch.as_tensor(energy_gev[start:stop], dtype=torch.float32, device=device)
                index = None if particle is None else torch.as_tensor(particle[start:stop], device=device)
                inputs = (z_all[start:stop].to(device), energy, index,
                          generator.draw_noise(stop - start, generator=noise_rng, device=device))
                if compiled and stop - start < size:
                    inputs = tuple(_padded(value, size) for value in inputs)
                layers = call(*inputs[:3], noise=inputs[3])
                chunks.append([image[:stop - start].float().cpu().numpy() for image in layers])
    except torch._dynamo.exc.BackendCompilerFailed as error:  # say, no C++ compiler
        cause = getattr(error, "inner_exception", error)
        raise ConfigError(f"torch.compile could not compile the generator ({type(cause).__name__}: "
                          f"{(str(cause).strip().splitlines() or [''])[0]}); run without compiling") from None
    finally:
        if was_training:
            generator.train()
    return _assemble(energy_gev, chunks)


def _padded(value: torch.Tensor | ShowerNoise | None, size: int) -> torch.Tensor | ShowerNoise | None:
    """A batch's tensor (or the ShowerNoise of them) padded to `size` rows with copies of its last row."""
    if value is None:
        return None
    if isinstance(value, ShowerNoise):
        return ShowerNoise(*(_padded(part, size) for part in value))
    return torch.cat([value, value[-1:].expand(size - len(value), *value.shape[1:])])


def _assemble(energy_gev: np.ndarray, chunks: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    out = {"energy": energy_gev[:, None].copy(), "overflow": np.zeros((len(energy_gev), N_OVERFLOW), np.float32)}
    for k, shape in enumerate(LAYER_SHAPES):
        parts = [chunk[k] for chunk in chunks] or [np.zeros((0, *shape), np.float32)]
        whole = parts[0] if len(parts) == 1 else np.concatenate(parts)  # one batch: no copy
        out[f"layer_{k}"] = whole.astype(np.float32, copy=False)
    return out


def n_parameters(model: nn.Module) -> int:
    """Trainable parameter count (CaloGAN had ~30 M; the defaults here: 0.23 M in G before its layer-energy
    mixture is fitted, 0.22 M in D)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
