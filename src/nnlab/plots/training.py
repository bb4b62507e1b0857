"""Pictures of a training run: loss and accuracy curves, the confusion matrix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.plots.figures import new_figure, save_figure, whole_number_ticks


TITLES = {"acc": "accuracy: share of correct classes", "loss": "loss (lower is better)"}


def plot_history(rows: Sequence[Mapping[str, float]], path: str | os.PathLike, *, extra: Sequence[str] = (),
                 titles: Mapping[str, str] | None = None, run: str = "") -> Path:
    """Train/validation curves of every metric in metrics.csv, one panel per metric, plus `extra` columns.

    `titles` says what a panel's metric is (a name like sep_watched means nothing on its own).
    A metric with no value at all gets no panel; epochs are whole numbers on the axis, and a
    short run draws its points, which a line of one point would not show.
    """
    def has(key: str) -> bool:
        return any(np.isfinite(row.get(key, np.nan)) for row in rows)

    names = sorted({key.split("_", 1)[1] for row in rows for key in row if key.startswith(("train_", "val_"))
                    and has(key)})
    extra = [name for name in extra if has(name)]
    fig, axes = _panels(len(names) + len(extra), max_cols=4, panel=(4.5, 3.5), title_room=0.4)
    epochs = [row["epoch"] for row in rows]
    style = "o-" if len(rows) < 15 else "-"
    for ax, name in zip(axes, names + extra):
        split = name in names  # a train_/val_ pair, or one extra column
        series = [("train", f"train_{name}", style), ("val", f"val_{name}", style.replace("-", "--"))] if split \
            else [(name, name, style)]
        for label, key, line in series:
            values = [row.get(key, np.nan) for row in rows]
            if not np.all(np.isnan(values)):
                ax.plot(epochs, values, line, markersize=3, label=label)
        ax.set(xlabel="epoch", ylabel=name, title={**TITLES, **(titles or {})}.get(name, name))
        ax.title.set_fontsize(9)
        if style == "o-":  # a short run: a tick at every epoch, half an epoch of room either side
            ax.set_xticks(sorted(set(epochs)))
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        else:
            whole_number_ticks(ax.xaxis)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.legend(fontsize=8)
    fig.suptitle(f"training history{f' of {run}' if run else ''}: {len(rows)} epoch{'s' * (len(rows) != 1)}")
    return save_figure(fig, path)


def plot_confusion(matrix: Sequence[Sequence[int]], class_names: Sequence[str], path: str | os.PathLike) -> Path:
    """The confusion matrix with counts in the cells (rows: true class, columns: predicted)."""
    matrix = np.asarray(matrix)
    size = 1.2 + 0.6 * len(class_names)
    fig, ax = new_figure(size=(size + 1.5, size))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    return save_figure(fig, path)


def plot_runs(curves: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]], path: str | os.PathLike, *,
              title: str) -> Path:
    """Runs side by side: one panel per metric, one line per run against the epoch (`nnlab runs compare`)."""
    names = list(curves)
    fig, axes = _panels(len(names), max_cols=3, panel=(5.0, 3.6), title_room=0.6)
    for ax, name in zip(axes, names):
        for label, points in curves[name].items():
            epochs, values = zip(*points)
            ax.plot(epochs, values, "o-" if len(points) < 8 else "-", markersize=3, label=label)
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.legend(fontsize=7)
    if not names:
        axes[0].text(0.5, 0.5, "no metric that two of the runs share", ha="center", va="center")
    fig.suptitle(title)
    return save_figure(fig, path)


def _panels(n_used: int, *, max_cols: int, panel: tuple[float, float], title_room: float) -> tuple[Any, list]:
    """A figure of at least one panel of `panel` inches, at most `max_cols` a row, room for a title above; the
    axes in reading order, those past `n_used` hidden."""
    n = max(1, n_used)
    n_cols = min(n, max_cols)
    n_rows = (n + n_cols - 1) // n_cols
    fig, axes = new_figure(n_rows, n_cols, size=(panel[0] * n_cols, panel[1] * n_rows + title_room), squeeze=False)
    for ax in axes.flat[n_used:]:
        ax.set_axis_off()
    return fig, list(axes.flat)
