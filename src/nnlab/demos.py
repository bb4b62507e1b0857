"""The `nnlab foundations NAME` demos: compute a lecture result, draw it, and return the text to print.

Source: lecture "Introduction to Deep Learning with PyTorch"; one demo per foundations topic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnlab.errors import NnlabError
from nnlab.foundations.activations import sigmoid, sigmoid_derivative, softmax
from nnlab.foundations import approximation, convolution, descent, gates, network, projection, xor
from nnlab.foundations.logistic import fit_logistic_regression

DEMOS: tuple[str, ...] = ("logistic", "gates", "xor", "descent", "convolution", "projection", "approximation")


def _bits(values: np.ndarray) -> str:
    """Space-separated values, e.g. a truth-table row."""
    return " ".join(str(v) for v in values)


def _logistic(out_dir: Path, seed: int) -> str:
    """The logistic function, its slope, and what a gain does to it."""
    z = np.linspace(-8, 8, 401)
    from nnlab.plots.foundations import plot_sigmoid

    path = plot_sigmoid(z, (1, 2, 5), out_dir / "sigmoid.png")
    points = np.array([-5.0, -1.0, 0.0, 1.0, 5.0])
    return "\n".join([
        "z          : " + "  ".join(f"{v:>6g}" for v in points),
        "sigma(z)   : " + "  ".join(f"{v:6.4f}" for v in sigmoid(points)),
        "sigma'(z)  : " + "  ".join(f"{v:6.4f}" for v in sigmoid_derivative(points)),
        "sigma(-z) = 1 - sigma(z); the slope sigma(1 - sigma) is largest, 1/4, at z = 0",
        f"curves: {path}",
    ])


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
    axis = np.linspace(-0.5, 1.5, 121)
    xx, yy = np.meshgrid(axis, axis)
    plane = np.column_stack([xx.ravel(), yy.ravel()])
    drawn = {"OR = s(2x1 + 2x2 - 1)": (gates.logistic_unit(plane, *gates.LECTURE_OR), [0, 1, 1, 1]),
             "AND = s(2x1 + 2x2 - 3)": (gates.logistic_unit(plane, *gates.LECTURE_AND), [0, 0, 0, 1]),
             "the slide's XOR sum (= 1 everywhere)": (gates.lecture_xor_network(plane), [0, 1, 1, 0]),
             "XOR = 1 - (AND + NOR), gain 5": (gates.xor_network(plane), [0, 1, 1, 0])}
    from nnlab.plots.foundations import plot_gates

    path = plot_gates({title: (xx, yy, value.reshape(xx.shape), np.array(table))
                       for title, (value, table) in drawn.items()}, x, out_dir / "gates.png")
    return "\n".join([*lines, f"the units on the plane: {path}"])


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
        *_several_minima(out_dir),
    ])


def _several_minima(out_dir: Path) -> list[str]:
    """Fixed-step descent from eight starts on the tilted wells, and a start on a saddle where it cannot move."""
    starts = [(-1.5, 1.5), (0.3, 1.8), (1.5, 1.5), (-0.2, -0.3), (0.3, 0.2), (-1.5, -0.2), (0.5, -1.5), (1.5, -1.5)]
    runs = [descent.gradient_descent(descent.tilted_wells, descent.tilted_wells_gradient, np.array(start),
                                     step_sizes=0.05) for start in starts]
    critical = descent.tilted_wells_critical_points()
    ends = [float(run.values[-1]) for run in runs]
    lowest = min(descent.tilted_wells(point) for point, kind in critical if kind == "minimum")
    saddle = next(point for point, kind in critical if kind == "saddle")
    stuck = descent.gradient_descent(descent.tilted_wells, descent.tilted_wells_gradient, saddle, step_sizes=0.05,
                                     grad_tolerance=1e-9)
    xx, yy = np.meshgrid(np.linspace(-1.8, 1.8, 200), np.linspace(-1.8, 1.8, 200))
    from nnlab.plots.foundations import plot_descent_starts

    path = plot_descent_starts((xx, yy, descent.tilted_wells(np.stack([xx, yy], axis=-1))),
                               [run.path for run in runs], critical, out_dir / "descent_starts.png")
    kinds = [kind for _, kind in critical]
    return [
        f"(x^2-1)^2 + (y^2-1)^2 + 0.3x, fixed step 0.05 from {len(starts)} starts: "
        f"{sum(np.isclose(e, lowest) for e in ends)} end in a lowest minimum (f = {lowest:.3f}), "
        f"{sum(not np.isclose(e, lowest) for e in ends)} in a higher one (f = {max(ends):.3f})",
        f"its zero-gradient points: {kinds.count('minimum')} minima, {kinds.count('saddle')} saddles, "
        f"{kinds.count('maximum')} maximum; started on the saddle ({saddle[0]:.3f}, {saddle[1]:.0f}) descent stops "
        f"after {stuck.n_steps} steps ({stuck.reason}): a zero gradient is not a minimum",
        f"paths and zero-gradient points: {path}",
    ]


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
    return "\n".join(rows + _step_by_step_and_edges(out_dir))


def _step_by_step_and_edges(out_dir: Path) -> list[str]:
    """The lecture's 5x5 example one cell at a time; vertical and horizontal edges of a square; 2x2 max-pooling."""
    small, kernel = convolution.LECTURE_SMALL_IMAGE, convolution.LECTURE_KERNEL
    steps = convolution.convolution_steps(small, kernel)
    square = np.zeros((12, 12))
    square[3:9, 3:9] = 1.0
    vertical = convolution.convolve_image(square, convolution.SOBEL_X)
    horizontal = convolution.convolve_image(square, convolution.SOBEL_Y)
    pooled = convolution.max_pool2d(np.abs(vertical)[None, None])[0, 0]
    from nnlab.plots.foundations import plot_convolution_steps, plot_edges

    step_path = plot_convolution_steps(small, kernel, steps, out_dir / "convolution_steps.png")
    edge_path = plot_edges(square, {"Sobel-x: vertical edges": vertical, "Sobel-y: horizontal edges": horizontal,
                                    "|Sobel-x| max-pooled 2x2": pooled}, out_dir / "edges.png")
    return [
        "lecture 5x5 image, one output at a time: " + " ".join(f"({i},{j})={v:g}" for i, j, v in steps),
        f"a bright 6x6 square in 12x12: Sobel-x responds on its left (+) and right (-) sides, Sobel-y on its top and "
        f"bottom; 2x2 max-pooling keeps the edges at half the size ({vertical.shape[0]}x{vertical.shape[1]} -> "
        f"{pooled.shape[0]}x{pooled.shape[1]})",
        f"step by step: {step_path}",
        f"edges and pooling: {edge_path}",
    ]


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
    return "\n".join([f"max |sin - fit| on [-pi, pi]: {table}", f"curves: {path}", *_approximation_2d(out_dir)])


