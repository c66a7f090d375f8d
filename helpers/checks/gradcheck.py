"""Graded checks for notebook 4, gradient checking (see :mod:`helpers.checks.core`).

Hidden checks (``grade_hidden("gradcheck.<question>", ...)``):

* ``flatten``: ``params_to_vector`` / ``vector_to_params`` / ``grads_to_vector`` on
  networks of other depths and widths: the order ``W1, b1, ..., WL, bL``, and the way back.
* ``approx``: ``gradient_approx(cost_fn, params, eps)``, the slide's loop, against the
  reference ``dtheta_approx``.
* ``check``: ``gradient_check(cost_fn, params, grads, eps) -> (difference, per_block)`` on
  clean and buggy backprops; differences must agree with the reference (clean: both
  "great", relative to the round-off floor where that is larger; buggy: to 1e-3 relative)
  and flag the same blocks.
* ``bug_hunt``: ``find_buggy_blocks(cost_fn, backprop, params)`` on hidden planted bugs
  (drawn from ``bug_seed``; a draw with a bug that would hide at the case's parameters is
  replaced, :func:`_visible_bugs`); a correct block that rounding alone brings within 10x of
  the threshold may be reported either way.
* ``fixed_backward``: the student's fixed backprop must pass the reference check on
  networks it has not seen (other depths, activations, ``lambd``, frozen dropout masks),
  including regression networks (``"output": "linear"``, cost ``1/(2m) sum (AL - Y)^2``
  plus L2), which the course's :func:`helpers.network.backward` refuses: calling it is no
  answer. Differences are judged against the cut-offs or, when larger, ``FLOOR_GREAT`` times
  their round-off floor (a block whose gradient a seed drew tiny next to ``J``).
* ``regularized``: ``l2_regularized(cost_fn, backprop, lambd, m)`` must add the L2 term to
  ``J`` and its gradient to ``dtheta``. The student's function receives plain functions
  (no network attributes to rebuild the cost from), and ``"data": "toy"`` cases use a
  data term that is not a network cost at all (``sum sin(W) + 1/2 sum b^2``), so
  :func:`helpers.network.make_cost_fn` cannot answer it.

A case is a JSON dict: ``dims`` (layer_dims), ``m``, ``seed``, ``hidden``, ``lambd``,
``scale`` / ``bias`` (weights ``standard_normal * scale``, biases ``* bias``), ``eps``,
``bugs`` (a bug spec, see :mod:`helpers.planted_bugs`) or ``bug_seed`` + ``n_bugs``,
``keep_prob`` (frozen masks), ``output`` (``"sigmoid"``, default, with cross-entropy and
labels in {0, 1}; ``"linear"``, with squared error and real targets), ``data`` (``"toy"``:
exercise 6's non-network data term).

Per-student variants (:data:`VARY`): every seed, the hidden widths and ``lambd``; see the
rules below for their ranges.

Visible-test helpers (``visible_*``) run in the kernel without the reference: they use
small networks or quadratic costs whose answers are known exactly, and explain the
likely mistakes (the missing 2 of ``2 eps``, a perturbation not undone, an unnormalized
difference, ``dtheta`` flattened in another order than ``theta``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import numpy as np

from helpers import planted_bugs
from helpers._validation import param_names
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
from helpers.gradcheck_result import FLOOR_GREAT, GREAT_BELOW, WORRY_FROM, roundoff_floor
from helpers.network import backward, forward, make_cost_fn
from helpers.variants import Scale

__all__ = [
    "BUGGY_AGREEMENT",
    "build_case",
    "visible_approx",
    "visible_bug_hunt",
    "visible_check",
    "visible_fixed_backward",
    "visible_flatten",
    "visible_regularized",
    "visible_sampled",
]

# --------------------------------------------------------------------------- variants
# What a student's variant changes besides the seeds (``seed`` redraws the data and the
# weights, ``bug_seed`` which planted bugs, blocks and kinds, a bug hunt hands out):
#: hidden widths times 0.8..1.7 (a width of 2 stays 2..3, 5 becomes 4..8, 6 at most 10): the
#: small networks of the lesson (its own is [2, 5, 3, 1]); the input size and the single
#: output unit stay, and so does the depth (a planted bug's layer must exist).
VARY_DIMS = Scale(0.8, 1.7, keep=(0, -1))
#: lambd times 0.5..2: 0.05..0.8 become 0.025..1.6, around the lesson's 0.5..0.7; zero stays
#: zero (an unregularized case stays unregularized: no L2 bug is drawn there); a planted bug
#: that a small lambd would hide is redrawn (:func:`_visible_bugs`).
VARY_LAMBD = Scale(0.5, 2.0)
# The hidden activation is not varied: swapping tanh for sigmoid puts the correct blocks of the
# 4-layer cases at their round-off floor (sigmoid' <= 1/4 shrinks the early gradients), and a
# two-member group on the two or three smooth cases a check has gives fewer than 10 different
# students. "relu" (kinks) and "linear" (where dW_uses_Z hides: Z = A) are cases of their own.
VARY = {"dims": VARY_DIMS, "lambd": VARY_LAMBD}

#: A planted bug drawn from ``bug_seed`` changes each block it claims at least this much (relative
#: difference with the true gradient): 100 times ``WORRY_FROM``, so no check can miss it.
VISIBLE = 1e-2

#: Relative agreement required between a student's and the reference's difference when the
#: difference is not "great": both come from the same finite differences, whose rounding
#: noise (~1e-9) is far below a bug's 1e-3..1.
BUGGY_AGREEMENT = 1e-3


# --------------------------------------------------------------------------- cases
def build_case(case: Mapping) -> dict:
    """Rebuild a hidden network from its JSON spec (deterministic).

    Returns
    -------
    dict
        ``X`` (n_x, m), ``Y`` (1, m), ``params``, ``L``, ``hidden``, ``lambd``, ``eps``,
        ``bugs`` (list of [kind, layer]), ``keep_prob``, ``masks`` (frozen, or None).
    """
    dims = [int(n) for n in case["dims"]]
    m = int(case.get("m", 12))
    rng = np.random.default_rng(int(case["seed"]))
    X = rng.standard_normal((dims[0], m))
    output = str(case.get("output", "sigmoid"))
    if output not in ("sigmoid", "linear"):
        raise ValueError(f"output must be 'sigmoid' or 'linear', got {output!r}")
    # both classes present, so no example is trivially matched
    Y = (np.arange(m) % 2).reshape(1, m)[:, rng.permutation(m)].astype(np.float64)
    if output == "linear":  # regression targets, outside [0, 1]
        Y = 2.0 * rng.standard_normal((1, m))
    params = planted_bugs.random_params(
        dims, scale=float(case.get("scale", 0.8)), bias_scale=float(case.get("bias", 0.3)), seed=rng
    )
    L = len(dims) - 1
    hidden = str(case.get("hidden", "relu"))
    lambd = float(case.get("lambd", 0.0))
    keep_prob = float(case.get("keep_prob", 1.0))
    masks = None
    if keep_prob < 1.0:
        _, cache = forward(X, params, hidden=hidden, keep_prob=keep_prob, seed=rng)
        masks = cache.D
    if "bug_seed" in case and output == "linear":
        # no correct backprop of a regression network exists in the kernel to judge a draw by: its
        # bugs come from the kinds that spoil their blocks whatever the data (LINEAR_KINDS), checked
        # on many students' variants by tests/test_checks_gradcheck.py
        bugs = planted_bugs.random_bugs(L, seed=int(case["bug_seed"]), n_bugs=int(case.get("n_bugs", 1)),
                                        kinds=planted_bugs.LINEAR_KINDS, hidden=hidden, lambd=lambd)
    elif "bug_seed" in case:
        bugs = _visible_bugs(X, Y, params, int(case["bug_seed"]), int(case.get("n_bugs", 1)), hidden=hidden,
                             lambd=lambd, keep_prob=keep_prob, masks=masks)
    else:
        bugs = [list(b) for b in case.get("bugs", [])]
    return {
        "X": X, "Y": Y, "params": params, "L": L, "hidden": hidden, "lambd": lambd,
        "eps": float(case.get("eps", 1e-7)), "bugs": bugs, "keep_prob": keep_prob, "masks": masks,
        "output": output, "data": str(case.get("data", "network")),
    }


def _block_differences(grads: dict, truth: dict) -> dict:
    # the slide's relative difference per block, written out here: building a case runs in the
    # student's kernel too, where the reference's relative_difference is withheld
    out = {}
    for key, value in truth.items():
        den = np.linalg.norm(grads[key]) + np.linalg.norm(value)
        out[key] = 0.0 if den == 0 else float(np.linalg.norm(grads[key] - value) / den)
    return out


def _visible_bugs(X, Y, params, bug_seed: int, n_bugs: int, *, hidden: str, lambd: float, keep_prob: float,
                  masks) -> list[list]:
    """Bugs drawn from ``bug_seed`` that change every block they spoil by at least :data:`VISIBLE`.

    A planted bug can hide at particular parameters (``CATALOG``'s ``hides_when``: ``l2_on_b`` on a
    bias drawn close to 0, an L2 bug next to a large data gradient), and a bug hunt is judged on
    the blocks the bugs spoil: a variant's seeds must not hand out a bug no check can see. The
    first draw is ``random_bugs(seed=bug_seed)`` (the literal cases' own, all visible); a draw
    is replaced by the next one, ``seed=[bug_seed, k]``, unless every block is either untouched
    (bit for bit) or changed by at least :data:`VISIBLE`, and every bug alone changes some block
    that much. This runs in the student's kernel, where which blocks a bug spoils (the bug hunt's
    answer, ``affected_blocks``) is withheld: the rule needs only the gradients.
    """
    L = len(params) // 2
    AL, cache = forward(X, params, hidden=hidden, keep_prob=keep_prob, masks=masks)
    truth = backward(AL, Y, cache, params, lambd=lambd)

    def changes(bugs):
        grads = planted_bugs.buggy_backward(bugs)(AL, Y, cache, params, lambd=lambd)
        return _block_differences(grads, truth).values()

    for attempt in range(100):
        seed = bug_seed if attempt == 0 else [bug_seed, attempt]
        bugs = planted_bugs.random_bugs(L, seed=seed, n_bugs=n_bugs, hidden=hidden, lambd=lambd)
        if (all(d == 0.0 or d >= VISIBLE for d in changes(bugs))
                and all(max(changes([bug])) >= VISIBLE for bug in bugs)):
            return bugs
    raise ValueError(f"no visible draw of {n_bugs} bug(s) for bug_seed={bug_seed} on this network")


def squared_error_cost(inputs: dict, *, lambd: float | None = None):
    """``J(params) = 1/(2m) sum (AL - Y)^2 + lambd/(2m) sum ||W||_F^2`` for a linear-output network."""
    # the function handed to the student keeps only what J needs (not the case's other inputs)
    lambd = inputs["lambd"] if lambd is None else lambd
    X, Y, hidden, keep_prob, masks = inputs["X"], inputs["Y"], inputs["hidden"], inputs["keep_prob"], inputs["masks"]
    m = X.shape[1]

    def cost_fn(params):
        AL, _ = forward(X, params, hidden=hidden, output="linear", keep_prob=keep_prob, masks=masks)
        L = len(params) // 2
        l2 = sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, L + 1))
        return float(np.sum((AL - Y) ** 2) / (2 * m)) + lambd / (2 * m) * l2

    return cost_fn


def toy_data_cost(params) -> float:
    """Exercise 6's non-network data term: ``sum_l sum sin(W[l]) + 1/2 sum_l ||b[l]||^2``."""
    return float(sum(np.sum(np.sin(v)) if k.startswith("W") else 0.5 * np.sum(v * v) for k, v in params.items()))


