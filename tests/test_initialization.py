"""helpers.initialization (reference, lecture 2): statistics of each method against its formula.

Oracles: the slide's closed forms written out here, and scipy's chi distribution for the
sampling distribution of a sample std (N draws of N(0, sigma^2): (N-1) s^2 / sigma^2 is
chi^2 with N-1 degrees of freedom).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from helpers.initialization import METHODS, init_std, initialize_parameters

#: Two-sided probability of rejecting a correct draw in one statistical test.
ALPHA = 1e-6

# the slide's formulas, independently of helpers: fan-in n[l-1], fan-out n[l]
SLIDE = {
    "he": lambda n_prev, n: math.sqrt(2 / n_prev),
    "xavier": lambda n_prev, n: math.sqrt(1 / n_prev),
    "glorot": lambda n_prev, n: math.sqrt(2 / (n_prev + n)),
}


def assert_std_consistent(W, sigma, name):
    """The sample std of W is a plausible draw from chi_{N-1} around sigma (two-sided ALPHA)."""
    N = W.size
    statistic = (N - 1) * W.var(ddof=1) / sigma**2
    p_low = stats.chi2.cdf(statistic, N - 1)
    assert ALPHA / 2 < p_low < 1 - ALPHA / 2, (
        f"{name}: sample std {W.std(ddof=1):.5g} vs sigma {sigma:.5g} (chi2 cdf {p_low:.3g}, N={N})"
    )


@pytest.mark.parametrize("method", ["he", "xavier", "glorot"])
def test_sample_std_matches_the_slide_formula(method):
    layer_dims = [300, 500, 200]
    params = initialize_parameters(layer_dims, method, seed=11)
    for l in (1, 2):
        sigma = SLIDE[method](layer_dims[l - 1], layer_dims[l])
        W = params[f"W{l}"]
        assert W.shape == (layer_dims[l], layer_dims[l - 1])
        assert_std_consistent(W, sigma, f"{method} W{l}")
        # Gaussian draws (randn), not merely the right variance
        assert stats.kstest(W.ravel() / sigma, "norm").pvalue > ALPHA
        assert abs(W.mean()) < 5 * sigma / math.sqrt(W.size)


def test_the_formulas_tell_apart_fan_in_and_fan_out():
    # a check of the test itself: with 150k draws the interval is far narrower than the gaps
    W = initialize_parameters([300, 500], "he", seed=1)["W1"]
    with pytest.raises(AssertionError):
        assert_std_consistent(W, math.sqrt(2 / 500), "fan-out")
    with pytest.raises(AssertionError):
        assert_std_consistent(W, math.sqrt(1 / 300), "xavier")


def test_random_uses_scale_and_zeros_are_zeros():
    params = initialize_parameters([400, 300], "random", seed=3, scale=0.01)
    assert_std_consistent(params["W1"], 0.01, "random 0.01")
    plain = initialize_parameters([400, 300], "random", seed=3)
    assert_std_consistent(plain["W1"], 1.0, "random default")
    zeros = initialize_parameters([4, 3, 2], "zeros", seed=3)
    assert all(not v.any() for v in zeros.values())
    assert [k for k in zeros] == ["W1", "b1", "W2", "b2"]


@pytest.mark.parametrize("method", METHODS)
def test_biases_are_zero_columns(method):
    params = initialize_parameters([5, 7, 3, 1], method, seed=0)
    for l, n in enumerate([7, 3, 1], start=1):
        assert params[f"b{l}"].shape == (n, 1)
        assert not params[f"b{l}"].any()


def test_seed_reproducible_and_generator_accepted():
    a = initialize_parameters([6, 5, 4], "he", seed=42)
    b = initialize_parameters([6, 5, 4], "he", seed=42)
    c = initialize_parameters([6, 5, 4], "he", seed=43)
    d = initialize_parameters([6, 5, 4], "he", seed=np.random.default_rng(42))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], d[key])
    assert not np.array_equal(a["W1"], c["W1"])
    # a Generator is consumed, not re-seeded: two calls on one generator differ
    rng = np.random.default_rng(0)
    first = initialize_parameters([6, 5], "he", seed=rng)["W1"]
    second = initialize_parameters([6, 5], "he", seed=rng)["W1"]
    assert not np.array_equal(first, second)


@given(n_prev=st.integers(1, 10_000), n=st.integers(1, 10_000))
def test_init_std_closed_forms(n_prev, n):
    for method, formula in SLIDE.items():
        assert init_std(method, n_prev, n) == pytest.approx(formula(n_prev, n), rel=1e-12)
    # Var(w) * n[l-1] is 2 for He and 1 for Xavier, the slide's statement
    assert init_std("he", n_prev, n) ** 2 * n_prev == pytest.approx(2.0, rel=1e-12)
    assert init_std("xavier", n_prev, n) ** 2 * n_prev == pytest.approx(1.0, rel=1e-12)
    assert init_std("zeros", n_prev, n) == 0.0
    assert init_std("random", n_prev, n, scale=0.25) == 0.25


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="method") as info:
        initialize_parameters([3, 2], "kaiming", seed=0)
    for name in METHODS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    "layer_dims, exc",
    [([3], ValueError), ([3, 0], ValueError), ([3, 2.5], ValueError), ([3, -1], ValueError),
     ("32", TypeError), (None, TypeError), ([True, 2], ValueError)],
)
def test_bad_layer_dims_are_named(layer_dims, exc):
    with pytest.raises(exc, match="layer_dims"):
        initialize_parameters(layer_dims, "he", seed=0)


def test_scale_only_with_random():
    with pytest.raises(ValueError, match="scale"):
        initialize_parameters([3, 2], "he", seed=0, scale=0.5)
    with pytest.raises(ValueError, match="scale"):
        initialize_parameters([3, 2], "random", seed=0, scale=-1.0)
    with pytest.raises(ValueError, match="scale"):
        init_std("random", 3, 2, scale=float("nan"))
