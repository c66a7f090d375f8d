"""Reference implementation: weight initialization (lecture 2). Withheld from students."""

from __future__ import annotations

import math

import numpy as np

from helpers._validation import check_choice, check_layer_dims

METHODS = ("zeros", "random", "xavier", "glorot", "he")

#: The lecture's formula of each scaled method, as labelled in
#: :data:`helpers.checks.initialization.FORMULAS` (for the grader's messages).
METHOD_FORMULA = {
    "he": "sqrt(2 / n[l-1])",
    "xavier": "sqrt(1 / n[l-1])",
    "glorot": "sqrt(2 / (n[l-1] + n[l]))",
}


def init_std(method: str, n_prev: int, n_curr: int, *, scale: float | None = None) -> float:
    """Standard deviation of the entries of ``W[l]`` for an initialization ``method``.

    Parameters
    ----------
    method : {"zeros", "random", "xavier", "glorot", "he"}
        ``xavier``: sqrt(1 / n[l-1]) (tanh); ``glorot``: sqrt(2 / (n[l-1] + n[l]));
        ``he``: sqrt(2 / n[l-1]) (ReLU); ``random``: ``scale`` (default 1, plain randn);
        ``zeros``: 0.
    n_prev, n_curr : int
        ``n[l-1]`` (fan-in) and ``n[l]`` (fan-out).
    scale : float, optional
        Only for ``random``.

    Returns
    -------
    float
    """
    check_choice(method, "method", METHODS)
    n_prev, n_curr = check_layer_dims([n_prev, n_curr])
    if scale is not None and method != "random":
        raise ValueError(f"scale is only used with method='random', got method={method!r}")
    if method == "zeros":
        return 0.0
    if method == "random":
        s = 1.0 if scale is None else float(scale)
        if not math.isfinite(s) or s < 0:
            raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
        return s
    if method == "xavier":
        return math.sqrt(1.0 / n_prev)
    if method == "glorot":
        return math.sqrt(2.0 / (n_prev + n_curr))
    return math.sqrt(2.0 / n_prev)


def initialize_parameters(layer_dims, method: str = "he", *, seed=None, scale=None) -> dict:
    """Initialize ``W1, b1, ..., WL, bL`` for ``layer_dims = [n_x, n1, ..., nL]``.

    ``W[l] = randn(n[l], n[l-1]) * init_std(method, n[l-1], n[l])`` and ``b[l] = 0``.

    Parameters
    ----------
    layer_dims : list of int
        Sizes ``[n_x, n[1], ..., n[L]]``.
    method : {"zeros", "random", "xavier", "glorot", "he"}, default "he"
    seed : int or numpy.random.Generator, optional
        Seed (or generator) for reproducible draws.
    scale : float, optional
        Std of ``method="random"`` (default 1, i.e. plain randn).

    Returns
    -------
    dict
        ``W{l}``: ndarray of shape (n[l], n[l-1]); ``b{l}``: zeros of shape (n[l], 1).
    """
    dims = check_layer_dims(layer_dims)
    check_choice(method, "method", METHODS)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        std = init_std(method, dims[l - 1], dims[l], scale=scale)
        shape = (dims[l], dims[l - 1])
        params[f"W{l}"] = np.zeros(shape) if std == 0 else rng.standard_normal(shape) * std
        params[f"b{l}"] = np.zeros((dims[l], 1))
    return params


def activation_std_per_layer(X, params, g) -> np.ndarray:
    """Standard deviation of ``A[l] = g(W[l] A[l-1] + b[l])`` at every layer, ``A[0] = X``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    params : dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1), l = 1..L.
    g : callable
        Element-wise activation used in every layer (the last one included).

    Returns
    -------
    ndarray of shape (L,)
        ``np.std(A[l])`` over all units and examples (population std), l = 1..L.
    """
    A = np.asarray(X, dtype=np.float64)
    L = len(params) // 2
    stds = np.empty(L)
    for l in range(1, L + 1):
        A = np.asarray(g(params[f"W{l}"] @ A + params[f"b{l}"]), dtype=np.float64)
        stds[l - 1] = A.std()
    return stds