def toy_data_gradients(params) -> dict:
    """Gradient of :func:`toy_data_cost`: ``dW = cos W``, ``db = b``."""
    return {"d" + k: (np.cos(v) if k.startswith("W") else np.array(v, dtype=np.float64)) for k, v in params.items()}


def _cost_fn(inputs: dict, *, lambd: float | None = None):
    if inputs.get("output", "sigmoid") == "linear":
        return squared_error_cost(inputs, lambd=lambd)
    return make_cost_fn(
        inputs["X"], inputs["Y"], hidden=inputs["hidden"],
        lambd=inputs["lambd"] if lambd is None else lambd,
        keep_prob=inputs["keep_prob"], masks=inputs["masks"],
    )


def _backprop(inputs: dict):
    return planted_bugs.make_buggy_backprop(
        inputs["X"], inputs["Y"], inputs["bugs"], hidden=inputs["hidden"], lambd=inputs["lambd"],
        keep_prob=inputs["keep_prob"], masks=inputs["masks"], output=inputs["output"],
    )


def _fresh(params: dict) -> dict:
    # the student's code gets its own copy: a function that mutates params must not
    # change the inputs the grader compares against
    return {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}


def _reference():
    from helpers._reference import gradcheck  # absent in the student edition; used only by the grader

    return gradcheck


# --------------------------------------------------------------------------- encoding
def _encode_scalar(value, name: str) -> dict:
    return encode_array(value, name=name, shape=())


