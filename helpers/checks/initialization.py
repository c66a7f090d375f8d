"""Graded checks for the initialization notebook (see :mod:`helpers.checks.core`).

Three questions:

* ``initialization.initialize_parameters``: the student's
  ``initialize_parameters(layer_dims, method, seed, scale)``. A random initialization is
  judged by *statistics* of the recorded ``W[l]`` (sample std, mean, Gaussian shape) with
  tolerances taken from their sampling distributions, never by one seed's draws, so the
  order in which the student draws numbers does not matter. The raw arrays are shipped and
  the statistics are computed in the grader (a patched ``np.std`` in the kernel cannot help).
* ``initialization.layer_std``: ``activation_std_per_layer(X, params, g)``, the std of
  ``A[l]`` at every layer for an activation *function* ``g`` used in every layer, compared
  with the withheld reference on hidden nets. Hidden cases include activations the
  course's :func:`helpers.network.forward` does not know (:data:`ACTIVATION_FUNCTIONS`:
  leaky ReLU, softplus), so running that forward pass is no answer.
* ``initialization.alive``: ``alive_methods(X, layer_dims, methods, seed)``, which
  initializations keep the last ReLU layer alive; the hidden settings are chosen so the
  answer does not depend on the random draw (``tests/test_checks_initialization.py``
  verifies the margins) and differs between settings (no single answer can be typed in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from helpers.checks.core import (
    Check,
    CheckFailure,
    PayloadError,
    compare_arrays,
    decode_array,
    encode_array,
    register,
)
from helpers.variants import Scale

__all__ = [
    "ALIVE_FACTOR",
    "FORMULAS",
    "Z_TOL",
    "alive_problem",
    "alive_ratios",
    "expect_params",
    "layer_std_problem",
    "std_tolerance",
    "weight_statistics_problem",
]

#: Number of standard errors a statistic may stray from its expected value. At 5, a
#: correct implementation fails one test with probability below 1e-6 (normal tails).
Z_TOL = 5.0

#: Initialization std formulas, correct and mistaken, by the label a student reads:
#: ``f(n_prev, n_curr)`` with ``n_prev = n[l-1]`` (fan-in) and ``n_curr = n[l]``.
FORMULAS = {
    "sqrt(2 / n[l-1])": lambda p, c: math.sqrt(2.0 / p),
    "sqrt(1 / n[l-1])": lambda p, c: math.sqrt(1.0 / p),
    "sqrt(2 / (n[l-1] + n[l]))": lambda p, c: math.sqrt(2.0 / (p + c)),
    "sqrt(2 / n[l])": lambda p, c: math.sqrt(2.0 / c),
    "sqrt(1 / n[l])": lambda p, c: math.sqrt(1.0 / c),
    "2 / n[l-1]": lambda p, c: 2.0 / p,
    "1 / n[l-1]": lambda p, c: 1.0 / p,
    "2 / (n[l-1] + n[l])": lambda p, c: 2.0 / (p + c),
    "1 (plain randn)": lambda p, c: 1.0,
    "0.01": lambda p, c: 0.01,
}

# Which formula belongs to which method is the exercise's answer: it lives only in the withheld
# reference (``helpers._reference.initialization.METHOD_FORMULA``), never in this module, which the
# student edition ships. The labels below name formulas, not methods, and so do their hints.

_HINTS = {
    "sqrt(2 / n[l])": "n[l] is this layer's own size; use the fan-in n[l-1] (the number of columns of W[l])",
    "sqrt(1 / n[l])": "n[l] is this layer's own size; use the fan-in n[l-1] (the number of columns of W[l])",
    "2 / n[l-1]": "the square root is missing: Var(w) = 2/n means std = sqrt(2/n)",
    "1 / n[l-1]": "the square root is missing: Var(w) = 1/n means std = sqrt(1/n)",
    "2 / (n[l-1] + n[l])": "the square root is missing: the std is sqrt(2 / (n[l-1] + n[l]))",
    "sqrt(1 / n[l-1])": "Var(w) = 1/n[l-1]: check the numerator (1 or 2) and the denominator in the table",
    "sqrt(2 / n[l-1])": "Var(w) = 2/n[l-1]: check the numerator (1 or 2) and the denominator in the table",
    "sqrt(2 / (n[l-1] + n[l]))": "Var(w) = 2/(n[l-1] + n[l]), the fan average: check the denominator in the table",
    "1 (plain randn)": "the randn draws are not scaled at all",
    "0.01": "that is the small `randn * 0.01` initialization, not this method",
}

#: Per-student variants (``Check.vary``; seeds always vary). Every rule is relative, so each case
#: keeps its purpose (tests/test_checks_initialization.py checks the margins on many variants):
#:
#: * ``initialize_parameters``: the input and output sizes times 0.75..1.35 around the hidden
#:   layer's (kept: index 1), the lesson's widths of tens to hundreds of units. Consecutive sizes
#:   stay far enough apart that every mistaken formula (fan-out, fan-average, Xavier for He, ...)
#:   is more than two acceptance intervals from the right one on some layer (wider factors, or
#:   varying the middle size too, let e.g. a Glorot case drift to near-equal sizes where it *is*
#:   Xavier). ``random``'s ``scale`` times 0.5..2 (a small random scale, far from 0.01 and from 1);
#: * ``layer_std``: every layer size and ``m`` times 0.7..1.4, ``w_std`` times 0.8..1.25 (per-layer
#:   gains stay near the literal case's, so no activation vanishes below the comparison's floor);
#: * ``alive``: width times 1..1.3, depth times 0.7..0.8 (50 -> 35..40, 30 -> 21..24, 5 -> 4,
#:   100 units -> 100..130). The log std ratio of He through a deep ReLU net spreads with depth
#:   (about 0.6 at 40 layers, 0.7 at 50 over hundreds of draws): the literal 50-layer case is
#:   5.6 spreads from the threshold, variants are shallower and keep at least 6; shallow cases keep
#:   their answer (random still explodes over 4 layers, Xavier still dies over 21).
VARY_INIT = {"layer_dims": Scale(0.75, 1.35, keep=(1,)), "scale": Scale(0.5, 2.0)}
VARY_LAYER_STD = {"layer_dims": Scale(0.7, 1.4), "m": Scale(0.7, 1.4), "w_std": Scale(0.8, 1.25)}
VARY_ALIVE = {"width": Scale(1.0, 1.3), "depth": Scale(0.7, 0.8)}

#: ``alive``: the last layer's activation std within this factor of ``std(X)``.
ALIVE_FACTOR = 100.0
_P_WITHIN_ONE_SD = math.erf(1.0 / math.sqrt(2.0))  # P(|w| < sigma) for a Gaussian


# --------------------------------------------------------------------------- statistics
def std_tolerance(sigma: float, N: int, z: float = Z_TOL) -> float:
    """Half-width of the acceptance interval of a sample std, in log units.

    For ``N`` i.i.d. draws of N(0, sigma^2), ``(N - 1) s^2 / sigma^2`` follows chi^2 with
    ``N - 1`` degrees of freedom, so ``log s`` is close to normal around ``log sigma``
    with standard error ``1 / sqrt(2 (N - 1))`` (delta method). The interval is
    ``|log(s / sigma)| <= z / sqrt(2 (N - 1))``.

    Parameters
    ----------
    sigma : float
        Expected std (> 0); the width does not depend on it in log units.
    N : int
        Number of draws (>= 2).
    z : float
        Standard errors allowed.

    Returns
    -------
    float
    """
    if N < 2:
        raise ValueError(f"N must be at least 2 to estimate a std, got {N}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    return z / math.sqrt(2.0 * (N - 1))


def _std_matches(s: float, sigma: float, N: int) -> bool:
    return s > 0 and sigma > 0 and abs(math.log(s / sigma)) <= std_tolerance(sigma, N)


def _diagnosis(params: Mapping, layer_dims, stds) -> str | None:
    """Name the wrong formula that explains the observed stds, or None.

    A formula must explain *every* random layer: on one layer two formulas can coincide
    (with n[l] = 2 n[l-1], sqrt(2 / n[l]) equals sqrt(1 / n[l-1])), across layers they rarely do.
    Failing that, a formula that explains the first wrong layer is named.
    """
    layers = [l for l in range(1, len(layer_dims)) if stds[l - 1][0] > 0]
    observed = {l: (float(params[f"W{l}"].std(ddof=1)), params[f"W{l}"].size) for l in layers}

    def explains(label, ls):
        return all(_std_matches(observed[l][0], FORMULAS[label](layer_dims[l - 1], layer_dims[l]), observed[l][1])
                   for l in ls)

    wrong = [l for l in layers if not _std_matches(observed[l][0], stds[l - 1][0], observed[l][1])]
    want = stds[wrong[0] - 1][1]
    for scope in (layers, wrong[:1]):
        for label in FORMULAS:
            if label != want and explains(label, scope):
                l = wrong[0]
                return f"W{l} has std {observed[l][0]:.4g}, which matches {label}, not {want}: {_HINTS[label]}"
    return None


def _weight_problem(W: np.ndarray, l: int, sigma: float, n_prev: int, n_curr: int, want: str) -> str | None:
    """One layer's statistics against std ``sigma`` (formula label ``want``)."""
    N = W.size
    if sigma == 0.0:
        return None if not W.any() else f"W{l} should be all zeros, but {int(np.count_nonzero(W))} entries are not"
    if not np.isfinite(W).all():
        return f"W{l} contains NaN or inf"
    s = float(W.std(ddof=1))
    if not _std_matches(s, sigma, N):
        return (
            f"W{l} has std {s:.4g} but {want} gives {sigma:.4g} for n[l-1]={n_prev}, n[l]={n_curr} "
            f"(beyond {Z_TOL:g} standard errors of the sample std)"
        )
    mean = float(W.mean())
    if abs(mean) > Z_TOL * sigma / math.sqrt(N):
        return f"W{l} has mean {mean:.3g}; draws of randn are centred on 0"
    frac = float(np.mean(np.abs(W) < sigma))
    if abs(frac - _P_WITHIN_ONE_SD) > Z_TOL * math.sqrt(_P_WITHIN_ONE_SD * (1 - _P_WITHIN_ONE_SD) / N):
        return (
            f"W{l} has the right std but {frac:.1%} of its entries lie within one std of 0 "
            f"(a Gaussian has {_P_WITHIN_ONE_SD:.1%}): draw with rng.standard_normal (randn)"
        )
    return None


