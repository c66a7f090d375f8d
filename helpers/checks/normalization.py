"""Graded checks for the normalization notebook (see :mod:`helpers.checks.core`).

Hidden checks (judged outside the student's kernel):

* ``normalization.fit``: ``fit_normalization(X) -> (mu, sigma2)``, exercise 1;
* ``normalization.apply``: ``normalize(X, mu, sigma2)``, exercise 2;
* ``normalization.max_lr``: ``largest_stable_learning_rate(X)``, exercise 3.

Case specs are JSON: ``seed``, ``n_x``, ``m`` and optionally ``offsets``/``scales`` (one
per feature), ``constant`` (index of a feature set to ``constant_value``), ``integer``
(round the data to int64), ``shift`` (apply only: how far, in training standard
deviations, the new data sit from the training mean).

Visible-test helpers (``check_fit_visible``, ...) turn a wrong answer on a small example
into the likely mistake ("keepdims=True?", "divided by m - 1?"). They run in the kernel
and decide nothing; the expected values they get are closed forms written in the cell.
"""

from __future__ import annotations

import numpy as np

from helpers.checks.core import Check, CheckFailure, compare_arrays, decode_array, encode_array, expect_array, register
from helpers.variants import Scale

__all__ = ["check_apply_visible", "check_fit_visible", "check_max_lr_visible", "make_data"]

#: Relative tolerance on mu, sigma2 and the normalized data: floating-point reorderings
#: (np.mean vs a loop, two-pass vs E[x^2] - mu^2 on moderate offsets) stay far below it,
#: while every conceptual mistake (1/(m-1) on m <= 500 examples, no centring, test-set
#: statistics, sigma2 for sigma) is off by 1e-3 or much more.
RTOL = 1e-7
#: Absolute floor per feature, relative to that feature's magnitude max|x_j| (squared for
#: sigma2): a constant feature's reference sigma2 is exactly 0 while a plain
#: implementation gets rounding noise of about (m * eps * max|x_j|)^2.
ATOL_REL = 1e-12
#: Per-student variants (``Check.vary``; seeds always vary). Every rule is relative, so each case
#: keeps its purpose: ``m = 1`` stays 1 (a factor below 1.5 rounds it back), zero offsets and
#: ``shift = 0`` stay 0, signs stay. The lesson's ranges: features from 0..1 to 1..1000 with
#: spreads from thousandths to hundreds (factors 0.5..2 of the literal offsets and scales keep
#: every case there), and training sets of a few to a few hundred examples (m times 0.7..1.4
#: stays <= 500, where dividing by m - 1 is off by more than 1e-3).
VARY_M = Scale(0.7, 1.4)
VARY_SPREAD = Scale(0.5, 2.0)
VARY = {"m": VARY_M, "offsets": VARY_SPREAD, "scales": VARY_SPREAD, "constant_value": VARY_SPREAD}
#: ``normalize``: the second feature of the shifted case has sigma2 ~ 0.01, the one place where
#: ``sqrt(sigma2 + 1e-8)`` (an epsilon in the square root) is off by more than ``RTOL``; that
#: spread stays as it is (index 1 kept), every other one varies; the shift varies in 0.5..2 x.
VARY_APPLY = {**VARY, "scales": Scale(0.5, 2.0, keep=(1,)), "shift": VARY_SPREAD}
#: ``largest_stable_learning_rate``: the data's sizes and spreads (the constant feature's value,
#: a small integer, would take too few values to tell students apart).
VARY_MAX_LR = {"m": VARY_M, "offsets": VARY_SPREAD, "scales": VARY_SPREAD}

#: Relative tolerance on the largest stable learning rate: any eigen-solver (eigvalsh,
#: eigvals, the 2-norm of A) agrees to ~1e-12; the usual mistakes are off by 2x or more.
LR_RTOL = 1e-6


def _reference(name: str):
    # imported on use: the student edition has no helpers._reference
    from importlib import import_module

    return getattr(import_module("helpers._reference.normalization"), name)


