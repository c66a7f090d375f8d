"""helpers.gradcheck: flattening, the slide's difference, and the full / fast gradient checks.

Oracles, all independent of the code under test:
- hand-written theta for a tiny dict (order W1, b1, W2, b2, ...);
- closed-form costs with analytic gradients (a quadratic, a sum of cubes);
- a deliberately naive loop (below) that rebuilds the dict and calls cost_fn 2n times,
  the public assignment's way, for the batched network path;
- backprop of helpers.network, itself tested against finite differences in test_network.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers.gradcheck import (
    GREAT_BELOW,
    WORRY_FROM,
    GradCheckResult,
    ParamLayout,
    gradient_check,
    grads_to_vector,
    params_to_vector,
    relative_difference,
    vector_to_params,
    verdict_for,
)
from helpers.network import CostFunction, forward, make_cost_fn

EPS = 1e-7
#: Agreement of two evaluations of the same two-sided differences: rounding noise of J
#: (about 1e-16 * |J|) divided by 2 eps is ~1e-9; 1e-7 leaves a wide margin and is still
#: four orders below any planted bug used here.
NOISE_ATOL = 1e-7


# --------------------------------------------------------------------------- fixtures
def make_network(dims, m=6, seed=0, *, hidden="relu", lambd=0.0, keep_prob=1.0, masks=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(2.0 / dims[l - 1])
        # nonzero biases: every block then has a gradient worth checking
        params[f"b{l}"] = 0.1 * rng.standard_normal((dims[l], 1))
    cost_fn = make_cost_fn(X, Y, hidden=hidden, lambd=lambd, keep_prob=keep_prob, masks=masks, seed=seed)
    return cost_fn, params


def black_box(cost_fn):
    """The same J, hidden behind a plain function: forces the black-box path."""
    return lambda params: cost_fn(params)


def naive_dtheta_approx(cost_fn, params, eps=EPS):
    """The public assignment's loop: copy theta, move one entry, rebuild the dict, evaluate J."""
    names = [k for l in range(1, len(params) // 2 + 1) for k in (f"W{l}", f"b{l}")]
    theta = np.concatenate([params[k].reshape(-1) for k in names])
    out = np.zeros(theta.size)
    for i in range(theta.size):
        values = []
        for sign in (1.0, -1.0):
            moved = theta.copy()
            moved[i] = moved[i] + sign * eps
            rebuilt, start = {}, 0
            for k in names:
                size = params[k].size
                rebuilt[k] = moved[start : start + size].reshape(params[k].shape)
                start += size
            values.append(cost_fn(rebuilt))
        out[i] = (values[0] - values[1]) / (2 * eps)
    return out


def corrupt(grads, key, index, amount):
    bad = {k: v.copy() for k, v in grads.items()}
    bad[key][index] += amount
    return bad


# --------------------------------------------------------------------------- flattening
def test_theta_order_is_w1_b1_w2_b2_row_major():
    params = {
        "W1": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "b1": np.array([[5.0], [6.0]]),
        "W2": np.array([[7.0, 8.0]]),
        "b2": np.array([[9.0]]),
    }
    theta, layout = params_to_vector(params)
    np.testing.assert_array_equal(theta, np.arange(1.0, 10.0))
    assert theta.shape == (9,)
    assert layout.names == ("W1", "b1", "W2", "b2")
    assert layout.shapes == ((2, 2), (2, 1), (1, 2), (1, 1))
    assert layout.offsets == (0, 4, 6, 8)
    assert layout.n_params == 9 and len(layout) == 9
    assert layout.slice("dW2") == slice(6, 8) and layout.slice("b1") == slice(4, 6)
    assert layout.locate(3) == "W1[1, 1]" and layout.locate(8) == "b2[0, 0]"
    assert repr(layout) == (
        "ParamLayout(n_params=9: W1 (2, 2) -> [0:4], b1 (2, 1) -> [4:6], W2 (1, 2) -> [6:8], b2 (1, 1) -> [8:9])"
    )
    grads = {"d" + k: -v for k, v in params.items()}
    np.testing.assert_array_equal(grads_to_vector(grads, layout), -np.arange(1.0, 10.0))


@st.composite
def param_dicts(draw):
    dims = draw(st.lists(st.integers(1, 5), min_size=2, max_size=6))
    elements = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = draw(hnp.arrays(np.float64, (dims[l], dims[l - 1]), elements=elements))
        params[f"b{l}"] = draw(hnp.arrays(np.float64, (dims[l], 1), elements=elements))
    return params


@settings(max_examples=60, deadline=None)
@given(param_dicts())
def test_flatten_round_trip_any_depth_and_shapes(params):
    theta, layout = params_to_vector(params)
    assert theta.ndim == 1 and theta.size == sum(v.size for v in params.values())
    back = vector_to_params(theta, layout)
    assert list(back) == list(params)
    for k, v in params.items():
        np.testing.assert_array_equal(back[k], v)
        np.testing.assert_array_equal(theta[layout.slice(k)], v.ravel())
    # a column vector is accepted too (the assignment's (n, 1) convention)
    back_col = vector_to_params(theta.reshape(-1, 1), layout)
    assert all(np.array_equal(back_col[k], v) for k, v in params.items())
    grads = {"d" + k: v * 2 for k, v in params.items()}
    np.testing.assert_array_equal(grads_to_vector(grads, layout), theta * 2)


def test_flattening_copies_in_both_directions():
    _, params = make_network([3, 2, 1])
    theta, layout = params_to_vector(params)
    theta[0] = 123.0
    assert params["W1"][0, 0] != 123.0
    back = vector_to_params(theta, layout)
    back["W1"][0, 0] = -7.0
    assert theta[0] == 123.0
    back["b1"][0, 0] = 55.0  # arrays of the dict do not share memory with each other either
    assert not np.any(back["W1"] == 55.0) and theta[layout.slice("b1")][0] != 55.0


def test_integer_params_become_float64():
    theta, _ = params_to_vector({"W1": np.array([[1, 2]]), "b1": np.array([[3]])})
    assert theta.dtype == np.float64 and list(theta) == [1.0, 2.0, 3.0]


# --------------------------------------------------------------------------- relative difference
def test_relative_difference_known_values():
    assert relative_difference([3.0, 0.0], [0.0, 4.0]) == pytest.approx(5.0 / 7.0, rel=1e-15)
    assert relative_difference([1.0, 2.0], [-1.0, -2.0]) == 1.0
    assert relative_difference([0.0, 0.0], [0.0, 1e-300]) == 1.0
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_difference(np.zeros((0,)), np.zeros((0,))) == 0.0
    assert relative_difference([[1.0], [2.0]], [[1.0], [2.0]]) == 0.0
    assert relative_difference([1e308, -1e308], [-1e308, 1e308]) == 1.0
    assert relative_difference([1.0, 1e-300], [1.0, 0.0]) == pytest.approx(0.5e-300, rel=1e-12)


finite = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False, allow_subnormal=False)
pairs = st.integers(1, 8).flatmap(
    lambda n: st.tuples(hnp.arrays(np.float64, n, elements=finite), hnp.arrays(np.float64, n, elements=finite))
)


@settings(max_examples=200, deadline=None)
@given(pairs, st.integers(-200, 200))
@example((np.array([0.0, 0.0, 0.0, 5.58192597e150]), np.array([4.13675679e-173, 0.0, 0.0, 5.58192597e150])), 0)
def test_relative_difference_properties(pair, k):
    a, b = pair
    d = relative_difference(a, b)
    assert isinstance(d, float) and np.isfinite(d)
    assert 0.0 <= d <= 1.0
    assert d == relative_difference(b, a)
    assert relative_difference(a, a) == 0.0
    # 0 iff equal, wherever the true value is a normal float: it is at least
    # max|a - b| / (2 sqrt(n) max(|a|, |b|)), and a relative difference below ~1e-308 (e.g.
    # 4e-173 against 6e150, found by hypothesis) underflows to 0 in float64 whatever the method
    if np.array_equal(a, b):
        assert d == 0.0
    else:
        lower = np.log2(np.abs(a - b).max()) - np.log2(2 * np.sqrt(a.size) * np.abs(np.concatenate([a, b])).max())
        if lower > np.log2(np.finfo(np.float64).tiny):
            assert d > 0.0
    # scale invariance: a power of two scales exactly, barring overflow / underflow
    c = 2.0**k
    both = np.abs(np.concatenate([a, b]))
    # compare in log space: the scaled values stay normal floats (exactly scaled)
    nonzero = both[both > 0]
    if nonzero.size == 0 or (np.log2(nonzero.max()) + k < 995 and np.log2(nonzero.min()) + k > -960):
        assert relative_difference(a * c, b * c) == pytest.approx(d, rel=1e-12, abs=1e-300)


def test_relative_difference_rejects_bad_input():
    with pytest.raises(ValueError, match=r"same shape.*\(3,\).*\(2,\)"):
        relative_difference(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="non-finite"):
        relative_difference([np.nan, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="non-finite"):
        relative_difference([1.0], [np.inf])
    with pytest.raises(TypeError, match="numeric"):
        relative_difference("abc", [1.0])


# --------------------------------------------------------------------------- verdicts
def test_verdict_cut_offs():
    assert (GREAT_BELOW, WORRY_FROM) == (1e-6, 1e-4)
    assert verdict_for(1e-7) == "great" and verdict_for(np.nextafter(1e-6, 0)) == "great"
    assert verdict_for(1e-6) == "look closer" and verdict_for(1e-5) == "look closer"
    assert verdict_for(1e-4) == "worry" and verdict_for(1e-3) == "worry" and verdict_for(1.0) == "worry"
    assert verdict_for(float("nan")) == "worry"


# --------------------------------------------------------------------------- closed-form costs
def _quadratic(seed=0, dims=(3, 2, 1), symmetric=True):
    rng = np.random.default_rng(seed)
    _, params = make_network(list(dims), seed=seed)
    theta, layout = params_to_vector(params)
    n = theta.size
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n) if symmetric else M
    c = rng.standard_normal(n)

    def J(p):
        t = np.concatenate([p[k].ravel() for k in layout.names])
        return 0.5 * t @ A @ t + c @ t

    return J, params, theta, layout, A, c


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_quadratic_analytic_gradient_passes(mode):
    J, params, theta, layout, A, c = _quadratic()
    dtheta = A @ theta + c  # d/dtheta of theta^T A theta / 2 + c^T theta, A symmetric
    grads = {"d" + k: v for k, v in vector_to_params(dtheta, layout).items()}
    result = gradient_check(J, params, grads, mode=mode, seed=1)
    assert result.verdict == "great" and result.passed and result.suspicious_blocks == []
    assert result.path == "black box"
    if mode == "full":
        # J is quadratic: the two-sided difference is exact up to rounding
        np.testing.assert_allclose(result.dtheta_approx, dtheta, rtol=0, atol=1e-6 * np.abs(dtheta).max())


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_nonsymmetric_quadratic_with_the_wrong_gradient_fails(mode):
    J, params, theta, layout, A, c = _quadratic(symmetric=False)
    wrong = A @ theta + c  # the classic slip: the gradient is (A + A^T) theta / 2 + c
    right = 0.5 * (A + A.T) @ theta + c
    to_grads = lambda v: {"d" + k: a for k, a in vector_to_params(v, layout).items()}  # noqa: E731
    assert gradient_check(J, params, to_grads(right), mode=mode, seed=2).verdict == "great"
    result = gradient_check(J, params, to_grads(wrong), mode=mode, seed=2)
    assert result.verdict == "worry" and not result.passed


def test_cubic_matches_the_slide_error_order():
    # J = sum theta^3: dtheta_approx - 3 theta^2 = eps^2 exactly (two-sided error O(eps^2))
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]])}
    J = lambda p: float(np.sum(p["W1"] ** 3) + np.sum(p["b1"] ** 3))  # noqa: E731
    grads = {"dW1": 3 * params["W1"] ** 2, "db1": 3 * params["b1"] ** 2}
    result = gradient_check(J, params, grads, eps=0.01)
    np.testing.assert_allclose(result.dtheta_approx - np.array([3.0, 12.0, 0.75]), 1e-4, rtol=1e-6)
    assert result.eps == 0.01


