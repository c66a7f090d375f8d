"""Graded checks for notebook 3, numerical approximation of gradients (see helpers.checks.core).

Questions (``grade_hidden`` names):

* ``numerical.one_sided_difference``, ``numerical.centered_difference``: the student's
  finite difference on unseen functions, points (scalars and arrays of several shapes)
  and steps, compared with :mod:`helpers._reference.numerical`. The student's function
  is called twice on a copy of ``theta``; the copy must come back unchanged and both
  calls must agree.
* ``numerical.error_order``: the student's order measurement on made-up methods whose
  error is known in closed form (``c eps**p (1 + d eps)``), so a mistake in the
  student's difference functions does not cost these points a second time.
* ``numerical.best_eps``: the student's choice of ``eps`` for the centered difference on
  unseen functions, made **without the exact derivative** (``best_eps(difference, f,
  theta, eps_values)``: the step where the estimates of neighbouring steps agree best), so
  sweeping the error against a known ``g`` (``helpers.numerical.eps_sweep``) cannot answer
  it. The minimum of the error is flat and its bottom is round-off noise,
  so a grid step is accepted when it is a step the exercise's rule picks (with the
  reference difference: in the noise, three neighbours can agree by chance; tied steps
  all count, whichever way the grid is sorted), when its
  (reference) error is within :data:`BAND` times the best in the grid, or when the error
  model's total there is within :data:`MODEL_BAND` times the model's minimum (cases use
  ``k`` and ``offset`` to move the optimum around, so one textbook eps does not pass them all).

Per-student variants (``Check.vary``, see :mod:`helpers.variants`) redraw the functions and
points of every question within what the lesson teaches, keeping each case's purpose:

* differences: any scalar family for a scalar one (:data:`SCALAR_FAMILIES`), the other
  coupled family for a coupled one (both need an array theta); ``theta``, ``eps`` and ``k``
  times a factor in [0.5, 2] (signs kept: a negative point stays negative); array shapes
  times [0.7, 1.5] (every case keeps its number of axes, an integer theta stays integer);
* error_order: the family, ``theta``, ``c`` and ``d`` as above; an integer order ``p`` among
  the orders the lesson shows: 1 (one-sided), 2 (centered), 4 (Richardson extrapolation, "go
  further"); the grids stop at 1e-3, where even ``c eps**4`` stays far above the round-off of
  ``g(theta) + error`` (the order 1.5 case keeps its order);
* best_eps: ``f`` among :data:`MOVABLE_FAMILIES` (cube's optimum ignores ``k``, so a case
  that moves the optimum with ``k`` would lose its purpose; the cube case keeps its cube),
  ``theta`` and ``k`` times [0.8, 1.25] (``k theta`` stays where no family's derivative or
  third derivative vanishes), ``offset`` times [0.5, 2] (the large-offset cases keep their
  large round-off; their grids stop at 1e-9, where ``f(theta + eps)`` and ``f(theta - eps)``
  still differ in float64).

Case specs (JSON): ``{"f": <family>, "theta": 1.3, "eps": 1e-4}`` for a scalar theta,
``{"f": <family>, "seed": 3, "shape": [2, 3], "eps": 1e-4}`` for an array (add
``"int": true`` for an integer theta); eps grids as ``{"start": -1, "stop": -12, "num": 45}``
(``np.logspace``). Families: see :data:`FAMILIES`.

The ``visible_*`` functions are the visible tests: they run in the kernel and explain the
likely mistake; they decide nothing about the grade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from helpers.checks.core import (
    Check,
    CheckFailure,
    PayloadError,
    call_student,
    compare_arrays,
    decode_array,
    encode_array,
    expect_array,
    register,
)
from helpers.numerical import ErrorModel, fit_order
from helpers.variants import OneOf, Scale

__all__ = [
    "BAND",
    "COUPLED_FAMILIES",
    "FAMILIES",
    "MODEL_BAND",
    "MOVABLE_FAMILIES",
    "ORDER_TOL",
    "SCALAR_FAMILIES",
    "TestFunction",
    "make_function",
    "visible_best_eps",
    "visible_difference",
    "visible_error_order",
]

#: |order - expected| accepted for a measured order of the error.
ORDER_TOL = 0.05
#: best_eps: accepted error at the student's eps, as a multiple of the best error in the grid...
BAND = 10.0
#: ... or an eps where the error model's total is within this factor of its minimum (the
#: measured minimum is round-off noise; see :func:`_compare_best_eps`).
MODEL_BAND = 3.0
#: A finite difference is compared with the reference up to RTOL relative plus this many
#: machine epsilons of ``|f|`` divided by ``eps``: honest implementations round differently.
RTOL = 1e-9
ROUNDOFF_SLACK = 32.0


# --------------------------------------------------------------------------- test functions
@dataclass(frozen=True)
class TestFunction:
    """A smooth function with known derivatives at ``theta``.

    Attributes
    ----------
    f : callable
        ``f(theta) -> float``.
    g : callable
        Exact gradient, ``theta``'s shape (a float for scalar theta).
    d3 : callable
        ``|f'''|`` along a coordinate at ``theta`` (largest over coordinates), for the
        error model.
    """

    __test__ = False  # not a pytest class

    f: object
    g: object
    d3: object


# scalar families h, with h', h''' ; an array theta uses f(theta) = sum_i h(theta_i)
_SCALAR = {
    "cube": (lambda t: t**3, lambda t: 3 * t**2, lambda t: 6 + 0 * t),
    "quartic": (lambda t: t**4 - 2 * t, lambda t: 4 * t**3 - 2, lambda t: 24 * t),
    "sin": (np.sin, np.cos, lambda t: -np.cos(t)),
    "exp": (np.exp, np.exp, np.exp),
}
#: Names accepted in a case's ``"f"``; the last two couple the coordinates (array theta only).
FAMILIES = (*_SCALAR, "quadratic_form", "log_sum_exp")
#: Families that ask the same question of a finite difference (variants swap them).
SCALAR_FAMILIES = tuple(_SCALAR)
COUPLED_FAMILIES = ("quadratic_form", "log_sum_exp")
#: Scalar families whose optimal eps moves with ``k`` (``(k theta)**3``'s does not: it is
#: about ``|theta| (2u)**(1/3)`` whatever ``k``), the ones best_eps cases swap.
MOVABLE_FAMILIES = ("exp", "sin", "quartic")


