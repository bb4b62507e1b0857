"""Figure creation and atomic saving shared by every plot; matplotlib is imported only here.

Figures are made with matplotlib's object API (`matplotlib.figure.Figure`), not pyplot: no
backend is chosen or switched (a notebook's own stays as it was), no global figure list needs
closing, and a command that plots imports less.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from nnlab.files import atomic_path

MIN_LONG_SIDE_PX = 600  # every picture nnlab writes is at least this wide (or tall): readable without zooming


def new_figure(n_rows: int = 1, n_cols: int = 1, *, size: tuple[float, float] = (6.0, 4.0), **kwargs: Any):
    """Return (fig, axes) of a figure that renders without a screen (PNG through Agg)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots(n_rows, n_cols, **kwargs)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save `fig` as PNG atomically and return the path; a small figure gets the resolution that makes its long
    side MIN_LONG_SIDE_PX."""
    path = Path(path)
    dpi = max(dpi, math.ceil(MIN_LONG_SIDE_PX / max(fig.get_size_inches())))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path


def whole_number_ticks(axis) -> None:
    """Ticks only at whole numbers on `axis` (ax.xaxis): epochs, counts; one epoch is not 0.96 to 1.04."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
