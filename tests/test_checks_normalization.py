"""helpers.checks.normalization: the reference passes, typical mistakes and hostile answers fail,
forged payloads are rejected, and the visible-test helpers name the mistake."""

import copy
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers._reference.linear_regression import max_stable_learning_rate
from helpers._reference.normalization import fit_normalization, normalize
from helpers.checks.core import CheckFailure, get_check, hidden_calls_in_source, record_answers, verify_payload
from helpers.checks.normalization import check_apply_visible, check_fit_visible, check_max_lr_visible

CASES = [
    {"seed": 11, "n_x": 3, "m": 47, "offsets": [500, -3, 0], "scales": [300, 0.01, 1]},
    {"seed": 12, "n_x": 5, "m": 20, "constant": 2, "constant_value": 0.1},
    {"seed": 13, "n_x": 2, "m": 9, "integer": True, "offsets": [1000, 5], "scales": [40, 2]},
    {"seed": 21, "n_x": 3, "m": 15, "offsets": [100, 0, -1], "scales": [50, 0.1, 2], "shift": 1.5},
]


NOTEBOOK = Path(__file__).parents[1] / "notebooks/01_normalizing_inputs/normalizing_inputs.ipynb"


def _notebook_cases() -> dict:
    """The hidden cases of the notebook's test cells (what students are graded on), by check."""
    found = {}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and "tests" in cell.metadata.get("tags", []):
            found.update(dict(hidden_calls_in_source(cell.source)))
    return found


NOTEBOOK_CASES = _notebook_cases()
#: A handful of students' variants (None: the literal cases): tolerances and detectability must
#: hold on every student's cases, not only on the course's.
VARIANTS = [None, 1, 2, 77, 4242, 31337, 123456789]


def _verdict(check, fn, variant="tests"):
    """``fn`` judged on this file's CASES (``variant="tests"``) or on the notebook's cases of a variant."""
    cases = CASES if variant == "tests" else get_check(check).cases_for(NOTEBOOK_CASES[check], variant)
    return verify_payload(check, cases, [record_answers(check, fn, cases=cases)])


# --------------------------------------------------------------------------- plain student versions
def fit_loop(X):
    """The notebook's teaching version: slide loops, no tolerance for constant features."""
    X = np.asarray(X, dtype=np.float64)
    m = X.shape[1]
    mu = sum(X[:, i:i + 1] for i in range(m)) / m
    sigma2 = sum((X[:, i:i + 1] - mu) ** 2 for i in range(m)) / m
    return mu, sigma2


def fit_moments(X):
    """E[x^2] - mu^2: numerically poorer but mathematically right; must pass on these cases."""
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=1, keepdims=True)
    return mu, np.maximum((X**2).mean(axis=1, keepdims=True) - mu**2, 0.0)


def normalize_plain(X, mu, sigma2):
    sigma = np.sqrt(sigma2)
    return (np.asarray(X, dtype=np.float64) - mu) / np.where(sigma2 == 0, 1.0, sigma)


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        ("normalization.fit", fit_normalization),
        ("normalization.fit", fit_loop),
        ("normalization.fit", fit_moments),
        ("normalization.apply", normalize),
        ("normalization.apply", normalize_plain),
        ("normalization.max_lr", max_stable_learning_rate),
        ("normalization.max_lr", lambda X: 2 / np.linalg.norm(np.vstack([X, np.ones((1, X.shape[1]))]), 2) ** 2
         * X.shape[1]),
    ],
)
@pytest.mark.parametrize("variant", ["tests", *VARIANTS])
def test_correct_implementations_pass(check, fn, variant):
    verdict = _verdict(check, fn, variant)
    assert verdict.passed, verdict.message
    assert verdict.n_passed == verdict.n_cases


# --------------------------------------------------------------------------- typical mistakes
def _own_stats(X, mu, sigma2):
    return normalize(X, *fit_normalization(X))