def make_function(name: str, *, shape=(), seed: int = 0, k: float = 1.0, offset: float = 0.0) -> TestFunction:
    """Build the test function ``name`` for a theta of ``shape``.

    ``seed`` draws the constants of the coupled families. A scalar family becomes
    ``h(k theta) + offset``: ``k`` moves its optimal eps (about ``1 / k``), a large
    ``offset`` raises the round-off (the values that cancel get bigger) and so the optimal eps.
    """
    shape = tuple(shape)
    if name in _SCALAR:
        h, dh, d3h = _SCALAR[name]
        k, offset = float(k), float(offset)
        if shape == ():
            return TestFunction(
                lambda t: float(h(k * t) + offset),
                lambda t: float(k * dh(k * t)),
                lambda t: float(abs(k**3 * d3h(k * t))),
            )
        return TestFunction(
            lambda t: float(np.sum(h(k * np.asarray(t))) + offset),
            lambda t: k * dh(k * np.asarray(t, dtype=np.float64)),
            lambda t: float(np.max(np.abs(k**3 * d3h(k * np.asarray(t, dtype=np.float64))))),
        )
    if shape == ():
        raise ValueError(f"test function {name!r} needs an array theta (a 'shape' in the case)")
    n = math.prod(shape)
    rng = np.random.default_rng([seed, 1])
    if name == "quadratic_form":
        A = rng.normal(size=(n, n))
        b = rng.normal(size=n)

        def f(t):
            x = np.asarray(t, dtype=np.float64).reshape(-1)
            return float(x @ A @ x + b @ x)

        return TestFunction(
            f, lambda t: ((A + A.T) @ np.asarray(t, dtype=np.float64).reshape(-1) + b).reshape(shape), lambda t: 0.0
        )
    if name == "log_sum_exp":
        w = rng.uniform(0.5, 2.0, size=shape)

        def f(t):
            z = w * np.asarray(t, dtype=np.float64)
            return float(np.log(np.sum(np.exp(z - z.max()))) + z.max())

        def g(t):
            z = w * np.asarray(t, dtype=np.float64)
            p = np.exp(z - z.max())
            return w * p / p.sum()

        return TestFunction(f, g, lambda t: float(np.max(w) ** 3))
    raise ValueError(f"unknown test function {name!r}; known: {', '.join(FAMILIES)}")


