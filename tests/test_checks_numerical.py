"""Graded checks of notebook 3: the reference passes, typical mistakes and hostile answers fail.

The hidden cases are read from the committed notebook, so these tests judge exactly what
students are graded on; the properties that depend on the cases (a mistake is detectable, the
best_eps cases move the optimum, the flat bottom only is accepted) are checked on the literal
cases and on several students' variants (:data:`VARIANTS`).
"""

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers._reference.numerical import centered_difference, one_sided_difference
from helpers.checks.core import CheckFailure, get_check, hidden_calls_in_source, record_answers, verify_payload
from helpers.checks.numerical import (
    COUPLED_FAMILIES,
    MOVABLE_FAMILIES,
    SCALAR_FAMILIES,
    KnownOrderDifference,
    make_function,
    visible_best_eps,
    visible_difference,
    visible_error_order,
)
from helpers.numerical import fit_order

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "03_numerical_approximation" / "numerical_approximation.ipynb"


def _hidden_cases() -> dict:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = {}
    for cell in nb.cells:
        if "tests" in cell.metadata.get("tags", []):
            for name, cases in hidden_calls_in_source(cell.source):
                found[name] = cases
    return found


CASES = _hidden_cases()
#: The literal cases (None) and a few students' variants: a property of the cases holds on all.
VARIANTS = (None, 1, 7, 2024, 31337, 123456789)
variants = pytest.mark.parametrize("variant", VARIANTS)


def varied(check, variant):
    return get_check(check).cases_for(CASES[check], variant)


def verdict(check, *solution, cases=None, variant=None):
    cases = varied(check, variant) if cases is None else cases
    payload = json.loads(json.dumps(record_answers(check, *solution, cases=cases)))  # as stored in the notebook
    return verify_payload(check, cases, [payload])


# --------------------------------------------------------------------------- honest answers
def error_order(difference, f, g, theta, eps_values):
    errors = [abs(difference(f, theta, e) - g(theta)) for e in eps_values]
    return np.polyfit(np.log(eps_values), np.log(errors), 1)[0]


def best_eps(difference, f, theta, eps_values):
    # an independent writing of the rule: the step whose estimate moves least to both neighbours
    order = np.argsort(eps_values)
    D = [difference(f, theta, eps_values[i]) for i in order]
    scores = [max(abs(D[k] - D[k - 1]), abs(D[k + 1] - D[k])) for k in range(1, len(D) - 1)]
    return eps_values[order[1 + int(np.argmin(scores))]]


def test_every_graded_question_has_hidden_cases():
    questions = ("one_sided_difference", "centered_difference", "error_order", "best_eps")
    assert set(CASES) == {f"numerical.{q}" for q in questions}
    assert all(len(c) >= 4 for c in CASES.values())


@pytest.mark.parametrize(
    ("check", "solution"),
    [
        ("numerical.one_sided_difference", (one_sided_difference,)),
        ("numerical.centered_difference", (centered_difference,)),
        ("numerical.error_order", (error_order,)),
        ("numerical.best_eps", (best_eps, centered_difference)),
    ],
)
@variants
def test_reference_passes(check, solution, variant):
    v = verdict(check, *solution, variant=variant)
    assert v.passed, v.message
    assert v.n_passed == len(CASES[check])


@variants
def test_other_honest_roundings_pass(variant):
    def centered_half(f, theta, eps):  # 0.5 / eps rounds differently from / (2 * eps)
        if np.ndim(theta) == 0:
            return (f(theta + eps) - f(theta - eps)) * (0.5 / eps)
        return centered_difference(f, theta, eps)

    assert verdict("numerical.centered_difference", centered_half, variant=variant).passed
    assert verdict("numerical.best_eps", best_eps, centered_half, variant=variant).passed

    def ascending(d, f, t, e):  # the grid sorted the other way: ties go to the smaller step
        order = np.argsort(e)[::-1]
        return best_eps(d, f, t, np.asarray(e)[order][::-1])

    assert verdict("numerical.best_eps", ascending, centered_difference, variant=variant).passed

    def endpoints(difference, f, g, theta, eps_values):  # slope from the two ends only
        e = [abs(difference(f, theta, x) - g(theta)) for x in (eps_values[0], eps_values[-1])]
        return np.log(e[1] / e[0]) / np.log(eps_values[-1] / eps_values[0])

    assert verdict("numerical.error_order", endpoints, variant=variant).passed