def weight_statistics_problem(params: Mapping, layer_dims, stds) -> str | None:
    """Judge initialized parameters by statistics: message for the first problem, or None.

    Parameters
    ----------
    params : dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1), float64
        (already validated by :func:`expect_params`).
    layer_dims : list of int
        ``[n_x, n[1], ..., n[L]]``.
    stds : list of (float, str)
        Expected std of ``W[l]`` for l = 1..L and the formula's label for messages.

    Returns
    -------
    str or None
    """
    for l in range(1, len(layer_dims)):
        b = params[f"b{l}"]
        if b.any():
            bad = int(np.count_nonzero(b))
            return f"b{l} should be all zeros (only W breaks the symmetry), but {bad} entries are not"
    for l in range(1, len(layer_dims)):
        sigma, want = stds[l - 1]
        W = params[f"W{l}"]
        msg = _weight_problem(W, l, sigma, layer_dims[l - 1], layer_dims[l], want)
        if msg and sigma > 0 and np.isfinite(W).all() and not _std_matches(float(W.std(ddof=1)), sigma, W.size):
            # a wrong std: name the mistaken formula when one explains it
            return _diagnosis(params, layer_dims, stds) or msg
        if msg:
            return msg
    return None


def expect_params(params, layer_dims, *, name: str = "params") -> dict:
    """Validate a parameter dict's type, keys and shapes; float64 copies, or ``CheckFailure``.

    Parameters
    ----------
    params : object
        What the student's ``initialize_parameters`` returned.
    layer_dims : list of int

    Returns
    -------
    dict of ndarray
    """
    if params is None:
        raise CheckFailure(f"{name} is None: did initialize_parameters forget to `return` the dict?")
    if not isinstance(params, Mapping):
        raise CheckFailure(f"{name} should be a dict {{'W1': ..., 'b1': ...}}, got {type(params).__name__}")
    L = len(layer_dims) - 1
    wanted = [f"{k}{l}" for l in range(1, L + 1) for k in ("W", "b")]
    keys = [k for k in params.keys()]
    missing = [k for k in wanted if k not in keys]
    extra = [str(k) for k in keys if k not in wanted]
    if missing or extra:
        raise CheckFailure(
            f"{name} should have keys {wanted} for layer_dims={list(layer_dims)}; missing {missing}, unexpected {extra}"
        )
    out = {}
    for l in range(1, L + 1):
        n_prev, n_curr = layer_dims[l - 1], layer_dims[l]
        for key, shape, hints in (
            (f"W{l}", (n_curr, n_prev), {(n_prev, n_curr): "transposed? W[l] has shape (n[l], n[l-1])"}),
            (f"b{l}", (n_curr, 1), {(n_curr,): "use shape (n[l], 1), a column", (1, n_curr): "a column, not a row"}),
        ):
            try:
                arr = np.array(params[key], dtype=np.float64, copy=True)
            except Exception:
                raise CheckFailure(f"{key} should be a numeric array, got {type(params[key]).__name__}") from None
            if arr.shape != shape:
                hint = hints.get(arr.shape, "")
                raise CheckFailure(f"{key} has shape {arr.shape}, expected {shape}" + (f": {hint}" if hint else ""))
            out[key] = arr
    return out


