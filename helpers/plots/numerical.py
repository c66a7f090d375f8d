"""Figures of notebook 3: the error of finite differences against the step eps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from helpers.numerical import ORDERS, EpsSweep, ErrorModel
from helpers.plots.style import plain_log_labels

__all__ = ["error_vs_eps"]

_COLORS = {"one_sided": "tab:orange", "centered": "tab:blue"}


def error_vs_eps(sweep: EpsSweep, *, f_scale: float | None = None, deriv_scales: dict | None = None,
                 title: str | None = None):
    """Log-log plot of ``|approx - g(theta)|`` against ``eps`` for every method of ``sweep``.

    Draws, for each method named in :data:`helpers.numerical.ORDERS`, a dashed reference
    line of slope 1 (one-sided) or 2 (centered) a decade below its error at the largest eps and,
    given the scales, the error model's round-off floor and its optimal eps (a star).

    Parameters
    ----------
    sweep : EpsSweep
        From :func:`helpers.numerical.eps_sweep`.
    f_scale : float, optional
        ``|f(theta)|`` for the round-off floor ``u |f| / eps`` (``u`` of ``sweep.dtype``).
    deriv_scales : dict, optional
        ``{"one_sided": |f''(theta)|, "centered": |f'''(theta)|}``: mark each optimal eps.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(sweep, EpsSweep):
        raise TypeError(f"sweep must be an EpsSweep (from eps_sweep), got {type(sweep).__name__}")
    fig, ax = plt.subplots(figsize=(8.4, 4.0))
    fig.subplots_adjust(left=0.09, right=0.64, bottom=0.13, top=0.92)  # room for the legend on the right
    order = np.argsort(sweep.eps)
    eps = sweep.eps[order]
    for name in sweep.methods:
        err = sweep.errors[name][order]
        # an error of exactly 0 (lucky rounding) has no place on a log axis
        shown = err > 0
        color = _COLORS.get(name)
        ax.loglog(eps[shown], err[shown], "o-", ms=3, color=color, label=f"{name.replace('_', '-')}")
        if name in ORDERS:
            p = ORDERS[name]
            # a decade below the measured curve, so the guide stays visible beside it
            ref = 0.1 * err[-1] * (eps / eps[-1]) ** p
            keep = ref >= np.min(err[shown], initial=np.inf) / 10
            ax.loglog(eps[keep], ref[keep], "--", lw=1, color=color, label=f"slope {p}")
            if f_scale is not None and deriv_scales and name in deriv_scales:
                model = ErrorModel(name, f_scale, deriv_scales[name], sweep.dtype)
                ax.loglog([model.optimal_eps], [model.best_error], "*", ms=14, color=color, mec="k",
                          label=f"optimal eps ({name.replace('_', '-')}) = {model.optimal_eps:.0e}")
    if f_scale is not None:
        floor = ErrorModel("centered", f_scale, 1.0, sweep.dtype).roundoff(eps)
        ax.loglog(eps, floor, ":", color="gray", label="round-off  u|f|/eps")
    ax.set_xlabel("eps")
    ax.set_ylabel("|approx - g(theta)|")
    ax.set_title(title or f"Error of the finite differences (f in {sweep.dtype})")
    plain_log_labels(ax)
    # outside the axes: inside, the legend covered the curves
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
