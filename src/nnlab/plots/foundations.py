"""Plots for the from-scratch foundations demos: descent paths, XOR surface, convolution, projections, fits.

Source: the figures of lecture "Introduction to Deep Learning with PyTorch" redrawn from nnlab.foundations.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnlab.plots.figures import new_figure, save_figure

GATE_COLOURS = "RdBu"  # 0 red, 1 blue, as the lecture's gate slides colour them


def plot_descent(
    grid: tuple[np.ndarray, np.ndarray, np.ndarray], path: np.ndarray, out_path: str | os.PathLike, *, title: str
) -> Path:
    """Gradient-descent path (n, 2) over log-spaced contours of f sampled on grid = (X, Y, Z)."""
    fig, ax = new_figure(size=(6.0, 4.5))
    xx, yy, zz = grid
    levels = np.geomspace(max(zz.min(), 1e-3), zz.max(), 20)
    ax.contour(xx, yy, zz, levels=levels, cmap="viridis", linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], "-", color="tab:red", lw=1.0, label=f"path ({len(path) - 1} steps)")
    ax.plot(*path[0], "o", color="black", label="start")
    ax.plot(*path[-1], "*", color="tab:red", ms=12, label="end")
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, out_path)


def plot_xor_surface(
    grid: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray, labels: np.ndarray, out_path: str | os.PathLike
) -> Path:
    """Network output P(class 1) on grid = (X, Y, P), the 0.5 decision boundary, and the four XOR points."""
    fig, ax = new_figure(size=(5.0, 4.5))
    xx, yy, prob = grid
    mesh = ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap=GATE_COLOURS, alpha=0.8)
    ax.contour(xx, yy, prob, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(x[:, 0], x[:, 1], c=labels, cmap=GATE_COLOURS, edgecolors="black", s=120, vmin=0, vmax=1)
    fig.colorbar(mesh, ax=ax, label="P(x1 XOR x2 = 1)")
    ax.set(xlabel="x1", ylabel="x2", title="XOR learned by a 2-2-2 sigmoid network")
    return save_figure(fig, out_path)


def plot_convolution(image: np.ndarray, kernel: np.ndarray, output: np.ndarray, out_path: str | os.PathLike) -> Path:
    """Input image, kernel and feature map side by side, each cell annotated with its value."""
    fig, axes = new_figure(1, 3, size=(11.0, 4.0), gridspec_kw={"width_ratios": [7, 3, 5]})
    for ax, data, title in zip(axes, (image, kernel, output), ("input I", "kernel K", "I * K (valid)")):
        ax.imshow(data, cmap="Blues")
        middle = (data.min() + data.max()) / 2
        for (i, j), value in np.ndenumerate(data):
            colour = "white" if value > middle else "black"  # readable on dark and light cells
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=9, color=colour)
        ax.set(title=title, xticks=[], yticks=[])
    return save_figure(fig, out_path)


def plot_projection(
    samples: tuple[np.ndarray, np.ndarray],
    directions: dict[str, np.ndarray],
    out_path: str | os.PathLike,
) -> Path:
    """Scatter of both classes with each direction drawn through the mean, and a histogram of each 1-D projection."""
    x1, x2 = samples
    fig, axes = new_figure(1, 1 + len(directions), size=(5.0 * (1 + len(directions)), 4.0))
    axes[0].scatter(*x1.T, s=4, alpha=0.5, label="class 1")
    axes[0].scatter(*x2.T, s=4, alpha=0.5, label="class 2")
    centre = np.vstack([x1, x2]).mean(axis=0)
    for i, ((name, w), ax) in enumerate(zip(directions.items(), axes[1:])):
        axes[0].axline(centre, centre + w, lw=1.2, color=f"C{i + 2}", label=name)
        p1, p2 = x1 @ w, x2 @ w
        bins = np.linspace(min(p1.min(), p2.min()), max(p1.max(), p2.max()), 40)
        ax.hist(p1, bins=bins, alpha=0.6, label="class 1")
        ax.hist(p2, bins=bins, alpha=0.6, label="class 2")
        ax.set(title=f"projection on {name}", xlabel="w . x")
        ax.legend(fontsize=8)
    axes[0].set(aspect="equal", title="two Gaussian classes", xlabel="x1", ylabel="x2")
    axes[0].legend(fontsize=8)
    return save_figure(fig, out_path)


def plot_approximation(
    x: np.ndarray, y: np.ndarray, fits: dict[int, np.ndarray], out_path: str | os.PathLike, *, target_name: str
) -> Path:
    """Target curve and its fits by N sigmoids, one curve per N."""
    fig, ax = new_figure(size=(6.0, 4.0))
    ax.plot(x, y, color="black", lw=2.5, label=target_name)
    for n_units, fit in fits.items():
        ax.plot(x, fit, lw=1.2, label=f"N = {n_units}")
    ax.set(xlabel="x", ylabel="f(x)", title="sums of N sigmoids (least-squares output layer)")
    ax.legend(fontsize=8)
    return save_figure(fig, out_path)


def plot_sigmoid(z: np.ndarray, gains: tuple[float, ...], out_path: str | os.PathLike) -> Path:
    """The logistic function sigma(k z) for a few gains k, and its slope sigma'(z) = sigma(z)(1 - sigma(z))."""
    from nnlab.foundations.activations import sigmoid, sigmoid_derivative

    fig, (left, right) = new_figure(1, 2, size=(10.0, 4.0))
    for gain in gains:
        left.plot(z, sigmoid(gain * z), lw=1.8, label=f"sigma({gain:g} z)")
    left.axhline(0.5, color="grey", lw=0.8, ls=":")
    left.set(xlabel="z", ylabel="sigma", title="sigma(k z): 0.5 at z = 0, steeper as k grows")
    left.legend(fontsize=8)
    right.plot(z, sigmoid_derivative(z), color="tab:red", lw=1.8)
    right.plot(0, 0.25, "o", color="black")
    right.annotate("largest slope 1/4 at z = 0", (0, 0.25), (1.0, 0.2), fontsize=9)
    right.set(xlabel="z", ylabel="sigma'(z)", title="its slope sigma (1 - sigma), largest at z = 0")
    return save_figure(fig, out_path)


