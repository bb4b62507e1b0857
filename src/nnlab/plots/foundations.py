"""Plots for the from-scratch foundations demos: descent paths, XOR surface, convolution, projections, fits.

Source: the figures of lecture "Introduction to Deep Learning with PyTorch" redrawn from nnlab.foundations.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnlab.plots.figures import new_figure, save_figure


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
    mesh = ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
    ax.contour(xx, yy, prob, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(x[:, 0], x[:, 1], c=labels, cmap="RdBu_r", edgecolors="black", s=120, vmin=0, vmax=1)
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