# --------------------------------------------------------------------------- correct network gradients
ARCHS = [[4, 5, 3, 1], [3, 1], [2, 4, 4, 4, 1], [5, 7, 1]]


@pytest.mark.parametrize("dims", ARCHS, ids=lambda d: "-".join(map(str, d)))
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_backprop_passes_on_both_paths_and_modes(dims, hidden, lambd):
    cost_fn, params = make_network(dims, hidden=hidden, lambd=lambd, seed=len(dims))
    grads = cost_fn.gradients(params)
    for fn, path in ((cost_fn, "network (batched)"), (black_box(cost_fn), "black box")):
        for mode in ("full", "fast"):
            result = gradient_check(fn, params, grads, mode=mode, seed=0)
            assert result.path == path
            assert result.verdict == "great", result.report()
            assert result.passed and result.suspicious_blocks == []


@pytest.mark.parametrize("dims", [[4, 5, 3, 1], [2, 4, 4, 4, 1]], ids=lambda d: "-".join(map(str, d)))
@pytest.mark.parametrize(("hidden", "lambd"), [("relu", 0.0), ("tanh", 0.7), ("sigmoid", 0.3)])
def test_batched_path_agrees_with_the_naive_loop(dims, hidden, lambd):
    cost_fn, params = make_network(dims, hidden=hidden, lambd=lambd, m=5, seed=3)
    grads = cost_fn.gradients(params)
    oracle = naive_dtheta_approx(cost_fn, params)
    batched = gradient_check(cost_fn, params, grads)
    boxed = gradient_check(black_box(cost_fn), params, grads)
    assert batched.path == "network (batched)" and boxed.path == "black box"
    np.testing.assert_allclose(batched.dtheta_approx, oracle, rtol=0, atol=NOISE_ATOL)
    np.testing.assert_allclose(boxed.dtheta_approx, oracle, rtol=0, atol=NOISE_ATOL)
    # tiny chunks (one perturbation at a time) give the same values as large ones
    chunked = gradient_check(cost_fn, params, grads, max_batch_bytes=1)
    np.testing.assert_allclose(chunked.dtheta_approx, batched.dtheta_approx, rtol=0, atol=NOISE_ATOL)


