"""Deposit parametrised showers into CaloGAN cells: exact cell integrals plus spot fluctuations.

Source: the radial law f(r) = 2 r R^2 / (r^2 + R^2)^2 of GFlash (docs/physics.md#radial-profile,
Grindhammer & Peters hep-ex/0001020). Its 2D density R^2 / (pi (x^2 + y^2 + R^2)^2) has a
closed-form rectangle integral, so the mean energy of every cell is exact; the spot
fluctuations of GFlash are then drawn as one multinomial per layer, and the spots' own
energies as Gamma draws (see `deposit_layers` and `continuous_hits`).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from nnlab.physics.geometry import Calorimeter, ReadoutLayer


def radial_containment(r_mm: float | np.ndarray, radius_mm: np.ndarray) -> np.ndarray:
    """Fraction of the radial law with scale `radius_mm` inside a cylinder of radius `r_mm`."""
    r2 = np.square(r_mm)
    return r2 / (r2 + np.square(radius_mm))


def quadrant_integral(a_mm: np.ndarray, b_mm: np.ndarray, radius_mm: np.ndarray) -> np.ndarray:
    """Integral of the radial law's 2D density over the rectangle [0, a] x [0, b].

    Q(a, b) = [a/s_a atan(b/s_a) + b/s_b atan(a/s_b)] / (2 pi), s_a = sqrt(a^2 + R^2): one
    checks d2Q/da db = R^2 / (pi (a^2 + b^2 + R^2)^2) and Q(a, 0) = Q(0, b) = 0. Q is odd in
    a and in b, so it serves signed corners too. Arrays broadcast.
    """
    r2 = np.square(radius_mm)
    s_a = np.sqrt(np.square(a_mm) + r2)
    s_b = np.sqrt(np.square(b_mm) + r2)
    return (a_mm / s_a * np.arctan(b_mm / s_a) + b_mm / s_b * np.arctan(a_mm / s_b)) / (2.0 * np.pi)


@dataclasses.dataclass(frozen=True, eq=False)
class LayerGrid:
    """Cell corners of one layer folded onto the positive quadrant (the beam is at x = y = 0).

    Q is evaluated only at the distinct |corner| values (3 x 49 in layer 0 instead of 4 x 97)
    and unfolded with signs: the saving that makes exact cell integrals cheap.
    """

    layer: ReadoutLayer
    magnitudes: tuple[np.ndarray, np.ndarray]
    inverse: tuple[np.ndarray, np.ndarray]
    signs: tuple[np.ndarray, np.ndarray]

    @classmethod
    def build(cls, layer: ReadoutLayer) -> LayerGrid:
        """Fold the layer's cell edges onto their distinct magnitudes."""
        mags, invs, signs = [], [], []
        for axis in (0, 1):
            edges = layer.edges_mm(axis)
            magnitude, inverse = np.unique(np.abs(edges), return_inverse=True)
            mags.append(magnitude)
            invs.append(inverse.ravel())
            signs.append(np.sign(edges))
        return cls(layer, tuple(mags), tuple(invs), tuple(signs))

    def quadrant_table(self, radius_mm: np.ndarray) -> np.ndarray:
        """Q at every folded corner for each radius: shape radius.shape + (n_|x|, n_|y|).

        Q = (phi(a, b) + phi(b, a)) / 2 pi with phi(a, b) = a/s_a atan(b/s_a): on a square grid
        (layer 1) phi(b, a) is phi's transpose, and Q vanishes on the zero row and column, so
        only the non-zero corners are computed (about half the arctangents of the plain formula).
        """
        r2 = np.square(np.asarray(radius_mm))[..., None]
        (a, b), zero = self._nonzero_magnitudes()
        s_a = np.sqrt(np.square(a) + r2)  # (..., n_a)
        phi_ab = (a / s_a)[..., :, None] * np.arctan(b / s_a[..., :, None])
        if a.shape == b.shape and np.array_equal(a, b):
            phi_ba = np.swapaxes(phi_ab, -1, -2)
        else:
            s_b = np.sqrt(np.square(b) + r2)
            phi_ba = (b / s_b)[..., None, :] * np.arctan(a[:, None] / s_b[..., None, :])
        table = (phi_ab + phi_ba) / (2.0 * np.pi)
        return np.pad(table, [(0, 0)] * (table.ndim - 2) + [(int(zero[0]), 0), (int(zero[1]), 0)])

    def _nonzero_magnitudes(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[bool, bool]]:
        zero = tuple(bool(m[0] == 0.0) for m in self.magnitudes)
        return tuple(m[1:] if z else m for m, z in zip(self.magnitudes, zero)), zero

    def cells_from_table(self, table: np.ndarray) -> np.ndarray:
        """Unfold a (weighted sum of) quadrant table(s) into cell contents, shape (..., nx, ny)."""
        full = table[..., self.inverse[0], :][..., self.inverse[1]]
        full = full * self.signs[0][:, None] * self.signs[1][None, :]
        return full[..., 1:, 1:] - full[..., :-1, 1:] - full[..., 1:, :-1] + full[..., :-1, :-1]


