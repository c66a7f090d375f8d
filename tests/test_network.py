"""helpers.network against independent oracles.

Gradients: centred finite differences of the cost (written here, not helpers.gradcheck).
Cost: the cross-entropy formula evaluated by hand. The slide's deep linear net: exact powers.
"""

import math

import numpy as np
import pytest

from helpers.datasets import moons
from helpers.network import (
    ACTIVATIONS,
    compute_cost,
    forward,
    layer_statistics,
    make_cost_fn,
    train,
)


def random_params(layer_dims, rng, std=0.5):
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])) * std
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)) * 0.1
    return params


def finite_difference_grads(cost_fn, params, eps=1e-6):
    """Centred differences, one parameter entry at a time (error O(eps^2))."""
    grads = {}
    for key, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            plus = cost_fn(params)
            value[idx] = old - eps
            minus = cost_fn(params)
            value[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads["d" + key] = g
    return grads


def relative_difference(a, b):
    a = np.concatenate([v.ravel() for v in a.values()])
    b = np.concatenate([v.ravel() for v in b.values()])
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


def data(n_x, m, rng):
    return rng.standard_normal((n_x, m)), (rng.random((1, m)) < 0.5).astype(float)


@pytest.mark.parametrize("layer_dims", [[3, 1], [3, 4, 1], [2, 5, 3, 1]])
@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_backward_matches_finite_differences(layer_dims, hidden, lambd):
    rng = np.random.default_rng(len(layer_dims) * 10 + ACTIVATIONS.index(hidden))
    X, Y = data(layer_dims[0], 7, rng)
    params = random_params(layer_dims, rng)
    cost_fn = make_cost_fn(X, Y, hidden=hidden, lambd=lambd)
    # a ReLU kink within eps of a Z entry would spoil the difference; random data makes it unlikely
    assert relative_difference(cost_fn.gradients(params), finite_difference_grads(cost_fn, params)) < 1e-7


def test_backward_matches_finite_differences_with_frozen_dropout_masks():
    rng = np.random.default_rng(5)
    X, Y = data(3, 9, rng)
    params = random_params([3, 6, 5, 1], rng)
    _, cache = forward(X, params, keep_prob=0.7, seed=1)
    assert any(D is not None and (D == 0).any() for D in cache.D), "the test needs dropped units"
    cost_fn = make_cost_fn(X, Y, keep_prob=0.7, masks=cache.D, lambd=0.3)
    assert relative_difference(cost_fn.gradients(params), finite_difference_grads(cost_fn, params)) < 1e-7


def test_keep_prob_one_draws_no_masks():
    rng = np.random.default_rng(6)
    X, _ = data(3, 4, rng)
    _, cache = forward(X, random_params([3, 4, 1], rng), keep_prob=1.0, seed=0)
    assert all(D is None for D in cache.D)


def deep_linear(L, w):
    params = {f"W{l}": w * np.eye(2) for l in range(1, L)}
    params.update({f"b{l}": np.zeros((2, 1)) for l in range(1, L)})
    params[f"W{L}"], params[f"b{L}"] = np.array([[0.5, 0.5]]), np.zeros((1, 1))
    return params


@pytest.mark.parametrize("w", [1.5, 0.5, 0.9])
@pytest.mark.parametrize("L", [2, 3, 10, 30, 50])
def test_slide_deep_linear_net_scales_as_w_to_the_L_minus_1(w, L):
    y_hat, _ = forward(np.ones((2, 1)), deep_linear(L, w), hidden="linear", output="linear")
    expected = w ** (L - 1)
    if w in (0.5,) or (w == 1.5 and L - 1 <= 33):  # 3^k / 2^k fits the 53-bit mantissa up to k = 33
        assert y_hat.item() == expected
    else:
        assert y_hat.item() == pytest.approx(expected, rel=1e-13)


def test_cost_against_the_formula():
    AL = np.array([[0.8, 0.3, 0.6]])
    Y = np.array([[1.0, 0.0, 1.0]])
    expected = -(math.log(0.8) + math.log(0.7) + math.log(0.6)) / 3
    assert compute_cost(AL, Y) == pytest.approx(expected, rel=1e-14)
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[5.0]]), "W2": np.array([[3.0]]), "b2": np.zeros((1, 1))}
    # lambd/(2m) sum ||W||_F^2 with sum = 1 + 4 + 9, biases excluded
    assert compute_cost(AL, Y, params, lambd=0.6) == pytest.approx(expected + 0.6 / 6 * 14, rel=1e-14)


def test_cost_from_logits_is_stable_when_sigmoid_saturates():
    ZL = np.array([[800.0, -800.0, 30.0]])
    Y = np.array([[0.0, 1.0, 1.0]])
    AL = 1 / (1 + np.exp(-np.clip(ZL, -700, 700)))
    # log(1 + e^800) = 800 + log1p(e^-800) = 800 in float64
    expected = (800.0 + 800.0 + math.log1p(math.exp(-30.0))) / 3
    assert compute_cost(AL, Y, ZL=ZL) == pytest.approx(expected, rel=1e-14)
    assert math.isinf(compute_cost(np.array([[1.0]]), np.array([[0.0]])))