def test_fast_mode_is_the_same_on_both_paths_and_reproducible():
    cost_fn, params = make_network([4, 6, 3, 1], hidden="tanh", lambd=0.2)
    grads = cost_fn.gradients(params)
    a = gradient_check(cost_fn, params, grads, mode="fast", n_directions=4, seed=11)
    b = gradient_check(black_box(cost_fn), params, grads, mode="fast", n_directions=4, seed=11)
    c = gradient_check(cost_fn, params, grads, mode="fast", n_directions=4, seed=11)
    d = gradient_check(cost_fn, params, grads, mode="fast", n_directions=4, seed=12)
    for key in a.directional:
        np.testing.assert_allclose(a.directional[key][0], b.directional[key][0], rtol=0, atol=NOISE_ATOL)
        np.testing.assert_array_equal(a.directional[key][1], c.directional[key][1])
        assert a.directional[key][0].shape == (4,)
    assert not np.allclose(a.directional["dW1"][1], d.directional["dW1"][1])
    assert a.seed == 11 and a.n_directions == 4 and a.dtheta_approx is None
    assert a.n_evaluations == 2 * 4 * 6


def test_fast_directional_values_match_an_explicit_projection():
    cost_fn, params = make_network([3, 4, 1], hidden="tanh")
    grads = cost_fn.gradients(params)
    result = gradient_check(cost_fn, params, grads, mode="fast", n_directions=2, seed=5)
    theta, layout = params_to_vector(params)
    # rebuild the directions the documented way: Gaussian per block, in layout order, normalized
    rng = np.random.default_rng(5)
    for name, size in zip(layout.names, layout.sizes, strict=True):
        U = rng.standard_normal((2, size))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        approx, exact = result.directional["d" + name]
        np.testing.assert_allclose(exact, U @ grads_to_vector(grads, layout)[layout.slice(name)], rtol=1e-12)
        for k in range(2):
            moved = []
            for sign in (1.0, -1.0):
                t = theta.copy()
                t[layout.slice(name)] += sign * EPS * U[k]
                moved.append(cost_fn(vector_to_params(t, layout)))
            assert approx[k] == pytest.approx((moved[0] - moved[1]) / (2 * EPS), abs=NOISE_ATOL)