WRONG = [
    ("normalization.fit", lambda X: (np.mean(X, axis=1), np.var(X, axis=1)), "mu has shape"),
    ("normalization.fit", lambda X: (np.mean(X, axis=1, keepdims=True), np.var(X, axis=1, ddof=1, keepdims=True)),
     "sigma2 is not correct"),
    ("normalization.fit", lambda X: (np.mean(X, axis=1, keepdims=True), np.mean(np.asarray(X) ** 2.0, axis=1,
                                                                                keepdims=True)),
     "sigma2 is not correct"),
    ("normalization.fit", lambda X: (np.mean(X, axis=1, keepdims=True), np.std(X, axis=1, keepdims=True)),
     "sigma2 is not correct"),
    ("normalization.fit", lambda X: (np.mean(X, axis=0, keepdims=True), np.var(X, axis=0, keepdims=True)),
     "has shape"),
    ("normalization.apply", _own_stats, "is not correct"),
    ("normalization.apply", lambda X, mu, sigma2: (X - mu) / np.where(sigma2 == 0, 1.0, sigma2), "is not correct"),
    ("normalization.apply", lambda X, mu, sigma2: X - mu, "is not correct"),
    ("normalization.apply", lambda X, mu, sigma2: (X - mu) / np.sqrt(sigma2 + 1e-8), "is not correct"),
    ("normalization.apply", lambda X, mu, sigma2: ((X - mu) / np.sqrt(sigma2)).T, "has shape"),
    ("normalization.max_lr", lambda X: max_stable_learning_rate(X) / 2, "not correct"),
    ("normalization.max_lr", lambda X: 2 / np.linalg.eigvalsh(np.asarray(X, float) @ np.asarray(X, float).T
                                                              / np.shape(X)[1])[-1], "not correct"),
    ("normalization.max_lr", lambda X: [max_stable_learning_rate(X)] * 2, "single number"),
]


@pytest.mark.parametrize("variant", ["tests", *VARIANTS])
@pytest.mark.parametrize(("check", "fn", "fragment"), WRONG)
def test_typical_mistakes_fail(check, fn, fragment, variant):
    with np.errstate(divide="ignore", invalid="ignore"):
        verdict = _verdict(check, fn, variant)
    assert not verdict.passed
    assert fragment in verdict.message


def test_constant_feature_divided_by_zero_fails_only_that_case():
    def divide_by_sigma(X, mu, sigma2):
        return (np.asarray(X, float) - mu) / np.sqrt(sigma2)

    with np.errstate(divide="ignore", invalid="ignore"):
        verdict = _verdict("normalization.apply", divide_by_sigma)
    assert not verdict.passed and verdict.n_passed == len(CASES) - 1
    assert "hidden case 2/4" in verdict.message and "NaN or inf" in verdict.message


def test_values_copied_from_the_visible_tests_fail():
    verdict = _verdict("normalization.fit", lambda X: (np.array([[4.0], [1.0]]), np.array([[5.0], [0.25]])))
    assert not verdict.passed and verdict.n_passed == 0


# --------------------------------------------------------------------------- hostile answers
class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class Rigged(np.ndarray):
    """Compares equal to anything and claims closeness; its numbers are zeros."""

    def __eq__(self, other):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    __hash__ = None


def _rigged(shape):
    return np.zeros(shape).view(Rigged)


def _raise(*args):
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        ("normalization.fit", lambda X: (AlwaysEqual(), AlwaysEqual())),
        ("normalization.fit", lambda X: (_rigged((np.shape(X)[0], 1)), _rigged((np.shape(X)[0], 1)))),
        ("normalization.fit", _raise),
        ("normalization.fit", lambda X: None),
        ("normalization.apply", lambda X, mu, sigma2: AlwaysEqual()),
        ("normalization.apply", lambda X, mu, sigma2: _rigged(np.shape(X))),
        ("normalization.apply", _raise),
        ("normalization.max_lr", lambda X: AlwaysEqual()),
        ("normalization.max_lr", lambda X: _rigged(())),
        ("normalization.max_lr", lambda X: float("nan")),
        ("normalization.max_lr", _raise),
    ],
)
def test_hostile_answers_fail(check, fn):
    verdict = _verdict(check, fn)
    assert not verdict.passed
    assert verdict.n_passed == 0


def test_forged_payloads_are_rejected():
    payload = record_answers("normalization.fit", fit_normalization, cases=CASES)
    # answers recorded on other (e.g. visible) cases cannot be replayed for these ones
    other = copy.deepcopy(payload)
    other["cases"] = [dict(c, seed=c["seed"] + 1) for c in CASES]
    verdict = verify_payload("normalization.fit", CASES, [other])
    assert not verdict.passed and "recorded cases differ" in verdict.message
    # a payload recorded for another check is rejected too
    verdict = verify_payload("normalization.apply", CASES, [payload])
    assert not verdict.passed and "recorded cases differ" in verdict.message
    # answers swapped between cases
    swapped = copy.deepcopy(payload)
    swapped["outputs"] = swapped["outputs"][::-1]
    assert not verify_payload("normalization.fit", CASES, [swapped]).passed
    # a truncated record
    short = copy.deepcopy(payload)
    short["outputs"] = short["outputs"][:-1]
    assert "wrong number" in verify_payload("normalization.fit", CASES, [short]).message
    # no record at all
    assert not verify_payload("normalization.fit", CASES, []).passed


