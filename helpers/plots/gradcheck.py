"""Figures for gradient checking (notebook 4): per-block differences on a log scale."""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers.gradcheck_result import verdict_for
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


def _draw(ax, per_block: dict, title: str | None) -> None:
    names = list(per_block)
    values = np.array([per_block[n] for n in names])
    shown = np.maximum(values, _FLOOR)
    colors = [_COLORS[verdict_for(v)] for v in values]
    ax.bar(names, shown, color=colors)
    ax.set_yscale("log")
    plain_log_labels(ax)
    top = max(1.0, float(shown.max()) * 3)
    ax.set_ylim(min(_FLOOR, float(shown.min())) / 3, top)
    for level, label in SLIDE_LEVELS:
        ax.axhline(level, color="0.3", linestyle="--", linewidth=0.8)
        ax.text(len(names) - 0.5, level * 1.4, label, ha="right", va="bottom", fontsize=8, color="0.3")
    for i, v in enumerate(values):
        if v == 0.0:
            ax.text(i, _FLOOR * 1.5, "0", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("relative difference")
    ax.set_xlabel("gradient block")
    if title:
        ax.set_title(title)


def plot_block_differences(result, *, title: str | None = None) -> Figure:
    """Bar chart of the per-block relative differences, with the slide's levels drawn.

    Parameters
    ----------
    result : dict or GradCheckResult
        ``{"dW1": difference, "db1": ..., ...}`` or anything with such a ``.per_block``.
        Each difference is ``||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)``
        restricted to that block; 0 is drawn at the bottom of the axis and labelled.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Bars coloured by verdict (green great, orange look closer, red worry).
    """
    per_block = _per_block(result, "result")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(per_block) + 2.5), 3.6))
    _draw(ax, per_block, title)
    fig.tight_layout()
    return fig


def plot_before_after(before, after, *, titles=("at initialization", "after training")) -> Figure:
    """Two per-block charts side by side on a shared log axis (e.g. before / after training).

    Parameters
    ----------
    before, after : dict or GradCheckResult
        Per-block differences, as for :func:`plot_block_differences`.
    titles : tuple of two str

    Returns
    -------
    matplotlib.figure.Figure
    """
    a, b = _per_block(before, "before"), _per_block(after, "after")
    if len(titles) != 2:
        raise ValueError(f"titles must hold two strings, got {titles!r}")
    width = max(7.0, 0.7 * (len(a) + len(b)) + 4.0)
    fig, axes = plt.subplots(1, 2, figsize=(width, 3.6), sharey=True)
    _draw(axes[0], a, titles[0])
    _draw(axes[1], b, titles[1])
    lo = min(axes[0].get_ylim()[0], axes[1].get_ylim()[0])
    hi = max(axes[0].get_ylim()[1], axes[1].get_ylim()[1])
    axes[0].set_ylim(lo, hi)
    axes[1].set_ylabel("")
    fig.tight_layout()
    return fig
