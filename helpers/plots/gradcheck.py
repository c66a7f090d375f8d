"""Figures for gradient checking (notebook 4): per-block differences on a log scale."""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from helpers.gradcheck_result import GREAT_BELOW, WORRY_FROM, verdict_for
from helpers.plots.style import plain_log_labels

__all__ = ["SLIDE_LEVELS", "plot_before_after", "plot_block_differences"]

#: The slide's reference values for ``difference`` at ``eps = 1e-7``.
SLIDE_LEVELS = ((1e-7, "1e-7: great"), (1e-5, "1e-5: look closer"), (1e-3, "1e-3: worry"))
_COLORS = {"great": "tab:green", "look closer": "tab:orange", "worry": "tab:red"}
#: Where a difference of exactly 0 is drawn (log axes cannot show 0).
_FLOOR = 1e-12


def _per_block(result, name: str) -> dict:
    per_block = getattr(result, "per_block", result)
    if not isinstance(per_block, Mapping) or not per_block:
        raise TypeError(
            f"{name} must be a non-empty dict {{'dW1': difference, ...}} or a result with .per_block, "
            f"got {type(result).__name__}"
        )
    out = {}
    for key, value in per_block.items():
        try:
            d = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name}[{key!r}] must be a number, got {type(value).__name__}") from None
        if not math.isfinite(d) or d < 0:
            raise ValueError(f"{name}[{key!r}] must be a finite difference >= 0, got {d!r}")
        out[str(key)] = d
    return out


def _draw(ax, per_block: dict, title: str | None, floors: dict | None = None, legend: bool = True) -> None:
    names = list(per_block)
    values = np.array([per_block[n] for n in names])
    shown = np.maximum(values, _FLOOR)
    if floors is None:
        colors = [_COLORS[verdict_for(v)] for v in values]
    else:
        colors = [_COLORS[verdict_for(v, floors[n])] for n, v in zip(names, values, strict=True)]
    top = max(1.0, float(shown.max()) * 3)
    bottom = min(_FLOOR, float(shown.min())) / 3
    # the verdict regions of the cut-offs (GREAT_BELOW, WORRY_FROM), in the bars' colours
    ax.axhspan(1e-30, GREAT_BELOW, color=_COLORS["great"], alpha=0.10, linewidth=0)
    ax.axhspan(GREAT_BELOW, WORRY_FROM, color=_COLORS["look closer"], alpha=0.10, linewidth=0)
    ax.axhspan(WORRY_FROM, 1e3, color=_COLORS["worry"], alpha=0.10, linewidth=0)
    ax.bar(names, shown, color=colors, zorder=2)
    ax.set_yscale("log")
    plain_log_labels(ax)
    ax.set_ylim(bottom, top)
    for level, label in SLIDE_LEVELS:
        ax.axhline(level, color="0.3", linestyle=":", linewidth=0.9, zorder=3)
        ax.text(len(names) - 0.5, level * 1.3, "slide: " + label, ha="right", va="bottom", fontsize=7, color="0.3")
    if floors is not None:
        for i, n in enumerate(names):
            f = floors[n]
            if math.isfinite(f):
                ax.plot([i - 0.4, i + 0.4], [f, f], color="black", linewidth=1.5, zorder=4)
    for i, v in enumerate(values):
        if v == 0.0:
            ax.text(i, _FLOOR * 1.5, "0", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("relative difference")
    ax.set_xlabel("gradient block")
    if title:
        ax.set_title(title)
    if legend:
        how = "verdict vs floor" if floors is not None else "verdict"
        handles = [
            Patch(color=_COLORS["great"], label=f"great: < {GREAT_BELOW:.0e}"),
            Patch(color=_COLORS["look closer"], label=f"look closer: < {WORRY_FROM:.0e}"),
            Patch(color=_COLORS["worry"], label=f"worry: >= {WORRY_FROM:.0e}"),
            Line2D([], [], color="0.3", linestyle=":", label="the slide's values"),
        ]
        if floors is not None:
            handles.append(Line2D([], [], color="black", linewidth=1.5, label="round-off floor"))
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title=f"bar colour: {how}", title_fontsize=7, frameon=False)


def plot_block_differences(result, *, title: str | None = None, floors=None) -> Figure:
    """Bar chart of the per-block relative differences, with the slide's levels drawn.

    Parameters
    ----------
    result : dict or GradCheckResult
        ``{"dW1": difference, "db1": ..., ...}`` or anything with such a ``.per_block``.
        Each difference is ``||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)``
        restricted to that block; 0 is drawn at the bottom of the axis and labelled.
    title : str, optional
    floors : dict, optional
        ``{"dW1": floor, ...}``: each block's round-off floor
        (:func:`helpers.gradcheck.roundoff_floor`), drawn as a black tick; the bars are
        then coloured by the verdict relative to the floor.

    Returns
    -------
    matplotlib.figure.Figure
        Bars coloured by verdict (green great, orange look closer, red worry) over shaded
        regions of the same colours (the cut-offs 1e-6 and 1e-4), dotted lines at the
        slide's values 1e-7, 1e-5, 1e-3, and a legend.
    """
    per_block = _per_block(result, "result")
    if floors is not None:
        floors = {str(k): float(v) for k, v in dict(floors).items()}
        if set(floors) != set(per_block):
            raise ValueError(f"floors must have the blocks of result {sorted(per_block)}, got {sorted(floors)}")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(per_block) + 2.5) + 1.8, 3.6))
    _draw(ax, per_block, title, floors)
    fig.tight_layout()
    return fig


def plot_before_after(before, after, *, titles=("at initialization", "after training"), floors=None) -> Figure:
    """Two per-block charts side by side on a shared log axis (e.g. before / after training).

    Parameters
    ----------
    before, after : dict or GradCheckResult
        Per-block differences, as for :func:`plot_block_differences`.
    titles : tuple of two str
    floors : tuple of two dicts, optional
        Per-block round-off floors of ``before`` and ``after`` (see :func:`plot_block_differences`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    a, b = _per_block(before, "before"), _per_block(after, "after")
    if len(titles) != 2:
        raise ValueError(f"titles must hold two strings, got {titles!r}")
    fa, fb = (None, None) if floors is None else floors
    width = max(7.0, 0.7 * (len(a) + len(b)) + 4.0) + 1.8
    fig, axes = plt.subplots(1, 2, figsize=(width, 3.6), sharey=True)
    _draw(axes[0], a, titles[0], fa, legend=False)
    _draw(axes[1], b, titles[1], fb)
    lo = min(axes[0].get_ylim()[0], axes[1].get_ylim()[0])
    hi = max(axes[0].get_ylim()[1], axes[1].get_ylim()[1])
    axes[0].set_ylim(lo, hi)
    axes[1].set_ylabel("")
    fig.tight_layout()
    return fig
