"""Input validation shared by every public function of :mod:`helpers`.

Each check raises ``TypeError`` or ``ValueError`` naming the argument, what was given and
what was expected, so a student never meets a bare numpy broadcasting error or a silent
NaN. Integer and boolean-free numeric input is accepted and converted to float64.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "as_finite_scalar",
    "as_float_array",
    "as_float_matrix",
    "check_choice",
    "check_count",
    "check_eps",
    "check_finite",
    "check_layer_dims",
    "check_nonnegative_float",
    "check_params",
    "check_probability",
    "param_names",
]


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def as_float_array(value, name: str, *, ndim: int | None = None, allow_nonfinite=False):
    """Convert ``value`` to a float64 ndarray, or raise a readable error.

    Parameters
    ----------
    value : array_like
        Numeric data (int, float; not bool, not complex, not object).
    name : str
        The argument's name, used in error messages.
    ndim : int, optional
        Required number of dimensions.
    allow_nonfinite : bool, default False
        When False, NaN or inf anywhere raises ``ValueError`` naming its position.

    Returns
    -------
    ndarray of dtype float64
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a numeric array, got {_describe(value)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array; converting it failed: {exc}") from exc
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must hold real numbers (int or float), got dtype {arr.dtype}"
        )
    arr = np.array(arr, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array, got shape {arr.shape} ({arr.ndim}-D)"
        )
    if not allow_nonfinite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str, *, axis_names=("row", "column")) -> None:
    """Raise ``ValueError`` naming the first non-finite entry of ``arr``."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(
            f"{axis_names[k] if k < len(axis_names) else 'axis ' + str(k)} {i}"
            for k, i in enumerate(idx)
        )
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf); "
            f"the first is {arr[idx]} at {where or 'the scalar'}"
        )


def as_float_matrix(X, name: str = "X", *, n_rows: int | None = None, min_cols: int = 1):
    """Validate data laid out as the lecture does: shape ``(n_x, m)``, one example per column.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    name : str
    n_rows : int, optional
        Required ``n_x`` (for example the number of features seen at fit time).
    min_cols : int, default 1
        Minimum number of examples ``m``.

    Returns
    -------
    ndarray of shape (n_x, m), float64
    """
    arr = as_float_array(X, name, allow_nonfinite=True)
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = (
                f"; a 1-D array of length {arr.shape[0]} is ambiguous: use "
                f"X.reshape(1, -1) for one feature or X.reshape(-1, 1) for one example"
            )
        raise ValueError(
            f"{name} must have shape (n_x, m) (features x examples), got shape {arr.shape}{hint}"
        )
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} feature(s) (rows) but {n_rows} were expected "
            f"(shape {arr.shape}, expected ({n_rows}, m)); remember the layout is (n_x, m)"
        )
    if arr.shape[1] < min_cols:
        raise ValueError(f"{name} needs at least {min_cols} example(s) (columns), got shape {arr.shape}")
    check_finite(arr, name, axis_names=("feature (row)", "example (column)"))
    return arr


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming the valid ones."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"unknown {name} {value!r}; valid choices are: {', '.join(map(repr, choices))}"
        )
    return value


def check_eps(eps, name: str = "eps") -> float:
    """``eps`` must be a finite real number > 0."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {_describe(eps)}")
    eps = float(eps)
    if not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {eps!r}")
    return eps


def check_nonnegative_float(value, name: str) -> float:
    """A finite real number >= 0 (for example ``lambd``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def check_count(value, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (a size, a number of iterations or directions); bool is not one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_probability(value, name: str = "keep_prob") -> float:
    """A probability in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1], got {_describe(value)}")
    value = float(value)
    if not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return value