def _encode_dict(value, names: list[str], shapes: dict, what: str) -> dict:
    if not isinstance(value, Mapping):
        raise CheckFailure(f"{what} should be a dict with keys {names}, got {type(value).__name__}")
    keys = [k for k in value.keys() if type(k) is str]
    if len(keys) != len(value) or set(keys) != set(names):
        raise CheckFailure(f"{what} should have exactly the keys {names}, got {sorted(map(str, value))[:12]}")
    return {k: encode_array(value[k], name=f"{what}[{k!r}]", shape=shapes.get(k)) for k in names}


def _decode_dict(obj, names: list[str] | None = None) -> dict:
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise PayloadError("expected a dict of arrays")
    if names is not None and set(obj) != set(names):
        raise PayloadError("unexpected keys")
    return {k: decode_array(v) for k, v in obj.items()}


def _decode_entries(obj) -> dict:
    if not isinstance(obj, dict):
        raise PayloadError("answer is not a dict")
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict) and set(value) == {"shape", "f8"}:
            out[key] = decode_array(value)
        elif isinstance(value, dict):
            out[key] = _decode_dict(value)
        elif isinstance(value, list) and all(isinstance(s, str) for s in value):
            out[key] = list(value)
        elif isinstance(value, bool):
            out[key] = value
        else:
            raise PayloadError(f"entry {key!r} is malformed")
    return out


# --------------------------------------------------------------------------- comparisons
def _agree(student: float, ref: float, floor: float | None = None) -> bool:
    """Two relative differences agree: both "great", or equal to ``BUGGY_AGREEMENT`` relative.

    "Great" is below ``GREAT_BELOW``, or below ``FLOOR_GREAT`` round-off floors when that is
    larger: a correct block whose gradient is tiny next to ``J`` (a seed can draw one) reads 1e-6
    or more from rounding alone, noise that two correct implementations do not share to 1e-3.
    """
    if not math.isfinite(student):
        return False
    great = GREAT_BELOW if floor is None else max(GREAT_BELOW, FLOOR_GREAT * floor)
    if ref < great:
        return student < great
    return abs(student - ref) <= BUGGY_AGREEMENT * ref + 1e-9


def _scalar(arr) -> float:
    return float(np.asarray(arr, dtype=np.float64).reshape(-1)[0]) if np.size(arr) == 1 else math.nan


def _difference_hint(student: float, ref: float) -> str:
    if ref < GREAT_BELOW and 0.2 < student < 0.45:
        return " (about 1/3 on a correct gradient: is the 2 of 2*eps missing?)"
    if student > 1.0 + 1e-12:
        return " (a relative difference is at most 1: divide by ||dtheta_approx|| + ||dtheta||)"
    return ""


# --------------------------------------------------------------------------- (a) flatten
def _flatten_inputs(case: dict) -> dict:
    inputs = build_case(case)
    params = inputs["params"]
    rng = np.random.default_rng(int(case["seed"]) + 1)
    inputs["grads"] = {"d" + k: rng.standard_normal(v.shape) for k, v in params.items()}
    n = sum(v.size for v in params.values())
    # distinct entries, so any misplaced value shows
    inputs["v"] = rng.permutation(n).astype(np.float64) + 0.5
    return inputs


def _flatten_run(solution, inputs):
    p2v, v2p, g2v = solution
    params = _fresh(inputs["params"])
    names = param_names(inputs["L"])
    n = sum(v.size for v in params.values())
    out = p2v(params)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailure("params_to_vector should return a pair (theta, layout)")
    theta, layout = out
    theta_enc = encode_array(theta, name="theta", shape=(n,))
    dtheta = g2v({k: v.copy() for k, v in inputs["grads"].items()}, layout)
    back = v2p(inputs["v"].copy(), layout)
    shapes = {k: v.shape for k, v in inputs["params"].items()}
    return {
        "theta": theta_enc,
        "dtheta": encode_array(dtheta, name="dtheta", shape=(n,)),
        "params": _encode_dict(back, names, shapes, "vector_to_params(...)"),
    }


def _flatten_expected(inputs):
    ref = _reference()
    theta, layout = ref.params_to_vector(inputs["params"])
    return {
        "theta": theta,
        "dtheta": ref.grads_to_vector(inputs["grads"], layout),
        "params": ref.vector_to_params(inputs["v"], layout),
    }


def _flatten_compare(answer, expected, inputs):
    if set(answer) != {"theta", "dtheta", "params"}:
        raise PayloadError("unexpected entries")
    for key, label in (("theta", "theta"), ("dtheta", "dtheta")):
        msg = compare_arrays(answer[key], expected[key], name=label, rtol=0.0, atol=0.0)
        if msg:
            return msg + " (order: W1, b1, W2, b2, ..., each block raveled row by row)"
    for key, arr in expected["params"].items():
        msg = compare_arrays(answer["params"][key], arr, name=f"vector_to_params(...)['{key}']", rtol=0.0, atol=0.0)
        if msg:
            return msg
    return None


FLATTEN = register(Check(
    name="gradcheck.flatten",
    make_inputs=_flatten_inputs,
    run=_flatten_run,
    encode=lambda out: out,
    expected=_flatten_expected,
    compare=_flatten_compare,
    describe="theta, dtheta and the way back on networks of other depths and widths",
    decode=_decode_entries,
    vary={"dims": VARY_DIMS},
))


# --------------------------------------------------------------------------- (b) approx
def _approx_run(solution, inputs):
    (gradient_approx,) = solution
    params = _fresh(inputs["params"])
    n = sum(v.size for v in params.values())
    out = gradient_approx(_cost_fn(inputs), params, inputs["eps"])
    unchanged = all(np.array_equal(params[k], inputs["params"][k]) for k in params)
    return {"dtheta_approx": encode_array(out, name="dtheta_approx", shape=(n,)), "params_unchanged": unchanged}


def _approx_expected(inputs):
    # only dtheta_approx is compared: the gradient passed alongside does not matter
    zeros = {"d" + k: np.zeros_like(v) for k, v in inputs["params"].items()}
    return _reference().gradient_check(_cost_fn(inputs), inputs["params"], zeros, inputs["eps"])


def _approx_compare(answer, expected, inputs):
    if answer.get("params_unchanged") is not True:
        return "gradient_approx changed the params it was given: perturb a copy of theta, not params"
    approx = answer["dtheta_approx"]
    ref = expected.dtheta_approx
    if approx.shape != ref.shape or not np.isfinite(approx).all():
        return f"dtheta_approx has shape {approx.shape} or non-finite values, expected shape {ref.shape}"
    rel = _reference().relative_difference
    d = rel(approx, ref)
    if not d < GREAT_BELOW:
        ratio = float(np.dot(approx, ref) / max(np.dot(ref, ref), 1e-300))
        hint = " (about twice the gradient: divide by 2*eps)" if abs(ratio - 2) < 0.05 else ""
        return f"dtheta_approx differs from the two-sided differences (relative difference {d:.1e}){hint}"
    return None