def _theta(case: dict):
    if "shape" not in case:
        return float(case["theta"])
    rng = np.random.default_rng([int(case["seed"]), 2])
    shape = tuple(int(s) for s in case["shape"])
    if case.get("int"):
        return rng.integers(-3, 4, size=shape)
    return rng.uniform(-1.5, 1.5, size=shape)


def _eps_grid(spec) -> np.ndarray:
    if isinstance(spec, dict):
        return np.logspace(float(spec["start"]), float(spec["stop"]), int(spec["num"]))
    return np.asarray(spec, dtype=np.float64).reshape(-1)


def _function_inputs(case: dict) -> dict:
    theta = _theta(case)
    fn = make_function(
        case["f"], shape=np.shape(theta), seed=int(case.get("seed", 0)),
        k=float(case.get("k", 1.0)), offset=float(case.get("offset", 0.0)),
    )
    return {"f": fn.f, "g": fn.g, "d3": fn.d3, "theta": theta}


# --------------------------------------------------------------------------- exercises 1, 2
def _difference_inputs(case: dict) -> dict:
    inputs = _function_inputs(case)
    inputs["eps"] = float(case["eps"])
    return inputs


def _fresh(theta):
    return theta.copy() if isinstance(theta, np.ndarray) else theta


def _run_difference(solution, inputs):
    fn = solution[0]
    theta = _fresh(inputs["theta"])
    # convert at once: a function returning (a view of) theta must not change under our feet
    first = np.array(fn(inputs["f"], theta, inputs["eps"]), dtype=np.float64, copy=True)
    second = np.array(fn(inputs["f"], theta, inputs["eps"]), dtype=np.float64, copy=True)
    return {"first": first, "second": second, "theta_after": np.array(theta, dtype=np.float64, copy=True)}


def _encode_difference(out) -> dict:
    return {key: encode_array(out[key], name=key) for key in ("first", "second", "theta_after")}


def _decode_difference(obj) -> dict:
    if not isinstance(obj, dict) or set(obj) != {"first", "second", "theta_after"}:
        raise PayloadError("difference answer is not of the recorded form")
    return {key: decode_array(value) for key, value in obj.items()}


def _expected_difference(method: str):
    def expected(inputs):
        from helpers._reference import numerical as ref  # absent in the student edition

        both = {
            "one_sided": ref.one_sided_difference(inputs["f"], inputs["theta"], inputs["eps"]),
            "centered": ref.centered_difference(inputs["f"], inputs["theta"], inputs["eps"]),
        }
        return {"value": both[method], "other": both["centered" if method == "one_sided" else "one_sided"]}

    return expected


def _difference_tol(inputs, expected) -> np.ndarray:
    theta = np.asarray(inputs["theta"], dtype=np.float64)
    scale = abs(inputs["f"](_fresh(inputs["theta"]))) + float(np.max(np.abs(theta), initial=0.0)) * float(
        np.max(np.abs(inputs["g"](_fresh(inputs["theta"]))), initial=0.0)
    ) + 1.0
    u = np.finfo(np.float64).eps
    return RTOL * np.abs(expected) + ROUNDOFF_SLACK * u * scale / inputs["eps"]


