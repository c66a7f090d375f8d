"""helpers.linear_regression: derivatives against finite differences and closed forms,
the stability limit 2 / lambda_max, and input validation."""

import math

import numpy as np
import pytest

from helpers import linear_regression as lr
from helpers._reference.linear_regression import hessian as reference_hessian


def _problem(seed=0, n_x=3, m=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m)) * np.array([[1.0], [3.0], [0.5]])[:n_x] + 1.0
    y = rng.standard_normal((1, m))
    w = rng.standard_normal((n_x, 1))
    return X, y, w, float(rng.standard_normal())


def test_cost_closed_form():
    X = np.array([[1.0, 2.0]])
    y = np.array([[1.0, 1.0]])
    # y_hat = 2 x + 1 = (3, 5); residuals (2, 4); J = (4 + 16) / (2 * 2)
    assert lr.cost(X, y, np.array([[2.0]]), 1.0) == 5.0


def test_gradients_match_central_differences():
    X, y, w, b = _problem()
    dw, db = lr.gradients(X, y, w, b)
    eps = 1e-6
    for j in range(w.shape[0]):
        e = np.zeros_like(w)
        e[j] = eps
        approx = (lr.cost(X, y, w + e, b) - lr.cost(X, y, w - e, b)) / (2 * eps)
        assert approx == pytest.approx(dw[j, 0], rel=1e-7, abs=1e-9)
    approx_b = (lr.cost(X, y, w, b + eps) - lr.cost(X, y, w, b - eps)) / (2 * eps)
    assert approx_b == pytest.approx(db, rel=1e-7, abs=1e-9)


def test_hessian_matches_differences_of_the_gradient():
    X, y, w, b = _problem(seed=1)

    def grad(theta):
        dw, db = lr.gradients(X, y, theta[:-1].reshape(-1, 1), theta[-1])
        return np.append(dw, db)

    theta = np.append(w, b)
    eps = 1e-4  # J is quadratic: central differences of its gradient are exact up to rounding
    H = reference_hessian(X)
    for j, e in enumerate(np.eye(theta.size)):
        column = (grad(theta + eps * e) - grad(theta - eps * e)) / (2 * eps)
        np.testing.assert_allclose(H[:, j], column, rtol=1e-7, atol=1e-9)


def test_hessian_closed_form_one_feature():
    H = reference_hessian(np.array([[1.0, 1.0, 3.0, 3.0]]))
    np.testing.assert_allclose(H, [[5.0, 2.0], [2.0, 1.0]])


def test_least_squares_zero_gradient_and_matches_normal_equations():
    X, y, _, _ = _problem(seed=2)
    w, b = lr.least_squares(X, y)
    dw, db = lr.gradients(X, y, w, b)
    assert np.abs(dw).max() < 1e-12 and abs(db) < 1e-12
    A = np.vstack([X, np.ones((1, X.shape[1]))])
    theta = np.linalg.solve(A @ A.T, A @ y.T)
    np.testing.assert_allclose(np.append(w, b), theta[:, 0], rtol=1e-10)


