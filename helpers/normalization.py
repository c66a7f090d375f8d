"""Normalizing inputs (lecture 1): ``x := (x - mu) / sigma`` with training-set statistics.

``fit_normalization`` and ``normalize`` are reference implementations of graded
exercises; the student edition withholds them (see :mod:`helpers._withheld`), and then
:class:`Normalizer`, which is built on them, raises the same ``WithheldError``.
"""

from __future__ import annotations

import numpy as np

from helpers._validation import as_float_matrix
from helpers._withheld import load

fit_normalization, normalize, safe_sigma = load(
    "normalization",
    ["fit_normalization", "normalize", "safe_sigma"],
    "notebook 1 (normalizing inputs), exercises 1-2",
)

__all__ = ["Normalizer", "NotFittedError", "fit_normalization", "normalize"]


class NotFittedError(ValueError):
    """A :class:`Normalizer` was used before :meth:`Normalizer.fit`."""


def _short(values: np.ndarray) -> str:
    flat = values.ravel()
    shown = ", ".join(f"{v:.4g}" for v in flat[:4])
    return f"[{shown}{', ...' if flat.size > 4 else ''}]"


class Normalizer:
    """Fit ``mu``, ``sigma2`` on a training set, then normalize any set with them.

    Attributes
    ----------
    mu : ndarray of shape (n_x, 1) or None
        Training means (``None`` before :meth:`fit`).
    sigma2 : ndarray of shape (n_x, 1) or None
        Training variances (biased, 1/m; 0 for a constant feature).

    Examples
    --------
    >>> norm = Normalizer().fit(X_train)          # doctest: +SKIP
    >>> X_test_n = norm.transform(X_test)         # the training mu, sigma2  # doctest: +SKIP
    """

    def __init__(self):
        self.mu = None
        self.sigma2 = None

    @property
    def n_x(self) -> int | None:
        """Number of features seen by :meth:`fit` (``None`` before)."""
        return None if self.mu is None else int(self.mu.shape[0])

    def _require_fit(self, method: str) -> None:
        if self.mu is None:
            raise NotFittedError(
                f"Normalizer.{method} needs mu and sigma2: call fit(X_train) first "
                f"(or fit_transform(X_train))"
            )

    def fit(self, X) -> Normalizer:
        """Compute ``mu`` and ``sigma2`` from ``X`` of shape (n_x, m); returns ``self``."""
        self.mu, self.sigma2 = fit_normalization(X)
        return self

    def transform(self, X) -> np.ndarray:
        """Normalize ``X`` of shape (n_x, m) with the fitted statistics; shape (n_x, m)."""
        self._require_fit("transform")
        return normalize(X, self.mu, self.sigma2)

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``: the normalized training set, shape (n_x, m)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X_norm) -> np.ndarray:
        """Undo :meth:`transform`: ``X_norm * sigma + mu``, shape (n_x, m)."""
        self._require_fit("inverse_transform")
        X_norm = as_float_matrix(X_norm, "X_norm", n_rows=self.n_x)
        return X_norm * safe_sigma(self.sigma2) + self.mu

    def __repr__(self) -> str:
        if self.mu is None:
            return "Normalizer(not fitted)"
        return f"Normalizer(n_x={self.n_x}, mu={_short(self.mu)}, sigma2={_short(self.sigma2)})"