# --------------------------------------------------------------------------- inputs
def make_data(case: dict, *, key: str = "X") -> np.ndarray:
    """Build the data matrix of shape (n_x, m) of one case spec (deterministic)."""
    n_x, m = int(case["n_x"]), int(case["m"])
    rng = np.random.default_rng(int(case["seed"]))
    offsets = np.asarray(case.get("offsets", [0.0] * n_x), dtype=np.float64).reshape(n_x, 1)
    scales = np.asarray(case.get("scales", [1.0] * n_x), dtype=np.float64).reshape(n_x, 1)
    X = offsets + scales * rng.standard_normal((n_x, m))
    if case.get("integer"):
        X = np.rint(X).astype(np.int64)
    if case.get("constant") is not None:
        X[int(case["constant"]), :] = case.get("constant_value", 3)
    return X


def _feature_magnitude(X) -> np.ndarray:
    return np.max(np.abs(np.asarray(X, dtype=np.float64)), axis=1, keepdims=True)


def _fit_inputs(case: dict) -> dict:
    return {"X": make_data(case)}


def _apply_inputs(case: dict) -> dict:
    """New data ``X`` plus training statistics that are *not* those of ``X``."""
    n_x = int(case["n_x"])
    rng = np.random.default_rng(int(case["seed"]) + 1)
    offsets = np.asarray(case.get("offsets", [0.0] * n_x), dtype=np.float64).reshape(n_x, 1)
    scales = np.asarray(case.get("scales", [1.0] * n_x), dtype=np.float64).reshape(n_x, 1)
    mu = offsets + 0.1 * scales * rng.standard_normal((n_x, 1))
    sigma2 = (scales * rng.uniform(0.8, 1.25, size=(n_x, 1))) ** 2
    shifted = dict(case, offsets=(offsets + float(case.get("shift", 0.5)) * scales).ravel().tolist())
    X = make_data(shifted)
    if case.get("constant") is not None:
        j = int(case["constant"])
        mu[j, 0], sigma2[j, 0] = float(case.get("constant_value", 3)), 0.0
    return {"X": X, "mu": mu, "sigma2": sigma2}


# --------------------------------------------------------------------------- exercise 1
def _run_fit(solution, inputs):
    return {"out": solution[0](inputs["X"].copy()), "n_x": inputs["X"].shape[0]}


def _encode_fit(result) -> dict:
    out, n_x = result["out"], result["n_x"]
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailure(f"fit_normalization should return a pair (mu, sigma2), got {type(out).__name__}")
    return {
        "mu": encode_array(out[0], name="mu", shape=(n_x, 1)),
        "sigma2": encode_array(out[1], name="sigma2", shape=(n_x, 1)),
    }


def _decode_pair(obj) -> dict:
    from helpers.checks.core import PayloadError

    if not isinstance(obj, dict) or set(obj) != {"mu", "sigma2"}:
        raise PayloadError("expected the recorded pair (mu, sigma2)")
    return {"mu": decode_array(obj["mu"]), "sigma2": decode_array(obj["sigma2"])}


def _expected_fit(inputs):
    mu, sigma2 = _reference("fit_normalization")(inputs["X"])
    return {"mu": mu, "sigma2": sigma2}


def _compare_fit(answer, expected, inputs):
    scale = _feature_magnitude(inputs["X"])
    return compare_arrays(answer["mu"], expected["mu"], name="mu", rtol=RTOL, atol=ATOL_REL * scale) or compare_arrays(
        answer["sigma2"], expected["sigma2"], name="sigma2", rtol=RTOL, atol=ATOL_REL * scale**2
    )


register(Check(
    name="normalization.fit",
    make_inputs=_fit_inputs,
    run=_run_fit,
    encode=_encode_fit,
    decode=_decode_pair,
    expected=_expected_fit,
    compare=_compare_fit,
    describe="mu and sigma2 of training sets you have not seen",
    vary=VARY,
))


# --------------------------------------------------------------------------- exercise 2
def _run_apply(solution, inputs):
    out = solution[0](inputs["X"].copy(), inputs["mu"].copy(), inputs["sigma2"].copy())
    return {"out": out, "shape": inputs["X"].shape}


def _encode_apply(result) -> dict:
    return encode_array(result["out"], name="the normalized X", shape=result["shape"])


