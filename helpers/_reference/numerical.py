"""Reference implementation: finite-difference approximations of a derivative (lecture 3).

Withheld from students (notebook 3, exercises 1 and 2).

One-sided (forward) difference, error O(eps)::

    g(theta) ~ (f(theta + eps) - f(theta)) / eps

Centered (two-sided) difference, error O(eps**2)::

    g(theta) ~ (f(theta + eps) - f(theta - eps)) / (2 * eps)

For an array ``theta`` each coordinate is perturbed in turn (all others fixed), which
gives the gradient one coordinate at a time: the ``dtheta_approx`` of gradient checking.
"""

from __future__ import annotations

import numpy as np

from helpers._validation import _describe, as_finite_scalar, as_float_array, check_eps

__all__ = ["centered_difference", "one_sided_difference"]


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