# --------------------------------------------------------------------------- typical mistakes
def forgot_the_2(f, theta, eps):
    if np.ndim(theta) == 0:
        return (f(theta + eps) - f(theta - eps)) / eps
    return 2 * centered_difference(f, theta, eps)


def precedence(f, theta, eps):
    return (f(theta + eps) - f(theta - eps)) / 2 * eps


def in_place_unrestored(f, theta, eps):
    theta = np.asarray(theta) if np.ndim(theta) else theta
    if np.ndim(theta) == 0:
        return (f(theta + eps) - f(theta - eps)) / (2 * eps)
    out = np.zeros(theta.shape)
    for i in np.ndindex(theta.shape):
        theta[i] += eps
        plus = f(theta)
        theta[i] -= 2 * eps
        out[i] = (plus - f(theta)) / (2 * eps)  # never puts theta[i] back
    return out


def in_place_approximately_restored(f, theta, eps):
    if np.ndim(theta) == 0:
        return (f(theta + eps) - f(theta - eps)) / (2 * eps)
    theta = np.asarray(theta)
    out = np.zeros(theta.shape)
    for i in np.ndindex(theta.shape):
        theta[i] += eps
        plus = f(theta)
        theta[i] -= 2 * eps
        out[i] = (plus - f(theta)) / (2 * eps)
        theta[i] += eps  # round-off: not always the original value
    return out


def int_copy(f, theta, eps):
    if np.ndim(theta) == 0:
        return (f(theta + eps) - f(theta - eps)) / (2 * eps)
    out = np.zeros(np.shape(theta))
    for i in np.ndindex(np.shape(theta)):
        plus, minus = np.copy(theta), np.copy(theta)  # stays integer for an integer theta
        plus[i] += eps
        minus[i] -= eps
        out[i] = (f(plus) - f(minus)) / (2 * eps)
    return out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (forgot_the_2, "twice the right value"),
        (one_sided_difference, "this is the one-sided difference"),
        (precedence, ""),
        (in_place_unrestored, "changed the caller's theta"),
        (in_place_approximately_restored, "changed the caller's theta"),
        (int_copy, ""),
    ],
)
@variants
def test_typical_centered_mistakes_fail(wrong, hint, variant):
    v = verdict("numerical.centered_difference", wrong, variant=variant)
    assert not v.passed
    assert hint in v.message


@variants
def test_centered_used_where_one_sided_is_asked_fails(variant):
    v = verdict("numerical.one_sided_difference", centered_difference, variant=variant)
    assert not v.passed and "this is the centered difference" in v.message


@variants
def test_stateful_function_fails(variant):
    calls = []

    def drifting(f, theta, eps):
        calls.append(1)
        return centered_difference(f, theta, eps * len(calls))

    v = verdict("numerical.centered_difference", drifting, variant=variant)
    assert not v.passed


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda d, f, g, t, e: 1 / error_order(d, f, g, t, e), "1 / order"),
        (lambda d, f, g, t, e: np.polyfit(np.log(e), [np.log(d(f, t, x) - g(t)) for x in e], 1)[0], "NaN"),
        (lambda d, f, g, t, e: np.polyfit(np.log(e), [np.log(abs(d(f, t, x) - g(t))) for x in e], 1)[1], ""),
        (lambda d, f, g, t, e: 2.0, ""),
    ],
)
@variants
def test_wrong_orders_fail(wrong, fragment, variant):
    with np.errstate(invalid="ignore"):
        v = verdict("numerical.error_order", wrong, variant=variant)
    assert not v.passed and fragment in v.message