APPROX = register(Check(
    name="gradcheck.approx",
    make_inputs=build_case,
    run=_approx_run,
    encode=lambda out: out,
    expected=_approx_expected,
    compare=_approx_compare,
    describe="dtheta_approx on networks of other depths, widths and eps",
    decode=_decode_entries,
    vary=VARY,
))


# --------------------------------------------------------------------------- (b) check
def _check_run(solution, inputs):
    (gradient_check,) = solution
    params = _fresh(inputs["params"])
    grads = _backprop(inputs)(inputs["params"])
    out = gradient_check(_cost_fn(inputs), params, grads, inputs["eps"])
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailure("gradient_check should return a pair (difference, per_block)")
    difference, per_block = out
    names = param_names(inputs["L"], "d")
    return {
        "difference": _encode_scalar(difference, "difference"),
        "per_block": _encode_dict(per_block, names, dict.fromkeys(names, ()), "per_block"),
    }


def _check_expected(inputs):
    grads = _backprop(inputs)(inputs["params"])
    return _reference().gradient_check(_cost_fn(inputs), inputs["params"], grads, inputs["eps"])


def _check_compare(answer, expected, inputs):
    d = _scalar(answer["difference"])
    if not _agree(d, expected.difference, expected.floor):
        verdict = "great" if expected.difference < GREAT_BELOW else "not great"
        return (f"difference = {d:.3e} does not match the reference on this network "
                f"(which is {verdict}){_difference_hint(d, expected.difference)}")
    per_block = answer["per_block"]
    if set(per_block) != set(expected.per_block):
        return "per_block has the wrong keys"
    floors = expected.per_block_floor or {}
    wrong = [k for k, ref in expected.per_block.items() if not _agree(_scalar(per_block[k]), ref, floors.get(k))]
    if wrong:
        return (f"per_block differs from the reference for {len(wrong)} block(s) "
                f"(each block: the same formula on its entries)")
    mine = {k for k, v in per_block.items() if not _scalar(v) < WORRY_FROM}
    theirs = {k for k, v in expected.per_block.items() if not v < WORRY_FROM}
    if mine != theirs:
        return "per_block flags other blocks than the reference"
    return None


CHECK = register(Check(
    name="gradcheck.check",
    make_inputs=build_case,
    run=_check_run,
    encode=lambda out: out,
    expected=_check_expected,
    compare=_check_compare,
    describe="difference and per-block differences on clean and buggy backprops",
    decode=_decode_entries,
    vary=VARY,
))


# --------------------------------------------------------------------------- (c) bug hunt
def _encode_blocks(value, names: list[str], what: str) -> list[str]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (set, frozenset, list, tuple)):
        raise CheckFailure(f"{what} should be a set of block names like {{'dW2', 'db2'}}, got {type(value).__name__}")
    items = list(value)
    if not all(type(x) is str for x in items):
        raise CheckFailure(f"{what} should hold block names (str) like 'dW2'")
    unknown = sorted(set(items) - set(names))
    if unknown:
        raise CheckFailure(f"{what} holds names that are not gradient blocks of this network: {unknown[:5]}")
    return sorted(set(items))


def _hunt_run(solution, inputs):
    (find_buggy_blocks,) = solution
    out = find_buggy_blocks(_cost_fn(inputs), _backprop(inputs), _fresh(inputs["params"]))
    return {"blocks": _encode_blocks(out, param_names(inputs["L"], "d"), "find_buggy_blocks(...)")}


def _hunt_expected(inputs):
    wrong = planted_bugs.affected_blocks(inputs["bugs"], inputs["L"], hidden=inputs["hidden"], lambd=inputs["lambd"])
    # a correct block may be reported either way when rounding alone brings it within 10x of the
    # threshold (a block whose gradient a seed drew tiny next to J); the planted bugs are at least
    # VISIBLE (100x the threshold), so a correct check finds every one of them
    result = _reference().gradient_check(_cost_fn(inputs), inputs["params"], _backprop(inputs)(inputs["params"]),
                                         inputs["eps"])
    floors = result.per_block_floor or {}
    either = [k for k, d in result.per_block.items()
              if k not in wrong and max(d, FLOOR_GREAT * floors.get(k, 0.0)) >= WORRY_FROM / 10]
    return {"wrong": sorted(wrong), "either": sorted(either)}


def _hunt_compare(answer, expected, inputs):
    truth, either = set(expected["wrong"]), set(expected["either"])
    mine = set(answer["blocks"]) - either
    if mine == truth:
        return None
    missed, extra = len(truth - mine), len(mine - truth)
    return (f"not the wrong blocks of this backprop: {missed} wrong block(s) missed, "
            f"{extra} correct block(s) reported as wrong")


BUG_HUNT = register(Check(
    name="gradcheck.bug_hunt",
    make_inputs=build_case,
    run=_hunt_run,
    encode=lambda out: out,
    expected=_hunt_expected,
    compare=_hunt_compare,
    describe="the wrong blocks of hidden buggy backprops, found with your gradient check",
    decode=_decode_entries,
    vary=VARY,
))


# --------------------------------------------------------------------------- (d) fixed backprop
def _fixed_run(solution, inputs):
    (backward_fixed,) = solution
    params = _fresh(inputs["params"])
    AL, cache = forward(inputs["X"], params, hidden=inputs["hidden"], output=inputs["output"],
                        keep_prob=inputs["keep_prob"], masks=inputs["masks"])
    grads = backward_fixed(AL, inputs["Y"].copy(), copy.deepcopy(cache), params, lambd=inputs["lambd"])
    names = param_names(inputs["L"], "d")
    shapes = {"d" + k: v.shape for k, v in inputs["params"].items()}
    return {"grads": _encode_dict(grads, names, shapes, "grads")}


def _fixed_expected(inputs):
    # only dtheta_approx (finite differences of J) is used: the truth comes from the cost alone
    zeros = {"d" + k: np.zeros_like(v) for k, v in inputs["params"].items()}
    return _reference().gradient_check(_cost_fn(inputs), inputs["params"], zeros)


