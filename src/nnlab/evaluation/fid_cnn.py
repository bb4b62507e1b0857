"""FID-CNN: generated images scored in the feature space of nnlab's own trained CNN classifier.

Inception features (the usual FID) mean nothing on 28x28 grey digits and cannot be fetched
offline, so the Frechet distance, precision/recall and nearest neighbours are measured on the
penultimate layer (global pool, 128 values for `fast`) of a CNN trained on the same data set.
The numbers are comparable between runs scored by the same classifier, never with published
Inception FIDs; the real-vs-real floor (train against held-out test) says what "perfect" is.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data.registry import DATASETS
from nnlab.evaluation.generative import (class_histogram, frechet_distance, kernel_distance, nearest_neighbours,
                                        precision_recall)
from nnlab.training.runtime import autocast

@dataclasses.dataclass
class FeatureSpace:
    """A trained CNN classifier (an nnlab cnn run) used as a feature extractor and a labeller."""

    model: nn.Module  # nnlab.models.image_classifier.ImageClassifier, in eval mode
    source: str  # the run directory it came from, for reports
    device: torch.device
    precision: str = "auto"

    @torch.no_grad()
    def embed(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate-layer features (N, F) float64 and predicted classes (N,) of images in [0, 1] (N, H, W)."""
        images = torch.as_tensor(images)
        features, labels = [], []
        for chunk in images.split(batch_size):
            x = chunk.to(self.device).float().unsqueeze(1)  # (B, 1, H, W)
            with autocast(self.device, self.precision):
                h = self.model.network.features(self.model.standardize(x))  # (B, F)
                logits = self.model.network.head(h)  # (B, n_classes)
            features.append(h.float().cpu())
            labels.append(logits.argmax(1).cpu())
        return torch.cat(features).double().numpy(), torch.cat(labels).numpy()


def scores(space: FeatureSpace, generated: np.ndarray, reference: np.ndarray, *, n_classes: int,
           real: torch.Tensor | None = None) -> dict[str, object]:
    """FID-CNN, precision, recall and mode coverage of `generated` (N, H, W) in [0, 1] against `reference` features.

    `real`, as many fresh real images as there are generated ones (`real_sample`), adds the
    real-vs-real distances, FID-CNN and KID-CNN: what a perfect generator would score at this N
    against this reference, and the ladder of those images changed a little. Precision and recall
    compare equal-sized sets (k-NN radii depend on size). KID-CNN (unbiased, with its standard error)
    is computed with the floor only: it costs a second or two, which the scoring each epoch does without.
    """
    gen_features, gen_labels = space.embed(generated)
    m = min(len(gen_features), len(reference))
    precision, recall = precision_recall(reference[:m], gen_features[:m], k=3)
    found = {"fid_cnn": frechet_distance(gen_features, reference), "precision": precision, "recall": recall,
             "class_histogram": class_histogram(gen_labels, n_classes).tolist(), "n_samples": len(generated)}
    if real is not None:
        floor = space.embed(real)[0]
        found["fid_cnn_floor"] = frechet_distance(floor, reference)
        found["kid_cnn"], found["kid_cnn_se"] = kernel_distance(gen_features, reference)
        found["kid_cnn_floor"], found["kid_cnn_floor_se"] = kernel_distance(floor, reference)
        found["ladder"] = ladder(space, real, reference, seed=REAL_SEED)
    return found


REAL_SEED = 1  # the draw of the real images set beside a generator's samples, and of the ladder's noise


def real_sample(images: torch.Tensor, n: int, *, seed: int = REAL_SEED) -> torch.Tensor:
    """n of the uint8 images (N, H, W), drawn without replacement from `seed`, as float32 in [0, 1]: the real
    images a generator's n samples are scored beside (`scores(real=...)`, benchmarks/fid_scale.py)."""
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[pick].float() / 255