@pytest.mark.parametrize(
    "wrong",
    [
        lambda d, f, t, e: 1e-5,  # a fixed textbook value, whatever the function
        lambda d, f, t, e: 1e-8,  # the one-sided optimum
        lambda d, f, t, e: e[int(np.argmin([abs(d(f, t, x)) for x in e]))],  # smallest estimate
        lambda d, f, t, e: float(np.argmin(np.abs(np.diff([d(f, t, x) for x in e])))),  # the index
        lambda d, f, t, e: e[-1],
    ],
)
@variants
def test_wrong_best_eps_fail(wrong, variant):
    v = verdict("numerical.best_eps", wrong, centered_difference, variant=variant)
    assert not v.passed


def test_one_neighbour_rule_fails_on_the_literal_cases():
    """Scoring a step by one change only (not the larger of two) lands in the flat bottom on most
    draws: it is caught where a single change happens to be small in the round-off noise, as on
    the literal cases, not on every variant (it is a weaker rule, not a wrong one)."""
    def one_neighbour(d, f, t, e):
        return e[int(np.argmin(np.abs(np.diff([d(f, t, x) for x in e]))))]

    assert not verdict("numerical.best_eps", one_neighbour, centered_difference).passed


@variants
def test_best_eps_delegated_to_eps_sweep_fails(variant):
    """Exercise 4 gives no g: sweeping the error against a guessed derivative is judged wrong."""
    from helpers.numerical import eps_sweep

    def delegated(guess):
        def pick(d, f, t, e):
            sweep = eps_sweep(f, guess, t, e, {"mine": d})
            return e[int(np.argmin(sweep.errors["mine"]))]

        return pick

    for guess in (lambda t: 0.0, lambda t: 3 * t**2, lambda t: 1.0):  # nothing, the visible test's g, a constant
        v = verdict("numerical.best_eps", delegated(guess), centered_difference, variant=variant)
        assert not v.passed, v.message


def test_error_order_delegated_to_fit_order_fails_in_the_student_edition():
    """fit_order is withheld: an error_order that calls it gets the stand-in's WithheldError."""
    import helpers.numerical as numerical
    from helpers._withheld import WithheldError, _standin

    assert numerical.fit_order.__module__ == "helpers._reference.numerical"
    standin = _standin("fit_order", "notebook 3, exercise 3")

    def delegated(difference, f, g, theta, eps_values):
        errors = [abs(difference(f, theta, e) - g(theta)) for e in eps_values]
        return standin(eps_values, errors)

    with pytest.raises(WithheldError, match="notebook 3, exercise 3"):
        delegated(centered_difference, np.sin, np.cos, 0.3, np.logspace(-1, -3, 5))
    v = verdict("numerical.error_order", delegated)
    assert not v.passed and v.n_passed == 0, v.message


def _shifted(k):
    """best_eps, then ``k`` steps further along the grid (4 steps: a decade)."""
    def pick(d, f, t, e):
        i = int(np.flatnonzero(e == best_eps(d, f, t, e))[0]) + k
        return e[min(max(i, 0), len(e) - 1)]

    return pick


def test_best_eps_band_accepts_the_flat_bottom_only():
    assert verdict("numerical.best_eps", _shifted(0), centered_difference).passed
    # a decade: round-off, then truncation
    assert not verdict("numerical.best_eps", _shifted(4), centered_difference).passed
    assert not verdict("numerical.best_eps", _shifted(-4), centered_difference).passed


def test_best_eps_band_rejects_a_decade_off_on_nearly_every_variant():
    """The band is lenient by design (the bottom is round-off noise): each case accepts a step a
    decade off the rule's pick about a third of the time, so a variant where all six cases do is
    rare (about 1 in 400; variant 7 is one, a decade too small), never common."""
    missed = []
    for variant in range(1, 41):
        assert verdict("numerical.best_eps", _shifted(0), centered_difference, variant=variant).passed
        missed += [(variant, k) for k in (4, -4)
                   if verdict("numerical.best_eps", _shifted(k), centered_difference, variant=variant).passed]
    assert len(missed) <= 1, missed


