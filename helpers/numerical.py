"""Numerical approximation of derivatives (lecture 3): how big is the error, and which eps?

The two finite differences themselves, ``one_sided_difference`` and
``centered_difference``, and the order fit ``fit_order`` are reference implementations of
graded exercises; the student edition withholds them (see :mod:`helpers._withheld`).
Everything else here is a tool for studying *any* difference function, the student's included:

* :func:`eps_sweep` measures ``|approx - g(theta)|`` over a grid of ``eps`` for several
  methods (optionally with ``f`` evaluated in float32, see :func:`evaluated_in`);
* ``fit_order`` (withheld) measures the order ``p`` of an error ``~ C eps**p`` (log-log slope);
* :class:`ErrorModel`, :func:`optimal_eps`, :func:`best_error`: the textbook model
  ``truncation + round-off`` and the ``eps`` that balances the two.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from helpers._validation import _describe, as_float_array, check_choice
from helpers._withheld import load

one_sided_difference, centered_difference = load(
    "numerical",
    ["one_sided_difference", "centered_difference"],
    "notebook 3 (numerical approximation), exercises 1 and 2",
)
(fit_order,) = load("numerical", ["fit_order"], "notebook 3 (numerical approximation), exercise 3 (error_order)")

#: Method names understood by the error model, with the order of their truncation error.
ORDERS = {"one_sided": 1, "centered": 2}

__all__ = [
    "ORDERS",
    "EpsSweep",
    "ErrorModel",
    "best_error",
    "centered_difference",
    "eps_sweep",
    "evaluated_in",
    "fit_order",
    "one_sided_difference",
    "optimal_eps",
]


# --------------------------------------------------------------------------- precision
_PRECISIONS = {"float64": np.float64, "float32": np.float32}


def _dtype_name(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in _PRECISIONS:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    return name


def evaluated_in(f, dtype=np.float32):
    """Wrap ``f`` so that it is evaluated in ``dtype`` (as a float32 network would be).

    The wrapper rounds ``theta`` to ``dtype`` before calling ``f`` (so numpy computes
    ``f`` in that precision) and rounds the result to ``dtype``. The difference quotient
    built on top may stay in float64: the cancellation in ``f(theta + eps) - f(theta)``,
    which is what limits the accuracy, already happened in ``dtype``.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    dtype : {numpy.float32, numpy.float64}

    Returns
    -------
    callable
        ``theta -> float`` (the rounded value, as a Python float).
    """
    if not callable(f):
        raise TypeError(f"f must be a function of theta (callable), got {_describe(f)}")
    kind = _PRECISIONS[_dtype_name(dtype)]

    def f_in_dtype(theta):
        arr = np.asarray(theta, dtype=kind)
        # a 0-d array would turn numpy scalars into arrays; give f the scalar it expects
        out = f(arr[()] if arr.ndim == 0 else arr)
        return float(np.asarray(out, dtype=kind).reshape(()))

    f_in_dtype.__name__ = f"{getattr(f, '__name__', 'f')}_in_{np.dtype(kind).name}"
    return f_in_dtype


# --------------------------------------------------------------------------- sweep
@dataclass(frozen=True)
class EpsSweep:
    """Errors of several difference methods over a grid of ``eps``.

    Attributes
    ----------
    eps : ndarray of shape (n,)
        The steps, in the order given.
    errors : dict of str to ndarray of shape (n,)
        ``max |approx - g(theta)|`` over the coordinates of ``theta`` (for a scalar
        ``theta``, the absolute error), one array per method.
    dtype : str
        Precision in which ``f`` was evaluated ("float64" or "float32").
    """

    eps: np.ndarray
    errors: dict = field(default_factory=dict)
    dtype: str = "float64"

    @property
    def methods(self) -> tuple:
        """Method names, in the order given."""
        return tuple(self.errors)

    def order(self, method: str, *, eps_min: float | None = None, eps_max: float | None = None) -> float:
        """Fitted order of ``method``'s error over its truncation regime (see :func:`fit_order`)."""
        check_choice(method, "method", self.methods)
        return fit_order(self.eps, self.errors[method], eps_min=eps_min, eps_max=eps_max)

    def __repr__(self) -> str:
        head = (
            f"EpsSweep({self.eps.size} eps from {self.eps.max():.0e} to {self.eps.min():.0e}, "
            f"f in {self.dtype}; errors of {', '.join(self.methods)})"
        )
        rows = ["eps".rjust(9) + "".join(m.rjust(12) for m in self.methods)]
        for k, e in enumerate(self.eps):
            rows.append(f"{e:9.1e}" + "".join(f"{self.errors[m][k]:12.2e}" for m in self.methods))
        return head + "\n" + "\n".join(rows)

    def _repr_html_(self) -> str:
        cols = "".join(f"<th>error ({html.escape(m)})</th>" for m in self.methods)
        body = "".join(
            f"<tr><td>{e:.1e}</td>" + "".join(f"<td>{self.errors[m][k]:.2e}</td>" for m in self.methods) + "</tr>"
            for k, e in enumerate(self.eps)
        )
        caption = f"|approx - g(theta)|, f evaluated in {self.dtype}"
        return f"<table><caption>{caption}</caption><tr><th>eps</th>{cols}</tr>{body}</table>"


