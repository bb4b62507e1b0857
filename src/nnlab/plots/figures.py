"""Figure creation and atomic saving shared by every plot; matplotlib is imported only here.

Figures are made with matplotlib's object API (`matplotlib.figure.Figure`), not pyplot: no
backend is chosen or switched (a notebook's own stays as it was), no global figure list needs
closing, and a command that plots imports less.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnlab.files import atomic_path


def new_figure(n_rows: int = 1, n_cols: int = 1, *, size: tuple[float, float] = (6.0, 4.0), **kwargs: Any):
    """Return (fig, axes) of a figure that renders without a screen (PNG through Agg)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots(n_rows, n_cols, **kwargs)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save `fig` as PNG atomically and return the path."""
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path