def _fixed_compare(answer, expected, inputs):
    ref = _reference()
    grads = answer["grads"]
    layout = expected.layout
    if set(grads) != set(layout.grad_names):
        raise PayloadError("unexpected gradient keys")
    dtheta = np.concatenate([grads[k].reshape(-1) for k in layout.grad_names])
    if not np.isfinite(dtheta).all():
        return "your gradients contain NaN or inf"
    approx = expected.dtheta_approx

    def passes(a, b, cut):
        # below the cut-off, or rounding only: a block whose gradient is tiny next to J (a seed can
        # draw db[L] = mean(AL - Y) close to 0) reads 1e-5 from round-off alone, while a correct
        # backprop stays within 1.5 floors (2,000 variants of the hidden cases) and a bug, 1e-2 or
        # more, is millions of floors away
        difference = ref.relative_difference(a, b)
        return difference < max(cut, FLOOR_GREAT * roundoff_floor(expected.cost, b, expected.eps, a)), difference

    ok, d = passes(approx, dtheta, GREAT_BELOW)
    blocks = [g for g, n in zip(layout.grad_names, layout.names, strict=True)
              if not passes(approx[layout.slice(n)], grads[g].reshape(-1), 1e-5)[0]]
    if ok and not blocks:
        return None
    settings = (f"hidden={inputs['hidden']!r}, output={inputs['output']!r}, lambd={inputs['lambd']:g}, "
                f"keep_prob={inputs['keep_prob']:g}")
    return (f"the gradient check fails (difference {d:.1e}; wrong blocks: {', '.join(blocks) or 'none alone'}) "
            f"on a {inputs['L']}-layer network with {settings}")


FIXED = register(Check(
    name="gradcheck.fixed_backward",
    make_inputs=build_case,
    run=_fixed_run,
    encode=lambda out: out,
    expected=_fixed_expected,
    compare=_fixed_compare,
    describe="your fixed backprop passes the gradient check on unseen networks",
    decode=_decode_entries,
    vary=VARY,
))


# --------------------------------------------------------------------------- (e) regularized
def _reg_points(inputs) -> list[dict]:
    # the given params and a larger copy: an L2 term off by a factor cannot hide at both
    big = {k: 3.0 * v + 0.5 for k, v in inputs["params"].items()}
    return [inputs["params"], big]


def _reg_run(solution, inputs):
    (l2_regularized,) = solution
    cost_fn, backprop = _reg_data_term(inputs)
    m = inputs["X"].shape[1]
    # plain functions: nothing to rebuild the cost from (X, Y, hidden...) but calling them
    out = l2_regularized(lambda params: cost_fn(params), lambda params: backprop(params), inputs["lambd"], m)
    if not isinstance(out, tuple) or len(out) != 2 or not all(callable(f) for f in out):
        raise CheckFailure("l2_regularized should return a pair of functions (cost_fn_reg, backprop_reg)")
    cost_reg, backprop_reg = out
    names = param_names(inputs["L"], "d")
    shapes = {"d" + k: v.shape for k, v in inputs["params"].items()}
    result = {}
    for i, p in enumerate(_reg_points(inputs)):
        result[f"J{i}"] = _encode_scalar(cost_reg(_fresh(p)), "cost_fn_reg(params)")
        result[f"grads{i}"] = _encode_dict(backprop_reg(_fresh(p)), names, shapes, "backprop_reg(params)")
    return result


def _reg_data_term(inputs):
    if inputs["data"] == "toy":
        return toy_data_cost, toy_data_gradients
    cost_fn = _cost_fn(inputs, lambd=0.0)
    return cost_fn, cost_fn.gradients


def _reg_expected(inputs):
    cost_fn, backprop = _reg_data_term(inputs)
    lambd, m = inputs["lambd"], inputs["X"].shape[1]
    out = []
    for p in _reg_points(inputs):
        l2 = sum(float(np.sum(v * v)) for k, v in p.items() if k.startswith("W"))
        grads = {k: (g + lambd / m * p[k[1:]] if k.startswith("dW") else g) for k, g in backprop(p).items()}
        out.append((cost_fn(p) + lambd / (2 * m) * l2, grads))
    return out


def _reg_compare(answer, expected, inputs):
    for i, (J, grads) in enumerate(expected):
        where = "at the given params" if i == 0 else "at larger weights"
        if f"J{i}" not in answer or f"grads{i}" not in answer:
            raise PayloadError("missing entries")
        msg = compare_arrays(answer[f"J{i}"], np.float64(J), name=f"cost_fn_reg(params) {where}", rtol=1e-9, atol=1e-12)
        if msg:
            return msg + " (J + lambd/(2m) * sum_l ||W[l]||_F^2, and not the biases)"
        got = answer[f"grads{i}"]
        for k, g in grads.items():
            if k not in got:
                raise PayloadError("missing gradient block")
            msg = compare_arrays(got[k], g, name=f"backprop_reg(params)['{k}'] {where}", rtol=1e-9, atol=1e-12)
            if msg:
                return msg + (" (dW[l] + lambd/m * W[l])" if k.startswith("dW") else " (biases are not regularized)")
    return None


REGULARIZED = register(Check(
    name="gradcheck.regularized",
    make_inputs=build_case,
    run=_reg_run,
    encode=lambda out: out,
    expected=_reg_expected,
    compare=_reg_compare,
    describe="the L2 term in J and in dtheta, for unseen lambd",
    decode=_decode_entries,
    vary=VARY,
))


# --------------------------------------------------------------------------- (f) sampled entries
def _sampled_inputs(case: dict) -> dict:
    inputs = build_case(case)
    inputs.update(k=int(case["k"]), sample_seed=int(case["sample_seed"]), atol=float(case["atol"]),
                  rtol=float(case["rtol"]))
    return inputs


def _sampled_budget(inputs) -> int:
    """Evaluations of J a sampled check needs: 2 per sampled entry, plus 2 to spare (e.g. J itself)."""
    return 2 * sum(min(inputs["k"], v.size) for v in inputs["params"].values()) + 2


def _sampled_run(solution, inputs):
    (sampled_entry_check,) = solution
    calls = [0]
    cost_fn = _cost_fn(inputs)

    def counted(params):
        calls[0] += 1
        return cost_fn(params)

    out = sampled_entry_check(counted, _fresh(inputs["params"]), _backprop(inputs)(inputs["params"]),
                              k=inputs["k"], seed=inputs["sample_seed"], atol=inputs["atol"], rtol=inputs["rtol"],
                              eps=inputs["eps"])
    blocks = _encode_blocks(out, param_names(inputs["L"], "d"), "sampled_entry_check(...)")
    return {"blocks": blocks, "calls": encode_array(float(calls[0]), name="calls", shape=())}


def _sampled_expected(inputs):
    # every entry of every block judged (the slide's full loop, in the grader): a block is wrong
    # when all its entries fail, right when none does; a block with both may be reported either
    # way, since which entries a sample holds is the student's draw
    ref = _reference()
    grads = _backprop(inputs)(inputs["params"])
    result = ref.gradient_check(_cost_fn(inputs), inputs["params"], grads, inputs["eps"])
    fails = ref.entry_failures(result.dtheta_approx, ref.grads_to_vector(grads, result.layout),
                               atol=inputs["atol"], rtol=inputs["rtol"])
    wrong, either = [], []
    for name in result.layout.grad_names:
        block = fails[result.layout.slice(name)]
        if block.all():
            wrong.append(name)
        elif block.any():
            either.append(name)
    return {"wrong": wrong, "either": either, "budget": _sampled_budget(inputs)}