def _close(answer, target, tol) -> bool:
    target = np.asarray(target, dtype=np.float64)
    return answer.shape == target.shape and bool(np.all(np.abs(answer - target) <= tol))


def _diagnose(answer, expected, other, tol, method: str) -> str:
    """The likely mistake behind a wrong finite difference (no hidden values in it)."""
    expected = np.asarray(expected, dtype=np.float64)
    if answer.shape != expected.shape:
        return ""
    if _close(answer, other, tol):
        other_name = "centered" if method == "one_sided" else "one-sided"
        return f": this is the {other_name} difference, not the {method.replace('_', '-')} one"
    if _close(answer, 2 * expected, 2 * tol):
        return ": about twice the right value (the centered difference divides by 2 * eps)"
    if _close(answer, expected / 2, tol):
        return ": about half the right value (the one-sided difference divides by eps, not 2 * eps)"
    if _close(answer, -expected, tol):
        return ": the sign is flipped (f(theta + eps) comes first in the numerator)"
    if answer.ndim and answer.size > 1:
        flat_a, flat_e = answer.reshape(-1), expected.reshape(-1)
        tol_flat = np.broadcast_to(tol, expected.shape).reshape(-1)
        if abs(flat_a[0] - flat_e[0]) <= tol_flat[0]:
            return ": the first coordinate is right but later ones are not; is theta restored after each perturbation?"
    return ""


def _compare_difference(method: str):
    label = method.replace("_", "-")

    def compare(answer, expected, inputs):
        theta = np.asarray(inputs["theta"], dtype=np.float64)
        if answer["theta_after"].shape != theta.shape or not np.array_equal(answer["theta_after"], theta):
            return (
                "your function changed the caller's theta; perturb a copy (np.array(theta, dtype=float)) "
                "or put back the saved value"
            )
        value = np.asarray(expected["value"], dtype=np.float64)
        first = answer["first"]
        if first.shape != value.shape:
            return f"the {label} difference has shape {first.shape}, expected {value.shape} (theta's shape)"
        if not np.isfinite(first).all():
            return f"the {label} difference contains NaN or inf"
        tol = _difference_tol(inputs, value)
        if not _close(first, value, tol):
            worst = float(np.max(np.abs(first - value) - tol))
            return (
                f"the {label} difference is not correct (largest error beyond tolerance: {worst:.3g})"
                + _diagnose(first, value, expected["other"], tol, method)
            )
        if not _close(answer["second"], first, tol):
            return "a second call on the same theta gave a different result (does the function keep state?)"
        return None

    return compare


for _method, _what in (("one_sided", "one-sided difference"), ("centered", "centered difference")):
    register(
        Check(
            name=f"numerical.{_method}_difference",
            make_inputs=_difference_inputs,
            run=_run_difference,
            encode=_encode_difference,
            decode=_decode_difference,
            expected=_expected_difference(_method),
            compare=_compare_difference(_method),
            describe=f"the {_what} on unseen functions, points and steps",
            vary={
                "f": OneOf(SCALAR_FAMILIES, COUPLED_FAMILIES),
                "theta": Scale(0.5, 2.0),
                "eps": Scale(0.5, 2.0),
                "k": Scale(0.5, 2.0),
                "shape": Scale(0.7, 1.5),
            },
        )
    )


# --------------------------------------------------------------------------- exercise 3
class KnownOrderDifference:
    """A made-up difference method whose error is exactly ``c eps**p (1 + d eps)``.

    It stands in for a real method so that measuring the order is graded on its own.
    """

    def __init__(self, g, c: float, p: float, d: float = 0.0):
        self.g, self.c, self.p, self.d = g, float(c), float(p), float(d)

    def error(self, eps):
        eps = np.asarray(eps, dtype=np.float64)
        return self.c * eps**self.p * (1 + self.d * eps)

    def __call__(self, f, theta, eps):
        return self.g(theta) + float(self.error(eps))

    def __repr__(self):
        return f"KnownOrderDifference(p={self.p:g})"


