"""The `nnlab foundations NAME` demos: compute a lecture result, draw it, and return the text to print.

Source: lecture "Introduction to Deep Learning with PyTorch"; one demo per foundations topic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnlab.errors import NnlabError
from nnlab.foundations.activations import softmax
from nnlab.foundations import approximation, convolution, descent, gates, network, projection, xor
from nnlab.foundations.logistic import fit_logistic_regression

DEMOS: tuple[str, ...] = ("gates", "xor", "descent", "convolution", "projection", "approximation")


def _bits(values: np.ndarray) -> str:
    """Space-separated values, e.g. a truth-table row."""
    return " ".join(str(v) for v in values)


def _gates(out_dir: Path, seed: int) -> str:
    """Truth tables of the lecture's OR/AND units, its XOR slide, the corrected network, and learned gates."""
    x = gates.GATE_INPUTS
    lines = ["inputs (x1,x2)              : " + " ".join(f"{int(a)}{int(b)}" for a, b in x)]
    rows = {
        "OR  = s(2x1+2x2-1)": gates.logistic_unit(x, *gates.LECTURE_OR),
        "AND = s(2x1+2x2-3)": gates.logistic_unit(x, *gates.LECTURE_AND),
        "XNOR = AND + NOR (gain 5)": gates.xnor_network(x),
        "XOR  = 1 - XNOR (gain 5)": gates.xor_network(x),
    }
    lines += [f"{name:<28}: {_bits(gates.truth_table(v)).replace(' ', '  ')}" for name, v in rows.items()]
    slide = gates.lecture_xor_network(x)
    lines.append(f"slide's XOR s(2x1+2x2-1)+s(-2x1-2x2+1) = {_bits(np.round(slide, 6))} (s(a)+s(-a)=1 everywhere)")
    for name, target in (("OR", [0, 1, 1, 1]), ("AND", [0, 0, 0, 1])):
        for loss in ("mse", "cross_entropy"):
            model = fit_logistic_regression(x, np.array(target), loss=loss)
            w, b = np.round(model.w, 2), round(model.b, 2)
            lines.append(
                f"learned {name:<3} ({loss:<13}): {_bits(model.predict(x))}  w={w} b={b} "
                f"({model.descent.n_steps} GD steps)"
            )
    return "\n".join(lines)


def _xor(out_dir: Path, seed: int) -> str:
    """Single-unit impossibility certificate, then a trained 2-2-2 network and its decision surface."""
    params = xor.train_xor_network(seed=seed)
    x = gates.GATE_INPUTS
    xs = np.linspace(-0.5, 1.5, 121)
    xx, yy = np.meshgrid(xs, xs)
    logits = network.forward(params, np.column_stack([xx.ravel(), yy.ravel()])).logits
    prob = softmax(logits)[:, 1].reshape(xx.shape)
    from nnlab.plots.foundations import plot_xor_surface

    path = plot_xor_surface((xx, yy, prob), x, xor.XOR_LABELS, out_dir / "xor.png")
    p_points = softmax(network.forward(params, x).logits)[:, 1]
    farkas = _bits(np.round(xor.farkas_certificate(xor.XOR_LABELS), 3))
    return "\n".join([
        f"single logistic unit: at most {xor.max_correct_single_unit()} of 4 XOR points right "
        f"(Farkas weights {farkas} sum the 4 inequalities to 0 > 0)",
        f"2-2-2 sigmoid network (seed {seed}): predicts {_bits(network.predict(params, x))} for 00 01 10 11, "
        f"P(1) = {_bits(np.round(p_points, 3))}",
        f"decision surface: {path}",
    ])