def _sampled_compare(answer, expected, inputs):
    calls = _scalar(answer["calls"])
    if not calls <= expected["budget"]:
        return (f"cost_fn was called {calls:.0f} times, more than the {expected['budget']} that k entries per block "
                f"need (2 per sampled entry): evaluate J only at the sampled entries")
    truth, either = set(expected["wrong"]), set(expected["either"])
    mine = set(answer["blocks"]) - either
    if mine == truth:
        return None
    return (f"not the failing blocks of this backprop: {len(truth - mine)} wrong block(s) missed, "
            f"{len(mine - truth)} correct block(s) reported "
            f"(an entry fails when |approx - dtheta| > atol + rtol |approx|)")


def _decode_sampled(obj) -> dict:
    if not isinstance(obj, dict) or set(obj) != {"blocks", "calls"}:
        raise PayloadError("sampled_entry_check record is not of the recorded form")
    blocks = obj["blocks"]
    if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
        raise PayloadError("blocks is not a list of names")
    return {"blocks": blocks, "calls": decode_array(obj["calls"])}


SAMPLED = register(Check(
    name="gradcheck.sampled",
    make_inputs=_sampled_inputs,
    run=_sampled_run,
    encode=lambda out: out,
    expected=_sampled_expected,
    compare=_sampled_compare,
    describe="the per-entry criterion on k sampled entries of every block, within 2k evaluations of J per block",
    decode=_decode_sampled,
    vary=VARY,
))


# =========================================================================== visible tests
# They run in the student's kernel, in the student edition (no reference): known answers
# come from numbered parameters, quadratic costs with exact gradients, or the public
# helpers.network.backward. They help; the hidden checks decide.
def _numbered_params(dims) -> dict:
    params, start = {}, 1.0
    for l in range(1, len(dims)):
        for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            size = math.prod(shape)
            params[key] = np.arange(start, start + size).reshape(shape)
            start += size
    return params


def _orders(params: dict, prefix: str = "") -> dict:
    """theta in the lecture's order and in the likely wrong ones, keyed by a hint."""
    L = len(params) // 2
    W = [params[f"{prefix}W{l}"] for l in range(1, L + 1)]
    b = [params[f"{prefix}b{l}"] for l in range(1, L + 1)]
    cat = np.concatenate
    return {
        "right": cat([a.ravel() for pair in zip(W, b, strict=True) for a in pair]),
        "all W first, then all b (W1, W2, ..., b1, b2, ...): the order is W1, b1, W2, b2, ...":
            cat([a.ravel() for a in W + b]),
        "blocks raveled column by column: use ravel() (row-major), as reshape(shape) reads them back":
            cat([a.ravel(order="F") for pair in zip(W, b, strict=True) for a in pair]),
        "sorted keys (W1, W10, W2, ...) or another order: go layer by layer, l = 1..L":
            cat([params[k].ravel() for k in sorted(params)]),
    }


def _explain_order(got: np.ndarray, options: dict, name: str) -> CheckFailure:
    for hint, arr in options.items():
        if hint != "right" and got.shape == arr.shape and np.array_equal(got, arr):
            return CheckFailure(f"{name} is in the wrong order: {hint}")
    return CheckFailure(
        f"{name} is not W1, b1, ..., WL, bL raveled and concatenated: expected {options['right'][:6]}..."
    )


def visible_flatten(params_to_vector, vector_to_params, grads_to_vector) -> None:
    """Visible test of exercise 1: numbered parameters make every misplaced entry visible."""
    for dims in ([2, 3, 1], [3, 2, 2, 1]):
        params = _numbered_params(dims)
        original = {k: v.copy() for k, v in params.items()}
        n = sum(v.size for v in params.values())
        out = call_student(params_to_vector, params)
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailure("params_to_vector should return a pair: return theta, layout")
        theta, layout = out
        theta = expect_array(theta, "theta", shape=(n,), hints={
            (n, 1): "theta should be 1-D, shape (n,): concatenate the raveled blocks, not columns"})
        if not all(np.array_equal(params[k], original[k]) for k in params):
            raise CheckFailure("params_to_vector changed params: it should only read them")
        if not np.array_equal(theta, _orders(params)["right"]):
            raise _explain_order(theta, _orders(params), "theta")
        back = call_student(vector_to_params, 10.0 * theta, layout)
        if not isinstance(back, Mapping):
            raise CheckFailure(f"vector_to_params should return a dict, got {type(back).__name__}")
        if sorted(back) != sorted(params):
            raise CheckFailure(f"vector_to_params returned keys {sorted(back)}, expected {sorted(params)}")
        for key, value in params.items():
            got = expect_array(back[key], f"vector_to_params(...)['{key}']", shape=value.shape)
            if not np.array_equal(got, 10.0 * value):
                raise CheckFailure(f"vector_to_params(...)['{key}'] takes the wrong entries of theta: "
                                   f"it should undo params_to_vector (same order, same reshape)")
        grads = {"d" + k: -v for k, v in params.items()}
        dtheta = expect_array(call_student(grads_to_vector, grads, layout), "dtheta", shape=(n,))
        if not np.array_equal(dtheta, -theta):
            raise _explain_order(-dtheta, _orders(params), "dtheta")


def _quadratic(theta0: np.ndarray, layout_dims, *, seed: int, scale: float = 1.0):
    """A cost ``J = a.theta + 0.5 sum(c theta^2)`` that logs where it was evaluated."""
    rng = np.random.default_rng(seed)
    n = theta0.size
    a = scale * rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    c = scale * rng.uniform(0.5, 2.0, n)
    L = len(layout_dims) - 1
    names = param_names(L)
    calls = []

    def cost_fn(params):
        theta = np.concatenate([np.asarray(params[k], dtype=np.float64).ravel() for k in names])
        calls.append(theta)
        return float(a @ theta + 0.5 * np.sum(c * theta**2))

    return cost_fn, a + c * theta0, calls


def _vector_to_dict(vec: np.ndarray, like: dict, prefix: str = "") -> dict:
    out, start = {}, 0
    for key, value in like.items():
        out[prefix + key] = vec[start:start + value.size].reshape(value.shape).copy()
        start += value.size
    return out


