"""CaloGAN's auxiliary loss: how far the generated cells' energy is from the requested energy."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def energy_consistency(layers: Sequence[torch.Tensor], energy_gev: torch.Tensor,
                       target_response: float | torch.Tensor | None = None, *,
                       particle_index: torch.Tensor | None = None) -> torch.Tensor:
    """CaloGAN's auxiliary loss: the relative gap between the cells' sum and the requested energy.

    Without a target, mean |E_tot / E - 1| per shower (CaloGAN's |sum - E|, relative so every
    energy weighs the same). With a target response (a float, or one per particle indexed by
    `particle_index`), only the batch mean of E_tot / E is pulled to it, per particle: a pion
    leaves 0.28 +- 0.25 of its energy in the cells of this 1.3-lambda stack, and a per-shower
    pull would collapse that spread. Even e+ leave only 0.995 +- 0.0015 (leakage and
    overflow), so pass the training file's mean cell response for them too.
    """
    total_mev = sum(image.float().flatten(1).sum(dim=1) for image in layers)  # (B,)
    response = total_mev / (energy_gev.reshape(-1).float() * 1e3)
    if target_response is None:
        return (response - 1.0).abs().mean()
    target = torch.as_tensor(target_response, dtype=response.dtype, device=response.device)
    if target.ndim == 0:
        return (response.mean() - target).abs()
    if particle_index is None:
        raise ValueError("a per-particle target_response needs particle_index")
    index = particle_index.reshape(-1).long()
    gap = torch.zeros_like(target).index_add(0, index, response - target[index])  # (P,) summed gaps
    count = torch.zeros_like(target).index_add(0, index, torch.ones_like(response))
    present = count > 0
    return (gap[present] / count[present]).abs().mean()
