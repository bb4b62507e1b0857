"""What the web app asks of a trained run, again and again: a picture through a CNN, a point of a GAN's latent
space, a hole in a test image filled by a GAN.

Each call is one small piece of work on a run that stays loaded (the newest four, keyed by the
run's folder and its weights' time, so a run trained again is loaded again). The pages of
`nnlab serve` call these; a script may too.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

from nnlab.api import load_run
from nnlab.errors import ConfigError
from nnlab.results import Inpainting, LatentView, Look
from nnlab.tasks.base import Task
from nnlab.training.rundir import RunDir


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


def _loaded_run(run_path: str | os.PathLike, device: str, method: str, needed: str) -> Task:
    run = RunDir.open(run_path)
    task = _loaded(str(run.path.resolve()), run.weights_path.stat().st_mtime_ns, device)
    if not hasattr(task, method):
        raise ConfigError(f"{run.path} is not {needed}")
    return task


@functools.lru_cache(maxsize=4)
def _loaded(path: str, weights_changed_ns: int, device: str) -> Task:
    return load_run(path, device=device)[1]
