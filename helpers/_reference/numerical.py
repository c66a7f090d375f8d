"""Reference implementation: finite-difference approximations of a derivative (lecture 3).

Withheld from students (notebook 3, exercises 1, 2 and 3).

One-sided (forward) difference, error O(eps)::

    g(theta) ~ (f(theta + eps) - f(theta)) / eps

Centered (two-sided) difference, error O(eps**2)::

    g(theta) ~ (f(theta + eps) - f(theta - eps)) / (2 * eps)

For an array ``theta`` each coordinate is perturbed in turn (all others fixed), which
gives the gradient one coordinate at a time: the ``dtheta_approx`` of gradient checking.
"""

from __future__ import annotations

import math

import numpy as np

from helpers._validation import _describe, as_finite_scalar, as_float_array, check_eps

__all__ = ["centered_difference", "fit_order", "most_stable_eps", "one_sided_difference"]


def one_sided_difference(f, theta, eps):
    """One-sided difference ``(f(theta + eps) - f(theta)) / eps``, coordinate by coordinate.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``; for an array ``theta`` it receives an array of the same shape.
    theta : float or array_like of any shape
        Point of evaluation (int accepted, computed in float64). Never modified.
    eps : float
        Step, finite and > 0.

    Returns
    -------
    float or ndarray of shape theta.shape
        A float for scalar ``theta``, else ``dtheta_approx`` with ``theta``'s shape.

    Raises
    ------
    TypeError
        ``f`` not callable, ``theta`` not numeric, ``eps`` not a real number, or ``f``
        returns something that is not a number.
    ValueError
        ``eps <= 0`` or not finite, ``theta`` not finite, or ``f`` returns an array of
        more than one value or NaN/inf (the message says at which perturbation).
    """
    return _coordinatewise(f, theta, eps, centered=False)


def centered_difference(f, theta, eps):
    """Centered difference ``(f(theta + eps) - f(theta - eps)) / (2 eps)``, coordinate by coordinate.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``; for an array ``theta`` it receives an array of the same shape.
    theta : float or array_like of any shape
        Point of evaluation (int accepted, computed in float64). Never modified.
    eps : float
        Half-width of the step, finite and > 0.

    Returns
    -------
    float or ndarray of shape theta.shape
        A float for scalar ``theta``, else ``dtheta_approx`` with ``theta``'s shape.

    Raises
    ------
    TypeError, ValueError
        As :func:`one_sided_difference`.
    """
    return _coordinatewise(f, theta, eps, centered=True)


def _coordinatewise(f, theta, eps, *, centered: bool):
    if not callable(f):
        raise TypeError(f"f must be a function of theta (callable), got {_describe(f)}")
    eps = check_eps(eps)
    # as_float_array always copies, so the caller's theta is never touched
    work = as_float_array(theta, "theta")
    if work.ndim == 0:
        t = float(work)
        f_plus = _value(f(t + eps), "theta + eps")
        if centered:
            f_minus = _value(f(t - eps), "theta - eps")
            return (f_plus - f_minus) / (2 * eps)
        return (f_plus - _value(f(t), "theta")) / eps

    dtheta_approx = np.zeros_like(work)
    # the one-sided base value does not depend on the coordinate: evaluate it once
    f_theta = None if centered else _value(f(work.copy()), "theta")
    for i in np.ndindex(work.shape):
        original = work[i]
        work[i] = original + eps
        # f gets a copy: an f that modifies its argument cannot corrupt the next coordinate
        f_plus = _value(f(work.copy()), f"theta + eps at coordinate {i}")
        if centered:
            work[i] = original - eps
            f_minus = _value(f(work.copy()), f"theta - eps at coordinate {i}")
            dtheta_approx[i] = (f_plus - f_minus) / (2 * eps)
        else:
            dtheta_approx[i] = (f_plus - f_theta) / eps
        # restore the saved value itself: original + eps - eps need not round back to it
        work[i] = original
    return dtheta_approx