# --------------------------------------------------------------------------- (a) initialize_parameters
_HEAD = 64  # entries of W1 compared between calls (reproducibility needs no more)


def _init_inputs(case: dict) -> dict:
    return {
        "layer_dims": [int(n) for n in case["layer_dims"]],
        "method": str(case["method"]),
        "seed": int(case["seed"]),
        "scale": float(case.get("scale", 1.0)),
    }


def _init_run(solution, inputs):
    fn = solution[0]
    dims, method, seed = inputs["layer_dims"], inputs["method"], inputs["seed"]
    kwargs = {"scale": inputs["scale"]} if method == "random" else {}
    first = fn(list(dims), method, seed=seed, **kwargs)
    first = expect_params(first, dims)  # copy now: a later call must not alter what is recorded
    again = expect_params(fn(list(dims), method, seed=seed, **kwargs), dims)
    other = expect_params(fn(list(dims), method, seed=seed + 1, **kwargs), dims)
    return first, again["W1"].ravel()[:_HEAD], other["W1"].ravel()[:_HEAD]


def _init_encode(output):
    params, again, other = output
    return {
        "params": {k: encode_array(v, name=k) for k, v in params.items()},
        "again": encode_array(again, name="W1 of a second call"),
        "other": encode_array(other, name="W1 with another seed"),
    }


