"""Linear regression with batch gradient descent: the "why normalize" demo of lecture 1.

Model and cost, with ``X`` of shape ``(n_x, m)``, ``y`` of shape ``(1, m)``, ``w`` of
shape ``(n_x, 1)`` and a scalar ``b``::

    y_hat  = w^T X + b
    J(w,b) = (1/m) sum_i L(y_hat^(i), y^(i)),   L = (1/2) (y_hat - y)^2

``J`` is quadratic: its Hessian ``H = (1/m) A A^T`` with ``A = [X; 1]`` does not depend on
``w``, ``b`` or ``y``, and its eigenvalues decide everything gradient descent does: the
stable learning rates (``< 2 / lambda_max``) and how slowly the flattest direction
converges (about ``lambda_max / lambda_min`` iterations, the condition number).

``hessian`` and ``max_stable_learning_rate`` are a graded exercise (notebook 1, exercise 3)
and are withheld in the student edition; everything else here is public. No public function
returns ``H`` or ``lambda_max``: :func:`condition_number` reports only their ratio, from the
singular values of ``A / sqrt(m)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from helpers._validation import as_float_array, as_float_matrix, check_count, check_eps
from helpers._withheld import load

__all__ = [
    "Convergence",
    "GradientDescentPath",
    "condition_number",
    "cost",
    "cost_grid",
    "gradient_descent",
    "gradients",
    "hessian",
    "iterations_to_reach",
    "least_squares",
    "max_stable_learning_rate",
    "predict",
]


# --------------------------------------------------------------------------- validation
def _check_y(y, m: int) -> np.ndarray:
    y = as_float_array(y, "y")
    if y.ndim == 1 and y.shape[0] == m:
        raise ValueError(f"y must have shape (1, {m}), got shape {y.shape}: use y.reshape(1, -1)")
    if y.shape != (1, m):
        raise ValueError(f"y must have shape (1, m) = (1, {m}) to match X, got shape {y.shape}")
    return y


def _check_w(w, n_x: int) -> np.ndarray:
    w = as_float_array(w, "w")
    if w.shape != (n_x, 1):
        hint = ": use w.reshape(-1, 1)" if w.shape == (n_x,) else ""
        raise ValueError(f"w must have shape (n_x, 1) = ({n_x}, 1), got shape {w.shape}{hint}")
    return w


def _check_b(b) -> float:
    if isinstance(b, bool) or not isinstance(b, (numbers.Real, np.ndarray)):
        raise TypeError(f"b must be a real number, got {type(b).__name__} {b!r}"[:120])
    arr = as_float_array(b, "b")
    if arr.size != 1:
        raise ValueError(f"b must be a single number, got shape {arr.shape}")
    return float(arr.reshape(()))


def _data(X, y):
    X = as_float_matrix(X, "X")
    return X, _check_y(y, X.shape[1])


# --------------------------------------------------------------------------- cost and derivatives
def predict(X, w, b=0.0) -> np.ndarray:
    """``y_hat = w^T X + b``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    w : array_like of shape (n_x, 1)
    b : float

    Returns
    -------
    ndarray of shape (1, m)
    """
    X = as_float_matrix(X, "X")
    return _check_w(w, X.shape[0]).T @ X + _check_b(b)


def cost(X, y, w, b=0.0) -> float:
    """``J(w, b) = 1/(2m) sum_i (y_hat^(i) - y^(i))^2``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)
    w : array_like of shape (n_x, 1)
    b : float

    Returns
    -------
    float
    """
    X, y = _data(X, y)
    residual = predict(X, w, b) - y
    return float(np.sum(residual * residual) / (2 * X.shape[1]))


def gradients(X, y, w, b=0.0):
    """Gradient of :func:`cost`: ``dw = (1/m) X r^T``, ``db = (1/m) sum r`` with ``r = y_hat - y``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)
    w : array_like of shape (n_x, 1)
    b : float

    Returns
    -------
    dw : ndarray of shape (n_x, 1)
    db : float
    """
    X, y = _data(X, y)
    m = X.shape[1]
    residual = predict(X, w, b) - y
    return X @ residual.T / m, float(np.sum(residual) / m)


def condition_number(X) -> float:
    """``lambda_max / lambda_min`` of the Hessian ``H = (1/m) A A^T``: how elongated the cost bowl is.

    About 1 for a round bowl. Gradient descent at a stable learning rate needs on the order
    of this many iterations to converge along the flattest direction.

    Parameters
    ----------
    X : array_like of shape (n_x, m)

    Returns
    -------
    float
        ``inf`` when the Hessian is singular to working precision (a constant feature, or
        fewer examples than parameters): the bowl is then flat in some direction.
    """
    X = as_float_matrix(X, "X")
    m = X.shape[1]
    A = np.vstack([X, np.ones((1, m))]) / math.sqrt(m)
    # the eigenvalues of H = A A^T are the squared singular values of A (only their ratio is
    # returned); with fewer examples than parameters some are missing, i.e. 0
    s = np.linalg.svd(A, compute_uv=False)
    if s.size < A.shape[0]:
        return math.inf
    lambda_min, lambda_max = float(s[-1]) ** 2, float(s[0]) ** 2
    # eigenvalues below about n * eps * lambda_max are indistinguishable from 0
    if lambda_min <= A.shape[0] * np.finfo(np.float64).eps * lambda_max:
        return math.inf
    return lambda_max / lambda_min


def least_squares(X, y):
    """The minimizer ``(w*, b*)`` of :func:`cost` (the target of gradient descent).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)

    Returns
    -------
    w : ndarray of shape (n_x, 1)
    b : float
        The minimum-norm solution when the minimizer is not unique.
    """
    X, y = _data(X, y)
    A = np.vstack([X, np.ones((1, X.shape[1]))])
    theta = np.linalg.lstsq(A.T, y.ravel(), rcond=None)[0]
    return theta[:-1].reshape(-1, 1), float(theta[-1])


hessian, max_stable_learning_rate = load(
    "linear_regression", ["hessian", "max_stable_learning_rate"], "notebook 1 (normalizing inputs), exercise 3"
)


# --------------------------------------------------------------------------- gradient descent
def _start(X, w, b):
    w = np.zeros((X.shape[0], 1)) if w is None else _check_w(w, X.shape[0]).copy()
    return w, _check_b(b)


def _descend(X, y, learning_rate: float, w: np.ndarray, b: float) -> Iterator[tuple[np.ndarray, float, float]]:
    """Yield ``(w, b, J)`` before the first step and after every step; stop when J is not finite."""
    m = X.shape[1]
    while True:
        # a diverging run overflows; that is its expected end, reported, not warned about
        with np.errstate(over="ignore", invalid="ignore"):
            residual = w.T @ X + b - y
            J = float(np.sum(residual * residual) / (2 * m))
        yield w, b, J
        if not math.isfinite(J):
            return
        with np.errstate(over="ignore", invalid="ignore"):
            w = w - learning_rate * (X @ residual.T / m)
            b = b - learning_rate * float(np.sum(residual) / m)


@dataclass
class GradientDescentPath:
    """Iterates of batch gradient descent on :func:`cost`.

    Attributes
    ----------
    w : ndarray of shape (k + 1, n_x)
        ``w`` before the first step (row 0) and after each of the ``k`` steps.
    b : ndarray of shape (k + 1,)
    costs : ndarray of shape (k + 1,)
        ``J(w, b)`` at each iterate.
    learning_rate : float
    diverged : bool
        True when the cost overflowed; the path then stops at the first non-finite cost.
    """

    w: np.ndarray
    b: np.ndarray
    costs: np.ndarray
    learning_rate: float
    diverged: bool = False

    @property
    def iterations(self) -> int:
        """Number of steps taken."""
        return len(self.costs) - 1

    def __repr__(self) -> str:
        end = "diverged" if self.diverged else f"J = {self.costs[-1]:.6g}"
        return (
            f"GradientDescentPath(learning_rate={self.learning_rate:.4g}, iterations={self.iterations}, "
            f"J: {self.costs[0]:.6g} -> {end})"
        )


def gradient_descent(X, y, *, learning_rate: float, num_iterations: int, w=None, b=0.0) -> GradientDescentPath:
    """Batch gradient descent ``w := w - learning_rate * dw``, ``b := b - learning_rate * db``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)
    learning_rate : float > 0
    num_iterations : int >= 0
    w : array_like of shape (n_x, 1), optional
        Start (default zeros).
    b : float, default 0

    Returns
    -------
    GradientDescentPath
    """
    X, y = _data(X, y)
    learning_rate = check_eps(learning_rate, "learning_rate")
    num_iterations = check_count(num_iterations, "num_iterations", 0)
    ws, bs, costs = [], [], []
    for w_k, b_k, J in _descend(X, y, learning_rate, *_start(X, w, b)):
        ws.append(w_k[:, 0])
        bs.append(b_k)
        costs.append(J)
        if len(costs) > num_iterations:
            break
    return GradientDescentPath(
        np.array(ws), np.array(bs), np.array(costs), learning_rate, diverged=not math.isfinite(costs[-1])
    )


@dataclass(frozen=True)
class Convergence:
    """Outcome of :func:`iterations_to_reach`.

    Attributes
    ----------
    reached : bool
        Whether ``J <= target_cost`` happened within ``max_iterations``.
    iterations : int
        Steps taken (the first iterate with ``J <= target_cost`` when ``reached``).
    cost : float
        ``J`` at the last iterate.
    target_cost, learning_rate : float
    diverged : bool
    """

    reached: bool
    iterations: int
    cost: float
    target_cost: float
    learning_rate: float
    diverged: bool = False

    def __repr__(self) -> str:
        if self.reached:
            return (
                f"reached J <= {self.target_cost:.6g} after {self.iterations} iterations "
                f"(learning_rate={self.learning_rate:.4g})"
            )
        why = "diverged" if self.diverged else f"J = {self.cost:.6g}"
        return (
            f"did not reach J <= {self.target_cost:.6g} within {self.iterations} iterations ({why}; "
            f"learning_rate={self.learning_rate:.4g})"
        )


def iterations_to_reach(
    X, y, target_cost: float, *, learning_rate: float, max_iterations: int = 10_000, w=None, b=0.0
) -> Convergence:
    """Run gradient descent until ``J <= target_cost`` (or ``max_iterations`` steps).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)
    target_cost : float
        Stop at the first iterate whose cost is at most this.
    learning_rate : float > 0
    max_iterations : int >= 0, default 10000
    w : array_like of shape (n_x, 1), optional
        Start (default zeros).
    b : float, default 0

    Returns
    -------
    Convergence
    """
    X, y = _data(X, y)
    learning_rate = check_eps(learning_rate, "learning_rate")
    if isinstance(target_cost, bool) or not isinstance(target_cost, numbers.Real) or not math.isfinite(target_cost):
        raise TypeError(f"target_cost must be a finite real number, got {target_cost!r}")
    max_iterations = check_count(max_iterations, "max_iterations", 0)
    for k, (_, _, J) in enumerate(_descend(X, y, learning_rate, *_start(X, w, b))):
        if J <= target_cost or k == max_iterations or not math.isfinite(J):
            return Convergence(J <= target_cost, k, J, float(target_cost), learning_rate, not math.isfinite(J))
    raise AssertionError("unreachable: _descend only stops after a non-finite cost")


# --------------------------------------------------------------------------- contour plots
def cost_grid(X, y, w1_values, w2_values, *, b=0.0) -> np.ndarray:
    """``J(w, b)`` on a grid of ``(w1, w2)`` for two-feature data (``b`` held fixed).

    Parameters
    ----------
    X : array_like of shape (2, m)
    y : array_like of shape (1, m)
    w1_values : array_like of shape (n1,)
    w2_values : array_like of shape (n2,)
    b : float, default 0

    Returns
    -------
    ndarray of shape (n2, n1)
        ``J[i, j] = cost(X, y, [[w1_values[j]], [w2_values[i]]], b)``, the layout
        ``plt.contour(w1_values, w2_values, J)`` expects.
    """
    X, y = _data(X, y)
    if X.shape[0] != 2:
        raise ValueError(f"cost_grid draws J over (w1, w2): X must have n_x=2 features, got shape {X.shape}")
    w1 = as_float_array(w1_values, "w1_values", ndim=1)
    w2 = as_float_array(w2_values, "w2_values", ndim=1)
    b = _check_b(b)
    W1, W2 = np.meshgrid(w1, w2)
    # one residual per grid point and example: (n2, n1, m), the same J as cost() everywhere
    residual = W1[..., None] * X[0] + W2[..., None] * X[1] + b - y[0]
    return np.sum(residual * residual, axis=-1) / (2 * X.shape[1])