def _order_inputs(case: dict) -> dict:
    inputs = _function_inputs(case)
    inputs["difference"] = KnownOrderDifference(inputs["g"], case["c"], case["p"], case.get("d", 0.0))
    inputs["eps_values"] = _eps_grid(case["eps"])
    return inputs


def _run_order(solution, inputs):
    error_order = solution[0]
    theta, eps_values = _fresh(inputs["theta"]), inputs["eps_values"].copy()
    return error_order(inputs["difference"], inputs["f"], inputs["g"], theta, eps_values)


def _expected_order(inputs) -> float:
    eps = inputs["eps_values"]
    return fit_order(eps, np.abs(inputs["difference"].error(eps)), eps_min=float(eps.min()))


def _compare_order(answer, expected, inputs):
    message = compare_arrays(answer, expected, name="the order", rtol=0.0, atol=ORDER_TOL)
    if message and answer.shape == () and np.isfinite(answer) and abs(float(answer) * expected - 1) < ORDER_TOL:
        message += ": it looks like 1 / order (log(eps) against log(error), axes swapped?)"
    return message


register(
    Check(
        name="numerical.error_order",
        make_inputs=_order_inputs,
        run=_run_order,
        encode=lambda out: encode_array(out, name="the order", shape=()),
        decode=decode_array,
        expected=_expected_order,
        compare=_compare_order,
        describe="the order of the error of methods with a known order",
        vary={
            "f": OneOf(SCALAR_FAMILIES),
            "theta": Scale(0.5, 2.0),
            "c": Scale(0.5, 2.0),
            "d": Scale(0.5, 2.0),
            "p": OneOf((1, 2, 4)),
        },
    )
)


# --------------------------------------------------------------------------- exercise 4
def _best_eps_inputs(case: dict) -> dict:
    inputs = _function_inputs(case)
    inputs["eps_values"] = _eps_grid(case["eps"])
    return inputs


def _run_best_eps(solution, inputs):
    best_eps, centered = solution
    # no g: in a real gradient check the exact derivative is what is unknown
    return best_eps(centered, inputs["f"], _fresh(inputs["theta"]), inputs["eps_values"].copy())


def _expected_best_eps(inputs) -> dict:
    from helpers._reference.numerical import centered_difference  # absent in the student edition

    exact = np.asarray(inputs["g"](_fresh(inputs["theta"])), dtype=np.float64)
    errors = np.array(
        [np.max(np.abs(centered_difference(inputs["f"], inputs["theta"], e) - exact)) for e in inputs["eps_values"]]
    )
    theta = np.asarray(inputs["theta"], dtype=np.float64)
    # the values that cancel include the rounding of theta + eps, hence |theta g| beside |f|
    f_scale = abs(inputs["f"](_fresh(inputs["theta"]))) + float(np.max(np.abs(theta * exact)))
    return {"errors": errors, "f_scale": f_scale, "deriv_scale": inputs["d3"](_fresh(inputs["theta"])),
            "rule": _rule_picks(inputs)}


def _rule_picks(inputs) -> list:
    """The steps the exercise's rule picks with the reference centered difference.

    Every step with the smallest score: two neighbouring steps whose largest change is the
    same one tie exactly, and a grid sorted the other way round picks the other one.
    """
    from helpers._reference.numerical import centered_difference, stability_scores

    eps, score = stability_scores(centered_difference, inputs["f"], _fresh(inputs["theta"]), inputs["eps_values"])
    return [float(e) for e in eps[score == score.min()]]