def test_dropout_mask_statistics_and_inverted_scaling():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((20, 500))
    params = random_params([20, 200, 1], rng)
    keep_prob = 0.8
    _, no_drop = forward(X, params)
    _, cache = forward(X, params, keep_prob=keep_prob, seed=3)
    D = cache.D[1]
    N = D.size
    assert set(np.unique(D)) <= {0.0, 1.0}
    # binomial: mean of N Bernoulli(keep_prob) within 5 standard errors
    assert abs(D.mean() - keep_prob) < 5 * math.sqrt(keep_prob * (1 - keep_prob) / N)
    np.testing.assert_allclose(cache.A[1], no_drop.A[1] * D / keep_prob, rtol=1e-15)
    # inverted dropout keeps the expected activation: E[A D / p] = A
    ratio = cache.A[1].sum() / no_drop.A[1].sum()
    assert abs(ratio - 1) < 0.02
    # the output layer is never dropped
    assert cache.D[2] is None


def test_train_lowers_the_cost_and_does_not_modify_its_input():
    X, Y = moons(120, seed=0)
    rng = np.random.default_rng(0)
    params = {k: v * 0.5 for k, v in random_params([2, 8, 1], rng).items()}
    before = {k: v.copy() for k, v in params.items()}
    result = train(X, Y, params, learning_rate=0.5, num_iterations=300, record_every=50)
    assert result.costs[-1] < 0.8 * result.costs[0]
    assert list(result.iterations) == [0, 50, 100, 150, 200, 250, 300]
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    assert "TrainResult(iterations=300" in repr(result)


def test_layer_statistics_gradient_std_matches_finite_differences():
    rng = np.random.default_rng(9)
    X, Y = data(3, 6, rng)
    params = random_params([3, 4, 4, 1], rng)
    stats = layer_statistics(X, params, hidden="tanh", Y=Y)
    _, cache = forward(X, params, hidden="tanh")
    # J as a function of A[1]: run layers 2..3 on it; dA_std is the std of m * dJ/dA[1]
    rest = {"W1": params["W2"], "b1": params["b2"], "W2": params["W3"], "b2": params["b3"]}

    def cost_of(A1):
        _, c = forward(A1, rest, hidden="tanh")
        return compute_cost(c.AL, Y)

    A1 = cache.A[1].copy()
    fd = finite_difference_grads(lambda p: cost_of(p["A"]), {"A": A1})["dA"]
    assert stats.dA_std[0] == pytest.approx(np.std(fd * X.shape[1]), rel=1e-6)
    np.testing.assert_allclose(stats.a_std, [a.std() for a in cache.A[1:]], rtol=1e-15)


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda X, p, Y: forward(X[:2], p), ValueError, "X"),
        (lambda X, p, Y: forward(X, p, hidden="softplus"), ValueError, "valid choices"),
        (lambda X, p, Y: forward(X, p, keep_prob=0.0), ValueError, "keep_prob"),
        (lambda X, p, Y: forward(X, {k: v for k, v in p.items() if k != "b2"}), ValueError, "b2"),
        (lambda X, p, Y: forward(X.ravel(), p), ValueError, "X"),
        (lambda X, p, Y: compute_cost(np.full((1, 4), 0.5), Y[:, :3]), ValueError, "Y"),
        (lambda X, p, Y: compute_cost(np.full((1, 4), 0.5), Y, p, lambd=-1.0), ValueError, "lambd"),
        (lambda X, p, Y: compute_cost(np.full((1, 4), 0.5), Y, None, lambd=1.0), ValueError, "params"),
        (lambda X, p, Y: train(X, Y, p, num_iterations=-1), ValueError, "num_iterations"),
        (lambda X, p, Y: make_cost_fn(X, Y[:, :2]), ValueError, "examples"),
    ],
)
def test_bad_inputs_raise_named_errors(call, exc, word):
    rng = np.random.default_rng(10)
    X, Y = data(3, 4, rng)
    with pytest.raises(exc, match=word):
        call(X, random_params([3, 4, 1], rng), Y)


def test_forward_rejects_nan_input_by_position():
    X = np.ones((3, 4))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="example"):
        forward(X, random_params([3, 2, 1], np.random.default_rng(0)))


def test_train_reports_divergence_instead_of_returning_nan():
    """A learning rate far beyond stability makes the parameters overflow; train must say so."""
    import helpers.network as net

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 50)) * 100
    Y = (rng.random((1, 50)) < 0.5).astype(float)
    params = {"W1": rng.normal(size=(4, 2)), "b1": np.zeros((4, 1)),
              "W2": rng.normal(size=(1, 4)), "b2": np.zeros((1, 1))}
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="learning_rate"):
        net.train(X, Y, params, learning_rate=1e150, num_iterations=200, hidden="linear", record_every=10)
