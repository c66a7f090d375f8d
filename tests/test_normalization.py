"""helpers.normalization (and its reference): statistics, test-set rule, constant features, errors.

Oracles: closed forms on small matrices, scikit-learn's StandardScaler on the transpose
(test-only), and hypothesis properties (affine invariance, round trip).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import StandardScaler

from helpers import Normalizer, fit_normalization, normalize
from helpers.normalization import NotFittedError


def _data(seed=0, n_x=3, m=50, offsets=(100.0, -2.0, 0.5), scales=(30.0, 0.01, 1.0)):
    rng = np.random.default_rng(seed)
    return np.array(offsets)[:n_x, None] + np.array(scales)[:n_x, None] * rng.standard_normal((n_x, m))


def test_closed_form_small_example():
    X = np.array([[1.0, 3.0, 5.0, 7.0], [0.5, 0.5, 1.5, 1.5]])
    mu, sigma2 = fit_normalization(X)
    np.testing.assert_array_equal(mu, [[4.0], [1.0]])
    np.testing.assert_array_equal(sigma2, [[5.0], [0.25]])  # 1/m, not 1/(m-1) (= 20/3)


def test_training_set_has_mean_0_and_variance_1_per_feature():
    X = _data()
    Z = normalize(X, *fit_normalization(X))
    np.testing.assert_allclose(Z.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.var(axis=1), 1.0, rtol=1e-12)


def test_test_set_uses_training_statistics():
    X_train, X_test = _data(seed=1), _data(seed=2, m=7) + 5.0
    mu, sigma2 = fit_normalization(X_train)
    Z = normalize(X_test, mu, sigma2)
    np.testing.assert_allclose(Z, (X_test - X_train.mean(axis=1, keepdims=True)) / X_train.std(axis=1, keepdims=True))
    # and not the test set's own: its mean is far from 0 after the shift
    assert np.abs(Z.mean(axis=1)).max() > 1.0


def test_agrees_with_sklearn_standard_scaler_on_the_transpose():
    X_train, X_test = _data(seed=3, m=80), _data(seed=4, m=9)
    scaler = StandardScaler().fit(X_train.T)
    mu, sigma2 = fit_normalization(X_train)
    np.testing.assert_allclose(mu[:, 0], scaler.mean_, rtol=1e-13)
    np.testing.assert_allclose(sigma2[:, 0], scaler.var_, rtol=1e-10)
    np.testing.assert_allclose(normalize(X_test, mu, sigma2), scaler.transform(X_test.T).T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("value", [0.0, 5.0, 0.1, -3.3e7, 1e-300])
def test_constant_feature_is_only_centred(value):
    X = np.vstack([_data(seed=5, n_x=2, m=30), np.full((1, 30), value)])
    mu, sigma2 = fit_normalization(X)
    assert sigma2[2, 0] == 0.0
    Z = normalize(X, mu, sigma2)
    assert np.isfinite(Z).all()
    # only centred: the new data's offset from the training value survives unscaled
    np.testing.assert_allclose(normalize(X + 1.0, mu, sigma2)[2], 1.0, rtol=1e-9)
    assert np.abs(Z[2]).max() <= 1e-9 * max(1.0, abs(value))


def test_constant_feature_agrees_with_sklearn():
    X = np.vstack([_data(seed=6, n_x=1, m=30), np.full((1, 30), 0.1)])
    Z = normalize(X, *fit_normalization(X))
    np.testing.assert_allclose(Z, StandardScaler().fit_transform(X.T).T, atol=1e-12)


def test_tiny_but_real_variation_is_not_called_constant():
    X = 1.0 + 1e-9 * _data(seed=7, n_x=1, offsets=(0.0,), scales=(1.0,))
    _, sigma2 = fit_normalization(X)
    assert sigma2[0, 0] > 0


def test_integers_work_in_float64():
    X = np.array([[2, 4, 6], [7, 7, 7]], dtype=np.int64)
    mu, sigma2 = fit_normalization(X)
    assert mu.dtype == sigma2.dtype == np.float64
    np.testing.assert_allclose(sigma2, [[8 / 3], [0.0]])
    np.testing.assert_allclose(normalize(X, mu, sigma2), [[-np.sqrt(1.5), 0, np.sqrt(1.5)], [0, 0, 0]])


def test_single_example_gives_zero_variance_and_zero_output():
    X = np.array([[3.0], [-1.0]])
    mu, sigma2 = fit_normalization(X)
    np.testing.assert_array_equal(sigma2, 0.0)
    np.testing.assert_array_equal(normalize(X, mu, sigma2), 0.0)


def test_inputs_are_not_modified():
    X = _data(seed=8)
    before = X.copy()
    mu, sigma2 = fit_normalization(X)
    normalize(X, mu, sigma2)
    np.testing.assert_array_equal(X, before)


# --------------------------------------------------------------------------- properties
_finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    X=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 12)), elements=_finite),
    a=st.floats(0.01, 100.0),
    c=st.floats(-100.0, 100.0),
)
def test_affine_invariance(X, a, c):
    """(a X + c) normalizes to the same values as X, for a > 0."""
    Z = normalize(X, *fit_normalization(X))
    Y = a * X + c
    Z_affine = normalize(Y, *fit_normalization(Y))
    # features constant up to rounding may be detected in one scaling and not the other
    keep = X.std(axis=1) > 1e-6 * (1 + np.abs(X).max(axis=1))
    np.testing.assert_allclose(Z_affine[keep], Z[keep], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    X=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=_finite),
    X_new=arrays(np.float64, st.tuples(st.just(4), st.integers(1, 5)), elements=_finite),
)
def test_inverse_transform_round_trip(X, X_new):
    norm = Normalizer().fit(X)
    X_new = X_new[: X.shape[0]]
    back = norm.inverse_transform(norm.transform(X_new))
    np.testing.assert_allclose(back, X_new, rtol=1e-9, atol=1e-9 * (1 + np.abs(X).max()))


# --------------------------------------------------------------------------- Normalizer
def test_normalizer_matches_the_functions_and_reprs():
    X_train, X_test = _data(seed=9), _data(seed=10, m=4)
    norm = Normalizer()
    assert repr(norm) == "Normalizer(not fitted)"
    Z_train = norm.fit_transform(X_train)
    mu, sigma2 = fit_normalization(X_train)
    np.testing.assert_array_equal(norm.mu, mu)
    np.testing.assert_array_equal(norm.sigma2, sigma2)
    np.testing.assert_array_equal(Z_train, normalize(X_train, mu, sigma2))
    np.testing.assert_array_equal(norm.transform(X_test), normalize(X_test, mu, sigma2))
    assert repr(norm).startswith("Normalizer(n_x=3, mu=[")
    assert norm.n_x == 3


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_normalizer_before_fit_raises(method):
    with pytest.raises(NotFittedError, match=f"Normalizer.{method} needs mu and sigma2: call fit"):
        getattr(Normalizer(), method)(np.zeros((2, 3)))


def test_normalizer_other_n_x_raises_naming_both():
    norm = Normalizer().fit(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"X has n_x=3 features .* fitted on n_x=2"):
        norm.transform(np.ones((3, 4)))
    with pytest.raises(ValueError, match="X_norm has 3 feature"):
        norm.inverse_transform(np.ones((3, 4)))


# --------------------------------------------------------------------------- bad input
MU, SIGMA2 = np.zeros((2, 1)), np.ones((2, 1))


@pytest.mark.parametrize(
    ("X", "error", "fragment"),
    [
        (np.arange(4.0), ValueError, "X must have shape (n_x, m)"),
        (np.zeros((2, 2, 2)), ValueError, "X must have shape (n_x, m)"),
        (np.zeros((2, 0)), ValueError, "X needs at least 1 example"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "X contains 1 non-finite value(s)"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]]), ValueError, "feature (row) 1, example (column) 0"),
        (np.array([["a", "b"]]), TypeError, "X must hold real numbers"),
        (np.array([[True, False]]), TypeError, "X must hold real numbers"),
        ("abc", TypeError, "X must be a numeric array"),
        (None, TypeError, "X must be a numeric array"),
    ],
)
def test_bad_X_for_fit_and_normalize(X, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        fit_normalization(X)
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        normalize(X, MU, SIGMA2)


@pytest.mark.parametrize(
    ("mu", "sigma2", "error", "fragment"),
    [
        (np.zeros(2), SIGMA2, ValueError, r"mu has shape \(2,\), expected \(2, 1\).*keepdims=True"),
        (MU, np.ones(2), ValueError, r"sigma2 has shape \(2,\), expected \(2, 1\).*keepdims=True"),
        (np.zeros((1, 2)), SIGMA2, ValueError, r"mu must have shape \(n_x, 1\), got shape \(1, 2\)"),
        (MU, np.ones((3, 1)), ValueError, r"mu has shape \(2, 1\) but sigma2 has shape \(3, 1\)"),
        (MU, np.array([[1.0], [-0.5]]), ValueError, r"sigma2 must be >= 0 .* -0.5 for feature 1"),
        (MU, np.array([[np.nan], [1.0]]), ValueError, r"sigma2 must be finite, got nan for feature 0"),
        (np.array([[0.0], [np.inf]]), SIGMA2, ValueError, r"mu must be finite, got inf for feature 1"),
        ("mu", SIGMA2, TypeError, "mu must be a numeric array"),
        (MU, np.array([["x"], ["y"]]), TypeError, "sigma2 must hold real numbers"),
    ],
)
def test_bad_statistics_for_normalize(mu, sigma2, error, fragment):
    with pytest.raises(error, match=fragment):
        normalize(np.ones((2, 3)), mu, sigma2)


def test_other_n_x_than_fit_names_both_and_hints_at_transpose():
    mu, sigma2 = fit_normalization(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"X has n_x=3 features \(rows\) but mu and sigma2 were fitted on n_x=2"):
        normalize(np.ones((3, 4)), mu, sigma2)
    with pytest.raises(ValueError, match=r"is X transposed"):
        normalize(np.ones((4, 2)), mu, sigma2)