def _init_decode(obj):
    if not isinstance(obj, dict) or set(obj) != {"params", "again", "other"} or not isinstance(obj["params"], dict):
        raise PayloadError("initialize_parameters record is not of the recorded form")
    params = {str(k): decode_array(v) for k, v in obj["params"].items()}
    return {"params": params, "again": decode_array(obj["again"]), "other": decode_array(obj["other"])}


def _init_expected(inputs):
    from helpers._reference.initialization import METHOD_FORMULA, init_std  # lazy: absent in the student edition

    dims, method = inputs["layer_dims"], inputs["method"]
    scale = inputs["scale"] if method == "random" else None
    stds = []
    for l in range(1, len(dims)):
        sigma = init_std(method, dims[l - 1], dims[l], scale=scale)
        label = METHOD_FORMULA.get(method, "0" if method == "zeros" else f"scale={inputs['scale']:g}")
        stds.append((sigma, label))
    return stds


def _init_compare(answer, expected, inputs):
    dims = inputs["layer_dims"]
    try:
        params = expect_params(answer["params"], dims)
    except CheckFailure as exc:
        return str(exc)
    msg = weight_statistics_problem(params, dims, expected)
    if msg:
        return f"method={inputs['method']!r}: {msg}"
    head = params["W1"].ravel()[:_HEAD]
    if answer["again"].shape != head.shape or (answer["again"] != head).any():
        return "two calls with the same seed gave different W1: draw from np.random.default_rng(seed)"
    if expected[0][0] > 0 and answer["other"].shape == head.shape and (answer["other"] == head).all():
        return "another seed gave the same W1: the seed must drive the draws"
    return None


