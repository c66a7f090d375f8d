"""Finite differences (lecture 3): reference implementations, sweep, order fit, error model.

Oracles: the slide's numbers and closed forms (for theta**3 the Taylor series stop),
analytic derivatives, and properties (exactness on quadratics, linearity in f).
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import numerical
from helpers._reference.numerical import centered_difference, one_sided_difference
from helpers.plots.numerical import error_vs_eps

DIFFERENCES = {"one_sided": one_sided_difference, "centered": centered_difference}


def cube(theta):
    return theta**3


def d_cube(theta):
    return 3 * theta**2


# --------------------------------------------------------------------------- the slide
def test_slide_one_sided_is_3_0301():
    value = one_sided_difference(cube, 1.0, 0.01)
    assert isinstance(value, float)
    assert value == pytest.approx(3.0301, abs=1e-12)
    assert abs(value - 3) == pytest.approx(0.0301, abs=1e-12)


def test_slide_two_sided_is_3_0001():
    value = centered_difference(cube, 1.0, 0.01)
    assert isinstance(value, float)
    assert value == pytest.approx(3.0001, abs=1e-12)
    assert abs(value - 3) == pytest.approx(0.0001, abs=1e-12)


def test_public_names_are_the_reference_in_the_instructor_edition():
    assert numerical.one_sided_difference is one_sided_difference
    assert numerical.centered_difference is centered_difference


@pytest.mark.parametrize("theta", [-2.0, 0.5, 3])
@pytest.mark.parametrize("eps", [0.1, 1e-3])
def test_closed_forms_for_the_cube(theta, eps):
    # (t+e)^3 - t^3 = 3t^2 e + 3t e^2 + e^3 ; (t+e)^3 - (t-e)^3 = 6t^2 e + 2e^3
    assert one_sided_difference(cube, theta, eps) == pytest.approx(3 * theta**2 + 3 * theta * eps + eps**2, rel=1e-9)
    assert centered_difference(cube, theta, eps) == pytest.approx(3 * theta**2 + eps**2, rel=1e-9)


# --------------------------------------------------------------------------- order
@pytest.mark.parametrize(
    ("f", "g", "theta"),
    [(np.sin, np.cos, 0.7), (np.exp, np.exp, -0.3), (cube, d_cube, 1.3)],
)
@pytest.mark.parametrize(("method", "order"), [("one_sided", 1), ("centered", 2)])
def test_fitted_order_in_the_truncation_regime(f, g, theta, method, order):
    eps = np.logspace(-1.5, -4, 6)
    errors = [abs(DIFFERENCES[method](f, theta, e) - g(theta)) for e in eps]
    assert numerical.fit_order(eps, errors, eps_min=eps.min()) == pytest.approx(order, abs=0.05)


def test_fit_order_is_exact_on_a_power_law():
    eps = np.logspace(-1, -6, 11)
    assert numerical.fit_order(eps, 7.0 * eps**2.5, eps_min=1e-6) == pytest.approx(2.5, abs=1e-12)


def test_fit_order_default_window_excludes_round_off():
    eps = np.logspace(-1, -13, 49)
    sweep = numerical.eps_sweep(cube, d_cube, 1.0, eps)
    assert sweep.order("one_sided") == pytest.approx(1, abs=0.05)
    assert sweep.order("centered") == pytest.approx(2, abs=0.05)
    # over the whole grid, round-off ruins the slope: the window matters
    assert abs(numerical.fit_order(eps, sweep.errors["centered"] + 1e-300, eps_min=eps.min()) - 2) > 0.5


# --------------------------------------------------------------------------- arrays
@pytest.mark.parametrize("shape", [(1,), (4,), (2, 3), (2, 1, 3)])
def test_gradient_of_a_quadratic_form(shape):
    rng = np.random.default_rng(len(shape))
    n = math.prod(shape)
    A, b = rng.normal(size=(n, n)), rng.normal(size=n)
    theta = rng.normal(size=shape)

    def f(t):
        x = t.reshape(-1)
        return x @ A @ x + b @ x

    exact = ((A + A.T) @ theta.reshape(-1) + b).reshape(shape)
    approx = centered_difference(f, theta, 1e-4)
    assert approx.shape == shape
    # the centered difference of a quadratic is exact: only round-off remains
    np.testing.assert_allclose(approx, exact, rtol=0, atol=1e-8)
    # one-sided: error eps * A_ii per coordinate
    one = one_sided_difference(f, theta, 1e-4)
    np.testing.assert_allclose(one, exact + 1e-4 * np.diag(A).reshape(shape), rtol=0, atol=1e-8)


def test_theta_is_never_modified_and_may_be_read_only():
    theta = np.array([[1.0, -2.0], [0.5, 3.0]])
    saved = theta.copy()
    theta.setflags(write=False)
    for method in DIFFERENCES.values():
        first = method(lambda t: np.sum(t**3) + np.sum(t) ** 2, theta, 1e-3)
        second = method(lambda t: np.sum(t**3) + np.sum(t) ** 2, theta, 1e-3)
        np.testing.assert_array_equal(theta, saved)
        np.testing.assert_array_equal(first, second)


def test_other_coordinates_are_exactly_unperturbed():
    theta = np.array([0.1, 0.7, 1e-3])
    seen = []

    def f(t):
        seen.append(t.copy())
        return float(np.sum(t))

    centered_difference(f, theta, 0.3)
    for k, t in enumerate(seen):
        i = k // 2
        others = np.arange(3) != i
        np.testing.assert_array_equal(t[others], theta[others])


def test_integers_are_computed_in_float64():
    assert one_sided_difference(cube, 2, 0.5) == pytest.approx(3 * 4 + 3 * 2 * 0.5 + 0.25)
    grad = centered_difference(lambda t: np.sum(t**3), np.array([1, 2]), 0.5)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3 * np.array([1, 4]) + 0.25)


def test_f_returning_a_one_by_one_array_is_a_scalar():
    assert centered_difference(lambda t: np.array([[t**2]]), 3.0, 0.1) == pytest.approx(6.0)


# --------------------------------------------------------------------------- properties
finite = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(a=finite, b=finite, c=finite, theta=finite, eps=st.floats(1e-3, 1.0))
def test_centered_is_exact_on_quadratics(a, b, c, theta, eps):
    def f(t):
        return a * t**2 + b * t + c

    scale = abs(a) * (abs(theta) + eps) ** 2 + abs(b) * (abs(theta) + eps) + abs(c) + 1
    assert abs(centered_difference(f, theta, eps) - (2 * a * theta + b)) <= 8 * np.finfo(float).eps * scale / eps


@settings(max_examples=40, deadline=None)
@given(alpha=finite, beta=finite, theta=st.floats(-2, 2), eps=st.floats(1e-3, 0.5),
       method=st.sampled_from(sorted(DIFFERENCES)))
def test_linear_in_f(alpha, beta, theta, eps, method):
    diff = DIFFERENCES[method]
    combined = diff(lambda t: alpha * np.sin(t) + beta * np.exp(t), theta, eps)
    separate = alpha * diff(np.sin, theta, eps) + beta * diff(np.exp, theta, eps)
    scale = (abs(alpha) + abs(beta)) * math.exp(abs(theta) + eps) + 1
    assert abs(combined - separate) <= 16 * np.finfo(float).eps * scale / eps


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_array_result_has_theta_shape_and_matches_separable_gradient(shape, seed):
    theta = np.random.default_rng(seed).uniform(-1, 1, size=shape)
    approx = centered_difference(lambda t: np.sum(np.sin(t)), theta, 1e-5)
    assert approx.shape == theta.shape
    np.testing.assert_allclose(approx, np.cos(theta), atol=1e-9)


# --------------------------------------------------------------------------- theory vs sweep
@pytest.mark.parametrize("method", ["one_sided", "centered"])
def test_optimal_eps_matches_the_sweep(method):
    eps = np.logspace(-1, -13, 97)
    sweep = numerical.eps_sweep(np.sin, np.cos, 1.0, eps)
    measured = eps[np.argmin(sweep.errors[method])]
    deriv = abs(np.sin(1.0)) if method == "one_sided" else abs(np.cos(1.0))
    theory = numerical.optimal_eps(method, f_scale=abs(np.sin(1.0)), deriv_scale=deriv)
    # the bottom is flat and noisy: within a decade either way
    assert 0.1 < measured / theory < 10
    best = numerical.best_error(method, f_scale=abs(np.sin(1.0)), deriv_scale=deriv)
    assert sweep.errors[method].min() <= best
    assert sweep.errors[method].min() > best / 1e3


def test_model_formulas():
    u = np.finfo(np.float64).eps
    one = numerical.ErrorModel("one_sided", f_scale=2.0, deriv_scale=3.0)
    assert one.optimal_eps == pytest.approx(2 * math.sqrt(u * 2 / 3))
    assert one.best_error == pytest.approx(2 * math.sqrt(u * 2 * 3))
    cen = numerical.ErrorModel("centered", f_scale=2.0, deriv_scale=3.0)
    assert cen.optimal_eps == pytest.approx((3 * u * 2 / 3) ** (1 / 3))
    # the optimum is a minimum of the total
    for model in (one, cen):
        e = model.optimal_eps
        assert model.total(e) < model.total(1.1 * e) and model.total(e) < model.total(e / 1.1)


def test_float32_is_much_worse_than_float64():
    u32, u64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
    assert numerical.optimal_eps("centered", dtype=np.float32) == pytest.approx(
        numerical.optimal_eps("centered") * (u32 / u64) ** (1 / 3)
    )
    eps = np.logspace(-1, -7, 25)
    s32 = numerical.eps_sweep(cube, d_cube, 1.0, eps, dtype=np.float32)
    s64 = numerical.eps_sweep(cube, d_cube, 1.0, eps)
    assert s32.dtype == "float32"
    assert s32.errors["centered"].min() > 1e-7 > 1e3 * s64.errors["centered"].min()


def test_evaluated_in_float32_rounds_input_and_output():
    seen = []

    def f(t):
        seen.append(np.asarray(t).dtype)
        return t * 3

    f32 = numerical.evaluated_in(f, np.float32)
    assert f32(0.1) == float(np.float32(np.float32(0.1) * np.float32(3)))
    assert seen == [np.float32]


# --------------------------------------------------------------------------- sweep, repr, plot
def test_sweep_with_student_style_methods_and_repr():
    methods = {"mine": lambda f, theta, eps: (f(theta + eps) - f(theta - eps)) / (2 * eps)}
    sweep = numerical.eps_sweep(cube, d_cube, 1.0, [0.1, 0.01], methods)
    np.testing.assert_allclose(sweep.errors["mine"], [0.01, 1e-4], rtol=1e-9)
    text = repr(sweep)
    assert "mine" in text and "1.0e-02" in text and "0x" not in text
    assert "<table>" in sweep._repr_html_()


def test_sweep_vector_theta_uses_the_largest_coordinate_error():
    sweep = numerical.eps_sweep(lambda t: np.sum(t**3), lambda t: 3 * t**2, np.array([1.0, 2.0]), [0.1])
    assert sweep.errors["centered"][0] == pytest.approx(0.01)
    assert sweep.errors["one_sided"][0] == pytest.approx(3 * 2 * 0.1 + 0.01)


def test_plot_returns_a_figure():
    sweep = numerical.eps_sweep(cube, d_cube, 1.0, np.logspace(-1, -13, 25))
    fig = error_vs_eps(sweep, f_scale=1.0, deriv_scales={"one_sided": 6.0, "centered": 6.0})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "slope 1" in labels and "slope 2" in labels
    assert any(lbl.startswith("optimal eps (centered)") for lbl in labels)
    plt.close(fig)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", sorted(DIFFERENCES))
@pytest.mark.parametrize(
    ("f", "theta", "eps", "error", "match"),
    [
        (cube, 1.0, 0.0, ValueError, "eps must be a finite number > 0, got 0.0"),
        (cube, 1.0, -1e-3, ValueError, "eps must be a finite number > 0"),
        (cube, 1.0, float("nan"), ValueError, "eps must be a finite number > 0, got nan"),
        (cube, 1.0, float("inf"), ValueError, "eps must be a finite number > 0, got inf"),
        (cube, 1.0, "0.01", TypeError, "eps must be a positive real number, got str"),
        (cube, 1.0, True, TypeError, "eps must be a positive real number"),
        ("theta**3", 1.0, 0.01, TypeError, "f must be a function of theta"),
        (cube, "1.0", 0.01, TypeError, "theta must be a numeric array"),
        (cube, [1.0, None], 0.01, TypeError, "theta must hold real numbers"),
        (cube, np.array([1.0, np.nan]), 0.01, ValueError, "theta contains 1 non-finite"),
        (cube, 1 + 2j, 0.01, TypeError, "theta must hold real numbers"),
        (lambda t: np.ones(2), 1.0, 0.01, ValueError, r"f must return a scalar .* shape \(2,\) at theta \+ eps"),
        (lambda t: "cost", 1.0, 0.01, TypeError, "f must return a real number, got str"),
        (lambda t: None, 1.0, 0.01, TypeError, "f must return a real number, got NoneType"),
        (lambda t: np.nan if t[1] > 1.0 else 0.0, np.array([2.0, 1.0]), 0.01, ValueError,
         r"f returned nan \(not finite\) at theta \+ eps at coordinate \(1,\)"),
    ],
)
def test_bad_input_raises_a_readable_error(method, f, theta, eps, error, match):
    with np.errstate(invalid="ignore"), pytest.raises(error, match=match):
        DIFFERENCES[method](f, theta, eps)


def test_f_non_finite_at_theta_names_the_point():
    with pytest.raises(ValueError, match=r"f returned inf \(not finite\) at theta;"):
        one_sided_difference(lambda t: math.inf if t == 1.0 else 0.0, 1.0, 0.1)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: numerical.fit_order([1e-1, 1e-2], [1.0]), ValueError, r"errors has shape \(1,\)"),
        (lambda: numerical.fit_order([1e-1, 1e-2], [1.0, 0.0], eps_min=1e-2), ValueError, "errors must be > 0"),
        (lambda: numerical.fit_order([1e-1, -1e-2], [1.0, 1.0]), ValueError, "eps must all be > 0"),
        (lambda: numerical.fit_order([1e-1, 1e-2], [1.0, 2.0]), ValueError, "only 0 step"),
        (lambda: numerical.eps_sweep(cube, d_cube, 1.0, []), ValueError, "eps_values is empty"),
        (lambda: numerical.eps_sweep(cube, 3.0, 1.0, [0.1]), TypeError, "g must be the derivative"),
        (lambda: numerical.eps_sweep(cube, d_cube, 1.0, [0.1], {"x": 1}), TypeError, r"methods\['x'\]"),
        (lambda: numerical.eps_sweep(cube, d_cube, 1.0, [0.1], dtype=np.float16), ValueError, "float64 or float32"),
        (lambda: numerical.eps_sweep(cube, d_cube, 1.0, [0.1], {"bad": lambda f, t, e: [t, t]}), ValueError,
         r"bad\(f, theta, eps=1.0e-01\) has shape \(2,\)"),
        (lambda: numerical.eps_sweep(cube, lambda t: np.ones(3), 1.0, [0.1]), ValueError, r"g\(theta\) has shape"),
        (lambda: numerical.ErrorModel("forward"), ValueError, "unknown method 'forward'"),
        (lambda: numerical.ErrorModel("centered", deriv_scale=0.0), ValueError, "deriv_scale must be a finite"),
        (lambda: numerical.optimal_eps("centered", f_scale=-1.0), ValueError, "f_scale must be a finite"),
        (lambda: error_vs_eps([1, 2]), TypeError, "sweep must be an EpsSweep"),
    ],
)
def test_tools_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
