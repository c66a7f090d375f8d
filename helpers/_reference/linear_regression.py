"""Reference implementation: the largest stable learning rate (lecture 1). Withheld from students."""

from __future__ import annotations

import numpy as np

__all__ = ["max_stable_learning_rate"]


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
    # imported here: helpers.linear_regression loads this module while it is being imported
    from helpers.linear_regression import hessian

    lambda_max = float(np.linalg.eigvalsh(hessian(X))[-1])
    return 2.0 / lambda_max