INITIALIZE_PARAMETERS = register(
    Check(
        name="initialization.initialize_parameters",
        make_inputs=_init_inputs,
        run=_init_run,
        encode=_init_encode,
        expected=_init_expected,
        compare=_init_compare,
        decode=_init_decode,
        describe="initialize_parameters: shapes, zero biases and the std of W[l] on unseen layer sizes",
        vary=VARY_INIT,
    )
)


# --------------------------------------------------------------------------- (b) layer_std
def _random_net(case: dict):
    """Input and parameters of a hidden net (nonzero biases: they must be used)."""
    rng = np.random.default_rng(int(case["seed"]))
    dims = [int(n) for n in case["layer_dims"]]
    X = rng.standard_normal((dims[0], int(case["m"]))) * float(case.get("x_scale", 1.0))
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * float(case["w_std"])
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * float(case.get("b_std", 0.1))
    return X, params


#: Activation functions of the hidden layer_std cases, by the name a case spec uses.
ACTIVATION_FUNCTIONS = {
    "relu": lambda Z: np.maximum(Z, 0.0),
    "tanh": np.tanh,
    "linear": lambda Z: Z,
    "leaky_relu": lambda Z: np.maximum(Z, 0.1 * Z),
    "softplus": lambda Z: np.logaddexp(0.0, Z),
}


def activation_function(name: str):
    """A fresh function object computing :data:`ACTIVATION_FUNCTIONS` ``[name]`` (element-wise)."""
    if name not in ACTIVATION_FUNCTIONS:
        raise ValueError(f"unknown activation {name!r}; cases use one of {sorted(ACTIVATION_FUNCTIONS)}")
    fn = ACTIVATION_FUNCTIONS[name]

    def g(Z):
        return fn(np.asarray(Z, dtype=np.float64))

    return g


def _std_inputs(case: dict) -> dict:
    X, params = _random_net(case)
    return {"X": X, "params": params, "hidden": str(case["hidden"])}


def _std_run(solution, inputs):
    params = {k: v.copy() for k, v in inputs["params"].items()}
    return solution[0](inputs["X"].copy(), params, activation_function(inputs["hidden"]))


def _n_layers(inputs) -> int:
    return len(inputs["params"]) // 2


def layer_std_problem(answer: np.ndarray, expected: np.ndarray, sizes) -> str | None:
    """Compare per-layer stds; explain ``ddof=1`` and an included ``X``.

    Parameters
    ----------
    answer, expected : ndarray of shape (L,)
    sizes : sequence of int
        Number of entries of each ``A[l]`` (n[l] * m), for the ``ddof`` diagnosis.
    """
    if answer.shape == (expected.shape[0] + 1,):
        return f"got {answer.shape[0]} values for {expected.shape[0]} layers: leave out X (layer 0)"
    msg = compare_arrays(answer, expected, name="the per-layer std", rtol=1e-6, atol=1e-12)
    if msg and answer.shape == expected.shape:
        N = np.asarray(sizes, dtype=np.float64)
        if compare_arrays(answer, expected * np.sqrt(N / (N - 1)), name="", rtol=1e-6, atol=1e-12) is None:
            return "the per-layer std uses ddof=1; use the population std np.std(A) over all units and examples"
    return msg


def _std_compare(answer, expected, inputs):
    m = inputs["X"].shape[1]
    sizes = [inputs["params"][f"W{l}"].shape[0] * m for l in range(1, _n_layers(inputs) + 1)]
    msg = layer_std_problem(answer, expected, sizes)
    return f"hidden={inputs['hidden']!r}: {msg}" if msg else None