@dataclasses.dataclass(frozen=True, eq=False)
class DepthSlicing:
    """Depth slices (mm from the front face) that never straddle a readout boundary.

    The simulator integrates each longitudinal profile exactly over every slice and evaluates
    the radial law once per slice, at the slice's energy centroid.
    """

    edges_mm: np.ndarray
    layer_of_slice: np.ndarray
    grids: tuple[LayerGrid, ...]
    transverse_half_mm: float

    @property
    def n_slices(self) -> int:
        return len(self.edges_mm) - 1

    def slices_of_layer(self, layer: int) -> np.ndarray:
        """Indices of the slices inside readout layer `layer`."""
        return np.flatnonzero(self.layer_of_slice == layer)


@functools.cache
def depth_slicing(calorimeter: Calorimeter, slice_mm: float = 15.0) -> DepthSlicing:
    """Cut each readout layer into equal slices of at most `slice_mm` (90 mm -> 6 x 15 mm).

    15 mm is about 1 X0: cell means then stay within 1 % of 1 mm slices (a test checks);
    30 mm would be 3 % off at the edge of layer 0, where the tail radius shrinks fastest.
    """
    edges, owner = [0.0], []
    for layer in calorimeter.layers:
        n = int(np.ceil(layer.thickness_mm / slice_mm - 1e-9))
        edges.extend(np.linspace(layer.depth_min_mm, layer.depth_max_mm, n + 1)[1:])
        owner.extend([layer.index] * n)
    grids = tuple(LayerGrid.build(layer) for layer in calorimeter.layers)
    return DepthSlicing(np.asarray(edges), np.asarray(owner), grids, calorimeter.transverse_half_mm)


def _layer_means(grid: LayerGrid, energy_mev: np.ndarray, radius_mm: np.ndarray, stack_half_mm: float):
    """Mean cell energies (n, nx, ny) and energy inside the 1 m stack (n,) of one layer's slices."""
    table = np.einsum("nsk,nskxy->nxy", energy_mev, grid.quadrant_table(radius_mm))
    in_stack = 4.0 * quadrant_integral(stack_half_mm, stack_half_mm, radius_mm)
    return grid.cells_from_table(table), np.einsum("nsk,nsk->n", energy_mev, in_stack)