def _check_eps_values(eps_values, name: str = "eps_values") -> np.ndarray:
    eps = as_float_array(eps_values, name, ndim=1)
    if eps.size == 0:
        raise ValueError(f"{name} is empty; give at least one step")
    if (eps <= 0).any():
        k = int(np.argmax(eps <= 0))
        raise ValueError(f"{name} must all be > 0, got {eps[k]!r} at position {k}")
    return eps


def eps_sweep(f, g, theta, eps_values, methods=None, *, dtype=np.float64) -> EpsSweep:
    """Measure ``max |difference(f, theta, eps) - g(theta)|`` for every ``eps`` and method.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    g : callable
        The exact derivative (gradient): ``g(theta)`` has ``theta``'s shape.
    theta : float or array_like
        Point of evaluation.
    eps_values : array_like of shape (n,)
        Steps, all > 0.
    methods : dict of str to callable, optional
        ``{"name": difference}`` where ``difference(f, theta, eps)`` approximates
        ``g(theta)`` (pass your own functions). Default: :data:`one_sided_difference`
        and :data:`centered_difference` as ``"one_sided"`` and ``"centered"``.
    dtype : {numpy.float64, numpy.float32}, default float64
        Precision in which ``f`` is evaluated (see :func:`evaluated_in`).

    Returns
    -------
    EpsSweep
    """
    if not callable(f):
        raise TypeError(f"f must be a function of theta (callable), got {_describe(f)}")
    if not callable(g):
        raise TypeError(f"g must be the derivative as a function of theta (callable), got {_describe(g)}")
    theta = as_float_array(theta, "theta")
    eps = _check_eps_values(eps_values)
    if methods is None:
        methods = {"one_sided": one_sided_difference, "centered": centered_difference}
    if not isinstance(methods, dict) or not methods:
        raise TypeError(f"methods must be a non-empty dict {{name: difference_function}}, got {_describe(methods)}")
    for name, method in methods.items():
        if not callable(method):
            raise TypeError(f"methods[{name!r}] must be a function difference(f, theta, eps), got {_describe(method)}")
    exact = as_float_array(g(_as_theta(theta)), "g(theta)")
    if exact.shape != theta.shape:
        raise ValueError(f"g(theta) has shape {exact.shape}, expected theta's shape {theta.shape}")
    f_eval = evaluated_in(f, dtype) if _dtype_name(dtype) != "float64" else f

    errors = {}
    for name, method in methods.items():
        errs = np.empty(eps.size)
        for k, e in enumerate(eps):
            # a fresh copy per call: a method that modifies theta cannot spoil the next eps
            approx = as_float_array(method(f_eval, _as_theta(theta), float(e)), f"{name}(f, theta, eps={e:.1e})")
            if approx.shape != theta.shape:
                raise ValueError(
                    f"{name}(f, theta, eps={e:.1e}) has shape {approx.shape}, expected theta's shape {theta.shape}"
                )
            errs[k] = np.max(np.abs(approx - exact)) if approx.size else 0.0
        errors[name] = errs
    return EpsSweep(eps, errors, _dtype_name(dtype))


