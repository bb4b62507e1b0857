"""An image generator's scores beyond the feature-space ones (nnlab.evaluation.fid_cnn): spread, and the report.

The spread is cheap enough to compute every epoch, and needs no classifier: the collapse check reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def spread(images: np.ndarray, real: torch.Tensor) -> float:
    """Mean pairwise distance of generated images (n, H, W) in [0, 1] over that of n uint8 training images
    (1 = as varied)."""
    real = real.float().div(255.0).flatten(1)
    fake = torch.from_numpy(images).flatten(1)
    return float(torch.pdist(fake).mean() / torch.pdist(real).mean().clamp_min(1e-12))


def report_lines(found: Mapping[str, Any], classifier: str) -> list[str]:
    """The scores of `evaluate` in words, for the terminal: FID-CNN and KID-CNN against their floors, coverage,
    restoration."""
    histogram = np.asarray(found["class_histogram"])
    lines = [
        f"FID-CNN {found['fid_cnn']:.2f} (real-vs-real floor {found['fid_cnn_floor']:.2f}, "
        f"ratio {found['fid_cnn'] / max(found['fid_cnn_floor'], 1e-12):.1f}x; {found['n_samples']} samples)",
        f"KID-CNN {found['kid_cnn']:.4f} +- {found['kid_cnn_se']:.4f} (real-vs-real floor "
        f"{found['kid_cnn_floor']:.4f} +- {found['kid_cnn_floor_se']:.4f}; unbiased: 0 for a perfect generator)",
        f"precision {found['precision']:.3f}  recall {found['recall']:.3f} (the share of samples among real images' "
        f"neighbours, and of real images among the samples'; 1 for both: {_coverage(found)})",
        f"mode coverage: rarest class {histogram.min():.3f}, commonest {histogram.max():.3f} "
        f"(uniform {1 / len(histogram):.3f})",
        f"memorisation ratio {found['memorisation_ratio']:.2f} (1 = as far from the training set as test images)",
    ]
    lines.append("for scale, real images changed a little (FID-CNN ratio, KID-CNN): " + "; ".join(
        f"{name} {step['fid_cnn'] / max(found['fid_cnn_floor'], 1e-12):.1f}x, {step['kid_cnn']:.4f}"
        for name, step in found["ladder"].items()))
    for mode in ("inpaint", "denoise"):
        r = found[mode]
        reading = "better than the corrupted input" if r["psnr_gain"] > 0 else "worse than the corrupted input"
        lines.append(f"{mode}: PSNR {r['psnr_input']:.2f} dB -> {r['psnr_output']:.2f} dB "
                     f"({r['psnr_gain']:+.2f} dB: {reading}) on held-out test images")
    lines.append(f"features: penultimate layer of the cnn classifier {classifier} "
                 f"(FID-CNN; not comparable with Inception FID)")
    return lines


def _coverage(found: Mapping[str, Any]) -> str:
    """Precision and recall in words: what a low value of each says about the samples."""
    if found["precision"] < 0.1:
        return "hardly a sample looks real"
    if found["recall"] < 0.1:
        return "the samples cover almost none of the data (collapse)"
    if found["precision"] < 0.5 or found["recall"] < 0.5:
        return "fewer realistic samples" if found["precision"] < found["recall"] else "part of the data is missed"
    return "most samples look real and cover the data"