def _compare_best_eps(answer, expected, inputs):
    if answer.shape != ():
        return f"best_eps should return one number (an eps), got shape {answer.shape}"
    eps = inputs["eps_values"]
    if not np.isfinite(answer):
        return "best_eps returned NaN or inf"
    hits = np.flatnonzero(np.abs(eps - float(answer)) <= 1e-9 * eps)
    if hits.size == 0:
        return "the eps returned is not one of eps_values (return the step of the grid, not its error or index)"
    errors = expected["errors"]
    err, best = errors[hits[0]], float(errors.min())
    # the rule's own pick: in the round-off noise three neighbours may agree by chance, and the
    # step where they do is the answer the exercise asks for, however far its error is from the best
    if any(abs(eps[hits[0]] - pick) <= 1e-9 * pick for pick in expected.get("rule", ())):
        return None
    if err <= BAND * best:
        return None
    # the bottom of the measured curve is round-off noise: an honest implementation with
    # other rounding finds its minimum elsewhere on the flat part, which the model locates
    if expected["f_scale"] > 0 and expected["deriv_scale"] > 0:
        model = ErrorModel("centered", expected["f_scale"], expected["deriv_scale"])
        if model.total(float(answer)) <= MODEL_BAND * model.best_error:
            return None
    too_large = eps[hits[0]] > eps[int(np.argmin(errors))]
    side = "too large (truncation error dominates)" if too_large else "too small (round-off dominates)"
    return (
        f"the centered error at your eps is {err / best:.0f} times the smallest one in the grid "
        f"(accepted: within {BAND:g} times); your eps is {side}"
    )


register(
    Check(
        name="numerical.best_eps",
        make_inputs=_best_eps_inputs,
        run=_run_best_eps,
        encode=lambda out: encode_array(out, name="eps", shape=()),
        decode=decode_array,
        expected=_expected_best_eps,
        compare=_compare_best_eps,
        describe="an eps at the bottom of the centered error curve, found without the derivative, on unseen functions",
        vary={
            "f": OneOf(MOVABLE_FAMILIES),
            # a narrow range, so four digits: two students rarely share a point
            "theta": Scale(0.8, 1.25, digits=4),
            "k": Scale(0.8, 1.25, digits=4),
            "offset": Scale(0.5, 2.0),
        },
    )
)


# --------------------------------------------------------------------------- visible tests
def _cube(theta):
    return theta**3


def _coupled(theta):
    """sum(theta**3) + (sum theta)**2: coordinates interact, so an unrestored theta shows."""
    theta = np.asarray(theta, dtype=np.float64)
    return float(np.sum(theta**3) + np.sum(theta) ** 2)


def _coupled_closed_form(theta, eps, method: str) -> np.ndarray:
    """The exact finite difference of :func:`_coupled` (Taylor series that terminate)."""
    theta = np.asarray(theta, dtype=np.float64)
    S = theta.sum()
    if method == "one_sided":
        return 3 * theta**2 + 3 * theta * eps + eps**2 + 2 * S + eps
    return 3 * theta**2 + eps**2 + 2 * S