def test_counts_and_fields_of_a_full_check():
    cost_fn, params = make_network([4, 5, 3, 1])
    grads = cost_fn.gradients(params)
    result = gradient_check(cost_fn, params, grads)
    n = sum(v.size for v in params.values())
    assert isinstance(result, GradCheckResult) and isinstance(result.layout, ParamLayout)
    assert result.n_evaluations == 2 * n and result.mode == "full" and result.eps == EPS
    assert result.dtheta.shape == (n,) and result.dtheta_approx.shape == (n,)
    assert list(result.per_block) == ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    assert result.difference == pytest.approx(relative_difference(result.dtheta_approx, result.dtheta), rel=1e-9)
    for key, value in result.per_block.items():
        sl = result.layout.slice(key)
        assert value == pytest.approx(relative_difference(result.dtheta_approx[sl], result.dtheta[sl]), rel=1e-9)


def test_params_and_grads_are_not_modified():
    for path_fn in (lambda c: c, black_box):
        cost_fn, params = make_network([3, 4, 1], lambd=0.1)
        grads = cost_fn.gradients(params)
        before = {k: v.copy() for k, v in params.items()}
        grads_before = {k: v.copy() for k, v in grads.items()}
        for mode in ("full", "fast"):
            gradient_check(path_fn(cost_fn), params, grads, mode=mode, seed=0)
        for k in params:
            np.testing.assert_array_equal(params[k], before[k])
            np.testing.assert_array_equal(grads["d" + k], grads_before["d" + k])