def _value(out, where: str) -> float:
    """``f``'s return value as a float (see :func:`helpers._validation.as_finite_scalar`)."""
    return as_finite_scalar(out, "f", where)


def fit_order(eps, errors, *, eps_min: float | None = None, eps_max: float | None = None) -> float:
    """Order ``p`` of an error ``~ C eps**p``: least-squares slope of log(error) vs log(eps).

    Parameters
    ----------
    eps : array_like of shape (n,)
        Steps, > 0.
    errors : array_like of shape (n,)
        Errors at those steps; those used must be > 0.
    eps_min, eps_max : float, optional
        Fit only ``eps_min <= eps <= eps_max``. By default ``eps_min`` is ten times the
        ``eps`` of the smallest error: below that step round-off, not truncation, dominates.

    Returns
    -------
    float
        The slope (about 1 for the one-sided difference, 2 for the centered one).
    """
    # imported here: helpers.numerical loads this module while it is being imported
    from helpers.numerical import _check_eps_values

    eps = _check_eps_values(eps, "eps")
    err = as_float_array(errors, "errors", ndim=1)
    if err.shape != eps.shape:
        raise ValueError(f"errors has shape {err.shape}, expected the shape of eps {eps.shape}")
    if eps_min is None:
        eps_min = 10 * eps[int(np.argmin(err))]
    lo = float(eps_min)
    hi = math.inf if eps_max is None else float(eps_max)
    keep = (eps >= lo) & (eps <= hi)
    if keep.sum() < 2:
        raise ValueError(
            f"only {int(keep.sum())} step(s) lie in [{lo:.1e}, {hi:.1e}]; a slope needs at least 2 "
            f"(widen the eps grid or set eps_min/eps_max)"
        )
    if (err[keep] <= 0).any():
        bad = eps[keep][err[keep] <= 0][0]
        raise ValueError(
            f"errors must be > 0 to take logs, got {err[keep][err[keep] <= 0][0]!r} at eps={bad:.1e}; "
            f"exclude it with eps_min/eps_max"
        )
    x, y = np.log10(eps[keep]), np.log10(err[keep])
    # closed-form least squares: no polyfit warnings, exact for two points
    x0 = x - x.mean()
    return float(x0 @ (y - y.mean()) / (x0 @ x0))


def most_stable_eps(difference, f, theta, eps_values) -> float:
    """The step of ``eps_values`` where ``difference`` changes least between neighbouring steps.

    Without the exact derivative, the bottom of the error curve shows as the steps where
    the estimate stops moving: above them truncation changes it smoothly (by about
    ``eps**2`` for the centered difference), below them round-off makes it jump (by about
    ``u |f| / eps``). Each interior step of the sorted grid is scored by the larger of its
    changes to its two neighbours; the smallest score wins.

    Parameters
    ----------
    difference : callable
        ``difference(f, theta, eps) -> float``.
    f : callable
        ``f(theta) -> float``.
    theta : float
        Point of evaluation.
    eps_values : array_like of shape (n,), n >= 3
        Candidate steps (any order, all > 0).

    Returns
    -------
    float
        One of ``eps_values``.
    """
    eps, score = stability_scores(difference, f, theta, eps_values)
    return float(eps[int(np.argmin(score))])


def stability_scores(difference, f, theta, eps_values) -> tuple:
    """The interior steps of the grid (largest first) and their scores (see :func:`most_stable_eps`).

    Returns
    -------
    eps : ndarray of shape (n - 2,)
    score : ndarray of shape (n - 2,)
        The larger change of the estimate to either neighbour; the smallest is the most stable.
    """
    from helpers.numerical import _check_eps_values

    eps = np.sort(_check_eps_values(eps_values))[::-1]
    if eps.size < 3:
        raise ValueError(f"eps_values needs at least 3 steps (a step and its two neighbours), got {eps.size}")
    estimates = np.array([float(difference(f, theta, float(e))) for e in eps])
    change = np.abs(np.diff(estimates))
    return eps[1:-1], np.maximum(change[:-1], change[1:])