def plot_gates(panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], x: np.ndarray,
               out_path: str | os.PathLike) -> Path:
    """Each unit's output on the plane (title -> (X, Y, value, truth table)), its 0.5 line, the four inputs."""
    fig, axes = new_figure(1, len(panels) + 1, size=(4.2 * len(panels) + 0.8, 4.2),
                           gridspec_kw={"width_ratios": [1.0] * len(panels) + [0.06]})
    for ax, (title, (xx, yy, value, table)) in zip(axes, panels.items()):
        # the top band reaches just past 1, so sums that are 1 up to rounding (the slide's) fill one band
        mesh = ax.contourf(xx, yy, value, levels=[*np.linspace(0, 0.9, 10), 1 + 1e-9], cmap=GATE_COLOURS, alpha=0.8)
        if value.min() < 0.5 < value.max():
            ax.contour(xx, yy, value, levels=[0.5], colors="black", linewidths=1.5)
        ax.scatter(x[:, 0], x[:, 1], c=table, cmap=GATE_COLOURS, edgecolors="black", s=120, vmin=0, vmax=1)
        ax.set(xlabel="x1", ylabel="x2", title=title, aspect="equal")
    fig.colorbar(mesh, cax=axes[-1], label="unit output (read as 1 above 0.5: black line)")
    fig.suptitle("the gates as logistic units: points are the wanted outputs, red 0, blue 1")
    return save_figure(fig, out_path)