def visible_difference(fn, method: str) -> None:
    """Visible tests of exercise 1 (``"one_sided"``) or 2 (``"centered"``); raise with a hint.

    1. The slide: ``f = theta**3`` at ``theta = 1``, ``eps = 0.01`` gives 3.0301 (one-sided)
       or 3.0001 (centered), in closed form ``3 + 3 eps + eps**2`` and ``3 + eps**2``.
    2. An integer array ``theta`` of shape (2, 3) for ``sum(theta**3) + (sum theta)**2``:
       the gradient's shape, values, ``theta`` left unchanged, and the same result twice.
    """
    if method not in ("one_sided", "centered"):
        raise ValueError(f"method must be 'one_sided' or 'centered', got {method!r}")
    label = f"{method}_difference"
    other = "centered" if method == "one_sided" else "one_sided"
    eps = 0.01
    closed = {"one_sided": 3 + 3 * eps + eps**2, "centered": 3 + eps**2}

    value = expect_array(
        call_student(fn, _cube, 1.0, eps, name=label), f"{label}(f, 1.0, 0.01)", shape=(),
        hints={(1,): "for a scalar theta return a number, not an array"},
    )
    tol = 1e-9
    if abs(float(value) - closed[method]) > tol:
        hint = _diagnose(value, closed[method], closed[other], tol, method)
        raise CheckFailure(
            f"{label}(f, 1.0, 0.01) for f(theta) = theta**3 gave {float(value):.6f}, "
            f"expected {closed[method]:.4f} (the slide's number){hint}"
        )

    theta = np.array([[1, -2, 0], [3, 1, -1]])
    saved = theta.copy()
    eps = 1e-3
    first = expect_array(
        call_student(fn, _coupled, theta, eps, name=label), f"{label}(f, theta, eps) for theta of shape (2, 3)",
        shape=(2, 3),
        hints={
            (): "for an array theta return dtheta_approx, one entry per coordinate",
            (6,): "return dtheta_approx with theta's shape, not flattened",
        },
    )
    if theta.shape != saved.shape or not np.array_equal(theta, saved):
        raise CheckFailure(
            f"{label} changed the caller's theta; perturb a copy (np.array(theta, dtype=float)) "
            f"or put back the saved value"
        )
    want = _coupled_closed_form(saved, eps, method)
    tol = 1e-7 * np.abs(want) + 1e-9
    if not _close(first, want, tol):
        hint = _diagnose(first, want, _coupled_closed_form(saved, eps, other), tol, method)
        if not hint and np.all(first == np.round(first)):
            hint = (
                ": all entries are whole numbers; with an integer theta, theta.copy() stays integer and "
                "theta[i] + eps is truncated (use np.array(theta, dtype=float))"
            )
        raise CheckFailure(
            f"{label} on an integer theta of shape (2, 3) for f = sum(theta**3) + (sum theta)**2 "
            f"is wrong (largest error {float(np.max(np.abs(first - want))):.2e}){hint}"
        )
    second = expect_array(call_student(fn, _coupled, theta, eps, name=label), "a second call", shape=(2, 3))
    if not _close(second, first, tol):
        raise CheckFailure(f"{label} gave a different result when called a second time with the same theta")


def visible_error_order(error_order) -> None:
    """Visible tests of exercise 3: made-up methods with errors 0.5 eps**3 and -2 eps."""
    g = lambda theta: 3 * theta**2  # noqa: E731
    eps_values = np.logspace(-1, -4, 7)
    for c, p in ((0.5, 3), (-2.0, 1)):
        method = KnownOrderDifference(g, c, p)
        order = expect_array(
            call_student(error_order, method, _cube, g, 1.0, eps_values, name="error_order"), "the order", shape=()
        )
        if abs(float(order) - p) > ORDER_TOL:
            hint = ""
            if not np.isfinite(order):
                hint = " (a NaN: log of a negative error? use the absolute error)"
            elif abs(float(order) * p - 1) < ORDER_TOL:
                hint = " (that is 1 / order: fit log(error) against log(eps), not the reverse)"
            raise CheckFailure(
                f"for a method whose error is {c:g} * eps**{p}, error_order gave {float(order):.3f}, expected {p}{hint}"
            )


def visible_best_eps(best_eps, centered) -> None:
    """Visible test of exercise 4: f = theta**3 at theta = 1 on a grid of 45 steps (g is not given)."""
    eps_values = np.logspace(-1, -12, 45)
    eps = expect_array(
        call_student(best_eps, centered, _cube, 1.0, eps_values, name="best_eps"), "best_eps(...)", shape=()
    )
    errors = np.array([abs(float(centered(_cube, 1.0, e)) - 3.0) for e in eps_values])
    expected = {"errors": errors, "f_scale": 1.0 + 3.0, "deriv_scale": 6.0}
    message = _compare_best_eps(eps, expected, {"eps_values": eps_values})
    if message:
        raise CheckFailure(f"for theta**3 at theta = 1: {message}")