def _accepted_steps(case) -> set:
    """The grid steps (log10, rounded) best_eps accepts on ``case``."""
    check = get_check("numerical.best_eps")
    inputs = check.make_inputs(dict(case))
    expected = check.expected(inputs)
    return {round(float(np.log10(e)), 2) for e in inputs["eps_values"]
            if check.compare(np.array(e), expected, inputs) is None}


@pytest.mark.parametrize("variant", [None, *range(1, 21)])
def test_best_eps_cases_move_the_optimum_so_no_single_eps_passes_them_all(variant):
    """k and offset move the optimum: no step of the grid is accepted on every case, on any variant."""
    accepted = [_accepted_steps(case) for case in varied("numerical.best_eps", variant)]
    assert all(accepted)
    assert not set.intersection(*accepted), sorted(set.intersection(*accepted))


@pytest.mark.parametrize("variant", [None, *range(1, 21)])
def test_best_eps_cases_keep_float64_estimates_apart_at_the_smallest_steps(variant):
    """No case lets f(theta + eps) and f(theta - eps) round to one number at its smallest steps.

    Where they do, the estimates are 0 three steps in a row and the rule picks noise (the large
    offsets are why those cases' grids stop at 1e-9).
    """
    check = get_check("numerical.best_eps")
    for case in varied("numerical.best_eps", variant):
        inputs = check.make_inputs(dict(case))
        smallest = np.sort(inputs["eps_values"])[:3]
        estimates = [centered_difference(inputs["f"], inputs["theta"], e) for e in smallest]
        assert len(set(estimates)) > 1 and 0.0 not in estimates, case


def test_variants_keep_each_case_within_the_lesson():
    """Families stay in their groups, signs and numbers of axes stay, orders stay among the taught ones."""
    for variant in range(1, 41):
        for check in ("numerical.one_sided_difference", "numerical.centered_difference"):
            for literal, case in zip(CASES[check], varied(check, variant), strict=True):
                group = SCALAR_FAMILIES if literal["f"] in SCALAR_FAMILIES else COUPLED_FAMILIES
                assert case["f"] in group and case.get("int") == literal.get("int")
                if "theta" in literal:
                    assert np.sign(case["theta"]) == np.sign(literal["theta"])
                    assert 0.5 <= case["theta"] / literal["theta"] <= 2 and 0.5 <= case["eps"] / literal["eps"] <= 2
                else:
                    assert len(case["shape"]) == len(literal["shape"]) and min(case["shape"]) >= 1
        for literal, case in zip(CASES["numerical.error_order"], varied("numerical.error_order", variant),
                                 strict=True):
            assert case["f"] in SCALAR_FAMILIES
            assert case["p"] == literal["p"] or {case["p"], literal["p"]} <= {1, 2, 4}
            assert np.sign(case["c"]) == np.sign(literal["c"])
        for literal, case in zip(CASES["numerical.best_eps"], varied("numerical.best_eps", variant), strict=True):
            assert case["f"] in MOVABLE_FAMILIES if literal["f"] in MOVABLE_FAMILIES else case["f"] == literal["f"]
            assert case["eps"] == literal["eps"]
            assert np.sign(case.get("offset", 0)) == np.sign(literal.get("offset", 0))


# --------------------------------------------------------------------------- hostile answers
class _EqualsEverything:
    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __gt__ = __eq__

    def __float__(self):
        raise TypeError("no")


class _RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __sub__(self, other):
        return np.zeros(np.shape(self))


def _raises(*args):
    raise RuntimeError("kaput")


@pytest.mark.parametrize(
    "check",
    ["numerical.one_sided_difference", "numerical.centered_difference", "numerical.error_order", "numerical.best_eps"],
)
@pytest.mark.parametrize(
    "hostile",
    [
        lambda *a: _EqualsEverything(),
        lambda *a: np.zeros(np.shape(a[2]) if len(a) == 3 else ()).view(_RiggedArray),
        lambda *a: float("nan"),
        lambda *a: None,
        _raises,
    ],
)
@pytest.mark.parametrize("variant", [None, 7])
def test_hostile_answers_fail(check, hostile, variant):
    extra = (centered_difference,) if check == "numerical.best_eps" else ()
    v = verdict(check, hostile, *extra, variant=variant)
    assert not v.passed


