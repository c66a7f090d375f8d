"""Figures for lecture 1 (normalizing inputs). Each function returns a matplotlib Figure.

Figures are made with :class:`matplotlib.figure.Figure` (not pyplot), so a notebook shows
one only when it displays it: no duplicate inline copies, no global state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from helpers._validation import as_float_matrix
from helpers.linear_regression import GradientDescentPath, cost_grid, least_squares
from helpers.plots.style import plain_log_labels

__all__ = ["plot_cost_contours", "plot_cost_curves", "plot_scatter"]


def plot_scatter(panels: Sequence[tuple[str, np.ndarray]], *, feature_names=("$x_1$", "$x_2$"),
                 equal_aspect: bool = True) -> Figure:
    """Scatter plots of two-feature data sets side by side (raw, centred, normalized...).

    Parameters
    ----------
    panels : sequence of (title, X)
        ``X`` of shape (2, m) each.
    feature_names : pair of str
    equal_aspect : bool, default True
        Same unit on both axes, so features on different scales look as different as they are.

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(4.0 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, X) in zip(axes, panels, strict=True):
        X = as_float_matrix(X, f"X of panel {title!r}", n_rows=2)
        ax.scatter(X[0], X[1], s=8, alpha=0.6)
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        if equal_aspect:
            ax.set_aspect("equal", adjustable="datalim")
        ax.set(title=title, xlabel=feature_names[0], ylabel=feature_names[1])
    return fig


def _window(center: np.ndarray, points: np.ndarray, margin: float = 0.25):
    lo = np.minimum(points.min(axis=0), center)
    hi = np.maximum(points.max(axis=0), center)
    pad = margin * np.maximum(hi - lo, 1e-12)
    return lo - pad, hi + pad


def plot_cost_contours(panels: Sequence[tuple[str, np.ndarray, np.ndarray, GradientDescentPath | None]],
                       *, n_levels: int = 14, resolution: int = 121,
                       equal_aspect: bool | Sequence[bool] = True) -> Figure:
    """Contours of ``J(w1, w2)`` (``b`` fixed at its optimum) with gradient-descent paths.

    Parameters
    ----------
    panels : sequence of (title, X, y, path)
        ``X`` of shape (2, m), ``y`` of shape (1, m), ``path`` a
        :class:`~helpers.linear_regression.GradientDescentPath` on these data (or ``None``).
        The path's ``(w1, w2)`` are drawn over the slice ``b = b*`` of ``J``.
    n_levels : int, default 14
        Contour levels, spaced geometrically above the minimum so both the valley floor
        and the walls show.
    resolution : int, default 121
        Grid points per axis.
    equal_aspect : bool or sequence of bool, default True
        Same unit on both axes (per panel when a sequence), so an elongated bowl looks as
        elongated as it is; with free axes matplotlib stretches each window to its box, which
        shows a gradient-descent zigzag but hides how narrow the valley is.

    Returns
    -------
    Figure
    """
    aspects = [equal_aspect] * len(panels) if isinstance(equal_aspect, bool) else list(equal_aspect)
    if len(aspects) != len(panels):
        raise ValueError(f"equal_aspect has {len(aspects)} entries for {len(panels)} panels")
    fig = Figure(figsize=(5.0 * len(panels), 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, X, y, path), equal in zip(axes, panels, aspects, strict=True):
        w_star, b_star = least_squares(X, y)
        points = w_star.T if path is None else np.vstack([path.w, w_star.T])
        lo, hi = _window(w_star[:, 0], points)
        w1 = np.linspace(lo[0], hi[0], resolution)
        w2 = np.linspace(lo[1], hi[1], resolution)
        J = cost_grid(X, y, w1, w2, b=b_star)
        J_min = float(J.min())
        levels = J_min + (float(J.max()) - J_min) * np.geomspace(1e-4, 1.0, n_levels)
        ax.contour(w1, w2, J, levels=levels, cmap="viridis", linewidths=0.8)
        if path is not None:
            ax.plot(path.w[:, 0], path.w[:, 1], "-o", color="tab:red", ms=2.5, lw=1,
                    label=f"gradient descent ({path.iterations} steps)")
        ax.plot(*w_star[:, 0], "k*", ms=10, label="minimum")
        if equal:
            ax.set_aspect("equal", adjustable="datalim")
        ax.set(title=title, xlabel="$w_1$", ylabel="$w_2$")
        ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_cost_curves(curves: Sequence[tuple[str, GradientDescentPath]], *, target_cost: float | None = None) -> Figure:
    """``J`` against the iteration for several gradient-descent runs (log scale).

    Parameters
    ----------
    curves : sequence of (label, GradientDescentPath)
    target_cost : float, optional
        Drawn as a horizontal line.

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    for label, path in curves:
        ax.plot(np.arange(len(path.costs)), path.costs, label=label)
    if target_cost is not None:
        ax.axhline(target_cost, color="k", ls="--", lw=0.8, label="target cost")
    ax.set(xlabel="iteration", ylabel="$J(w, b)$", yscale="log", title="Cost during gradient descent")
    plain_log_labels(ax)
    ax.legend(fontsize="small")
    return fig
