"""helpers._validation: every bad input gets a named, specific error."""

import numpy as np
import pytest

from helpers._validation import (
    as_float_matrix,
    check_choice,
    check_count,
    check_eps,
    check_layer_dims,
    check_params,
    check_probability,
    param_names,
)


def _params(dims=(3, 4, 1)):
    return {
        k: v
        for l in range(1, len(dims))
        for k, v in ((f"W{l}", np.ones((dims[l], dims[l - 1]))), (f"b{l}", np.zeros((dims[l], 1))))
    }


def test_integer_matrix_becomes_float64():
    X = as_float_matrix([[1, 2], [3, 4]])
    assert X.dtype == np.float64 and X.shape == (2, 2)


@pytest.mark.parametrize(
    ("value", "error", "fragment"),
    [
        ([1.0, 2.0, 3.0], ValueError, "reshape(1, -1)"),
        (np.zeros((2, 2, 2)), ValueError, "(n_x, m)"),
        (np.array([["a", "b"]]), TypeError, "real numbers"),
        (np.array([[True, False]]), TypeError, "real numbers"),
        ("abc", TypeError, "numeric array"),
        (None, TypeError, "numeric array"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "feature (row) 0, example (column) 1"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]]), ValueError, "feature (row) 1"),
    ],
)
def test_bad_matrices_are_named(value, error, fragment):
    with pytest.raises(error, match="X") as info:
        as_float_matrix(value, "X")
    assert fragment in str(info.value)


def test_wrong_number_of_features_is_explained():
    with pytest.raises(ValueError, match=r"has 3 feature\(s\).*but 2 were expected"):
        as_float_matrix(np.zeros((3, 5)), "X_test", n_rows=2)


@pytest.mark.parametrize("eps", [0, -1e-7, float("nan"), float("inf")])
def test_eps_must_be_positive_and_finite(eps):
    with pytest.raises(ValueError, match="eps"):
        check_eps(eps)


@pytest.mark.parametrize("eps", ["1e-7", None, True, [1e-7]])
def test_eps_must_be_a_number(eps):
    with pytest.raises(TypeError, match="eps"):
        check_eps(eps)


def test_choice_lists_valid_values():
    with pytest.raises(ValueError, match="'he', 'xavier'"):
        check_choice("kaiming", "method", ("he", "xavier"))


@pytest.mark.parametrize("bad", [[3], [3, 0], [3, 2.5], "34", 5, [3, -1]])
def test_layer_dims_validation(bad):
    with pytest.raises((ValueError, TypeError), match="layer_dims"):
        check_layer_dims(bad)


@pytest.mark.parametrize("p", [0, 1.5, -0.1, float("nan")])
def test_keep_prob_range(p):
    with pytest.raises(ValueError, match="keep_prob"):
        check_probability(p)


def test_param_names_follow_the_lecture_order():
    assert param_names(2) == ["W1", "b1", "W2", "b2"]
    assert param_names(2, "d") == ["dW1", "db1", "dW2", "db2"]


def test_params_checks_chain_and_keys():
    assert check_params(_params((3, 4, 2, 1))) == 3
    p = _params()
    p["W2"] = np.ones((1, 5))
    with pytest.raises(ValueError, match=r"W2.*\(1, 5\).*W1 has 4 rows"):
        check_params(p)
    p = _params()
    p["b1"] = np.zeros(4)
    with pytest.raises(ValueError, match="b1"):
        check_params(p)
    p = _params()
    p["W7"] = np.ones((1, 1))
    with pytest.raises(ValueError, match="unexpected"):
        check_params(p)


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_count_accepts_integers_of_any_kind(value):
    out = check_count(value, "n", 2)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    ("value", "error"),
    [(1, ValueError), (-4, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError), (None, TypeError)],
)
def test_count_rejects_non_integers_and_small_ones_naming_the_argument(value, error):
    with pytest.raises(error, match=r"n_things must be an integer >= 2"):
        check_count(value, "n_things", 2)
