"""Figures of lecture 2: vanishing/exploding activations and the effect of initialization.

Every function returns a :class:`matplotlib.figure.Figure` (never shows it). Figures are
built with :class:`~matplotlib.figure.Figure` directly, not ``pyplot``, so nothing
accumulates in pyplot's global state; a notebook displays the returned object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers._validation import as_float_array, as_float_matrix, check_count
from helpers.plots.style import plain_log_labels

__all__ = ["activation_size_vs_depth", "cost_curves", "decision_boundaries", "layer_statistics", "variance_vs_fan_in"]

#: Okabe-Ito colours: predicted-class regions (sky blue, orange) and the points of each class
#: (blue circles, vermillion triangles): the shape tells the classes apart without colour.
_REGIONS = ("#56B4E9", "#E69F00")
_CLASSES = (("#0072B2", "o"), ("#D55E00", "^"))


def _check_mapping(value, name: str) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict {{label: ...}}, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} is empty: nothing to plot")


def activation_size_vs_depth(depths, sizes: Mapping, *, closed_forms: Mapping | None = None,
                             ylabel: str = r"$|\hat y|$") -> Figure:
    """Output size of a deep linear net against its depth, on a log scale.

    Parameters
    ----------
    depths : array_like of shape (k,)
        Numbers of layers ``L``.
    sizes : dict of str -> array_like of shape (k,)
        Measured sizes (e.g. ``|y_hat|``) per label ("W = 1.5 I").
    closed_forms : dict of str -> array_like of shape (k,), optional
        Predicted curves (e.g. ``1.5 ** (L - 1)``) drawn dashed over the measurements.
    ylabel : str

    Returns
    -------
    Figure
    """
    depths = as_float_array(depths, "depths", ndim=1)
    _check_mapping(sizes, "sizes")
    fig = Figure()
    ax = fig.add_subplot()
    for label, y in sizes.items():
        y = as_float_array(y, f"sizes[{label!r}]", ndim=1)
        if y.shape != depths.shape:
            raise ValueError(f"sizes[{label!r}] has shape {y.shape}, expected {depths.shape} (one per depth)")
        ax.semilogy(depths, y, "o", ms=4, alpha=0.6, label=f"{label} (measured)", zorder=2)
    for i, (label, y) in enumerate((closed_forms or {}).items()):
        # drawn over the markers, so the closed form is visible where it matches them
        ax.semilogy(depths, as_float_array(y, f"closed_forms[{label!r}]", ndim=1), "-", color="black", lw=0.9,
                    zorder=3, label="closed form $w^{L-1}$" if i == 0 else None)
        ax.annotate(label, (depths[-1], float(np.asarray(y)[-1])), fontsize=8, ha="right", va="bottom")
    ax.set_xlabel("number of layers L")
    ax.set_ylabel(ylabel + " (log scale)")
    ax.set_title("Deep linear network: the output scales as $w^{L-1}$")
    plain_log_labels(ax)
    ax.legend(fontsize=8)
    return fig


def variance_vs_fan_in(n_values, var_z: Mapping) -> Figure:
    """``Var(z)`` of one neuron ``z = w_1 x_1 + ... + w_n x_n`` against ``n`` (log-log).

    Parameters
    ----------
    n_values : array_like of shape (k,)
        Fan-ins ``n``.
    var_z : dict of str -> array_like of shape (k,)
        Measured ``Var(z)`` per weight scaling ("Var(w) = 1", "Var(w) = 1/n", ...).

    Returns
    -------
    Figure
    """
    n_values = as_float_array(n_values, "n_values", ndim=1)
    _check_mapping(var_z, "var_z")
    fig = Figure()
    ax = fig.add_subplot()
    for label, v in var_z.items():
        ax.loglog(n_values, as_float_array(v, f"var_z[{label!r}]", ndim=1), "o-", label=label)
    ax.set_xlabel("fan-in n")
    ax.set_ylabel("Var(z)")
    ax.set_title("One neuron: larger n needs smaller $w_i$")
    plain_log_labels(ax)
    ax.legend(fontsize=8)
    return fig


#: Line styles and markers cycled per method, so curves that coincide stay distinguishable
#: (drawn dashed over solid, markers at different layers) and colour is never the only signal.
_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v"))


def layer_statistics(stats: Mapping, *, title: str = "", show_inactive: bool = True) -> Figure:
    """Per-layer activation std, back-propagated gradient std and inactive units, one line per method.

    Parameters
    ----------
    stats : dict of str -> helpers.network.LayerStatistics
        Computed with labels ``Y`` (so ``dA_std`` is present), one per initialization.
    title : str
    show_inactive : bool, default True
        A third panel: the fraction of inactive hidden units per layer (ReLU: dead, ``A = 0``;
        tanh/sigmoid: saturated, derivative below 1e-3), the reason a std near 1 can carry no
        gradient.

    Returns
    -------
    Figure
        Panels sharing the layer axis, the two stds on a log scale (a layer whose value is
        exactly 0, dead, is left out of the log plot). Each method has its own line style and
        markers (placed at different layers), so methods whose curves coincide are all visible.
    """
    _check_mapping(stats, "stats")
    n_panels = 3 if show_inactive else 2
    fig = Figure(figsize=(5.0 * n_panels, 3.8))
    axes = fig.subplots(1, n_panels, sharex=True)
    ax_a, ax_g = axes[0], axes[1]
    for k, (label, s) in enumerate(stats.items()):
        if getattr(s, "dA_std", None) is None:
            raise ValueError(f"stats[{label!r}] has no gradient statistics: call layer_statistics(X, params, Y=Y)")
        ls, marker = _STYLES[k % len(_STYLES)]
        style = {"ls": ls, "marker": marker, "ms": 4, "markevery": (k, len(_STYLES) + 3), "label": label}
        ax_a.semilogy(s.layer, np.where(s.a_std > 0, s.a_std, np.nan), **style)
        ax_g.semilogy(s.layer, np.where(s.dA_std > 0, s.dA_std, np.nan), **style)
        if show_inactive:
            # the output unit is not a hidden unit: its fraction is left out
            axes[2].plot(s.layer[:-1], 100 * np.asarray(s.inactive[:-1]), **style)
    ax_a.set_title("std of the activations A[l]")
    ax_g.set_title("std of the gradient dA[l]")
    for ax in (ax_a, ax_g):
        plain_log_labels(ax)
    if show_inactive:
        axes[2].set(title="inactive hidden units (dead or saturated)", ylabel="% of units", ylim=(-3, 103))
    for ax in axes:
        ax.set_xlabel("layer l")
    ax_a.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    # fixed spacing: tight_layout costs a full extra layout pass per figure (~0.15 s)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.13, wspace=0.25, top=0.84 if title else 0.9)
    return fig


def cost_curves(results: Mapping, *, log: bool = True) -> Figure:
    """Training cost against iteration, one curve per initialization.

    Parameters
    ----------
    results : dict of str -> helpers.network.TrainResult
    log : bool, default True
        Log scale for the cost (a large initialization starts orders of magnitude higher).

    Returns
    -------
    Figure
    """
    _check_mapping(results, "results")
    fig = Figure()
    ax = fig.add_subplot()
    for label, r in results.items():
        ax.plot(r.iterations, r.costs, label=label)
    if log:
        ax.set_yscale("log")
        plain_log_labels(ax)
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J")
    ax.set_title("Training cost by initialization")
    ax.legend(fontsize=8)
    return fig


def decision_boundaries(X, Y, predictors: Mapping[str, Callable], *, resolution: int = 150) -> Figure:
    """Decision regions of 2-D classifiers, one panel each, with the data on top.

    Parameters
    ----------
    X : array_like of shape (2, m)
    Y : array_like of shape (1, m)
        Labels 0/1.
    predictors : dict of str -> callable
        ``predict(X_grid) -> ndarray of shape (1, k)`` with values in {0, 1}; the key is
        the panel's title (put the accuracy in it).
    resolution : int, default 150
        Grid points per axis.

    Returns
    -------
    Figure
    """
    X = as_float_matrix(X, "X", n_rows=2)
    Y = as_float_matrix(Y, "Y")
    if Y.shape != (1, X.shape[1]):
        raise ValueError(f"Y has shape {Y.shape}, expected (1, {X.shape[1]}) to match X")
    _check_mapping(predictors, "predictors")
    resolution = check_count(resolution, "resolution", 2)
    pad = 0.5
    x0 = np.linspace(X[0].min() - pad, X[0].max() + pad, resolution)
    x1 = np.linspace(X[1].min() - pad, X[1].max() + pad, resolution)
    G0, G1 = np.meshgrid(x0, x1)
    grid = np.vstack([G0.ravel(), G1.ravel()])
    k = len(predictors)
    fig = Figure(figsize=(3.6 * k, 3.4))
    axes = np.atleast_1d(fig.subplots(1, k, sharey=True))
    for ax, (label, predict) in zip(axes, predictors.items(), strict=True):
        pred = np.asarray(predict(grid), dtype=np.float64)
        if pred.size != grid.shape[1]:
            raise ValueError(f"predictors[{label!r}] returned {pred.size} values for {grid.shape[1]} grid points")
        ax.contourf(G0, G1, pred.reshape(G0.shape), levels=[-0.5, 0.5, 1.5], colors=list(_REGIONS), alpha=0.6)
        for cls, (color, marker) in enumerate(_CLASSES):
            pick = Y[0] == cls
            ax.scatter(X[0, pick], X[1, pick], color=color, marker=marker, s=10, edgecolors="k", linewidths=0.2,
                       label=f"class {cls}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    # the legend shows the regions' own colours (patches) beside the points' markers
    handles, _ = axes[0].get_legend_handles_labels()
    regions = [Patch(facecolor=c, alpha=0.6, edgecolor="0.4", label=f"region: predicted {k}")
               for k, c in enumerate(_REGIONS)]
    axes[0].legend(handles=[*handles, *regions], fontsize=7, loc="lower left", framealpha=0.8)
    # margins in inches (tick labels and axis labels), so any number of panels fits its canvas
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=0.65 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.35 / height,
                        wspace=0.08)
    return fig