def plot_convolution_steps(image: np.ndarray, kernel: np.ndarray, steps: list[tuple[int, int, float]],
                           out_path: str | os.PathLike) -> Path:
    """One panel per output cell: the window the kernel covers, and the feature map filled up to that cell."""
    from matplotlib.patches import Rectangle

    kh, kw = kernel.shape
    n_rows, n_cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    fig, axes = new_figure(n_rows, n_cols, size=(3.2 * n_cols, 3.0 * n_rows), squeeze=False)
    filled = np.full((n_rows, n_cols), np.nan)
    for ax, (i, j, value) in zip(axes.ravel(), steps):
        filled[i, j] = value
        ax.imshow(image, cmap="Greys", vmin=0, vmax=2.5)
        for (r, c), pixel in np.ndenumerate(image):
            inside = i <= r < i + kh and j <= c < j + kw
            ax.text(c, r, f"{pixel:g}" + (f"\nx{kernel[r - i, c - j]:g}" if inside else ""), ha="center",
                    va="center", fontsize=7, color="tab:red" if inside else "black")
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), kw, kh, fill=False, edgecolor="tab:red", lw=2))
        so_far = "  ".join(" ".join("." if np.isnan(v) else f"{v:g}" for v in row) for row in filled)
        ax.set(xticks=[], yticks=[], title=f"out[{i}, {j}] = {value:g}\n{so_far}")
    fig.suptitle("the kernel slides over the image; each output is the sum of pixel x kernel weight in its window")
    return save_figure(fig, out_path)


def plot_edges(image: np.ndarray, maps: dict[str, np.ndarray], out_path: str | os.PathLike) -> Path:
    """The input and each filtered (or pooled) map beside it, signed maps on a red/blue scale around 0."""
    fig, axes = new_figure(1, 1 + len(maps), size=(3.6 * (1 + len(maps)), 3.8))
    axes[0].imshow(image, cmap="Greys_r")
    axes[0].set(title="input", xticks=[], yticks=[])
    for ax, (title, values) in zip(axes[1:], maps.items()):
        limit = max(np.abs(values).max(), 1e-12)
        shown = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set(title=title, xticks=[], yticks=[])
        fig.colorbar(shown, ax=ax, shrink=0.7)
    return save_figure(fig, out_path)


def plot_descent_starts(grid: tuple[np.ndarray, np.ndarray, np.ndarray], paths: list[np.ndarray],
                        critical: list[tuple[np.ndarray, str]], out_path: str | os.PathLike) -> Path:
    """Descent paths from several starts over the contours, and every point with a zero gradient by kind."""
    fig, ax = new_figure(size=(6.5, 5.5))
    xx, yy, zz = grid
    ax.contour(xx, yy, zz, levels=25, cmap="viridis", linewidths=0.7)
    for path in paths:
        ax.plot(path[:, 0], path[:, 1], "-", color="tab:red", lw=1.0)
        ax.plot(*path[0], "o", color="black", ms=4, label="start" if path is paths[0] else None)
    markers = {"minimum": ("*", "tab:red"), "saddle": ("X", "tab:orange"), "maximum": ("^", "tab:purple")}
    for kind, (marker, colour) in markers.items():
        points = np.array([p for p, k in critical if k == kind])
        ax.plot(points[:, 0], points[:, 1], marker, color=colour, ms=11, ls="", mec="black",
                label=f"gradient 0: {kind}")
    ax.set(xlabel="x", ylabel="y", title="each start descends into the minimum of its own basin")
    ax.legend(loc="upper center", fontsize=8, ncol=4)
    return save_figure(fig, out_path)


def plot_ridge_approximation(grid: tuple[np.ndarray, np.ndarray], target: np.ndarray, fits: dict[int, np.ndarray],
                             errors: dict[str, tuple[list[int], np.ndarray]], out_path: str | os.PathLike) -> Path:
    """A 2-D target, its fits by N ridge units, and the largest error against N for each activation."""
    xx, yy = grid
    fig, axes = new_figure(1, 2 + len(fits), size=(4.0 * (2 + len(fits)), 3.8))
    panels = {"target": target, **{f"N = {n} sigmoids": fit for n, fit in fits.items()}}
    for ax, (title, values) in zip(axes, panels.items()):
        ax.contourf(xx, yy, values, levels=np.linspace(-1.05, 1.05, 22), cmap="RdBu_r", extend="both")
        ax.set(title=title, xlabel="x", ylabel="y", aspect="equal")
    for activation, (n_units, largest) in errors.items():
        axes[-1].loglog(n_units, largest, "o-", label=activation)
    axes[-1].set(xlabel="hidden units N", ylabel="max |f - fit|", title="error against N, by activation")
    axes[-1].legend(fontsize=8)
    return save_figure(fig, out_path)