def _explain_calls(calls: list, theta0: np.ndarray, eps: float) -> None:
    unmoved = 0
    for k, theta in enumerate(calls):
        moved = np.flatnonzero(np.abs(theta - theta0) > eps * 1e-3)
        unmoved += len(moved) == 0
        if len(moved) > 1:
            raise CheckFailure(
                f"J was evaluated with {len(moved)} entries of theta moved at once (call {k + 1}): "
                f"a perturbation was not undone. Perturb a fresh copy for each J "
                f"(theta_plus = np.copy(theta)), or put theta[i] back after use"
            )
        if len(moved) == 1 and not np.isclose(abs(theta[moved[0]] - theta0[moved[0]]), eps, rtol=1e-3):
            step = abs(theta[moved[0]] - theta0[moved[0]])
            raise CheckFailure(
                f"theta[{moved[0]}] was moved by {step:.1e}, not by eps = {eps:.0e}: J(theta + eps e_i) and "
                f"J(theta - eps e_i) both start from the original theta (a copy moved by +eps then -eps "
                f"is back at theta)"
            )
    if unmoved > 1:
        raise CheckFailure(
            f"J was evaluated {unmoved} times at the unperturbed theta: J(theta - eps e_i) needs theta[i] "
            f"moved by -eps from the original value (after theta[i] += eps, subtract 2*eps, or start "
            f"from a fresh copy); the second perturbation is off by eps"
        )
    if len(calls) < 2 * theta0.size:
        raise CheckFailure(f"J was evaluated {len(calls)} times; the loop needs 2 per entry of theta "
                           f"({2 * theta0.size}): J(theta + eps e_i) and J(theta - eps e_i) for each i")


def visible_approx(gradient_approx, eps: float = 1e-7) -> None:
    """Visible test of exercise 2: a quadratic cost, whose two-sided differences are exact."""
    dims = [2, 3, 1]
    params = planted_bugs.random_params(dims, scale=1.0, bias_scale=1.0, seed=11)
    theta0 = np.concatenate([v.ravel() for v in params.values()])
    cost_fn, g, calls = _quadratic(theta0, dims, seed=12)
    original = {k: v.copy() for k, v in params.items()}
    approx = expect_array(call_student(gradient_approx, cost_fn, params, eps), "dtheta_approx",
                          shape=(theta0.size,), hints={(theta0.size, 1): "return a 1-D vector, shape (n,)"})
    if not all(np.array_equal(params[k], original[k]) for k in params):
        raise CheckFailure("gradient_approx changed params: perturb a copy of theta, never params itself")
    _explain_calls(calls, theta0, eps)
    err = np.abs(approx - g)
    if (err > 1e-5 * (1 + np.abs(g))).any():
        i = int(np.argmax(err))
        ratio = approx[i] / g[i]
        hint = ""
        if abs(ratio - 2) < 0.01:
            hint = ": twice the derivative, is the 2 of 2*eps missing?"
        elif abs(ratio - 0.5) < 0.01:
            hint = ": half the derivative, divide by 2*eps (not 4*eps)"
        elif abs(ratio + 1) < 0.01:
            hint = ": the sign is flipped, it is J(theta + eps e_i) - J(theta - eps e_i)"
        raise CheckFailure(f"dtheta_approx[{i}] = {approx[i]:.6f}, the derivative there is {g[i]:.6f}{hint}")


def _slide_difference(a: np.ndarray, b: np.ndarray) -> float:
    # the visible tests' own oracle: the slide's formula on exact gradients
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def _student_check(gradient_check, cost_fn, params, grads, eps) -> tuple[float, dict]:
    out = call_student(gradient_check, cost_fn, params, grads, eps)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailure("gradient_check should return a pair: return difference, per_block")
    difference, per_block = out
    difference = float(expect_array(difference, "difference", shape=()))
    if not isinstance(per_block, Mapping):
        raise CheckFailure(f"per_block should be a dict {{'dW1': ..., 'db1': ...}}, got {type(per_block).__name__}")
    names = list(grads)
    if sorted(per_block) != sorted(names):
        raise CheckFailure(f"per_block should have the keys {names}, got {sorted(map(str, per_block))}")
    return difference, {k: float(expect_array(per_block[k], f"per_block['{k}']", shape=())) for k in names}


def visible_check(gradient_check, eps: float = 1e-7) -> None:
    """Visible test of exercise 3: a correct and a wrong gradient of a quadratic cost."""
    dims = [2, 3, 2, 1]
    params = planted_bugs.random_params(dims, scale=1.0, bias_scale=1.0, seed=21)
    theta0 = np.concatenate([v.ravel() for v in params.values()])
    cost_fn, g, _ = _quadratic(theta0, dims, seed=22, scale=100.0)
    grads = _vector_to_dict(g, params, prefix="d")
    wrong = dict(grads)
    wrong["db2"] = 1.5 * grads["db2"]
    wrong_vec = np.concatenate([v.ravel() for v in wrong.values()])
    want = _slide_difference(g, wrong_vec)
    unnormalized = float(np.linalg.norm(g - wrong_vec))
    difference, per_block = _student_check(gradient_check, cost_fn, params, grads, eps)
    difference_wrong, per_block_wrong = _student_check(gradient_check, cost_fn, params, wrong, eps)
    if abs(difference_wrong - unnormalized) < 1e-3 * unnormalized:
        raise CheckFailure(f"with db2 off by a factor 1.5, difference = {difference_wrong:.4g}: that is "
                           f"||dtheta_approx - dtheta|| alone, divide by ||dtheta_approx|| + ||dtheta||")
    if not difference < GREAT_BELOW:
        shuffled = [v for k, v in _orders(grads, "d").items() if k != "right"]
        if 0.2 < difference < 0.45:
            raise CheckFailure(f"difference = {difference:.3f} for a correct gradient: about 1/3 means "
                               f"dtheta_approx is twice dtheta, is the 2 of 2*eps missing?")
        if any(abs(difference - _slide_difference(g, s)) < 1e-3 * _slide_difference(g, s) for s in shuffled):
            raise CheckFailure(f"difference = {difference:.3f} for a correct gradient: dtheta is flattened in "
                               f"another order than theta (it must be dW1, db1, dW2, db2, ...)")
        raise CheckFailure(f"difference = {difference:.2e} for a correct gradient; expected below {GREAT_BELOW:g}")
    bad = [k for k, d in per_block.items() if not d < GREAT_BELOW]
    if bad:
        raise CheckFailure(f"per_block[{bad[0]!r}] = {per_block[bad[0]]:.2e} for a correct gradient")
    if abs(difference_wrong - want) > 1e-3 * want:
        raise CheckFailure(f"with db2 off by a factor 1.5, difference = {difference_wrong:.4g}, expected {want:.4g}")
    flagged = sorted(k for k, d in per_block_wrong.items() if not d < WORRY_FROM)
    if flagged != ["db2"]:
        raise CheckFailure(f"with only db2 wrong, the blocks with per_block >= {WORRY_FROM:g} are {flagged}, "
                           f"expected ['db2']: per_block[k] is the same formula on block k's entries only")