def check_layer_dims(layer_dims) -> list[int]:
    """``layer_dims`` = [n_x, n[1], ..., n[L]]: at least two positive integers."""
    if isinstance(layer_dims, (str, bytes)) or not isinstance(layer_dims, (Sequence, np.ndarray)):
        raise TypeError(
            f"layer_dims must be a list of layer sizes like [n_x, n1, ..., nL], "
            f"got {_describe(layer_dims)}"
        )
    dims = list(layer_dims)
    if len(dims) < 2:
        raise ValueError(
            f"layer_dims needs at least two entries (input size and one layer), got {dims}"
        )
    out = []
    for i, n in enumerate(dims):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
            raise ValueError(
                f"layer_dims[{i}] must be a positive integer, got {n!r} (layer_dims={dims})"
            )
        out.append(int(n))
    return out


def param_names(L: int, prefix: str = "") -> list[str]:
    """The lecture's order: ``W1, b1, W2, b2, ..., WL, bL`` (with ``prefix`` "d" for grads)."""
    names = []
    for l in range(1, L + 1):
        names += [f"{prefix}W{l}", f"{prefix}b{l}"]
    return names


def check_params(params, name: str = "params") -> int:
    """Check a parameter dict ``{"W1": (n1, n0), "b1": (n1, 1), ...}`` and return ``L``.

    The keys must be exactly ``W1, b1, ..., WL, bL`` and consecutive layers must chain
    (``W[l]`` has ``n[l-1]`` columns, ``b[l]`` has shape ``(n[l], 1)``).
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"{name} must be a dict like {{'W1': ..., 'b1': ...}}, got {_describe(params)}")
    L = 0
    while f"W{L + 1}" in params:
        L += 1
    if L == 0:
        raise ValueError(f"{name} has no 'W1'; keys given: {sorted(params)}")
    expected = param_names(L)
    missing = [k for k in expected if k not in params]
    extra = [k for k in params if k not in expected]
    if missing or extra:
        raise ValueError(
            f"{name} keys must be W1, b1, ..., W{L}, b{L}; missing {missing}, unexpected {extra}"
        )
    n_prev = None
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        for key, arr in ((f"W{l}", W), (f"b{l}", b)):
            if not isinstance(arr, np.ndarray) or arr.ndim != 2:
                raise ValueError(f"{name}['{key}'] must be a 2-D ndarray, got {_describe(arr)}")
        if n_prev is not None and W.shape[1] != n_prev:
            raise ValueError(
                f"{name}['W{l}'] has shape {W.shape} but W{l - 1} has {n_prev} rows: "
                f"W[l] must have shape (n[l], n[l-1])"
            )
        if b.shape != (W.shape[0], 1):
            raise ValueError(
                f"{name}['b{l}'] has shape {b.shape}, expected {(W.shape[0], 1)} (n[l], 1)"
            )
        n_prev = W.shape[0]
    return L


def as_finite_scalar(value, fn_name: str, where) -> float:
    """What a cost or test function returned, as a float, or an error saying where it went wrong.

    Parameters
    ----------
    value : object
        The function's return value: a real number or a size-1 real array.
    fn_name : str
        The function's name in messages (``"f"``, ``"cost_fn"``).
    where : str or callable() -> str
        Which evaluation this was (``"theta + eps at coordinate (1,)"``); a callable is only
        called when an error is raised, so the hot loop of a gradient check pays nothing.

    Returns
    -------
    float
    """
    if type(value) is float and value - value == 0.0:  # the common case: finite float
        return value
    if callable(where):
        where = where()
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise TypeError(f"{fn_name} must return a real number, got {_describe(value)} at {where}")
    if isinstance(value, numbers.Real):
        result = float(value)
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise TypeError(f"{fn_name} must return a real number, got {_describe(value)} at {where}") from exc
        # numpy would read the string "0.5" as a number; a cost that is a string is a bug
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{fn_name} must return a real number, got dtype {arr.dtype} at {where}")
        if arr.size != 1:
            raise ValueError(f"{fn_name} must return a scalar (the cost), got an array of shape {arr.shape} at {where}")
        result = float(arr.reshape(()).astype(np.float64))
    if not math.isfinite(result):
        raise ValueError(f"{fn_name} returned {result} (not finite) at {where}; a finite value is needed")
    return result
