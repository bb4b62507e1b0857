"""Whole spots: cells drawn as whole numbers of the simulator's energy quantum, keeping each layer's energy."""

from __future__ import annotations

import numpy as np
import torch

N_SPOT_TERMS = 6  # log spot energy ~ 1, x, x^2, l, l^2, x l with x = log(E / 10 GeV), l = log(E_layer / E)
SPOT_SAMPLING = ("random", "dither", "nearest")  # how a cell's whole spots are drawn from the number G expects


def in_whole_spots(cells: torch.Tensor, energy: torch.Tensor, spot: torch.Tensor, *, sampling: str,
                    draws: torch.Tensor | None = None, part: torch.Tensor | None = None) -> torch.Tensor:
    """Cells (B, n) of a layer holding energy (B, 1), as whole spots (B, 1) that keep the energy, all in MeV.

    The counts are the whole numbers either side of cells / spot at random (`dithered_counts`), drawn
    like a Poisson count (`spot_counts`), from `draws` (B, n) (16-bit integers or uniforms, as
    `ShowerNoise` holds them), or the nearest whole number, as `sampling` says; gradients pass straight
    through; empty cells are exact zeros.
    No layer comes out empty: where the hottest cell holds less than a spot, it is the spot. `part`, (R,)
    1 for some of the layer's R rows and 0 for the others, keeps their energy and the rest's apart (`_by_part`).
    """
    with torch.no_grad():
        if part is None:
            spot = torch.minimum(spot, cells.amax(dim=1, keepdim=True))
        spot = spot.clamp_min(torch.finfo(cells.dtype).tiny)
        expected = cells / spot  # (B, n_cells_k) spots per cell
        if sampling == "random":
            spots = spot_counts(expected, draws)
        elif sampling == "dither":
            spots = dithered_counts(expected, draws)
        else:
            spots = torch.round(expected)
        if part is None:
            # the counts add or drop energy; the spots then stretch to keep the layer's energy exactly
            whole = spots.mul_(energy / spots.sum(dim=1, keepdim=True).clamp_min(1))
        else:
            whole = _by_part(spots, cells, part)
    if not torch.is_grad_enabled():
        return whole  # sampling: no gradient to pass on
    through = cells + (whole - cells).detach()
    return torch.where(whole > 0, through, through - through.detach())  # x - x: exactly 0, gradient kept


