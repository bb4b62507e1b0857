"""Figure creation and atomic saving shared by every plot; matplotlib is imported only here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnlab.files import atomic_path


def new_figure(n_rows: int = 1, n_cols: int = 1, *, size: tuple[float, float] = (6.0, 4.0), **kwargs: Any):
    """Return (fig, axes) on the non-interactive Agg backend, so plotting works without a screen."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(n_rows, n_cols, figsize=size, **kwargs)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save `fig` as PNG atomically, close it (figures otherwise leak memory) and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