def _std_expected(inputs):
    from helpers._reference.initialization import activation_std_per_layer  # absent in the student edition

    return activation_std_per_layer(inputs["X"], inputs["params"], ACTIVATION_FUNCTIONS[inputs["hidden"]])


LAYER_STD = register(
    Check(
        name="initialization.layer_std",
        make_inputs=_std_inputs,
        run=_std_run,
        encode=lambda out: encode_array(out, name="the per-layer std", shape=(None,)),
        expected=_std_expected,
        compare=_std_compare,
        decode=decode_array,
        describe="activation_std_per_layer on unseen deep nets and activations",
        vary=VARY_LAYER_STD,
    )
)


# --------------------------------------------------------------------------- (c) alive
def _alive_inputs(case: dict) -> dict:
    rng = np.random.default_rng(int(case["seed"]))
    n_x, width, depth = int(case["n_x"]), int(case["width"]), int(case["depth"])
    X = rng.standard_normal((n_x, int(case["m"]))) * float(case.get("x_scale", 1.0))
    return {
        "X": X,
        "layer_dims": [n_x] + [width] * depth,
        "methods": [str(mth) for mth in case["methods"]],
        "seed": int(case["seed"]) + 1,
    }


def _alive_encode(out):
    if out is None:
        raise CheckFailure("alive_methods returned None: did it forget to `return` the list?")
    if isinstance(out, (str, bytes)) or not isinstance(out, (list, tuple)):
        raise CheckFailure(f"alive_methods should return a list of method names, got {type(out).__name__}")
    names = []
    for item in out:
        if type(item) is not str:  # a str subclass could rig comparisons
            raise CheckFailure(f"alive_methods should return method names (str), got {type(item).__name__}")
        names.append(str(item))
    return sorted(names)


def _alive_decode(obj):
    if not isinstance(obj, list) or not all(isinstance(x, str) for x in obj):
        raise PayloadError("alive_methods record is not a list of names")
    return obj


def alive_ratios(inputs) -> dict:
    """Reference ``std(A[L]) / std(X)`` of a deep ReLU net, per method (instructor edition)."""
    from helpers._reference.initialization import initialize_parameters  # lazy: withheld from students
    from helpers.network import forward

    ratios = {}
    for method in inputs["methods"]:
        params = initialize_parameters(inputs["layer_dims"], method, seed=inputs["seed"])
        AL, _ = forward(inputs["X"], params, hidden="relu", output="relu")
        ratios[method] = float(AL.std() / inputs["X"].std())
    return ratios


def _alive_expected(inputs):
    ratios = alive_ratios(inputs)
    return sorted(mth for mth, r in ratios.items() if 1 / ALIVE_FACTOR <= r <= ALIVE_FACTOR)


def alive_problem(answer, expected, methods) -> str | None:
    """Compare two lists of method names as sets; message or None."""
    unknown = sorted(set(answer) - set(methods))
    if unknown:
        return f"{unknown} are not among the methods asked about ({methods})"
    if len(set(answer)) != len(answer):
        return "a method is listed twice"
    if sorted(answer) != sorted(expected):
        wrongly_in = sorted(set(answer) - set(expected))
        left_out = sorted(set(expected) - set(answer))
        parts = []
        if wrongly_in:
            parts.append(f"{wrongly_in} listed but not alive at the last layer")
        if left_out:
            parts.append(f"{left_out} alive but left out")
        return "; ".join(parts)
    return None


ALIVE = register(
    Check(
        name="initialization.alive",
        make_inputs=_alive_inputs,
        run=lambda sol, inputs: sol[0](inputs["X"].copy(), list(inputs["layer_dims"]), list(inputs["methods"]),
                                       seed=inputs["seed"]),
        encode=_alive_encode,
        expected=_alive_expected,
        compare=lambda answer, expected, inputs: alive_problem(answer, expected, inputs["methods"]),
        decode=_alive_decode,
        describe="alive_methods: which initializations keep the last ReLU layer alive, on unseen depths and widths",
        vary=VARY_ALIVE,
    )
)
