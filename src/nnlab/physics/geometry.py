"""The CaloGAN calorimeter: 80 periods of 2 mm Pb + 4 mm LAr read out in three layers.

Source: docs/physics.md#the-calogan-detector, checked against hep-lbdl/CaloGAN `generation/src`
(DetectorConstruction.cc: Pb then LAr in each period; SteppingAction.cc: layer by the z of
the pre-step point, edges -240/-150/197/240 mm, cell = first edge above the position,
image index [x bin, y bin]). Depths here run from the front face (z = -240 mm).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from nnlab.physics.materials import LEAD, LIQUID_ARGON, Material, mix

# Image shapes (first axis = x, second = y) and the readout z edges of the 2017 release.
LAYER_SHAPES: tuple[tuple[int, int], ...] = ((3, 96), (12, 12), (12, 6))
LAYER_Z_EDGES_MM: tuple[float, ...] = (-240.0, -150.0, 197.0, 240.0)
N_LAYERS = len(LAYER_SHAPES)


@dataclasses.dataclass(frozen=True)
class ReadoutLayer:
    """One readout layer: its depth range from the front face and its cell grid over the window."""

    index: int
    depth_min_mm: float
    depth_max_mm: float
    shape: tuple[int, int]
    half_width_mm: float = 240.0

    @property
    def thickness_mm(self) -> float:
        return self.depth_max_mm - self.depth_min_mm

    @property
    def cell_mm(self) -> tuple[float, float]:
        """Cell size along (x, y): 160 x 5, 40 x 40 or 40 x 80 mm."""
        return tuple(2.0 * self.half_width_mm / n for n in self.shape)

    def edges_mm(self, axis: int) -> np.ndarray:
        """Cell edges along image `axis` (0 = x, 1 = y), from -half_width to +half_width."""
        return np.linspace(-self.half_width_mm, self.half_width_mm, self.shape[axis] + 1)

    def centres_mm(self, axis: int) -> np.ndarray:
        """Cell-centre positions along image `axis`, the positions CaloGAN's lateral width uses."""
        edges = self.edges_mm(axis)
        return 0.5 * (edges[1:] + edges[:-1])

    def beam_cell_coordinate(self, x_mm: float = 0.0, y_mm: float = 0.0) -> tuple[float, float]:
        """Where a point falls in cell units: integer = cell edge, integer + 0.5 = cell centre.

        For the beam at (0, 0): (1.5, 48.0) in layer 0 (centre along the coarse axis, edge
        along the strips), (6.0, 6.0) in layer 1 (a corner shared by the central 2 x 2 cells).
        """
        return tuple((pos + self.half_width_mm) / size for pos, size in zip((x_mm, y_mm), self.cell_mm))

    def cell_of(self, x_mm: np.ndarray, y_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell indices (ix, iy) of positions by SteppingAction.cc's rule, -1 outside the window.

        A cell holds [edge_k, edge_k+1): a point exactly on the beam axis goes to the cell above.
        """
        out = []
        for pos, size, n in zip((x_mm, y_mm), self.cell_mm, self.shape):
            pos = np.asarray(pos, dtype=float)
            index = np.floor((pos + self.half_width_mm) / size).astype(np.int64)
            inside = (pos > -self.half_width_mm) & (pos < self.half_width_mm)
            out.append(np.where(inside & (index < n), index, -1))
        return out[0], out[1]


@dataclasses.dataclass(frozen=True)
class Calorimeter:
    """The sampling stack and its readout; the effective material is derived, not typed in."""

    n_periods: int = 80
    absorber: Material = LEAD
    absorber_mm: float = 2.0
    gap: Material = LIQUID_ARGON
    gap_mm: float = 4.0
    transverse_half_mm: float = 500.0  # the stack is 1 m x 1 m: beyond it energy escapes
    window_half_mm: float = 240.0  # cells cover +-240 mm; the rest of the stack is overflow
    layer_z_edges_mm: tuple[float, ...] = LAYER_Z_EDGES_MM
    layer_shapes: tuple[tuple[int, int], ...] = LAYER_SHAPES

    @functools.cached_property
    def material(self) -> Material:
        """Effective Pb/LAr mixture (docs/physics.md#the-effective-medium-of-2-mm-pb-and-4-mm-lar)."""
        return mix([(self.absorber, self.absorber_mm), (self.gap, self.gap_mm)], name="Pb/LAr")

    @property
    def period_mm(self) -> float:
        return self.absorber_mm + self.gap_mm

    @property
    def depth_mm(self) -> float:
        return self.n_periods * self.period_mm

    @property
    def depth_x0(self) -> float:
        return self.depth_mm / self.material.x0_mm

    @property
    def depth_lambda(self) -> float:
        return self.depth_mm / self.material.interaction_length_mm

    @property
    def front_z_mm(self) -> float:
        return self.layer_z_edges_mm[0]

    @functools.cached_property
    def layers(self) -> tuple[ReadoutLayer, ...]:
        z = self.layer_z_edges_mm
        return tuple(
            ReadoutLayer(i, z[i] - z[0], z[i + 1] - z[0], shape, self.window_half_mm)
            for i, shape in enumerate(self.layer_shapes)
        )

    @property
    def layer_depth_edges_mm(self) -> np.ndarray:
        """Readout boundaries in depth from the front face: [0, 90, 437, 480]."""
        return np.asarray(self.layer_z_edges_mm) - self.front_z_mm

    def layer_of_depth(self, depth_mm: np.ndarray) -> np.ndarray:
        """Readout layer of each depth by CaloGAN's WhichZBin (z < -150 -> 0, z < 197 -> 1, else 2)."""
        inner = self.layer_depth_edges_mm[1:-1]
        return np.searchsorted(inner, np.asarray(depth_mm, dtype=float), side="right")


@functools.cache
def calogan_calorimeter() -> Calorimeter:
    """The 2017 CaloGAN detector (computed once, on first use)."""
    return Calorimeter()