def _as_theta(theta: np.ndarray):
    """A float for a scalar theta (as the lecture writes it), else a fresh copy."""
    return float(theta) if theta.ndim == 0 else theta.copy()


# --------------------------------------------------------------------------- theory
@dataclass(frozen=True)
class ErrorModel:
    """Textbook error model ``truncation(eps) + roundoff(eps)`` of a finite difference.

    With ``u = np.finfo(dtype).eps`` (each value of ``f`` is off by about ``u |f|``):

    * one-sided: ``|f''| eps / 2 + 2 u |f| / eps``, optimum ``eps* = 2 sqrt(u |f| / |f''|)``
      (about ``sqrt(u)``), best error ``2 sqrt(u |f| |f''|)``;
    * centered: ``|f'''| eps**2 / 6 + u |f| / eps``, optimum
      ``eps* = (3 u |f| / |f'''|)**(1/3)`` (about ``u**(1/3)``), best error ``1.5 u |f| / eps*``.

    It is a bound on the typical size, not a prediction of each measured error:
    round-off errors scatter below it.

    Parameters
    ----------
    method : {"one_sided", "centered"}
    f_scale : float, default 1
        ``|f(theta)|``, the size of the values whose difference cancels.
    deriv_scale : float, default 1
        ``|f''(theta)|`` (one-sided) or ``|f'''(theta)|`` (centered).
    dtype : {numpy.float64, numpy.float32}, default float64
    """

    method: str
    f_scale: float = 1.0
    deriv_scale: float = 1.0
    dtype: str = "float64"

    def __post_init__(self):
        check_choice(self.method, "method", tuple(ORDERS))
        for name in ("f_scale", "deriv_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
                raise ValueError(
                    f"{name} must be a finite number > 0 (with 0 there is no trade-off to balance), got {value!r}"
                )
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))

    @property
    def u(self) -> float:
        """Machine epsilon of ``dtype``."""
        return float(np.finfo(self.dtype).eps)

    @property
    def order(self) -> int:
        """Order of the truncation error (1 one-sided, 2 centered)."""
        return ORDERS[self.method]

    def truncation(self, eps):
        """Truncation error ``C eps**order`` (Taylor remainder), same shape as ``eps``."""
        eps = np.asarray(eps, dtype=np.float64)
        c = self.deriv_scale / (2.0 if self.method == "one_sided" else 6.0)
        return c * eps**self.order

    def roundoff(self, eps):
        """Round-off error ``k u |f| / eps`` (k = 2 one-sided, 1 centered), same shape as ``eps``."""
        eps = np.asarray(eps, dtype=np.float64)
        k = 2.0 if self.method == "one_sided" else 1.0
        return k * self.u * self.f_scale / eps

    def total(self, eps):
        """``truncation(eps) + roundoff(eps)``."""
        return self.truncation(eps) + self.roundoff(eps)

    @property
    def optimal_eps(self) -> float:
        """The ``eps`` minimizing :meth:`total`."""
        if self.method == "one_sided":
            return 2.0 * math.sqrt(self.u * self.f_scale / self.deriv_scale)
        return (3.0 * self.u * self.f_scale / self.deriv_scale) ** (1.0 / 3.0)

    @property
    def best_error(self) -> float:
        """:meth:`total` at :attr:`optimal_eps`."""
        return float(self.total(self.optimal_eps))


def optimal_eps(method: str = "centered", *, f_scale=1.0, deriv_scale=1.0, dtype=np.float64) -> float:
    """The ``eps`` that balances truncation and round-off (see :class:`ErrorModel`)."""
    return ErrorModel(method, f_scale, deriv_scale, dtype).optimal_eps


def best_error(method: str = "centered", *, f_scale=1.0, deriv_scale=1.0, dtype=np.float64) -> float:
    """The smallest error the model allows, reached at :func:`optimal_eps`."""
    return ErrorModel(method, f_scale, deriv_scale, dtype).best_error