def _descent(out_dir: Path, seed: int) -> str:
    """Best-of-grid gradient descent on Rosenbrock's banana from (-1.2, 1), drawn on its contours."""
    run = descent.gradient_descent(descent.rosenbrock, descent.rosenbrock_gradient, np.array([-1.2, 1.0]))
    quad = descent.gradient_descent(descent.quadratic, descent.quadratic_gradient, np.array([-2.0, 1.5]))
    xx, yy = np.meshgrid(np.linspace(-1.5, 1.5, 200), np.linspace(-0.5, 1.5, 200))
    zz = descent.rosenbrock(np.stack([xx, yy], axis=-1))
    from nnlab.plots.foundations import plot_descent

    path = plot_descent((xx, yy, zz), run.path, out_dir / "descent.png", title="gradient descent on Rosenbrock")
    return "\n".join([
        f"Rosenbrock from (-1.2, 1): {run.n_steps} steps, stopped by {run.reason}, "
        f"end ({run.x[0]:.6f}, {run.x[1]:.6f}), f = {run.values[-1]:.2e} (minimum 0 at (1, 1))",
        f"quadratic x^2 + 10 y^2 from (-2, 1.5): {quad.n_steps} steps, stopped by {quad.reason}, "
        f"end ({quad.x[0]:.1e}, {quad.x[1]:.1e})",
        f"path on contours: {path}",
    ])


def _convolution(out_dir: Path, seed: int) -> str:
    """The lecture's 7x7 example with the X-shaped kernel, and a vertical-edge filter on a step image."""
    out = convolution.convolve_image(convolution.LECTURE_IMAGE, convolution.LECTURE_KERNEL)
    edges = convolution.convolve_image(convolution.step_image(), convolution.SOBEL_X)
    from nnlab.plots.foundations import plot_convolution

    path = plot_convolution(convolution.LECTURE_IMAGE, convolution.LECTURE_KERNEL, out, out_dir / "convolution.png")
    rows = ["lecture 7x7 image * [[1,0,1],[0,1,0],[1,0,1]] (valid, stride 1):"]
    rows += ["  " + _bits(r.astype(int)) for r in out]
    rows.append(f"Sobel-x on a step image (edge between columns 3 and 4), first row: {_bits(edges[0].astype(int))}")
    rows.append(f"input, kernel, output: {path}")
    return "\n".join(rows)


def _projection(out_dir: Path, seed: int) -> str:
    """Two correlated Gaussian classes projected on the mean-difference and on the Fisher direction."""
    x1, x2 = projection.sample_two_classes(np.random.default_rng(seed))
    directions = {
        "mean difference": projection.mean_difference_direction(x1, x2),
        "Fisher": projection.fisher_direction(x1, x2),
    }
    from nnlab.plots.foundations import plot_projection

    path = plot_projection((x1, x2), directions, out_dir / "projection.png")
    lines = []
    for name, w in directions.items():
        p1, p2 = x1 @ w, x2 @ w
        j, err = projection.fisher_criterion(p1, p2), projection.best_threshold_error(p1, p2)
        lines.append(f"{name:<16}: w = ({w[0]:+.3f}, {w[1]:+.3f}), J = {j:.3f}, best-threshold error = {err:.3f}")
    optimum = projection.optimal_fisher_criterion(projection.MEAN1 - projection.MEAN2, 2 * projection.COV)
    lines.append(f"population optimum dm^T (S1 + S2)^-1 dm = {optimum:.3f} (from the true covariance)")
    lines.append(f"histograms: {path}")
    return "\n".join(lines)


def _approximation(out_dir: Path, seed: int) -> str:
    """sin on [-pi, pi] fitted by N = 2, 4, 8, 16 sigmoids; the max error falls as N grows."""
    n_units = [2, 4, 8, 16]
    x = np.linspace(-np.pi, np.pi, 400)
    fits = {n: approximation.fit_sigmoid_sum(x, np.sin(x), n)(x) for n in n_units}
    errors = approximation.approximation_errors(np.sin, n_units)
    from nnlab.plots.foundations import plot_approximation

    path = plot_approximation(x, np.sin(x), fits, out_dir / "approximation.png", target_name="sin x")
    table = ", ".join(f"N={n}: {e:.4f}" for n, e in zip(n_units, errors))
    return f"max |sin - fit| on [-pi, pi]: {table}\ncurves: {path}"


_RUNNERS: dict[str, Callable[[Path, int], str]] = {
    "gates": _gates,
    "xor": _xor,
    "descent": _descent,
    "convolution": _convolution,
    "projection": _projection,
    "approximation": _approximation,
}


def run_demo(name: str, out_dir: Path, *, seed: int = 0) -> str:
    """Run the foundations demo `name`, write its PNG (if it has one) into out_dir, and return the text to print."""
    if name not in _RUNNERS:
        raise NnlabError(f"unknown foundations demo {name!r}; choose one of {', '.join(DEMOS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _RUNNERS[name](out_dir, seed)
