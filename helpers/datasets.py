"""Seeded synthetic data sets, made with numpy (no downloads, no scikit-learn).

Every function returns ``X`` of shape ``(n_x, m)`` (one example per column) and, for
classification sets, ``Y`` of shape ``(1, m)`` with labels in {0, 1}.
"""

from __future__ import annotations

import numpy as np

from helpers._validation import check_count

__all__ = ["circles", "comparable_ranges", "moons", "train_test_split", "two_scales"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def two_scales(m: int = 200, *, seed=None, noise: float = 0.1):
    """Two features on very different scales, as on the slide: x1 in about 1..1000,
    x2 in about 0..1, and a regression target that depends on both.

    ``y = 0.004 * x1 + 3 * x2 + noise`` (both features matter about equally, so an
    elongated cost bowl is a property of the scales, not of the target).

    Parameters
    ----------
    m : int, default 200
        Number of examples.
    seed : int or numpy.random.Generator, optional
    noise : float, default 0.1
        Std of Gaussian noise on ``y``.

    Returns
    -------
    X : ndarray of shape (2, m)
    y : ndarray of shape (1, m)
    """
    m = check_count(m, "m")
    rng = _rng(seed)
    x1 = rng.uniform(1.0, 1000.0, size=m)
    x2 = rng.uniform(0.0, 1.0, size=m)
    X = np.vstack([x1, x2])
    y = 0.004 * x1 + 3.0 * x2 + noise * rng.standard_normal(m)
    return X, y.reshape(1, m)


def comparable_ranges(m: int = 200, *, seed=None):
    """Three features already on comparable ranges (0..1, -1..1, 1..2), as on the slide.

    Returns
    -------
    X : ndarray of shape (3, m)
    """
    m = check_count(m, "m")
    rng = _rng(seed)
    return np.vstack([rng.uniform(0, 1, m), rng.uniform(-1, 1, m), rng.uniform(1, 2, m)])


def moons(m: int = 300, *, noise: float = 0.15, seed=None):
    """Two interleaving half circles: a non-linearly separable 2-D classification set.

    Parameters
    ----------
    m : int, default 300
        Number of examples (split as evenly as possible between the classes).
    noise : float, default 0.15
        Std of Gaussian noise added to each coordinate.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    X : ndarray of shape (2, m)
    Y : ndarray of shape (1, m), labels 0/1
    """
    m = check_count(m, "m", 2)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = _rng(seed)
    m0 = m // 2
    m1 = m - m0
    t0 = np.linspace(0, np.pi, m0)
    t1 = np.linspace(0, np.pi, m1)
    upper = np.vstack([np.cos(t0), np.sin(t0)])
    lower = np.vstack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.hstack([upper, lower]) + noise * rng.standard_normal((2, m))
    Y = np.hstack([np.zeros(m0), np.ones(m1)]).reshape(1, m)
    order = rng.permutation(m)
    return X[:, order], Y[:, order]


def circles(m: int = 300, *, noise: float = 0.08, factor: float = 0.5, seed=None):
    """Two concentric circles (inner radius ``factor``): label 1 for the inner circle.

    Returns
    -------
    X : ndarray of shape (2, m)
    Y : ndarray of shape (1, m), labels 0/1
    """
    m = check_count(m, "m", 2)
    if not (0 < factor < 1):
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    rng = _rng(seed)
    m0 = m // 2
    m1 = m - m0
    t0 = np.linspace(0, 2 * np.pi, m0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, m1, endpoint=False)
    outer = np.vstack([np.cos(t0), np.sin(t0)])
    inner = factor * np.vstack([np.cos(t1), np.sin(t1)])
    X = np.hstack([outer, inner]) + noise * rng.standard_normal((2, m))
    Y = np.hstack([np.zeros(m0), np.ones(m1)]).reshape(1, m)
    order = rng.permutation(m)
    return X[:, order], Y[:, order]


def train_test_split(X, Y=None, *, test_fraction: float = 0.25, seed=None):
    """Split the columns (examples) of ``X`` (and ``Y``) at random.

    Returns
    -------
    X_train, X_test : ndarray of shape (n_x, m_train), (n_x, m_test)
    Y_train, Y_test : only when ``Y`` is given
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_x, m), got {X.shape}")
    if not (0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    m = X.shape[1]
    n_test = round(m * test_fraction)
    if n_test < 1 or n_test >= m:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty split for m={m}")
    order = _rng(seed).permutation(m)
    test, train = order[:n_test], order[n_test:]
    if Y is None:
        return X[:, train], X[:, test]
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[1] != m:
        raise ValueError(f"Y must have shape (k, {m}) to match X, got {Y.shape}")
    return X[:, train], X[:, test], Y[:, train], Y[:, test]