def _expected_apply(inputs):
    return _reference("normalize")(inputs["X"], inputs["mu"], inputs["sigma2"])


def _compare_apply(answer, expected, inputs):
    # normalized values are O(1) (O(shift) for shifted data), so an absolute floor is meaningful
    return compare_arrays(answer, expected, name="the normalized X", rtol=RTOL, atol=1e-9)


register(Check(
    name="normalization.apply",
    make_inputs=_apply_inputs,
    run=_run_apply,
    encode=_encode_apply,
    decode=decode_array,
    expected=_expected_apply,
    compare=_compare_apply,
    describe="new data normalized with given training statistics",
    vary=VARY_APPLY,
))


# --------------------------------------------------------------------------- exercise 3
def _encode_scalar(value, name: str) -> dict:
    try:
        arr = np.array(value, dtype=np.float64)
    except Exception:
        raise CheckFailure(f"{name} should be a number, got {type(value).__name__}") from None
    if arr.size != 1:
        raise CheckFailure(f"{name} should be a single number, got an array of shape {arr.shape}")
    return encode_array(arr.reshape(()), name=name, shape=())


def _expected_max_lr(inputs):
    from importlib import import_module

    return import_module("helpers._reference.linear_regression").max_stable_learning_rate(inputs["X"])


def _compare_max_lr(answer, expected, inputs):
    return compare_arrays(answer, expected, name="the learning rate", rtol=LR_RTOL, atol=0.0)


register(Check(
    name="normalization.max_lr",
    make_inputs=_fit_inputs,
    run=lambda solution, inputs: solution[0](inputs["X"].copy()),
    encode=lambda value: _encode_scalar(value, "the learning rate"),
    decode=decode_array,
    expected=_expected_max_lr,
    compare=_compare_max_lr,
    describe="the largest stable learning rate of data you have not seen",
    vary=VARY_MAX_LR,
))


# --------------------------------------------------------------------------- visible tests
def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-9 + 1e-7 * np.abs(b)))


def check_fit_visible(X, result, *, mu_expected, sigma2_expected):
    """Check ``fit_normalization(X)`` on a small example whose answer the cell states.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
        The example the student's function was called on.
    result : object
        What it returned.
    mu_expected, sigma2_expected : array_like of shape (n_x, 1)
        Closed-form answers written in the test cell.

    Returns
    -------
    mu, sigma2 : ndarray of shape (n_x, 1)

    Raises
    ------
    CheckFailure
        Naming the likely mistake.
    """
    X = np.asarray(X, dtype=np.float64)
    n_x, m = X.shape
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(
            f"fit_normalization should return the pair (mu, sigma2), got {type(result).__name__}"
            + (": did the function forget to `return`?" if result is None else "")
        )
    hints = {
        (n_x,): "keepdims=True? mu and sigma2 need one row per feature, shape (n_x, 1), to broadcast over X",
        (m,): "averaged over the wrong axis: the examples are the columns, use axis=1",
        (1, m): "averaged over the wrong axis: the examples are the columns, use axis=1",
        (): "averaged over the whole matrix: one value per feature (axis=1, keepdims=True)",
    }
    mu = expect_array(result[0], "mu", shape=(n_x, 1), hints=hints)
    sigma2 = expect_array(result[1], "sigma2", shape=(n_x, 1), hints=hints)
    if not _close(mu, mu_expected):
        raise CheckFailure(f"mu = {mu.ravel()} but the mean of each feature (row) is {np.ravel(mu_expected)}")
    centred = X - mu
    mistakes = [
        (np.sum(centred**2, axis=1, keepdims=True) / (m - 1),
         "you divided by m - 1; the slide's sigma2 divides by m (np.var's default ddof=0)"),
        (np.mean(X**2, axis=1, keepdims=True),
         "this is the mean of x**2 before centring: compute sigma2 from x - mu"),
        (np.sqrt(np.asarray(sigma2_expected, dtype=np.float64)),
         "this is sigma (the standard deviation); return its square, the variance sigma2"),
    ]
    if not _close(sigma2, sigma2_expected):
        for wrong, message in mistakes:
            if _close(sigma2, wrong):
                raise CheckFailure(f"sigma2 = {sigma2.ravel()}: {message}")
        raise CheckFailure(
            f"sigma2 = {sigma2.ravel()} but the variance of each feature is {np.ravel(sigma2_expected)}: "
            f"(1/m) * sum over the examples of (x - mu)**2, element-wise"
        )
    return mu, sigma2