def test_black_box_moves_exactly_one_entry_per_evaluation_and_restores_it():
    cost_fn, params = make_network([3, 2, 1])
    theta, layout = params_to_vector(params)
    seen = []

    def J(p):
        seen.append(np.concatenate([p[k].ravel() for k in layout.names]))
        return cost_fn(p)

    gradient_check(J, params, cost_fn.gradients(params), eps=1e-3)
    # 2n perturbed evaluations, then one at theta itself (J for the round-off floor)
    assert len(seen) == 2 * theta.size + 1
    np.testing.assert_array_equal(seen[-1], theta)
    for i in range(theta.size):
        for sign, vec in zip((1.0, -1.0), seen[2 * i : 2 * i + 2], strict=True):
            expected = theta.copy()
            expected[i] += sign * 1e-3
            # bit for bit: every other entry was restored exactly after its own move
            np.testing.assert_array_equal(vec, expected)

    seen.clear()
    gradient_check(J, params, cost_fn.gradients(params), mode="fast", n_directions=2, seed=0)
    assert len(seen) == 2 * 2 * len(layout.names)
    for n_eval, vec in enumerate(seen):
        moved = {layout.locate(i)[: layout.locate(i).index("[")] for i in np.flatnonzero(vec != theta)}
        assert moved == {layout.names[n_eval // 4]}  # one block per evaluation, in layout order


# --------------------------------------------------------------------------- bugs are found and located
@pytest.mark.parametrize(
    ("key", "index"),
    [("dW1", (0, 2)), ("db1", (3, 0)), ("dW2", (2, 4)), ("db2", (1, 0)), ("dW3", (0, 1)), ("db3", (0, 0))],
)
@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize("boxed", [False, True], ids=["batched", "black-box"])
def test_one_corrupted_entry_is_detected_and_located(key, index, mode, boxed):
    cost_fn, params = make_network([4, 5, 3, 1], hidden="tanh", seed=1)
    grads = cost_fn.gradients(params)
    bad = corrupt(grads, key, index, 0.1)
    fn = black_box(cost_fn) if boxed else cost_fn
    result = gradient_check(fn, params, bad, mode=mode, seed=4)
    assert not result.passed and result.verdict == "worry"
    assert result.suspicious_blocks == [key], result.report()
    assert max(result.per_block, key=result.per_block.get) == key
    text = repr(result)
    assert f"look at these blocks first: {key}" in text
    if mode == "full":
        assert f"largest entry error at {key}[{index[0]}, {index[1]}]" in text
        sl = result.layout.slice(key)
        i = sl.start + int(np.ravel_multi_index(index, params[key[1:]].shape))
        assert result.dtheta[i] - result.dtheta_approx[i] == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_fast_flags_the_same_blocks_as_full_on_planted_bugs(seed):
    rng = np.random.default_rng(100 + seed)
    cost_fn, params = make_network([5, 6, 4, 1], hidden=["relu", "tanh"][seed % 2], m=8, seed=seed)
    grads = cost_fn.gradients(params)
    bad = {k: v.copy() for k, v in grads.items()}
    keys = list(bad)
    planted = sorted(rng.choice(len(keys), size=2, replace=False))
    # a scaled block, and one entry off by 20% of its block's norm
    bad[keys[planted[0]]] *= 1.5
    block = bad[keys[planted[1]]]
    block.flat[rng.integers(block.size)] += 0.2 * np.linalg.norm(grads[keys[planted[1]]]) + 0.01
    full = gradient_check(cost_fn, params, bad)
    assert set(full.suspicious_blocks) == {keys[i] for i in planted}, full.report()
    for fn in (cost_fn, black_box(cost_fn)):
        fast = gradient_check(fn, params, bad, mode="fast", seed=seed)
        assert set(fast.suspicious_blocks) == set(full.suspicious_blocks), fast.report()
        assert fast.passed == full.passed == False  # noqa: E712


def test_forgetting_the_l2_term_is_caught():
    cost_fn, params = make_network([4, 5, 3, 1], lambd=0.7)
    without_l2 = make_cost_fn(cost_fn.X, cost_fn.Y, lambd=0.0).gradients(params)
    for mode in ("full", "fast"):
        result = gradient_check(cost_fn, params, without_l2, mode=mode, seed=0)
        assert result.verdict == "worry" and not result.passed
        # only the weights carry the L2 term; the biases stay clean
        assert set(result.suspicious_blocks) == {"dW1", "dW2", "dW3"}, result.report()
    assert gradient_check(cost_fn, params, cost_fn.gradients(params)).verdict == "great"


def test_dropout_with_fresh_masks_fails_and_with_frozen_masks_passes():
    dims = [4, 6, 5, 1]
    cost_fn, params = make_network(dims, keep_prob=0.8, m=10)
    grads = cost_fn.gradients(params)  # one mask draw; every J evaluation draws new ones
    for mode in ("full", "fast"):
        result = gradient_check(cost_fn, params, grads, mode=mode, seed=0)
        assert result.path == "black box"
        assert result.verdict == "worry" and not result.passed
    _, cache = forward(cost_fn.X, params, keep_prob=0.8, seed=7)
    frozen = make_cost_fn(cost_fn.X, cost_fn.Y, keep_prob=0.8, masks=cache.D)
    grads = frozen.gradients(params)
    for fn, path in ((frozen, "network (batched)"), (black_box(frozen), "black box")):
        for mode in ("full", "fast"):
            result = gradient_check(fn, params, grads, mode=mode, seed=0)
            assert result.path == path
            assert result.verdict == "great", result.report()
    oracle = naive_dtheta_approx(frozen, params)
    np.testing.assert_allclose(gradient_check(frozen, params, grads).dtheta_approx, oracle, atol=NOISE_ATOL)
    chunked = gradient_check(frozen, params, grads, max_batch_bytes=1)
    np.testing.assert_allclose(chunked.dtheta_approx, oracle, atol=NOISE_ATOL)


@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize("budget", [None, 1], ids=["one batch", "chunked"])
def test_batched_values_that_disagree_with_cost_fn_are_discarded(monkeypatch, mode, budget):
    """If the batched J drifts from cost_fn(params) (say network.forward changed), the black box decides."""
    from helpers._reference import gradcheck_network

    cost_fn, params = make_network([4, 5, 3, 1], hidden="tanh", lambd=0.5)
    bad = {k: v.copy() for k, v in cost_fn.gradients(params).items()}
    bad["dW2"][1, 2] += 0.05
    original = gradcheck_network.BatchedNetwork._data_cost
    # a constant offset leaves every difference J(+) - J(-) intact: only the agreement check sees it
    monkeypatch.setattr(gradcheck_network.BatchedNetwork, "_data_cost", lambda self, ZL: original(self, ZL) + 1e-6)
    kw = {} if budget is None else {"max_batch_bytes": budget}
    result = gradient_check(cost_fn, params, bad, mode=mode, seed=0, **kw)
    assert result.path == "black box"
    assert result.suspicious_blocks == ["dW2"]
    if mode == "full":
        np.testing.assert_allclose(result.dtheta_approx, naive_dtheta_approx(cost_fn, params), atol=NOISE_ATOL)


def test_partly_frozen_masks_with_dropout_use_the_black_box():
    cost_fn, params = make_network([3, 4, 4, 1], keep_prob=0.7)
    _, cache = forward(cost_fn.X, params, keep_prob=0.7, seed=1)
    masks = list(cache.D)
    masks[2] = None  # layer 2 still draws a fresh mask per call
    partly = make_cost_fn(cost_fn.X, cost_fn.Y, keep_prob=0.7, masks=masks, seed=3)
    result = gradient_check(partly, params, partly.gradients(params))
    assert result.path == "black box" and result.verdict == "worry"


def test_a_cost_function_subclass_is_a_black_box():
    class Scaled(CostFunction):
        def __call__(self, params):
            return 2.0 * super().__call__(params)

    cost_fn, params = make_network([3, 4, 1])
    scaled = Scaled(cost_fn.X, cost_fn.Y)
    grads = {k: 2.0 * v for k, v in cost_fn.gradients(params).items()}
    result = gradient_check(scaled, params, grads)
    assert result.path == "black box" and result.verdict == "great"


def test_after_some_training_the_check_still_passes():
    from helpers.network import train

    cost_fn, params = make_network([4, 5, 3, 1], m=20, lambd=0.1)
    trained = train(cost_fn.X, cost_fn.Y, params, learning_rate=0.5, num_iterations=200, lambd=0.1).params
    assert gradient_check(cost_fn, trained, cost_fn.gradients(trained)).verdict == "great"


# --------------------------------------------------------------------------- the report
def test_report_lists_blocks_largest_first_and_renders_html():
    cost_fn, params = make_network([4, 5, 3, 1], hidden="tanh")
    grads = corrupt(cost_fn.gradients(params), "db2", (0, 0), 0.3)
    result = gradient_check(cost_fn, params, grads)
    text = result.report()
    assert text == repr(result)
    lines = text.splitlines()
    assert "worry" in lines[0] and "FAILED" in lines[0]
    table = lines[lines.index(next(l for l in lines if l.startswith("block"))) + 1 :]
    assert table[0].startswith("db2") and table[0].endswith("<- suspicious")
    assert [row.split()[0] for row in table] == [k for k, _ in sorted(result.per_block.items(), key=lambda kv: -kv[1])]
    assert "0x" not in text  # no memory addresses: notebook outputs must be deterministic
    html = result._repr_html_()
    assert html.count("<tr") == 1 + len(result.per_block) and "db2" in html and "suspicious" in html
    passed = gradient_check(cost_fn, params, cost_fn.gradients(params), mode="fast", seed=0)
    assert "great" in repr(passed) and "passed" in repr(passed) and "suspicious" not in repr(passed)


# --------------------------------------------------------------------------- bad input
def _ok():
    cost_fn, params = make_network([3, 2, 1])
    return cost_fn, params, cost_fn.gradients(params)


@pytest.mark.parametrize(
    ("change", "error", "pattern"),
    [
        (lambda c, p, g: (42, p, g, {}), TypeError, "cost_fn must be callable"),
        (lambda c, p, g: (c, [1, 2], g, {}), TypeError, "params must be a dict"),
        (lambda c, p, g: (c, p, [1], {}), TypeError, "grads must be a dict"),
        (lambda c, p, g: (c, p, {k: v for k, v in g.items() if k != "db2"}, {}), ValueError, r"missing \['db2'\]"),
        (lambda c, p, g: (c, p, {**g, "dW3": np.zeros((1, 1))}, {}), ValueError, r"unexpected \['dW3'\]"),
        (lambda c, p, g: (c, p, {**g, "dW1": np.zeros((3, 2))}, {}), ValueError, r"grads\['dW1'\] has shape \(3, 2\)"),
        (lambda c, p, g: (c, {k: v for k, v in p.items() if k != "b1"}, g, {}), ValueError, r"missing \['b1'\]"),
        (lambda c, p, g: (c, {**p, "W1": p["W1"] * np.nan}, g, {}), ValueError, r"params\['W1'\].*non-finite"),
        (lambda c, p, g: (c, p, {**g, "db1": g["db1"] + np.inf}, {}), ValueError, r"grads\['db1'\].*non-finite"),
        (lambda c, p, g: (c, p, g, {"eps": 0.0}), ValueError, "eps must be a finite number > 0"),
        (lambda c, p, g: (c, p, g, {"eps": -1e-7}), ValueError, "eps must be a finite number > 0"),
        (lambda c, p, g: (c, p, g, {"eps": "1e-7"}), TypeError, "eps must be a positive real"),
        (lambda c, p, g: (c, p, g, {"mode": "quick"}), ValueError, "unknown mode 'quick'"),
        (lambda c, p, g: (c, p, g, {"mode": "fast", "n_directions": 0}), ValueError, "n_directions"),
        (lambda c, p, g: (c, p, g, {"mode": "fast", "n_directions": 1.5}), TypeError, "n_directions"),
        (lambda c, p, g: (c, p, g, {"threshold": 0}), ValueError, "threshold"),
    ],
)
def test_bad_input_raises_a_named_error(change, error, pattern):
    cost_fn, params, grads, kwargs = change(*_ok())
    with pytest.raises(error, match=pattern):
        gradient_check(cost_fn, params, grads, **kwargs)


@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize(
    ("returned", "error", "pattern"),
    [
        (lambda J: np.array([J, J]), ValueError, r"scalar \(the cost\).*shape \(2,\)"),
        (lambda J: float("nan"), ValueError, "not finite"),
        (lambda J: float("inf"), ValueError, "not finite"),
        (lambda J: "0.5", TypeError, "real number"),
        (lambda J: None, TypeError, "real number"),
        (lambda J: True, TypeError, "real number"),
    ],
)
def test_a_bad_cost_value_names_the_moved_entry(mode, returned, error, pattern):
    cost_fn, params, grads = _ok()
    where = r"params\['W1'\]\[0, 0\] \+ eps" if mode == "full" else r"params\['W1'\] \+ eps u \(random direction 0\)"
    with pytest.raises(error, match=pattern + ".*" + where if error is ValueError else pattern):
        gradient_check(lambda p: returned(cost_fn(p)), params, grads, mode=mode, seed=0)


def test_a_cost_that_fails_only_for_one_entry_is_located():
    cost_fn, params, grads = _ok()
    target = params["W2"][0, 1]

    def J(p):
        return float("nan") if p["W2"][0, 1] < target else cost_fn(p)

    with pytest.raises(ValueError, match=r"params\['W2'\]\[0, 1\] - eps"):
        gradient_check(J, params, grads)


def test_a_size_one_array_cost_is_accepted():
    cost_fn, params, grads = _ok()
    result = gradient_check(lambda p: np.array([[cost_fn(p)]]), params, grads)
    assert result.verdict == "great"


def test_an_overflowing_network_cost_names_an_entry():
    cost_fn, params, grads = _ok()
    huge = {k: v * 1e200 for k, v in params.items()}
    with pytest.raises(ValueError, match=r"not finite.*before any move"):
        gradient_check(cost_fn, huge, grads)


def test_the_batched_path_names_the_entry_of_a_non_finite_cost(monkeypatch):
    """Both batched layouts (one batch for a small net, chunks per layer) name the moved entry."""
    from helpers._reference import gradcheck_network

    cost_fn, params, grads = _ok()
    n_w1 = params["W1"].size + params["b1"].size
    original_data_cost = gradcheck_network.BatchedNetwork._data_cost

    def poisoned_batch(self, ZL):
        j = original_data_cost(self, ZL)
        if j.size > 1:  # item 2 i + 1 moves entry i by -eps; entry n_w1 + 1 is W2[0, 1]
            j[2 * (n_w1 + 1) + 1] = np.inf
        return j

    monkeypatch.setattr(gradcheck_network.BatchedNetwork, "_data_cost", poisoned_batch)
    with pytest.raises(ValueError, match=r"not finite.*params\['W2'\]\[0, 1\] - eps"):
        gradient_check(cost_fn, params, grads)
    monkeypatch.undo()

    original_rows_cost = gradcheck_network.BatchedNetwork._rows_cost

    def poisoned_rows(self, l, rows, dZ):
        j = original_rows_cost(self, l, rows, dZ)
        if l == 2 and len(rows) > 4:  # items W2[0, 0], W2[0, 1], b2[0, 0] moved by +eps, then by -eps
            j[4] = np.inf
        return j

    monkeypatch.setattr(gradcheck_network.BatchedNetwork, "_rows_cost", poisoned_rows)
    # room for 8 rows of m values: layer 2's 3 entries (x2 moves) fit in one chunk, all 2 x 11 entries do not
    budget = 8 * 8 * cost_fn.X.shape[1]
    with pytest.raises(ValueError, match=r"not finite.*params\['W2'\]\[0, 1\] - eps"):
        gradient_check(cost_fn, params, grads, max_batch_bytes=budget)


def test_flattening_rejects_bad_input():
    _, params, grads = _ok()
    theta, layout = params_to_vector(params)
    with pytest.raises(ValueError, match=r"theta has shape \(5,\), expected \(11,\)"):
        vector_to_params(theta[:5], layout)
    with pytest.raises(ValueError, match=r"theta has shape \(11, 2\)"):
        vector_to_params(np.stack([theta, theta], axis=1), layout)
    with pytest.raises(TypeError, match="ParamLayout"):
        vector_to_params(theta, {"W1": (2, 3)})
    with pytest.raises(ValueError, match=r"grads\['db1'\] has shape \(1, 2\) but params\['b1'\] has shape \(2, 1\)"):
        grads_to_vector({**grads, "db1": np.zeros((1, 2))}, layout)
    with pytest.raises(ValueError, match=r"missing \['dW2'\], unexpected \['W2'\]"):
        grads_to_vector({**{k: v for k, v in grads.items() if k != "dW2"}, "W2": grads["dW2"]}, layout)
    with pytest.raises(TypeError, match="grads must be a dict"):
        grads_to_vector(theta, layout)
    with pytest.raises(ValueError, match=r"params\['b1'\] has shape \(3, 1\)"):
        params_to_vector({**params, "b1": np.zeros((3, 1))})
    with pytest.raises(KeyError, match="dW9"):
        layout.slice("dW9")
    with pytest.raises(IndexError):
        layout.locate(11)


# --------------------------------------------------------------------------- student edition
def test_student_edition_withholds_the_algorithms_but_keeps_the_result_class(tmp_path: Path):
    src = Path(__file__).resolve().parent.parent / "helpers"
    shutil.copytree(src, tmp_path / "helpers", ignore=shutil.ignore_patterns("_reference", "__pycache__"))
    code = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
        "import helpers\n"
        "from helpers.gradcheck import GradCheckResult, ParamLayout, verdict_for, params_to_vector, gradient_check\n"
        "assert not helpers.reference_available()\n"
        "print(ParamLayout(('W1', 'b1'), ((2, 3), (2, 1))), verdict_for(1e-8))\n"
        "for f in (params_to_vector, gradient_check):\n"
        "    try:\n        f({})\n    except helpers.WithheldError as e:\n        print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "ParamLayout(n_params=8" in out.stdout and "great" in out.stdout
    assert out.stdout.count("notebook 4 (gradient checking)") == 2


# --------------------------------------------------------------------------- round-off floor
def test_roundoff_floor_closed_form():
    from helpers.gradcheck import roundoff_floor

    u = np.finfo(np.float64).eps
    dtheta = np.array([3.0, 4.0])  # norm 5, n = 2
    assert roundoff_floor(2.0, dtheta, 1e-7) == pytest.approx(np.sqrt(2) * u * 2.0 / (1e-7 * 10.0), rel=1e-15)
    assert roundoff_floor(2.0, dtheta, 1e-7, dtheta_approx=np.zeros(2)) == pytest.approx(
        np.sqrt(2) * u * 2.0 / (1e-7 * 5.0), rel=1e-15)
    assert roundoff_floor(1.0, np.zeros(3), 1e-7) == np.inf
    with pytest.raises(ValueError, match="eps must be > 0"):
        roundoff_floor(1.0, dtheta, 0.0)
    with pytest.raises(ValueError, match="dtheta_approx has shape"):
        roundoff_floor(1.0, dtheta, 1e-7, dtheta_approx=np.zeros(3))


@pytest.mark.parametrize("offset", [1.0, 1e3, 1e5])
def test_roundoff_floor_predicts_a_correct_gradients_difference(offset):
    """J = offset + sum sin(theta): the gradient is cos(theta) exactly; a larger |J| raises the floor."""
    from helpers.gradcheck import gradient_check

    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal((4, 1))}

    def J(p):
        return offset + sum(float(np.sum(np.sin(v))) for v in p.values())

    grads = {"d" + k: np.cos(v) for k, v in params.items()}
    result = gradient_check(lambda p: J(p), params, grads, 1e-7)
    assert result.cost == pytest.approx(J(params))
    # the model is a size, not a prediction: the measured difference sits within 30x below it
    assert result.floor / 30 < result.difference < 3 * result.floor, (result.difference, result.floor)
    assert result.verdict_vs_floor == "great"
    assert set(result.per_block_floor) == {"dW1", "db1"}


def test_verdict_relative_to_the_floor():
    from helpers.gradcheck import thresholds_for, verdict_for

    assert thresholds_for(None) == (1e-6, 1e-4)
    assert thresholds_for(1e-9) == (1e-6, 1e-4)  # a low floor keeps the slide's cut-offs
    assert thresholds_for(1e-6) == pytest.approx((1e-5, 1e-3))
    assert verdict_for(4.3e-6) == "look closer"
    assert verdict_for(4.3e-6, floor=1.1e-5) == "great"
    assert verdict_for(0.05, floor=1.1e-5) == "worry"


def test_batched_path_asks_cost_fn_once_and_reports_its_cost(monkeypatch):
    """The batched path confirms J(theta) with one direct call, and the round-off floor reuses it."""
    cost_fn, params = make_network([4, 5, 3, 1])
    expected = float(cost_fn(params))
    calls = []
    original = type(cost_fn).__call__

    def counted(self, p):
        calls.append(1)
        return original(self, p)

    monkeypatch.setattr(type(cost_fn), "__call__", counted)
    result = gradient_check(cost_fn, params, cost_fn.gradients(params), eps=EPS)
    assert result.path == "network (batched)"
    assert len(calls) == 1
    assert result.cost == pytest.approx(expected, rel=1e-12)