def degradations(seed: int) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Named changes of real images (N, H, W) in [0, 1], each of a few grey levels or about a pixel: the
    ladder a generator's score is read against (LADDER), and a few more steps for benchmarks/fid_scale.py."""
    noise = torch.Generator().manual_seed(seed)
    return {
        "quantised to 16 grey levels": lambda x: torch.round(x * 15) / 15,
        "Gaussian noise, sigma 0.02": lambda x: x + 0.02 * torch.randn(x.shape, generator=noise),
        "Gaussian noise, sigma 0.05": lambda x: x + 0.05 * torch.randn(x.shape, generator=noise),
        "Gaussian blur, sigma 0.5 px": lambda x: gaussian_blur(x, 0.5),
        "Gaussian blur, sigma 1 px": lambda x: gaussian_blur(x, 1.0),
        "shifted 1 px right": lambda x: F.pad(x[:, :, :-1], (1, 0)),  # a black column comes in on the left
    }


# the steps `evaluate` prints beside a GAN's scores: noise of 2% and 5% of the grey range, half a pixel's blur,
# a one-pixel shift; changes an eye barely notices
LADDER = ("Gaussian noise, sigma 0.02", "Gaussian noise, sigma 0.05", "Gaussian blur, sigma 0.5 px",
          "shifted 1 px right")


def ladder(space: FeatureSpace, real: torch.Tensor, reference: np.ndarray, *, seed: int,
           names: tuple[str, ...] = LADDER) -> dict[str, dict[str, float]]:
    """FID-CNN and KID-CNN (with its standard error) of real images (N, H, W) in [0, 1], degraded by each named
    step, against `reference` features: what a score means, measured at the generator's N and reference."""
    changes = degradations(seed)
    found = {}
    for name in names:
        features = space.embed(changes[name](real).clamp(0.0, 1.0))[0]
        kid, kid_se = kernel_distance(features, reference)
        found[name] = {"fid_cnn": frechet_distance(features, reference), "kid_cnn": kid, "kid_cnn_se": kid_se}
    return found


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Images (N, H, W) convolved with a separable Gaussian of `sigma` pixels (5 taps, edges replicated)."""
    taps = torch.arange(-2, 3, dtype=images.dtype)
    kernel = torch.exp(-taps.square() / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = F.conv2d(F.pad(images[:, None], (2, 2, 0, 0), mode="replicate"), kernel.view(1, 1, 1, 5))
    return F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kernel.view(1, 1, 5, 1))[:, 0]


def memorisation(space: FeatureSpace, generated: np.ndarray, train_features: np.ndarray,
                 test_features: np.ndarray) -> tuple[np.ndarray, float]:
    """Each generated image's nearest training image (indices (N,)), and a memorisation ratio.

    The ratio is the median distance generated->train over the median distance test->train:
    near 1 the generator is as far from its training set as fresh real images are; well
    below 1 it is copying training images.
    """
    gen_features, _ = space.embed(generated)
    gen_index, gen_dist = nearest_neighbours(gen_features, train_features, k=1)
    _, test_dist = nearest_neighbours(test_features, train_features, k=1)
    return gen_index[:, 0], float(np.median(gen_dist) / max(np.median(test_dist), 1e-12))


class Classifiers(Protocol):
    """Where a GAN's scoring classifier comes from, handed to the task (`nnlab.classifiers.RunClassifiers`): the
    evaluation code needs nothing above it to find, load or train one."""

    def load(self, run_path: str | Path) -> FeatureSpace:
        """The classifier of the cnn run at `run_path`."""

    def default(self, source: str) -> FeatureSpace:
        """The default cnn classifier of data set `source` (trained once, then kept)."""


def cache_name(source: str) -> str:
    """The cache folder's name for a data set: a known data set's own name, else the folder's name and a hash of
    its resolved path. Derived, never the user's text itself: `--data ..` once made the cache folder
    classifiers/.., the whole cache, which the training then replaced."""
    if source in DATASETS:
        return source
    resolved = Path(source).resolve()
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name)[:40] or "folder"
    return f"{name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:12]}"
