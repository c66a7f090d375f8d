"""Reference implementation: normalizing inputs (lecture 1). Withheld from students.

On the slide, for a training set ``X`` of shape ``(n_x, m)``::

    mu     = (1/m) sum_i x^(i)                  -> shape (n_x, 1)
    x     := x - mu
    sigma2 = (1/m) sum_i x^(i) ** 2  (element-wise, after centring)
    x     /= sigma

and the *same* ``mu``, ``sigma2`` normalize the test set.
"""

from __future__ import annotations

import numpy as np

from helpers._validation import as_float_array, as_float_matrix

__all__ = ["fit_normalization", "normalize", "safe_sigma"]

_EPS = np.finfo(np.float64).eps


def fit_normalization(X):
    """Per-feature mean and (biased) variance of a training set.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Training examples, one per column. Integers are converted to float64.

    Returns
    -------
    mu : ndarray of shape (n_x, 1)
        Mean of each feature, ``(1/m) sum_i x^(i)``.
    sigma2 : ndarray of shape (n_x, 1)
        Variance of each feature after centring, ``(1/m) sum_i (x^(i) - mu) ** 2``
        (divided by ``m``, as on the slide, not ``m - 1``). Exactly 0 for a feature that
        is constant up to rounding (see below), which :func:`normalize` only centres.

    Raises
    ------
    TypeError
        ``X`` is not numeric.
    ValueError
        ``X`` is not 2-D, has no example, or holds NaN/inf (the feature is named).
    """
    X = as_float_matrix(X, "X")
    m = X.shape[1]
    mu = X.mean(axis=1, keepdims=True)
    X_centred = X - mu
    sigma2 = np.mean(X_centred * X_centred, axis=1, keepdims=True)
    # A constant feature v gives a computed mean off by at most about m * eps * |v| (any
    # summation order), so its "variance" is rounding noise of at most (m eps max|x|)^2.
    # Dividing by the square root of that noise would blow rounding errors up to unit
    # variance; below this bound the spread is not distinguishable from rounding, so the
    # feature is declared constant (the factor 2 covers the rounding of the squares and
    # their sum). scikit-learn's StandardScaler uses a bound of the same form.
    magnitude = np.max(np.abs(X), axis=1, keepdims=True)
    constant = sigma2 <= (2.0 * m * _EPS * magnitude) ** 2
    sigma2[constant] = 0.0
    return mu, sigma2


def _check_statistic(value, name: str) -> np.ndarray:
    arr = as_float_array(value, name, allow_nonfinite=True)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} has shape {arr.shape}, expected ({arr.shape[0]}, 1): a column per feature, "
            f"so that it broadcasts over the m columns of X (keepdims=True, or {name}.reshape(-1, 1))"
        )
    if arr.ndim != 2 or arr.shape[1] != 1:
        raise ValueError(f"{name} must have shape (n_x, 1), got shape {arr.shape}")
    bad = ~np.isfinite(arr[:, 0])
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite, got {arr[j, 0]} for feature {j}")
    return arr


def safe_sigma(sigma2):
    """The scale that :func:`normalize` divides by: ``sqrt(sigma2)``, or 1 where ``sigma2 == 0``.

    Parameters
    ----------
    sigma2 : array_like of shape (n_x, 1)
        Per-feature variances, finite and >= 0.

    Returns
    -------
    sigma : ndarray of shape (n_x, 1)
        Strictly positive. A zero-variance (constant) feature gets scale 1: it is only
        centred, never divided by 0.
    """
    sigma2 = _check_statistic(sigma2, "sigma2")
    negative = sigma2[:, 0] < 0
    if negative.any():
        j = int(np.argmax(negative))
        raise ValueError(f"sigma2 must be >= 0 (a variance), got {sigma2[j, 0]} for feature {j}")
    return np.where(sigma2 > 0, np.sqrt(sigma2), 1.0)


def normalize(X, mu, sigma2):
    """Apply the training statistics: ``(X - mu) / sigma``, with ``sigma = sqrt(sigma2)``.

    Use the ``mu``, ``sigma2`` of the *training* set for every set (train, dev, test).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Examples to normalize, one per column.
    mu : array_like of shape (n_x, 1)
        Feature means from :func:`fit_normalization`.
    sigma2 : array_like of shape (n_x, 1)
        Feature variances from :func:`fit_normalization`, finite and >= 0. A feature
        with ``sigma2 == 0`` is only centred.

    Returns
    -------
    ndarray of shape (n_x, m), float64

    Raises
    ------
    TypeError
        A non-numeric argument.
    ValueError
        Wrong shapes (``mu``/``sigma2`` of shape ``(n_x,)`` included, with a hint), an
        ``n_x`` different from the one of ``mu``/``sigma2``, NaN/inf, negative ``sigma2``.
    """
    X = as_float_matrix(X, "X")
    mu = _check_statistic(mu, "mu")
    sigma = safe_sigma(sigma2)
    if mu.shape != sigma.shape:
        raise ValueError(
            f"mu has shape {mu.shape} but sigma2 has shape {sigma.shape}; both must be (n_x, 1) "
            f"from the same training set"
        )
    n_x = mu.shape[0]
    if X.shape[0] != n_x:
        hint = " (is X transposed? the layout is (n_x, m))" if X.shape[1] == n_x else ""
        raise ValueError(
            f"X has n_x={X.shape[0]} features (rows) but mu and sigma2 were fitted on n_x={n_x} "
            f"features{hint}"
        )
    return (X - mu) / sigma