def test_max_stable_learning_rate_closed_forms():
    assert lr.max_stable_learning_rate(np.array([[-1.0, 1.0, -1.0, 1.0]])) == pytest.approx(2.0)
    assert lr.max_stable_learning_rate(np.array([[1.0, 1.0, 3.0, 3.0]])) == pytest.approx(6 - 4 * math.sqrt(2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_descent_converges_below_and_diverges_above_the_limit(seed):
    X, y, _, _ = _problem(seed=seed)
    limit = lr.max_stable_learning_rate(X)
    J_star = lr.cost(X, y, *lr.least_squares(X, y))
    below = lr.gradient_descent(X, y, learning_rate=0.98 * limit, num_iterations=3000)
    above = lr.gradient_descent(X, y, learning_rate=1.02 * limit, num_iterations=3000)
    assert below.costs[-1] - J_star < 1e-8 * (1 + J_star)
    assert not below.diverged
    assert above.costs[-1] > 1e6 * above.costs[0]


def test_gradient_descent_path_shapes_and_first_step():
    X, y, w, b = _problem(seed=3)
    path = lr.gradient_descent(X, y, learning_rate=0.01, num_iterations=5, w=w, b=b)
    assert path.w.shape == (6, 3) and path.b.shape == (6,) and path.costs.shape == (6,)
    dw, db = lr.gradients(X, y, w, b)
    np.testing.assert_allclose(path.w[1], (w - 0.01 * dw)[:, 0])
    assert path.b[1] == pytest.approx(b - 0.01 * db)
    assert path.costs[0] == pytest.approx(lr.cost(X, y, w, b))
    assert "iterations=5" in repr(path)


def test_divergence_is_reported_not_warned():
    X, y, _, _ = _problem(seed=4)
    path = lr.gradient_descent(X, y, learning_rate=1e3, num_iterations=10_000)
    assert path.diverged and not math.isfinite(path.costs[-1]) and path.iterations < 10_000
    assert "diverged" in repr(path)
    conv = lr.iterations_to_reach(X, y, 0.0, learning_rate=1e3, max_iterations=10_000)
    assert conv.diverged and not conv.reached


def test_iterations_to_reach_counts_the_first_iterate_below_target():
    X, y, _, _ = _problem(seed=5)
    path = lr.gradient_descent(X, y, learning_rate=0.05, num_iterations=400)
    target = float(path.costs[137])
    conv = lr.iterations_to_reach(X, y, target, learning_rate=0.05, max_iterations=400)
    assert conv.reached
    assert conv.iterations == int(np.argmax(path.costs <= target))
    assert "reached" in repr(conv)
    capped = lr.iterations_to_reach(X, y, -1.0, learning_rate=0.05, max_iterations=50)
    assert not capped.reached and capped.iterations == 50 and "did not reach" in repr(capped)


def test_condition_number_closed_form_and_singular():
    # H = [[5, 2], [2, 1]]: eigenvalues 3 +- 2 sqrt(2)
    kappa = (3 + 2 * math.sqrt(2)) / (3 - 2 * math.sqrt(2))
    assert lr.condition_number(np.array([[1.0, 1.0, 3.0, 3.0]])) == pytest.approx(kappa)
    assert lr.condition_number(np.full((1, 5), 2.0)) == math.inf  # a constant feature duplicates b


def test_cost_grid_matches_cost_pointwise():
    X, y, _, _ = _problem(seed=6, n_x=2)
    w1, w2 = np.linspace(-1, 1, 4), np.linspace(0, 2, 3)
    J = lr.cost_grid(X, y, w1, w2, b=0.3)
    assert J.shape == (3, 4)
    for i, v in enumerate(w2):
        for j, u in enumerate(w1):
            assert J[i, j] == pytest.approx(lr.cost(X, y, np.array([[u], [v]]), 0.3), rel=1e-12)


X23, Y13, W21 = np.ones((2, 3)), np.ones((1, 3)), np.ones((2, 1))


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: lr.cost(X23, np.ones(3), W21), ValueError, r"y\.reshape\(1, -1\)"),
        (lambda: lr.cost(X23, np.ones((1, 4)), W21), ValueError, r"y must have shape \(1, m\) = \(1, 3\)"),
        (lambda: lr.cost(X23, Y13, np.ones(2)), ValueError, r"w\.reshape\(-1, 1\)"),
        (lambda: lr.cost(X23, Y13, W21, "b"), TypeError, "b must be a real number"),
        (lambda: lr.cost(X23, Y13, W21, np.ones(2)), ValueError, "b must be a single"),
        (lambda: lr.gradient_descent(np.ones((1, 3)), np.ones((1, 3)), learning_rate=-1, num_iterations=3),
         ValueError, "learning_rate must be a finite number > 0"),
        (lambda: lr.gradient_descent(np.ones((1, 3)), np.ones((1, 3)), learning_rate=0.1, num_iterations=2.5),
         TypeError, "num_iterations must be an integer >= 0"),
        (lambda: lr.iterations_to_reach(np.ones((1, 3)), np.ones((1, 3)), float("nan"), learning_rate=0.1),
         TypeError, "target_cost must be a finite real number"),
        (lambda: lr.cost_grid(np.ones((3, 3)), np.ones((1, 3)), [0.0], [0.0]), ValueError, "n_x=2 features"),
        (lambda: lr.hessian(np.array([[np.nan, 1.0]])), ValueError, "X contains 1 non-finite"),
    ],
)
def test_bad_input_raises_named_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_no_public_function_returns_the_hessian_or_lambda_max():
    """Notebook 1, exercise 3 asks for 2 / lambda_max of H: no public helper may hand it over."""
    assert "hessian" in lr.__all__  # a withheld stand-in in the student edition
    public = {name for name in dir(lr) if not name.startswith("_")}
    assert lr.hessian.__module__ == "helpers._reference.linear_regression"
    assert lr.max_stable_learning_rate.__module__ == "helpers._reference.linear_regression"
    # the ratio is public; it does not give lambda_max (scaling X changes lambda_max, not only kappa)
    X = np.array([[1.0, 2.0, 4.0, 7.0]])
    assert lr.condition_number(X) == pytest.approx(np.linalg.cond(reference_hessian(X)), rel=1e-9)
    assert "condition_number" in public


def test_condition_number_matches_the_eigenvalues_of_the_hessian():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 40)) * np.array([[100.0], [1.0], [0.01]])
    eigenvalues = np.linalg.eigvalsh(reference_hessian(X))
    assert lr.condition_number(X) == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-8)
    assert lr.condition_number(np.ones((2, 5))) == math.inf
    assert lr.condition_number(rng.standard_normal((4, 3))) == math.inf