def test_forged_payload_with_other_cases_is_rejected():
    check = "numerical.centered_difference"
    easy = [{"f": "cube", "theta": 1.0, "eps": 0.01}] * len(CASES[check])
    payload = record_answers(check, centered_difference, cases=easy)
    v = verify_payload(check, CASES[check], [payload])
    assert not v.passed and "recorded cases differ" in v.message


def test_forged_payload_answers_are_judged():
    check = "numerical.centered_difference"
    payload = record_answers(check, centered_difference, cases=CASES[check])
    payload["outputs"][0]["answer"]["first"] = payload["outputs"][1]["answer"]["first"]
    assert not verify_payload(check, CASES[check], [payload]).passed
    payload["outputs"][0] = {"ok": True, "answer": {"first": 3.0}}
    assert not verify_payload(check, CASES[check], [payload]).passed


# --------------------------------------------------------------------------- test functions, visible tests
@pytest.mark.parametrize("name", ["cube", "quartic", "sin", "exp"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_test_functions_have_the_right_gradients(name, shape):
    fn = make_function(name, shape=shape, seed=1, k=1.7, offset=5.0)
    theta = 0.3 if shape == () else np.random.default_rng(0).uniform(-1, 1, size=shape)
    np.testing.assert_allclose(centered_difference(fn.f, theta, 1e-5), fn.g(theta), atol=1e-8)
    # |f'''| by a centered difference of the exact first derivative (twice)
    if shape == ():
        d3 = centered_difference(lambda t: centered_difference(fn.g, t, 1e-3), theta, 1e-3)
        assert fn.d3(theta) == pytest.approx(abs(d3), rel=1e-4)


@pytest.mark.parametrize("name", ["quadratic_form", "log_sum_exp"])
def test_coupled_test_functions_have_the_right_gradients(name):
    fn = make_function(name, shape=(2, 3), seed=4)
    theta = np.random.default_rng(1).normal(size=(2, 3))
    np.testing.assert_allclose(centered_difference(fn.f, theta, 1e-5), fn.g(theta), atol=1e-8)


def test_known_order_difference_has_its_order():
    method = KnownOrderDifference(np.cos, c=-2.0, p=3, d=0.5)
    eps = np.logspace(-1, -3, 5)
    errors = [abs(method(np.sin, 0.2, e) - np.cos(0.2)) for e in eps]
    assert fit_order(eps, errors, eps_min=eps.min()) == pytest.approx(3, abs=0.05)


def test_visible_tests_pass_the_reference():
    visible_difference(one_sided_difference, "one_sided")
    visible_difference(centered_difference, "centered")
    visible_error_order(error_order)
    visible_best_eps(best_eps, centered_difference)


@pytest.mark.parametrize(
    ("fn", "method", "fragment"),
    [
        (forgot_the_2, "centered", "about twice the right value"),
        (one_sided_difference, "centered", "this is the one-sided difference"),
        (centered_difference, "one_sided", "this is the centered difference"),
        (in_place_approximately_restored, "centered", "changed the caller's theta"),
        (int_copy, "centered", "integer theta"),
        (lambda f, theta, eps: centered_difference(f, np.ravel(theta) if np.ndim(theta) else theta, eps), "centered",
         "not flattened"),
        (lambda f, theta, eps: [centered_difference(f, theta, eps)], "centered", "return a number"),
        (_raises, "centered", "raised RuntimeError: kaput"),
    ],
)
def test_visible_difference_explains_the_mistake(fn, method, fragment):
    with pytest.raises(CheckFailure, match=fragment):
        visible_difference(fn, method)


def test_visible_difference_not_written_yet():
    def stub(f, theta, eps):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not written yet"):
        visible_difference(stub, "centered")


def test_visible_order_and_best_eps_explain():
    with pytest.raises(CheckFailure, match="1 / order"):
        visible_error_order(lambda d, f, g, t, e: 1 / error_order(d, f, g, t, e))
    with pytest.raises(CheckFailure, match="too small"):
        visible_best_eps(lambda d, f, t, e: e[-1], centered_difference)
