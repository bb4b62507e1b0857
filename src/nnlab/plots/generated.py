"""Pictures of what an image generator draws beyond its samples: which classes it covers."""

from __future__ import annotations

from pathlib import Path

from nnlab.plots.figures import new_figure, save_figure


def plot_class_histogram(fractions: list[float], class_names: tuple[str, ...], path: Path) -> Path:
    """The share of generated samples per predicted class against the uniform share (mode coverage)."""
    fig, ax = new_figure(size=(6, 3))
    ax.bar(range(len(fractions)), fractions)
    ax.axhline(1 / len(fractions), color="k", ls="--", lw=1, label="uniform")
    ax.set_xticks(range(len(fractions)), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("fraction of samples")
    ax.set_title("generated samples by predicted class (mode coverage)")
    ax.legend()
    return save_figure(fig, path)