def test_make_inputs_is_deterministic_and_cases_differ():
    from helpers.checks.core import get_check

    check = get_check("normalization.apply")
    a, b = check.make_inputs(dict(CASES[0])), check.make_inputs(dict(CASES[0]))
    for key in ("X", "mu", "sigma2"):
        np.testing.assert_array_equal(a[key], b[key])
    # the data are not normalized by their own statistics: that mistake must be detectable
    own_mu, _ = fit_normalization(a["X"])
    assert np.abs(own_mu - a["mu"]).max() > 1.0


# --------------------------------------------------------------------------- visible-test helpers
X_SMALL = np.array([[1.0, 3.0, 5.0, 7.0], [0.5, 0.5, 1.5, 1.5]])
FIT_EXPECTED = {"mu_expected": [[4.0], [1.0]], "sigma2_expected": [[5.0], [0.25]]}


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        ((np.array([4.0, 1.0]), np.array([5.0, 0.25])), "keepdims=True?"),
        ((X_SMALL.mean(axis=0, keepdims=True), X_SMALL.var(axis=0, keepdims=True)), "use axis=1"),
        ((np.array([[4.0], [1.0]]), X_SMALL.var(axis=1, ddof=1, keepdims=True)), "divided by m - 1"),
        ((np.array([[4.0], [1.0]]), (X_SMALL**2).mean(axis=1, keepdims=True)), "before centring"),
        ((np.array([[4.0], [1.0]]), np.sqrt([[5.0], [0.25]])), "standard deviation"),
        ((np.array([[4.0], [1.0]]), np.array([[1.0], [1.0]])), "(1/m) * sum"),
        ((np.array([[3.0], [1.0]]), np.array([[5.0], [0.25]])), "mean of each feature"),
        (None, "forget to `return`"),
    ],
)
def test_check_fit_visible_names_the_mistake(result, fragment):
    with pytest.raises(CheckFailure) as info:
        check_fit_visible(X_SMALL, result, **FIT_EXPECTED)
    assert fragment in str(info.value)


def test_check_fit_visible_accepts_the_reference():
    mu, sigma2 = check_fit_visible(X_SMALL, fit_normalization(X_SMALL), **FIT_EXPECTED)
    assert mu.shape == sigma2.shape == (2, 1)


X_NEW = np.array([[5.0, 1.0, 9.0], [2.0, 0.0, 1.0]])
MU, SIGMA2 = np.array([[4.0], [1.0]]), np.array([[4.0], [0.25]])
APPLY_EXPECTED = [[0.5, -1.5, 2.5], [2.0, -2.0, 0.0]]


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        (_own_stats(X_NEW, MU, SIGMA2), "its own mean and variance"),
        ((X_NEW - MU) / SIGMA2, "divided by sigma2"),
        (X_NEW - MU, "did not scale"),
        (X_NEW / np.sqrt(SIGMA2), "did not centre"),
        (X_NEW / np.sqrt(SIGMA2) - MU, "subtract mu before"),
        (np.zeros((3, 2)), "has shape (3, 2)"),
        (None, "forget to `return`"),
    ],
)
def test_check_apply_visible_names_the_mistake(result, fragment):
    with pytest.raises(CheckFailure) as info:
        check_apply_visible(X_NEW, MU, SIGMA2, result, expected=APPLY_EXPECTED)
    assert fragment in str(info.value)


def test_check_apply_visible_constant_feature_and_reference():
    X = np.array([[1.0, 2.0, 3.0], [7.0, 7.0, 7.0]])
    mu, sigma2 = np.array([[2.0], [7.0]]), np.array([[1.0], [0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        nan_result = (X - mu) / np.sqrt(sigma2)
    with pytest.raises(CheckFailure, match="feature 1 has sigma2 = 0"):
        check_apply_visible(X, mu, sigma2, nan_result, expected=[[-1, 0, 1], [0, 0, 0]])
    out = check_apply_visible(X, mu, sigma2, normalize(X, mu, sigma2), expected=[[-1, 0, 1], [0, 0, 0]])
    assert out.shape == (2, 3)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (6 - 4 * np.sqrt(2), None),
        ((6 - 4 * np.sqrt(2)) / 2, "1 / lambda_max"),
        ((6 - 4 * np.sqrt(2)) / 4, "divide by m"),
        (2 / 5.0, "row of ones"),
        (np.ones(2), "one number"),
        (1.0, "2 / lambda_max of the Hessian"),
    ],
)
def test_check_max_lr_visible(value, fragment):
    X = np.array([[1.0, 1.0, 3.0, 3.0]])
    if fragment is None:
        assert check_max_lr_visible(X, value, expected=6 - 4 * np.sqrt(2)) == pytest.approx(value)
        return
    with pytest.raises(CheckFailure) as info:
        check_max_lr_visible(X, value, expected=6 - 4 * np.sqrt(2))
    assert fragment in str(info.value)
