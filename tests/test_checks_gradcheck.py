"""helpers.checks.gradcheck: correct answers pass, typical and hostile wrong answers fail.

The "student" implementations below are written here (the slide's loops), independent of
helpers._reference.gradcheck, which the checks use as the expected answer. The hidden cases
are read from the notebook's test cells, so the cases that grade students are the ones tested.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers import planted_bugs
from helpers._reference import gradcheck as ref
from helpers.checks import core
from helpers.checks import gradcheck as G
from helpers.gradcheck_result import FLOOR_GREAT, GREAT_BELOW, WORRY_FROM
from helpers.network import activation_derivative, backward, forward, make_cost_fn

NOTEBOOK = Path(__file__).parents[1] / "notebooks/04_gradient_checking/gradient_checking.ipynb"


def _hidden_cases():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = {}
    for cell in nb.cells:
        if "tests" in cell.metadata.get("tags", []):
            for name, cases in core.hidden_calls_in_source(cell.source):
                found[name] = cases
    return found


CASES = _hidden_cases()
#: Students' variants the properties below must hold on too (seeds, widths, lambd
#: and planted bugs redrawn): a few for the verdicts, more for the cheap margin checks (794: a
#: fixed-backward block at 1.7e-5 from rounding alone; 840: a bug-hunt clean block at 1.7e-5).
VARIANTS = [1, 7, 52, 794, 20261202]
MANY_VARIANTS = [*range(60), 794, 840]


def cases_of(name, variant=None):
    return core.get_check(name).cases_for(CASES[name], variant)


# --------------------------------------------------------------------------- a student
def p2v(params, order="lecture"):
    L = len(params) // 2
    names = [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b")]
    if order == "W first":
        names = [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]
    layout = [(k, params[k].shape) for k in names]
    return np.concatenate([params[k].ravel() for k in names]), layout


def v2p(theta, layout):
    out, i = {}, 0
    for k, shape in layout:
        size = int(np.prod(shape))
        out[k] = theta[i:i + size].reshape(shape).copy()
        i += size
    return out


def g2v(grads, layout):
    return np.concatenate([grads["d" + k].ravel() for k, _ in layout])


def make_approx(two=2.0, perturb="copy"):
    """perturb: "copy" (right), "back_to_start" (+eps then -eps on one array: J_minus unperturbed),
    "drift" (+eps, then -2 eps, never put back)."""

    def gradient_approx(cost_fn, params, eps=1e-7):
        theta, layout = p2v(params)
        out = np.zeros_like(theta)
        for i in range(theta.size):
            if perturb == "copy":
                plus_t, minus_t = theta.copy(), theta.copy()
                plus_t[i] += eps
                minus_t[i] -= eps
                plus, minus = cost_fn(v2p(plus_t, layout)), cost_fn(v2p(minus_t, layout))
            else:
                theta[i] += eps
                plus = cost_fn(v2p(theta, layout))
                theta[i] -= eps if perturb == "back_to_start" else 2 * eps
                minus = cost_fn(v2p(theta, layout))
            out[i] = (plus - minus) / (two * eps)
        return out

    return gradient_approx


def make_check(approx=None, normalized=True, grad_order="lecture"):
    approx = approx or make_approx()

    def rel(a, b):
        num = np.linalg.norm(a - b)
        den = np.linalg.norm(a) + np.linalg.norm(b)
        if not normalized:
            return float(num)
        return 0.0 if den == 0 else float(num / den)

    def gradient_check(cost_fn, params, grads, eps=1e-7):
        _, layout = p2v(params)
        _, glayout = p2v(params, order=grad_order)
        dtheta = g2v(grads, glayout)
        a = approx(cost_fn, params, eps)
        per_block, i = {}, 0
        for k, shape in layout:
            size = int(np.prod(shape))
            per_block["d" + k] = rel(a[i:i + size], dtheta[i:i + size])
            i += size
        return rel(a, dtheta), per_block

    return gradient_check


def make_hunt(check=None, threshold=1e-4):
    check = check or make_check()

    def find_buggy_blocks(cost_fn, backprop, params):
        _, per_block = check(cost_fn, params, backprop(params))
        return {k for k, d in per_block.items() if d >= threshold}

    return find_buggy_blocks


def make_backward(l2_factor=1.0, keep_prob_scaling=True):
    def backward_fixed(AL, Y, cache, params, lambd=0.0):
        L, m = len(params) // 2, AL.shape[1]
        grads, dZ = {}, AL - Y
        for l in range(L, 0, -1):
            grads[f"dW{l}"] = dZ @ cache.A[l - 1].T / m + l2_factor * lambd / m * params[f"W{l}"]
            grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
            if l > 1:
                dA = params[f"W{l}"].T @ dZ
                if cache.D[l - 1] is not None:
                    dA = dA * cache.D[l - 1] / (cache.keep_prob if keep_prob_scaling else 1.0)
                dZ = dA * activation_derivative(cache.Z[l - 1], cache.hidden)
        return grads

    return backward_fixed


def make_regularized(cost_factor=1.0, grad_on_b=False):
    def l2_regularized(cost_fn, backprop, lambd, m):
        def J(params):
            return cost_fn(params) + cost_factor * lambd / (2 * m) * sum(
                np.sum(v**2) for k, v in params.items() if k.startswith("W"))

        def bp(params):
            g = dict(backprop(params))
            for k, v in params.items():
                if k.startswith("W") or grad_on_b:
                    g["d" + k] = g["d" + k] + lambd / m * v
            return g

        return J, bp

    return l2_regularized


def make_sampled(per_entry=True, sample_all=False):
    """Exercise 7's student: k entries per block from rng.choice, each judged by atol + rtol |approx|.

    per_entry=False judges the sampled entries of a block by one norm ratio (>= 1e-4) instead;
    sample_all=True perturbs every entry (the slide's full loop).
    """

    def sampled_entry_check(cost_fn, params, grads, k, seed, atol, rtol, eps=1e-7):
        theta, layout = p2v(params)
        dtheta = g2v(grads, layout)
        rng = np.random.default_rng(seed)
        failing, start = set(), 0
        for name, shape in layout:
            size = int(np.prod(shape))
            picked = np.arange(size) if sample_all else rng.choice(size, min(k, size), replace=False)
            idx = start + picked
            approx = np.empty(idx.size)
            for j, i in enumerate(idx):
                plus, minus = theta.copy(), theta.copy()
                plus[i] += eps
                minus[i] -= eps
                approx[j] = (cost_fn(v2p(plus, layout)) - cost_fn(v2p(minus, layout))) / (2 * eps)
            exact = dtheta[idx]
            if per_entry:
                bad = np.any(np.abs(approx - exact) > atol + rtol * np.abs(approx))
            else:
                den = np.linalg.norm(approx) + np.linalg.norm(exact)
                bad = den > 0 and np.linalg.norm(approx - exact) / den >= 1e-4
            if bad:
                failing.add("d" + name)
            start += size
        return failing

    return sampled_entry_check


CORRECT = {
    "gradcheck.flatten": (p2v, v2p, g2v),
    "gradcheck.sampled": (make_sampled(),),
    "gradcheck.approx": (make_approx(),),
    "gradcheck.check": (make_check(),),
    "gradcheck.bug_hunt": (make_hunt(),),
    "gradcheck.fixed_backward": (make_backward(),),
    "gradcheck.regularized": (make_regularized(),),
}


def verdict(name, *solution, variant=None):
    payload = core.record_answers(name, *solution, cases=CASES[name], variant=variant)
    return core.verify_payload(name, cases_of(name, variant), [payload])


# --------------------------------------------------------------------------- correct passes
def test_the_notebook_grades_every_question():
    assert set(CASES) == set(CORRECT)


@pytest.mark.parametrize("variant", [None, *VARIANTS])
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_a_correct_student_passes(name, variant):
    v = verdict(name, *CORRECT[name], variant=variant)
    assert v.passed and v.n_passed == len(CASES[name]) >= 2, v.message


@pytest.mark.parametrize("variant", [None, *MANY_VARIANTS])
def test_hidden_cases_leave_a_wide_margin_around_every_threshold(variant):
    # buggy blocks far above WORRY_FROM on every variant (a planted bug that hides at a variant's
    # parameters is redrawn, G.VISIBLE), clean blocks far below the cut-offs: the verdicts cannot
    # flip with the rounding of a different (but correct) implementation. The literal cases are
    # clean to 1e-7; a variant's seed can draw a block whose gradient is tiny next to J, which then
    # reads its round-off floor (up to ~1e-5): the check judges it relative to that floor, and the
    # bug hunt accepts either answer for a clean block within 10x of its threshold.
    for name in ("gradcheck.check", "gradcheck.bug_hunt"):
        for case in cases_of(name, variant):
            inputs = G.build_case(case)
            result = ref.gradient_check(G._cost_fn(inputs), inputs["params"], G._backprop(inputs)(inputs["params"]),
                                        inputs["eps"])
            wrong = planted_bugs.affected_blocks(inputs["bugs"], inputs["L"], hidden=inputs["hidden"],
                                                 lambd=inputs["lambd"])
            assert set(result.suspicious_blocks) == set(wrong), case
            floors = result.per_block_floor
            for block, d in result.per_block.items():
                if block in wrong:
                    assert d > 1e-2, (case, block, d)
                elif variant is None:
                    assert d < 1e-7, (case, block, d)
                elif name == "gradcheck.check":
                    assert d < max(GREAT_BELOW, FLOOR_GREAT * floors[block]) / 3, (case, block, d, floors[block])
                else:
                    assert d < WORRY_FROM / 5, (case, block, d)
    for case in cases_of("gradcheck.fixed_backward", variant):
        inputs = G.build_case(case)
        AL, cache = forward(inputs["X"], inputs["params"], hidden=inputs["hidden"], output=inputs["output"],
                            keep_prob=inputs["keep_prob"], masks=inputs["masks"])
        grads = make_backward()(AL, inputs["Y"], cache, inputs["params"], lambd=inputs["lambd"])
        result = ref.gradient_check(G._cost_fn(inputs), inputs["params"], grads)
        assert result.difference < (1e-7 if variant is None else 3e-7), case
        # within 3 floors of rounding (the check allows 10): 1.5 at most over 2,000 variants
        floors = result.per_block_floor
        assert all(d < max(1e-6, 3 * floors[k]) for k, d in result.per_block.items()), (case, result.per_block)


def test_variants_change_widths_and_lambd_only_within_the_lesson():
    for name in CORRECT:
        for variant in MANY_VARIANTS:
            for literal, case in zip(CASES[name], cases_of(name, variant), strict=True):
                dims, lit = case["dims"], literal["dims"]
                assert len(dims) == len(lit) and (dims[0], dims[-1]) == (lit[0], lit[-1])
                # the lesson's small networks; exercise 7 (sampled entries) also has a large one on purpose
                cap = 60 if name == "gradcheck.sampled" else 10
                assert all(2 <= n <= cap and 0.8 * w - 0.5 <= n <= 1.7 * w + 0.5
                           for n, w in zip(dims[1:-1], lit[1:-1], strict=True))
                if "lambd" in literal:
                    assert 0.5 * literal["lambd"] * 0.99 <= case["lambd"] <= 2 * literal["lambd"] * 1.01
                assert case.get("hidden") == literal.get("hidden")  # relu's kinks, linear's Z = A, sigmoid's depth


def test_a_hiding_planted_bug_is_redrawn_and_the_literal_draws_stay():
    for name in ("gradcheck.check", "gradcheck.bug_hunt"):
        for case in CASES[name]:
            if "bug_seed" in case:
                inputs = G.build_case(case)
                kinds = planted_bugs.LINEAR_KINDS if inputs["output"] == "linear" else None
                assert inputs["bugs"] == planted_bugs.random_bugs(
                    inputs["L"], seed=case["bug_seed"], n_bugs=case["n_bugs"], hidden=inputs["hidden"],
                    lambd=inputs["lambd"], kinds=kinds)
    # variant 14's second bug-hunt case first draws l2_on_b on the output bias, drawn close to 0 there
    case = cases_of("gradcheck.bug_hunt", 14)[1]
    inputs = G.build_case(case)
    first = planted_bugs.random_bugs(inputs["L"], seed=case["bug_seed"], hidden=inputs["hidden"], lambd=inputs["lambd"])
    assert first != inputs["bugs"] and first[0][0] == "l2_on_b"
    bad = planted_bugs.make_buggy_backprop(inputs["X"], inputs["Y"], first, hidden=inputs["hidden"],
                                           lambd=inputs["lambd"])
    result = ref.gradient_check(G._cost_fn(inputs), inputs["params"], bad(inputs["params"]))
    assert min(result.per_block[b] for b in planted_bugs.affected_blocks(
        first, inputs["L"], hidden=inputs["hidden"], lambd=inputs["lambd"])) < G.VISIBLE


# --------------------------------------------------------------------------- delegations fail
def test_fixed_backward_delegated_to_the_course_backward_fails():
    """Exercise 5: hidden regression networks (linear output) are outside helpers.network.backward."""
    assert any(c.get("output") == "linear" for c in CASES["gradcheck.fixed_backward"])

    def delegated(AL, Y, cache, params, lambd=0.0):
        return backward(AL, Y, cache, params, lambd=lambd)

    v = verdict("gradcheck.fixed_backward", delegated)
    assert not v.passed and 0 < v.n_passed < v.n_cases, v.message


def test_regularized_delegated_to_make_cost_fn_fails():
    """Exercise 6: plain functions and a non-network data term leave nothing to rebuild J from."""
    assert any(c.get("data") == "toy" for c in CASES["gradcheck.regularized"])

    def delegated(cost_fn, backprop, lambd, m):
        J = make_cost_fn(cost_fn.X, cost_fn.Y, hidden=cost_fn.hidden, lambd=lambd)
        return J, J.gradients

    v = verdict("gradcheck.regularized", delegated)
    assert not v.passed and v.n_passed == 0, v.message


def test_the_toy_data_term_gradient_is_its_derivative():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((2, 3)), "b1": rng.standard_normal((2, 1))}
    grads = G.toy_data_gradients(params)
    theta, layout = ref.params_to_vector(params)
    eps = 1e-6
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        approx = (G.toy_data_cost(ref.vector_to_params(theta + e, layout))
                  - G.toy_data_cost(ref.vector_to_params(theta - e, layout))) / (2 * eps)
        assert approx == pytest.approx(ref.grads_to_vector(grads, layout)[i], abs=1e-8)


@pytest.mark.parametrize("variant", [None, *MANY_VARIANTS])
def test_sampled_cases_judge_every_entry_far_from_its_tolerance(variant):
    # exercise 7: the verdict on a block cannot depend on the sample or on the rounding of a
    # different (correct) finite difference. With r = |approx - dtheta| / (atol + rtol |approx|) per
    # entry: a correct block has every r < 0.3; a wrong block has fewer than k entries that are not
    # clearly failing (r > 3), so every sample of k holds one; a block with both kinds ("either")
    # may be reported either way
    for case in cases_of("gradcheck.sampled", variant):
        inputs = G._sampled_inputs(case)
        grads = G._backprop(inputs)(inputs["params"]) if inputs["bugs"] else None
        if grads is None:
            grads = G._cost_fn(inputs).gradients(inputs["params"])
        result = ref.gradient_check(G._cost_fn(inputs), inputs["params"], grads, inputs["eps"])
        a, d = result.dtheta_approx, ref.grads_to_vector(grads, result.layout)
        ratio = np.abs(a - d) / (inputs["atol"] + inputs["rtol"] * np.abs(a))
        expected = G._sampled_expected(inputs)
        for name in result.layout.grad_names:
            r = ratio[result.layout.slice(name)]
            if name in expected["wrong"]:
                assert np.sum(r <= 3) < min(inputs["k"], r.size) or (r.size <= inputs["k"] and (r > 3).any()), (
                    case, name, np.sort(r))
            elif name not in expected["either"]:
                assert np.all(r < 0.3), (case, name, np.sort(r)[-3:])
        assert set(expected["wrong"]) | set(expected["either"]) == set(
            planted_bugs.affected_blocks(inputs["bugs"], inputs["L"], hidden=inputs["hidden"], lambd=inputs["lambd"])
        ), case


def test_sampled_check_of_every_entry_or_by_one_norm_fails():
    """Exercise 7: the full loop exceeds the call budget; a norm ratio over the sample misses the deep db1."""
    v = verdict("gradcheck.sampled", make_sampled(sample_all=True))
    assert not v.passed and "called" in v.message, v.message
    deep = [c for c in CASES["gradcheck.sampled"] if c.get("hidden") == "sigmoid"]
    assert deep and G._sampled_expected(G._sampled_inputs(deep[0]))["wrong"] == ["db1"]


def test_some_hidden_cases_are_buggy_and_some_clean():
    kinds = [bool(G.build_case(c)["bugs"]) for c in CASES["gradcheck.check"] + CASES["gradcheck.bug_hunt"]]
    assert any(kinds) and not all(kinds)


# --------------------------------------------------------------------------- typical mistakes
@pytest.mark.parametrize(
    ("name", "solution", "message"),
    [
        ("gradcheck.flatten", (lambda p: p2v(p, "W first"), v2p, g2v), "theta is not correct"),
        ("gradcheck.approx", (make_approx(two=1.0),), "twice the gradient"),
        ("gradcheck.approx", (make_approx(perturb="back_to_start"),), "differs"),
        ("gradcheck.approx", (make_approx(perturb="drift"),), "differs"),
        ("gradcheck.check", (make_check(approx=make_approx(two=1.0)),), "is the 2 of 2*eps missing"),
        ("gradcheck.check", (make_check(normalized=False),), "does not match"),
        ("gradcheck.check", (make_check(grad_order="W first"),), "does not match"),
        ("gradcheck.bug_hunt", (make_hunt(threshold=1.0),), "missed"),
        ("gradcheck.bug_hunt", (make_hunt(threshold=0.0),), "reported as wrong"),
        ("gradcheck.fixed_backward", (make_backward(l2_factor=0.5),), "gradient check fails"),
        ("gradcheck.fixed_backward", (make_backward(keep_prob_scaling=False),), "keep_prob=0.7"),
        ("gradcheck.regularized", (make_regularized(cost_factor=2.0),), "cost_fn_reg"),
        ("gradcheck.regularized", (make_regularized(grad_on_b=True),), "biases are not regularized"),
    ],
)
def test_typical_mistakes_fail_with_a_useful_message(name, solution, message):
    v = verdict(name, *solution)
    assert not v.passed, name
    assert message in v.message, v.message
    for variant in VARIANTS[:3]:  # detectable on every student's variant too
        v = verdict(name, *solution, variant=variant)
        assert not v.passed, (name, variant)
        if message != "keep_prob=0.7":  # a variant may fail on another keep_prob case first
            assert message in v.message, v.message


def test_a_gradient_approx_that_mutates_params_fails():
    def mutating(cost_fn, params, eps=1e-7):
        out = make_approx()(cost_fn, params, eps)
        params["W1"] += 1.0
        return out

    v = verdict("gradcheck.approx", mutating)
    assert not v.passed and "changed the params" in v.message


# --------------------------------------------------------------------------- hostile answers
class EqualsEverything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class Rigged(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array_finalize__(self, obj):
        pass


def _const_check(cost_fn, params, grads, eps=1e-7):
    return 1e-9, {k: 1e-9 for k in grads}


@pytest.mark.parametrize(
    ("name", "solution"),
    [
        ("gradcheck.check", (_const_check,)),
        ("gradcheck.check", (lambda c, p, g, e=1e-7: (EqualsEverything(0), dict.fromkeys(g, EqualsEverything(1))),)),
        ("gradcheck.check", (lambda c, p, g, eps=1e-7: (np.zeros(1).view(Rigged), dict.fromkeys(g, "great")),)),
        ("gradcheck.check", (lambda c, p, g, eps=1e-7: (float("nan"), dict.fromkeys(g, float("nan"))),)),
        ("gradcheck.bug_hunt", (lambda c, b, p: {"db2"},)),
        ("gradcheck.bug_hunt", (lambda c, b, p: ["dW1", "dW1", 3],)),
        ("gradcheck.bug_hunt", (lambda c, b, p: "db2",)),
        ("gradcheck.approx", (lambda c, p, eps=1e-7: np.zeros(sum(v.size for v in p.values())).view(Rigged),)),
        ("gradcheck.flatten", (lambda p: (np.zeros(3).view(Rigged), None), v2p, g2v)),
        ("gradcheck.fixed_backward", (lambda AL, Y, cache, params, lambd=0.0: {"dW1": EqualsEverything(0)},)),
        ("gradcheck.regularized", (lambda c, b, lambd, m: (c, b),)),
    ],
)
def test_hostile_answers_fail(name, solution):
    assert not verdict(name, *solution).passed


def test_a_forged_payload_for_other_cases_is_rejected():
    name = "gradcheck.bug_hunt"
    easy = [{"seed": 1, "dims": [2, 2, 1], "hidden": "tanh"}]
    payload = core.record_answers(name, lambda c, b, p: set(), cases=easy)
    v = core.verify_payload(name, CASES[name], [payload])
    assert not v.passed and "recorded cases differ" in v.message


def test_a_tampered_answer_is_rejected():
    name = "gradcheck.check"
    payload = core.record_answers(name, *CORRECT[name], cases=CASES[name])
    payload["outputs"][0]["answer"]["difference"] = {"shape": [], "f8": "!!"}
    assert not core.verify_payload(name, CASES[name], [payload]).passed


# --------------------------------------------------------------------------- visible diagnostics
def test_visible_tests_accept_the_correct_student():
    G.visible_flatten(p2v, v2p, g2v)
    G.visible_approx(make_approx())
    G.visible_check(make_check())
    G.visible_bug_hunt(make_hunt())
    G.visible_fixed_backward(make_backward())
    G.visible_regularized(make_regularized())


def _column_major(params):
    _, layout = p2v(params)
    return np.concatenate([params[k].ravel(order="F") for k, _ in layout]), layout


@pytest.mark.parametrize(
    ("run", "hint"),
    [
        (lambda: G.visible_flatten(lambda p: p2v(p, "W first"), v2p, g2v), "all W first"),
        (lambda: G.visible_flatten(_column_major, v2p, g2v), "column by column"),
        (lambda: G.visible_flatten(lambda p: (p2v(p)[0].reshape(-1, 1), p2v(p)[1]), v2p, g2v), "1-D"),
        (lambda: G.visible_approx(make_approx(two=1.0)), "is the 2 of 2*eps missing"),
        (lambda: G.visible_approx(make_approx(perturb="drift")), "not undone"),
        (lambda: G.visible_approx(make_approx(perturb="back_to_start")), "off by eps"),
        (lambda: G.visible_check(make_check(approx=make_approx(two=1.0))), "about 1/3"),
        (lambda: G.visible_check(make_check(normalized=False)), "||dtheta_approx - dtheta|| alone"),
        (lambda: G.visible_check(make_check(grad_order="W first")), "another order than theta"),
        (lambda: G.visible_bug_hunt(make_hunt(threshold=1.0)), "db2 is wrong"),
        (lambda: G.visible_fixed_backward(make_backward(keep_prob_scaling=False)), "keep_prob=0.8"),
        (lambda: G.visible_regularized(make_regularized(cost_factor=0.0)), "the L2 term is missing"),
        (lambda: G.visible_regularized(make_regularized(cost_factor=2.0)), "twice too large"),
    ],
)
def test_visible_tests_explain_the_likely_mistake(run, hint):
    with pytest.raises(core.CheckFailure) as info:
        run()
    assert hint in str(info.value)


def test_an_unanswered_exercise_reads_as_not_written_yet():
    def unanswered(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(core.CheckFailure, match="not written yet"):
        G.visible_check(unanswered)