def check_apply_visible(X, mu, sigma2, result, *, expected):
    """Check ``normalize(X, mu, sigma2)`` on a small example whose answer the cell states.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    mu, sigma2 : ndarray of shape (n_x, 1)
        The training statistics the student's function received.
    result : object
        What it returned.
    expected : array_like of shape (n_x, m)
        The closed-form answer written in the test cell.

    Returns
    -------
    ndarray of shape (n_x, m)

    Raises
    ------
    CheckFailure
        Naming the likely mistake.
    """
    X = np.asarray(X, dtype=np.float64)
    mu, sigma2 = np.asarray(mu, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if result is None:
        raise CheckFailure("normalize returned None: did the function forget to `return` the normalized X?")
    try:
        raw = np.array(result, dtype=np.float64)
    except Exception:
        raise CheckFailure(f"normalize should return a numeric array, got {type(result).__name__}") from None
    constant = sigma2[:, 0] == 0
    if raw.shape == X.shape and constant.any() and not np.isfinite(raw[constant]).all():
        j = int(np.argmax(constant))
        raise CheckFailure(
            f"feature {j} has sigma2 = 0 (it is constant) and your result has NaN/inf there: "
            f"only centre such a feature (divide by 1 instead of sigma = 0)"
        )
    out = expect_array(result, "the normalized X", shape=X.shape)
    if _close(out, expected):
        return out
    sigma = np.where(sigma2 > 0, np.sqrt(sigma2), 1.0)
    own_mu = X.mean(axis=1, keepdims=True)
    own_sigma2 = ((X - own_mu) ** 2).mean(axis=1, keepdims=True)
    own = (X - own_mu) / np.where(own_sigma2 > 0, np.sqrt(own_sigma2), 1.0)
    mistakes = [
        (own, "you normalized X with its own mean and variance: use the mu and sigma2 passed in "
              "(the training set's), the same for every set"),
        ((X - mu) / np.where(sigma2 > 0, sigma2, 1.0), "you divided by sigma2: divide by sigma = np.sqrt(sigma2)"),
        (X / sigma, "you scaled but did not centre: subtract mu first"),
        (X - mu, "you centred but did not scale: divide by sigma = np.sqrt(sigma2)"),
        (X / sigma - mu, "subtract mu before dividing by sigma: (X - mu) / sigma"),
    ]
    for wrong, message in mistakes:
        if _close(out, wrong):
            raise CheckFailure(message)
    raise CheckFailure(f"the normalized X is\n{out}\nexpected\n{np.asarray(expected)}")


def check_max_lr_visible(X, value, *, expected):
    """Check ``largest_stable_learning_rate(X)`` on a small example whose answer the cell states.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    value : object
        What the student's function returned.
    expected : float
        Closed-form answer written in the test cell.

    Returns
    -------
    float

    Raises
    ------
    CheckFailure
        Naming the likely mistake.
    """
    arr = expect_array(value, "the learning rate")
    if arr.size != 1:
        raise CheckFailure(f"the learning rate should be one number, got an array of shape {arr.shape}")
    lr = float(arr.reshape(()))
    if _close(lr, expected):
        return lr
    X = np.asarray(X, dtype=np.float64)
    m = X.shape[1]
    no_b = np.linalg.eigvalsh(X @ X.T / m)
    mistakes = [
        (expected / 2, "this is 1 / lambda_max: gradient descent is stable up to 2 / lambda_max"),
        (expected / m, "the Hessian of J is (1/m) A A^T: did you forget to divide by m?"),
        (2 / no_b[-1], "the Hessian includes b: stack a row of ones under X (A = [X; 1])"),
    ]
    for wrong, message in mistakes:
        if _close(lr, wrong):
            raise CheckFailure(f"learning rate {lr:.6g}: {message}")
    raise CheckFailure(f"learning rate {lr:.6g}, expected {expected:.6g} = 2 / lambda_max of the Hessian")
