"""What nnlab's verbs return: data a script or notebook reads, and the lines a terminal shows.

Every `nnlab.api` function returns a `Result`: `to_dict()` gives plain JSON values (paths as text,
relative to the run folder where the result belongs to a run), `text()` the lines the CLI prints;
`nnlab VERB --json` prints `to_dict()`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


@dataclasses.dataclass
class Result:
    """Base of every verb's result; subclasses are dataclasses whose fields are the data."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; paths inside `self.run` (when there is one) relative to it."""
        root = getattr(self, "run", None)
        root = Path(root).resolve() if isinstance(root, (str, Path)) else None
        return {field.name: plain(getattr(self, field.name), None if field.name == "run" else root)
                for field in dataclasses.fields(self) if field.repr}

    def text(self) -> list[str]:
        """The lines a terminal shows."""
        raise NotImplementedError


def plain(value: Any, root: Path | None = None) -> Any:
    """`value` as JSON: paths as text (relative to `root` when inside it), tuples as lists, NumPy and torch
    scalars as numbers, non-finite floats as None (JSON has no NaN)."""
    if isinstance(value, Path):
        if root is not None:
            resolved = value.resolve()
            return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(value)
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item, root) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, root) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), root) for f in dataclasses.fields(value) if f.repr}
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # a NumPy or torch scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):
        return plain(value.tolist(), root)
    return str(value)


def written(path: str | Path) -> str:
    """'plot: x.png' for a picture, 'file: report.md' for anything else a verb wrote: one line each."""
    return f"{'plot' if Path(path).suffix.lower() in ('.png', '.svg', '.pdf') else 'file'}: {path}"


def _shown() -> Any:
    """A field holding the lines a terminal shows: kept out of `to_dict` (the other fields hold the data)."""
    return dataclasses.field(default_factory=list, repr=False)


@dataclasses.dataclass
class Predictions(Result):
    """`predict`: each input's predicted class and the probability of every class."""

    inputs: list[str]
    classes: list[str]
    predicted: list[str]
    probabilities: list[list[float]]
    notes: list[str] = dataclasses.field(default_factory=list)
    output: Path | None = None  # the CSV written, if asked for
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        return list(self.lines)


@dataclasses.dataclass
class Look(Result):
    """`look`: one picture through a trained CNN: what it saw, what it says, and what each layer made of it."""

    input: Any  # (H, W) the picture as the network saw it: MNIST-like, 0..1
    classes: list[str]
    probabilities: list[float]
    predicted: str
    filters: Any  # (C, k, k) the first convolution's kernels
    feature_maps: list[tuple[str, Any]]  # every convolution's output (C, h, w), in forward order
    notes: list[str] = dataclasses.field(default_factory=list)
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        return [*(f"note: {note}" for note in self.notes), f"predicted {self.predicted} "
                f"({max(self.probabilities):.3f})"] if not self.lines else self.lines


@dataclasses.dataclass
class LatentView(Result):
    """`latent_view`: a generator's image at one point of its latent space, and a walk from there."""

    seed: int
    coordinates: list[float]
    label: int | None
    image: Any  # (H, W) in 0..1
    walk: Any  # (n, H, W) in 0..1, from the image to the latent of seed + 1
    latent_dim: int
    sliders: str  # "axes" (a latent of at most 10 values) or "strongest directions"
    n_sliders: int
    classes: list[str]  # a conditional generator's classes; empty otherwise
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        return self.lines or [f"latent of seed {self.seed} moved by {self.coordinates} along {self.n_sliders} "
                              f"{self.sliders} of a {self.latent_dim}-value latent"]


@dataclasses.dataclass
class Inpainting(Result):
    """`inpaint`: a held-out test image with pixels erased, filled by a generator, and the PSNR of both."""

    index: int
    steps: int
    clean: Any  # (H, W) in 0..1
    erased: Any  # the erased pixels black
    filled: Any
    psnr_erased: float | None  # dB against the clean image; None when nothing was erased
    psnr_filled: float | None
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        if self.psnr_erased is None:
            return self.lines or [f"test image {self.index}: nothing erased"]
        return self.lines or [f"test image {self.index}: PSNR {self.psnr_erased:.2f} dB erased -> "
                              f"{self.psnr_filled:.2f} dB filled"]


@dataclasses.dataclass
class ShowerView(Result):
    """`showers`: a shower generator's showers of one particle and energy beside reference ones, as the viewer
    shows them: a few showers and the mean of each side (MeV per cell, layers 0-2), the colour range that puts
    them on one log scale, and every observable's histograms."""

    particle: str
    energy: str  # GeV, as asked: "50" or "1:100"
    n: int
    seed: int
    reference: str  # where the reference showers came from
    reference_label: str  # "simulated" or "held out"
    examples: dict[str, Any]  # "reference" and "generated": (shower, layer) -> image (MeV)
    means: dict[str, Any]  # "reference" and "generated": layer -> mean image (MeV)
    example_range_mev: list[float]  # the smallest and largest lit cell of every example (one log scale)
    mean_range_mev: list[float]  # the same over the mean images
    histograms: list[dict[str, Any]]  # shower_validation.histogram of every observable, with its family
    seconds: dict[str, float]  # reference (simulated or read), generated, total (with the histograms)
    notes: list[str]
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        worst = max((h for h in self.histograms if h["separation_power"] is not None),
                    key=lambda h: h["separation_power"])
        return self.lines or [f"{self.n} generated {self.particle} showers at {self.energy} GeV in "
                              f"{self.seconds['generated']:.3f} s, beside {self.reference}; worst separation "
                              f"power {worst['observable']} {worst['separation_power']:.3f}", *self.notes]


@dataclasses.dataclass
class Files(Result):
    """A verb that writes files (`sample`, `inspect`, `restore`): what it wrote, what it measured, its notes."""

    files: list[Path]
    measured: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    lines: list[str] = _shown()
    run: Path | None = None  # set by nnlab.api: the run the files came from

    def text(self) -> list[str]:
        return list(self.lines)


@dataclasses.dataclass
class Simulation(Result):
    """`simulate`: the showers written; by several processes, the file that joins their `shards` (0: one process
    wrote the file)."""

    path: Path
    particle: str
    n: int
    shards: int = 0

    def text(self) -> list[str]:
        joined = f" (joining {self.shards} shards in {Path(self.path).stem}.shards/)" if self.shards else ""
        return [f"wrote {self.n} {self.particle} showers to {self.path}{joined}"]


@dataclasses.dataclass
class Demo(Result):
    """`foundations NAME`: the demo's printout and the folder of its plots."""

    name: str
    out: Path
    printout: str

    @property
    def plots(self) -> list[Path]:
        """The pictures the demo drew, in the order its printout names them (a notebook shows them)."""
        drawn = [path for path in Path(self.out).glob("*.png") if str(path) in self.printout]
        return sorted(drawn, key=lambda path: self.printout.index(str(path)))

    def text(self) -> list[str]:
        return self.printout.splitlines()


@dataclasses.dataclass
class DataSets(Result):
    """`data list`: every named data set, whether it is ready, and where it is (or how to get it)."""

    rows: list[dict[str, str]]

    def text(self) -> list[str]:
        width = max(len(row["name"]) for row in self.rows)
        return [f"{row['name']:<{width}}  {row['status']:<10}  {row['where']}" for row in self.rows]


@dataclasses.dataclass
class Summary(Result):
    """`report`, `data check`, `evaluate-sim`: text with the numbers behind it."""

    values: dict[str, Any]
    lines: list[str] = _shown()

    def text(self) -> list[str]:
        return list(self.lines)