def _approximation_2d(out_dir: Path) -> list[str]:
    """sin(pi x) cos(pi y) on [-1, 1]^2 by N ridge units of three activations; the polynomial one never gets there."""
    n_units = [4, 16, 64, 256]
    errors = {name: approximation.ridge_errors(approximation.waves, n_units, activation=name)
              for name in approximation.RIDGE_ACTIVATIONS}
    points = approximation.square_grid(81)
    fits = {n: approximation.fit_ridge_sum(points, approximation.waves(points), n)(points).reshape(81, 81)
            for n in (16, 64)}
    from nnlab.plots.foundations import plot_ridge_approximation

    grid = (points[:, 0].reshape(81, 81), points[:, 1].reshape(81, 81))
    by_activation = {name: (n_units, e) for name, e in errors.items()}
    path = plot_ridge_approximation(grid, approximation.waves(points).reshape(81, 81), fits, by_activation,
                                    out_dir / "approximation_2d.png")
    lines = ["2-D: max |sin(pi x) cos(pi y) - fit| on [-1, 1]^2 with N = " + ", ".join(map(str, n_units)) + ":"]
    lines += [f"  {name:<8}: " + "  ".join(f"{e:.4f}" for e in errs) for name, errs in errors.items()]
    lines.append("  (square is a polynomial: any sum of (w.x + b)^2 is a quadratic, so more units cannot help)")
    lines.append(f"surfaces and errors: {path}")
    return lines


_RUNNERS: dict[str, Callable[[Path, int], str]] = {
    "logistic": _logistic,
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