def _by_part(spots: torch.Tensor, cells: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Spot counts (B, n) turned into MeV so that the rows `part` (R,) marks and the other rows each keep their
    energy in `cells` (the spots stretch): a part holding energy but drawn no spot gets one in its hottest cell."""
    energy = _split_sums(cells, part)  # (B, 2): in the part, in the rest
    counts = _split_sums(spots, part)
    missing = (counts == 0) & (energy > 0)  # (B, 2): a part with energy but no spot
    rows = cells.reshape(len(cells), len(part), -1)
    for i, mask in enumerate((part, 1 - part)):  # a loop over the two parts, not the showers
        if torch.compiler.is_compiling():  # static shapes: every shower's hottest cell gets 0 or 1 spot
            hottest = (rows * mask[:, None]).flatten(1).argmax(dim=1, keepdim=True)
            spots.scatter_add_(1, hottest, missing[:, i:i + 1].to(spots.dtype))
        else:  # only the showers missing a spot (usually none): the argmax over all took 5x the time
            picked = missing[:, i].nonzero()[:, 0]
            if len(picked):
                spots[picked, (rows[picked] * mask[:, None]).flatten(1).argmax(dim=1)] += 1
    stretch = energy / (counts + missing).clamp_min(1)  # (B, 2): MeV a spot, in the part and in the rest
    per_row = torch.addcmul(stretch[:, 1:], stretch[:, :1] - stretch[:, 1:], part)  # (B, R)
    return spots.view(len(spots), len(part), -1).mul_(per_row[:, :, None]).view(spots.shape)


def _split_sums(values: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """(B, 2) sums of values (B, n), seen as R rows, over the rows `part` (R,) marks with 1 and over the rest."""
    per_row = values.reshape(len(values), len(part), -1).sum(dim=2)  # (B, R)
    return torch.stack([(per_row * part).sum(dim=1), (per_row * (1 - part)).sum(dim=1)], dim=1)


def spot_counts(expected: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Whole spots around `expected` that fall like a Poisson count's, from one uniform draw per cell (`uniform`).

    Below one spot, the Poisson law's inverse CDF up to three spots (P(N > 3) < 2%). From one
    spot on, its normal limit with the skewness term of the Cornish-Fisher expansion, rounded,
    at least one: within 1% of the exact law in total variation from 1 expected spot on (the
    plain normal limit: 2-7%). A cell G expects a spot in keeps one (with holes drawn in the
    core by exact Poisson draws, e+ training stalled: three seeds stuck for over 100 of 150
    epochs). torch's exact sampler draws one cell at a time and took longer than G itself.
    """
    uniform = uniform.to(expected.dtype, copy=True)  # changed in place below, the caller's draws kept
    # float arithmetic throughout: ceil(u - F) is [u > F], and torch mixes bool and float masks
    # several times slower than these (one thread: where 2.2 ms, lerp 0.4 ms for 1,024 x 504 cells);
    # in place where a value is not needed again (no gradient flows here): fewer cell-sized allocations
    probability = torch.exp(-expected)  # P(N = k), from k = 0
    below = probability.clone()  # P(N <= k)
    tail = torch.sub(uniform, below).ceil_()
    for k in (1, 2):
        below.add_(probability.mul_(expected).div_(k))
        tail.add_(torch.sub(uniform, below).ceil_())
    tail.clamp_min_(0)  # a draw of exactly 0 where P(N = 0) rounds to 1 makes ceil(u - F) = -1
    eps = torch.finfo(uniform.dtype).eps  # keeps erfinv finite where the draw is 0
    z = uniform.mul_(2).sub_(1).clamp_(-1 + eps, 1 - eps).erfinv_().mul_(2**0.5)
    # sqrt of an exact 0 ran ten times slower than of a positive number here (2 cores: 0.57 against 0.07 ms
    # for 1,024 x 288 cells, half empty); the floor changes nothing kept, as below one spot the core is unused
    core = expected.clamp_min(1e-30).sqrt_().mul_(z).add_(expected).add_(z.square_().sub_(1).div_(6))
    core = core.round_().clamp_min_(1)
    return core.lerp_(tail, torch.sub(1, expected).ceil_().clamp_(0, 1))  # the tail below one spot


def dithered_counts(expected: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """floor(expected + u), u uniform: the whole number either side of `expected`, on average `expected`.

    A few passes over the cells against the Poisson-like law's thirty (`spot_counts`): the
    cells below one spot are drawn as often as G expects there, one spot or none, but a
    cell's count varies by at most one spot, so the spread of the hot cells is G's own.
    u is (k + 1/2) / 2^16 for the random 16-bit integers k + 2^15 of `bits` (`random_int16`).
    The mean stays exact; a cell G expects under 2^-17 spots is never hit (under 0.01 hits a shower).
    """
    return torch.add(expected, bits, alpha=2**-16).add_(0.5 + 2**-17).floor_()


def random_int16(shape: tuple[int, ...], generator: torch.Generator | None,
                  device: torch.device | str) -> torch.Tensor:
    """Uniform random 16-bit integers, four to each 64-bit draw: torch's CPU generator makes its words one at a
    time on one core, and one float per cell took longer than G's matrix products for a layer (1,024 x 288
    cells, 2 cores: 0.92 against 0.39 ms for the counts)."""
    n = int(np.prod(shape))
    words = torch.randint(-2**63, 2**63 - 1, ((n + 3) // 4,), generator=generator, device=device)
    return words.view(torch.int16)[:n].view(shape)


def spot_terms(x: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """(B, N_SPOT_TERMS) regressors of log(spot energy): x = log(E / 10 GeV) (B, 1), share = E_layer / E (B, 1)."""
    l = torch.log(share.clamp_min(1e-12))
    return torch.cat([torch.ones_like(x), x, x * x, l, l * l, x * l], dim=1)