def visible_bug_hunt(find_buggy_blocks) -> None:
    """Visible test of exercise 4: one planted bug in db2, and a correct backprop."""
    inputs = build_case({"dims": [3, 4, 3, 1], "m": 10, "seed": 31, "hidden": "tanh"})
    cost_fn = _cost_fn(inputs)
    for bugs, want in (([["db_no_m", 2]], ["db2"]), ([], [])):
        backprop = planted_bugs.make_buggy_backprop(inputs["X"], inputs["Y"], bugs, hidden="tanh")
        got = call_student(find_buggy_blocks, cost_fn, backprop, _fresh(inputs["params"]))
        got = _encode_blocks(got, param_names(3, "d"), "find_buggy_blocks(...)")
        if got != want:
            case = "db2 is wrong" if want else "the backprop is correct"
            raise CheckFailure(f"find_buggy_blocks returned {set(got) or 'set()'} where {case}: "
                               f"report the blocks whose per-block difference is large (>= {WORRY_FROM:g})")


def visible_fixed_backward(backward_fixed) -> None:
    """Visible test of exercise 5: compare with the course's backward on three networks."""
    for case in ({"dims": [2, 5, 3, 1], "m": 8, "seed": 41, "hidden": "relu"},
                 {"dims": [3, 4, 1], "m": 8, "seed": 42, "hidden": "tanh", "lambd": 0.7},
                 {"dims": [2, 4, 4, 1], "m": 8, "seed": 43, "hidden": "relu", "keep_prob": 0.8}):
        inputs = build_case(case)
        AL, cache = forward(inputs["X"], inputs["params"], hidden=inputs["hidden"], masks=inputs["masks"],
                            keep_prob=inputs["keep_prob"])
        want = backward(AL, inputs["Y"], cache, inputs["params"], lambd=inputs["lambd"])
        got = call_student(backward_fixed, AL, inputs["Y"].copy(), copy.deepcopy(cache),
                           _fresh(inputs["params"]), lambd=inputs["lambd"])
        if not isinstance(got, Mapping):
            raise CheckFailure(f"backward_fixed should return a dict of gradients, got {type(got).__name__}")
        for key, value in want.items():
            if key not in got:
                raise CheckFailure(f"backward_fixed did not return {key!r}")
            arr = expect_array(got[key], f"grads['{key}']", shape=value.shape)
            if not np.allclose(arr, value, rtol=1e-7, atol=1e-10):
                settings = ", ".join(f"{k}={case[k]}" for k in ("hidden", "lambd", "keep_prob") if k in case)
                raise CheckFailure(f"grads['{key}'] is wrong on a {len(case['dims']) - 1}-layer network ({settings})")


def visible_regularized(l2_regularized) -> None:
    """Visible test of exercise 6: J and grads with the L2 term, on a small network."""
    inputs = build_case({"dims": [2, 3, 1], "m": 6, "seed": 51, "hidden": "tanh", "lambd": 0.5})
    plain = _cost_fn(inputs, lambd=0.0)
    out = call_student(l2_regularized, plain, plain.gradients, 0.5, 6)
    if not isinstance(out, tuple) or len(out) != 2 or not all(callable(f) for f in out):
        raise CheckFailure("l2_regularized should return a pair of functions: return cost_fn_reg, backprop_reg")
    cost_reg, backprop_reg = out
    want = _cost_fn(inputs)
    params = inputs["params"]
    J = float(expect_array(call_student(cost_reg, _fresh(params), name="cost_fn_reg"), "cost_fn_reg(params)", shape=()))
    l2 = want(params) - plain(params)
    if not math.isclose(J, want(params), rel_tol=1e-9):
        hint = ""
        if math.isclose(J, plain(params), rel_tol=1e-9):
            hint = ": the L2 term is missing"
        elif math.isclose(J - plain(params), 2 * l2, rel_tol=1e-6):
            hint = ": the L2 term is twice too large, it is lambd/(2m) sum ||W||_F^2"
        raise CheckFailure(f"cost_fn_reg(params) = {J:.6f}, expected {want(params):.6f}{hint}")
    grads = call_student(backprop_reg, _fresh(params), name="backprop_reg")
    exact = want.gradients(params)
    if not isinstance(grads, Mapping) or sorted(grads) != sorted(exact):
        raise CheckFailure(f"backprop_reg should return a dict with keys {sorted(exact)}")
    for key, value in exact.items():
        arr = expect_array(grads[key], f"backprop_reg(params)['{key}']", shape=value.shape)
        if not np.allclose(arr, value, rtol=1e-9, atol=1e-12):
            hint = " (+ lambd/m * W)" if key.startswith("dW") else " (b is not regularized: db is unchanged)"
            raise CheckFailure(f"backprop_reg(params)['{key}'] is wrong{hint}")


def visible_sampled(sampled_entry_check) -> None:
    """Visible test of exercise 7: a wrong db2 found, a correct backprop passed, J evaluated only where sampled."""
    inputs = build_case({"dims": [3, 6, 4, 1], "m": 10, "seed": 61, "hidden": "tanh"})
    spec = {"k": 2, "sample_seed": 0, "atol": 1e-7, "rtol": 1e-4}
    budget = 2 * sum(min(2, v.size) for v in inputs["params"].values())
    for bugs, want in (([["db_no_m", 2]], ["db2"]), ([], [])):
        calls = [0]
        cost_fn = _cost_fn(inputs)

        def counted(params, cost_fn=cost_fn, calls=calls):
            calls[0] += 1
            return cost_fn(params)

        backprop = planted_bugs.make_buggy_backprop(inputs["X"], inputs["Y"], bugs, hidden="tanh")
        got = call_student(sampled_entry_check, counted, _fresh(inputs["params"]), backprop(inputs["params"]),
                           k=spec["k"], seed=spec["sample_seed"], atol=spec["atol"], rtol=spec["rtol"])
        got = _encode_blocks(got, param_names(3, "d"), "sampled_entry_check(...)")
        if calls[0] > budget + 2:
            n = sum(v.size for v in inputs["params"].values())
            raise CheckFailure(f"cost_fn was called {calls[0]} times for k=2 entries of 6 blocks ({budget} needed): "
                               f"perturb only the sampled entries, not all {n}")
        if got != want:
            case = "every entry of db2 is wrong" if want else "the backprop is correct"
            raise CheckFailure(f"sampled_entry_check returned {set(got) or 'set()'} where {case}: report a block when "
                               f"one of its sampled entries has |approx - dtheta| > atol + rtol * |approx|")
