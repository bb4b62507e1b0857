"""What the web app asks of a trained run, again and again: a picture through a CNN, a point of a GAN's latent
space, a hole in a test image filled by a GAN, showers drawn by a shower generator beside reference ones.

Each call is one small piece of work on a run that stays loaded (the newest four, keyed by the
run's folder and its weights' time, so a run trained again is loaded again). The pages of
`nnlab serve` call these; a script may too.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlab.api import load_run
from nnlab.errors import ConfigError
from nnlab.results import Inpainting, LatentView, Look, ShowerView
from nnlab.tasks.base import Task
from nnlab.training.rundir import RunDir

MAX_SHOWERS = 10_000  # a viewer's request: simulated and drawn in about a second on 2 cores


def look(run_path: str | os.PathLike, picture: Any, *, device: str = "auto") -> Look:
    """A picture (H, W), grey 0..1, made MNIST-like and put through a cnn run: its probabilities, the first
    layer's filters, every convolution's feature maps."""
    task = _loaded_run(run_path, device, "look", "a cnn run: only a CNN classifies a picture")
    return Look(**task.look(picture))


def latent_view(run_path: str | os.PathLike, *, seed: int = 0, coordinates: Sequence[float] = (),
                label: int | None = None, walk: int = 0, device: str = "auto") -> LatentView:
    """A gan run's image at a point of its latent space (the latent of `seed`, moved by one coordinate per
    slider), with a walk of `walk` images from there to the latent of seed + 1."""
    task = _loaded_run(run_path, device, "latent_view", "a gan run: only a generator has a latent space")
    if not 0 <= walk <= 16:
        raise ConfigError(f"a walk has 0 to 16 images, got {walk}")
    return LatentView(seed=seed, coordinates=list(coordinates), label=label,
                      **task.latent_view(seed=seed, coordinates=coordinates, label=label, walk=walk))


def inpaint(run_path: str | os.PathLike, index: int, erased: Any, *, steps: int = 200,
            device: str = "auto") -> Inpainting:
    """A gan run fills the `erased` pixels (H, W; true where erased) of held-out test image `index`, by searching
    its latent space for the image that matches the rest; the PSNR before and after, against the clean image."""
    task = _loaded_run(run_path, device, "inpaint_test_image", "a gan run: only a generator fills a hole")
    if not 1 <= steps <= 1000:
        raise ConfigError(f"the search takes 1 to 1,000 steps, got {steps}")
    return Inpainting(steps=steps, **task.inpaint_test_image(index, erased, steps=steps))


def _significant(values: np.ndarray, digits: int = 6) -> list[float]:
    """Values to `digits` significant digits for JSON: log-binned edges reach 1e-6 MeV, which a fixed number of
    decimals would merge."""
    return [float(f"{value:.{digits}g}") for value in values.tolist()]


def showers(run_path: str | os.PathLike, *, particle: str | None = None, energy: str = "50", n: int = 1000,
            seed: int = 0, examples: int = 4, device: str = "auto") -> ShowerView:
    """`n` showers of `particle` at `energy` GeV ("50" or "1:100") drawn by a calogan run, beside as many from
    what it learned from (nnlab's simulator, or the held-out showers of its training file): `examples` showers
    and the mean of each side, and the histograms of every observable."""
    from nnlab.evaluation.calo_observables import average_image, layers_of
    from nnlab.evaluation.shower_validation import observable_histograms

    started = time.perf_counter()
    if not 1 <= n <= MAX_SHOWERS:  # before a run is loaded for nothing
        raise ConfigError(f"the viewer draws 1 to {MAX_SHOWERS:,} showers, got {n}")
    if not 1 <= examples <= 16:
        raise ConfigError(f"the viewer shows 1 to 16 example showers, got {examples}")
    task = _loaded_run(run_path, device, "side_by_side", "a calogan run: only a shower generator draws showers")
    reference, generated, drawn = task.side_by_side(particle=particle, energy=energy, n=n, seed=seed)
    layers = {"reference": layers_of(reference), "generated": layers_of(generated)}
    n = len(generated["energy"])  # fewer than asked where a file holds fewer at that energy
    shown = {side: [[layer[i] for layer in side_layers] for i in range(min(examples, n))]
             for side, side_layers in layers.items()}
    means = {side: [average_image(layer) for layer in side_layers] for side, side_layers in layers.items()}
    histograms = [{key: _significant(value) if isinstance(value, np.ndarray) else value
                   for key, value in row.items()} for row in observable_histograms(reference, generated)]
    return ShowerView(particle=drawn["particle"], energy=energy, n=n, seed=seed, reference=drawn["reference"],
                      reference_label=drawn["label"], examples=shown, means=means,
                      example_range_mev=_lit_range([layer for side in shown.values() for shower in side
                                                    for layer in shower]),
                      mean_range_mev=_lit_range([layer for side in means.values() for layer in side]),
                      histograms=histograms,
                      seconds={"reference": drawn["reference_seconds"], "generated": drawn["generated_seconds"],
                               "total": time.perf_counter() - started}, notes=drawn["notes"])


def _lit_range(images: list[np.ndarray]) -> list[float]:
    """The smallest and largest positive cell of `images` (1, 1 when none is lit): one log colour scale."""
    lit = np.concatenate([np.ravel(image) for image in images])
    lit = lit[lit > 0]
    return [float(lit.min()), float(lit.max())] if len(lit) else [1.0, 1.0]


def _loaded_run(run_path: str | os.PathLike, device: str, method: str, needed: str) -> Task:
    run = RunDir.open(run_path)
    task = _loaded(str(run.path.resolve()), run.weights_path.stat().st_mtime_ns, device)
    if not hasattr(task, method):
        raise ConfigError(f"{run.path} is not {needed}")
    return task


@functools.lru_cache(maxsize=4)
def _loaded(path: str, weights_changed_ns: int, device: str) -> Task:
    return load_run(path, device=device)[1]