def _category_probabilities(cells: np.ndarray, in_stack: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Multinomial probabilities of cells, then overflow, then lateral escape (n, n_cells + 2)."""
    flat = cells.reshape(len(cells), -1)
    overflow = in_stack - flat.sum(axis=1)
    escape = total - in_stack
    p = np.clip(np.concatenate([flat, overflow[:, None], escape[:, None]], axis=1), 0.0, None)
    norm = p.sum(axis=1, keepdims=True)
    empty = norm[:, 0] <= 0.0
    p[empty, -1] = 1.0  # an empty layer draws no spots; any valid probability vector will do
    norm[empty] = 1.0
    return p / norm


def deposit_layers(energy_mev: np.ndarray, radius_mm: np.ndarray, spot_energy_mev: np.ndarray, *,
                   slicing: DepthSlicing, rng: np.random.Generator, poisson: bool = False,
                   hit_shape: float | None = None) -> dict:
    """Spread slice energies over cells, overflow and lateral escape, with spot fluctuations.

    Inputs have shape (n, n_slices, n_components): the energy of each radial component in
    each slice, its radius scale (mm) and the energy of one of its spots. Per layer the exact
    mean of every cell is computed, then N = E_layer / e_spot spots (e_spot the energy-weighted
    mean spot energy of the layer) are dealt out by one multinomial: the cell variances of
    GFlash's equal-energy spots, at a cost independent of the spot count. Default: N is fixed
    and the layer keeps its energy exactly (conservation). `poisson=True` (visible energy):
    N ~ Poisson, each spot keeps its energy, so the layer sum fluctuates like sampling.
    `hit_shape` k: spots of fluctuating energy instead (`continuous_hits`), with the same variances.
    Returns images (list of (n, nx, ny)), overflow (n, 3) and lateral escape (n,) in MeV.
    """
    images, overflow, escape = [], [], np.zeros(len(energy_mev))
    more_hits = 1.0 if hit_shape is None else 1.0 + 1.0 / hit_shape
    for grid in slicing.grids:
        sel = slicing.slices_of_layer(grid.layer.index)
        e, r, spot = energy_mev[:, sel], radius_mm[:, sel], spot_energy_mev[:, sel]
        total = e.sum(axis=(1, 2))
        cells, in_stack = _layer_means(grid, e, r, slicing.transverse_half_mm)
        p = _category_probabilities(cells, in_stack, total)
        mean_spot = np.divide(np.einsum("nsk,nsk->n", e, spot), total, out=np.ones_like(total), where=total > 0)
        expected = total / mean_spot * more_hits
        if poisson:
            n_spots = rng.poisson(expected)
        else:
            n_spots = np.where(total > 0, np.maximum(np.rint(expected), 1), 0).astype(np.int64)
        counts = rng.multinomial(n_spots, p)
        if hit_shape is None:
            weight = mean_spot if poisson else np.divide(total, n_spots, out=np.zeros_like(total), where=n_spots > 0)
            deposited = counts * weight[:, None]
        else:
            deposited = continuous_hits(counts, hit_shape, rng) * (mean_spot / more_hits)[:, None]
            if not poisson:  # the layer keeps its energy: the shares of a Dirichlet draw
                drawn = deposited.sum(axis=1)
                deposited *= np.divide(total, drawn, out=np.zeros_like(total), where=drawn > 0)[:, None]
        images.append(deposited[:, :-2].reshape(cells.shape))
        overflow.append(deposited[:, -2])
        escape += deposited[:, -1]
    return {"images": images, "overflow": np.stack(overflow, axis=1), "lateral_escape_mev": escape}


def continuous_hits(counts: np.ndarray, shape: float, rng: np.random.Generator) -> np.ndarray:
    """Energy of `counts` hits of mean energy 1 each drawn from Gamma(shape, 1 / shape): Gamma(counts shape, 1 / shape).

    A sampling calorimeter has no energy quantum: what a track leaves in an argon gap varies
    with its path and Landau straggling. The caller raises the hit count by 1 + 1 / shape and
    lowers the hit energy by as much, so a cell of mean m keeps its variance m e_spot (and the
    energy resolution its calibrated stochastic term): only the quantum goes.
    """
    out = np.zeros(counts.shape)
    hit = counts > 0
    out[hit] = rng.standard_gamma(counts[hit] * shape) / shape
    return out
