"""Reference implementation: the largest stable learning rate (lecture 1). Withheld from students."""

from __future__ import annotations

import numpy as np

from helpers._validation import as_float_matrix

__all__ = ["hessian", "max_stable_learning_rate"]


def hessian(X) -> np.ndarray:
    """Hessian of the MSE cost with respect to ``(w_1, ..., w_{n_x}, b)``: ``(1/m) A A^T``, ``A = [X; 1]``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)

    Returns
    -------
    ndarray of shape (n_x + 1, n_x + 1)
        Symmetric positive semi-definite; the last row/column belongs to ``b``.
    """
    X = as_float_matrix(X, "X")
    m = X.shape[1]
    A = np.vstack([X, np.ones((1, m))])
    return A @ A.T / m


def max_stable_learning_rate(X) -> float:
    """Largest learning rate for which batch gradient descent on the MSE cost converges.

    ``J(w, b) = 1/(2m) ||w^T X + b - y||^2`` is quadratic with Hessian
    ``H = (1/m) A A^T``, ``A = [X; 1]`` (a row of ones for ``b``). Gradient descent moves
    the error along each eigenvector of ``H`` by the factor ``1 - learning_rate * lambda``
    per step, so it converges if and only if ``|1 - learning_rate * lambda| < 1`` for every
    ``lambda > 0``: ``learning_rate < 2 / lambda_max``. The bound does not depend on ``y``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)

    Returns
    -------
    float
        ``2 / lambda_max(H)`` (a supremum: at exactly this rate the stiffest direction
        oscillates without shrinking).
    """
    lambda_max = float(np.linalg.eigvalsh(hessian(X))[-1])
    return 2.0 / lambda_max
