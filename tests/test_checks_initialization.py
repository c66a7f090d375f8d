"""helpers.checks.initialization: right answers pass, mistakes and hostile answers fail.

The hidden cases are read from the notebook's test cells (the trusted source the grader
parses), so these tests judge exactly what students are graded on.
"""

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from helpers._reference.initialization import METHOD_FORMULA, init_std
from helpers._reference.initialization import initialize_parameters as reference_init
from helpers.checks import core
from helpers.checks import initialization as ci
from helpers.network import forward

NOTEBOOK = Path(__file__).parents[1] / "notebooks/02_vanishing_exploding_gradients/vanishing_exploding_gradients.ipynb"


def _hidden_cases():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "tests" in cell.metadata.get("tags", []):
            for name, cases in core.hidden_calls_in_source(cell.source):
                found[name] = cases
    return found


CASES = _hidden_cases()


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # the deep-net cases are many small matmuls: on a shared 2-core machine, BLAS threads
    # contending with other processes make them several times slower than one thread
    with threadpool_limits(limits=1, user_api="blas"):
        yield


#: A handful of students' variants (None: the literal cases): margins and detectability must hold
#: on every student's hidden cases, not only on the course's.
VARIANTS = [None, 1, 2, 77, 4242, 123456789]


def varied(check_name, variant):
    """The notebook's hidden cases of ``check_name`` as student ``variant`` is graded on them."""
    return core.get_check(check_name).cases_for(CASES[check_name], variant)


def verdict(check_name, *solution, cases=None, variant=None):
    cases = varied(check_name, variant) if cases is None else cases
    payload = core.record_answers(check_name, *solution, cases=cases)
    return core.verify_payload(check_name, cases, [payload])


def test_the_notebook_grades_all_three_questions():
    assert set(CASES) == {"initialization.initialize_parameters", "initialization.layer_std", "initialization.alive"}


# --------------------------------------------------------------------------- (a) initialize_parameters
def make_init(std_of, *, bias=0.0, transpose=False, draw=None):
    """A student's initialize_parameters with the std formula ``std_of(method, n_prev, n, scale)``."""

    def init(layer_dims, method="he", seed=None, scale=1.0):
        rng = np.random.default_rng(seed)
        params = {}
        for l in range(1, len(layer_dims)):
            n_prev, n = layer_dims[l - 1], layer_dims[l]
            shape = (n_prev, n) if transpose else (n, n_prev)
            values = draw(rng, shape) if draw else rng.standard_normal(shape)
            params[f"W{l}"] = values * std_of(method, n_prev, n, scale)
            params[f"b{l}"] = np.full((n, 1), bias)
        return params

    return init


def right(method, n_prev, n, scale):
    return {"zeros": 0.0, "random": scale}.get(method) if method in ("zeros", "random") else init_std(method, n_prev, n)


def with_mistake(mistake):
    def std_of(method, n_prev, n, scale):
        if method in ("zeros", "random"):
            return right(method, n_prev, n, scale)
        return mistake(method, n_prev, n)

    return std_of


@pytest.mark.parametrize("variant", VARIANTS)
def test_reference_passes(variant):
    v = verdict("initialization.initialize_parameters", reference_init, variant=variant)
    assert v.passed, v.message


@pytest.mark.parametrize("seed_offset", range(15))
def test_a_correct_answer_passes_whatever_the_draw_order(seed_offset):
    # draws layers last-to-first, as one flat vector, shifted seeds: only statistics matter
    def init(layer_dims, method="he", seed=None, scale=1.0):
        rng = np.random.default_rng(None if seed is None else seed + 1000 * seed_offset)
        params = {}
        for l in range(len(layer_dims) - 1, 0, -1):
            n_prev, n = layer_dims[l - 1], layer_dims[l]
            params[f"W{l}"] = rng.standard_normal(n * n_prev).reshape(n_prev, n).T * right(method, n_prev, n, scale)
            params[f"b{l}"] = np.zeros((n, 1))
        return params

    v = verdict("initialization.initialize_parameters", init)
    assert v.passed, v.message


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda m, p, n: math.sqrt((2.0 if m == "he" else 1.0) / n) if m != "glorot" else math.sqrt(2 / (p + n)),
         "n[l] is this layer's own size"),
        (lambda m, p, n: math.sqrt({"he": 1.0, "xavier": 2.0}.get(m, 0) / p) if m != "glorot" else
         math.sqrt(2 / (p + n)), "check the numerator (1 or 2)"),
        (lambda m, p, n: {"he": 2 / p, "xavier": 1 / p, "glorot": 2 / (p + n)}[m], "square root is missing"),
        (lambda m, p, n: 1.0, "not scaled"),
        (lambda m, p, n: 0.01, "randn * 0.01"),
    ],
    ids=["fan-out", "1/n-2/n swapped", "no sqrt", "plain randn", "times 0.01"],
)
@pytest.mark.parametrize("variant", VARIANTS)
def test_formula_mistakes_fail_with_their_diagnosis(mistake, message, variant):
    v = verdict("initialization.initialize_parameters", make_init(with_mistake(mistake)), variant=variant)
    assert not v.passed
    assert message in v.message, v.message


@pytest.mark.parametrize("variant", VARIANTS)
def test_glorot_computed_as_xavier_fails(variant):
    def std_of(method, n_prev, n, scale):
        return right("xavier" if method == "glorot" else method, n_prev, n, scale)

    v = verdict("initialization.initialize_parameters", make_init(std_of), variant=variant)
    assert not v.passed and "sqrt(1 / n[l-1]), not sqrt(2 / (n[l-1] + n[l]))" in v.message, v.message
    # the hint is about the formula the student used, not about another method (He)
    assert "He" not in v.message and "ReLU" not in v.message, v.message


@pytest.mark.parametrize(
    "student, message",
    [
        (make_init(right, bias=0.01), "should be all zeros"),
        (make_init(right, transpose=True), "transposed"),
        (make_init(right, draw=lambda rng, shape: rng.uniform(-math.sqrt(3), math.sqrt(3), shape)), "Gaussian"),
        (make_init(right, draw=lambda rng, shape: rng.standard_normal(shape) + 0.5), "centred on 0"),
        (make_init(right, draw=lambda rng, shape: np.random.standard_normal(shape)), "same seed"),  # noqa: NPY002
    ],
    ids=["nonzero biases", "transposed W", "uniform draws", "shifted mean", "ignores seed"],
)
@pytest.mark.parametrize("variant", VARIANTS)
def test_other_mistakes_fail(student, message, variant):
    v = verdict("initialization.initialize_parameters", student, variant=variant)
    assert not v.passed
    assert message in v.message, v.message


def test_seed_that_does_not_drive_the_draws_fails():
    def init(layer_dims, method="he", seed=None, scale=1.0):
        return reference_init(layer_dims, method, seed=0, scale=scale if method == "random" else None)

    v = verdict("initialization.initialize_parameters", init)
    assert not v.passed and "another seed gave the same W1" in v.message, v.message


@pytest.mark.parametrize("variant", [*VARIANTS, *range(1000, 1200)])
def test_every_formula_mistake_is_detectable_on_the_hidden_sizes(variant):
    # for each random-method case, every wrong formula is far outside the acceptance interval
    # of at least one layer (>= 2 interval widths, so a mistaken draw cannot pass by luck),
    # on the literal sizes and on those of 206 students' variants
    for case in varied("initialization.initialize_parameters", variant):
        if case["method"] not in METHOD_FORMULA:
            continue
        dims, want = case["layer_dims"], METHOD_FORMULA[case["method"]]
        for label, f in ci.FORMULAS.items():
            if label == want:
                continue
            gaps = []
            for l in range(1, len(dims)):
                tol = ci.std_tolerance(1.0, dims[l] * dims[l - 1])
                gaps.append(abs(math.log(f(dims[l - 1], dims[l]) / ci.FORMULAS[want](dims[l - 1], dims[l]))) / tol)
            assert max(gaps) > 2, f"{case}: {label} is not told apart from {want}"


def test_std_tolerance_covers_the_exact_chi_interval():
    from scipy import stats

    for N in (500, 1200, 5000):
        tol = ci.std_tolerance(1.0, N)
        # P(|log s| > tol) under the exact distribution of s: (N-1) s^2 ~ chi2(N-1)
        low = stats.chi2.cdf((N - 1) * math.exp(-2 * tol), N - 1)
        high = stats.chi2.sf((N - 1) * math.exp(2 * tol), N - 1)
        assert 1e-8 < low + high < 1e-5


def test_formula_labels_agree_with_the_reference():
    for n_prev, n in [(3, 7), (50, 100), (400, 20)]:
        for method, label in METHOD_FORMULA.items():
            assert ci.FORMULAS[label](n_prev, n) == pytest.approx(init_std(method, n_prev, n), rel=1e-15)


class EqualsEverything:
    def __eq__(self, other):
        return True

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__


class RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def std(self, *args, **kwargs):
        return 0.1

    def __array_finalize__(self, obj):
        pass


@pytest.mark.parametrize(
    "student",
    [
        lambda layer_dims, method="he", seed=None, scale=1.0: EqualsEverything(),
        lambda layer_dims, method="he", seed=None, scale=1.0: {
            k: EqualsEverything() for k in reference_init(layer_dims, "zeros")
        },
        lambda layer_dims, method="he", seed=None, scale=1.0: {
            k: np.zeros_like(v).view(RiggedArray) for k, v in reference_init(layer_dims, "zeros").items()
        },
        lambda layer_dims, method="he", seed=None, scale=1.0: None,
    ],
    ids=["object", "dict of rigged objects", "ndarray subclass", "None"],
)
def test_hostile_answers_fail(student):
    v = verdict("initialization.initialize_parameters", student)
    assert not v.passed and v.n_passed < v.n_cases


def test_a_payload_edited_to_zero_weights_fails():
    payload = core.record_answers("initialization.initialize_parameters", reference_init,
                                  cases=CASES["initialization.initialize_parameters"])
    forged = dict(payload)
    forged["outputs"] = [dict(o) for o in payload["outputs"]]
    zero_case = next(i for i, c in enumerate(payload["cases"]) if c["method"] == "he")
    params = forged["outputs"][zero_case]["answer"]["params"]
    forged["outputs"][zero_case]["answer"] = dict(forged["outputs"][zero_case]["answer"])
    forged["outputs"][zero_case]["answer"]["params"] = {
        k: core.encode_array(np.zeros(core.decode_array(v).shape)) for k, v in params.items()
    }
    v = core.verify_payload("initialization.initialize_parameters", payload["cases"], [forged])
    assert not v.passed and "all zeros" not in v.message and "W1" in v.message


# --------------------------------------------------------------------------- (b) layer_std
def relu(Z):
    return np.maximum(Z, 0)


def loop_layer_std(X, params, g=relu, ddof=0, include_x=False, use_z=False, skip_b=False):
    # an independent writing: one explicit loop over layers and a NumPy std
    A, out = X, [np.std(X)] if include_x else []
    for l in range(1, len(params) // 2 + 1):
        Z = params[f"W{l}"] @ A + (0 if skip_b else params[f"b{l}"])
        A = g(Z)
        out.append(np.std(Z if use_z else A, ddof=ddof))
    return np.array(out)


reference_layer_std = loop_layer_std


def delegated_to_forward(X, params, g):
    """What a student could do with the public network: recognise g by probing it, run forward."""
    probe = np.array([-2.0, -0.5, 0.5, 2.0])
    known = {"relu": np.maximum(probe, 0), "tanh": np.tanh(probe), "linear": probe,
             "sigmoid": 1 / (1 + np.exp(-probe))}
    name = next((k for k, v in known.items() if np.allclose(g(probe), v)), "relu")
    _, cache = forward(X, params, hidden=name, output=name)
    return np.array([A.std() for A in cache.A[1:]])


@pytest.mark.parametrize("variant", VARIANTS)
def test_layer_std_delegated_to_the_public_forward_fails(variant):
    """Hidden cases use activations the course's forward does not know (leaky ReLU, softplus)."""
    hidden = {c["hidden"] for c in varied("initialization.layer_std", variant)}
    assert {"leaky_relu", "softplus"} <= hidden
    v = verdict("initialization.layer_std", delegated_to_forward, variant=variant)
    assert not v.passed and 0 < v.n_passed < v.n_cases, v.message


def test_layer_std_cases_are_independent_of_the_network_module():
    # the closed form of one linear layer: std(2x + 1) = 2 std(x)
    X = np.array([[1.0, -1.0, 2.0, 0.0]])
    params = {"W1": np.array([[2.0]]), "b1": np.array([[1.0]])}
    expected = ci._std_expected({"X": X, "params": params, "hidden": "linear"})
    np.testing.assert_allclose(expected, [2 * np.std(X)], rtol=1e-15)
    leaky = ci.activation_function("leaky_relu")
    np.testing.assert_allclose(leaky(np.array([-1.0, 3.0])), [-0.1, 3.0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_layer_std_reference_and_an_independent_loop_pass(variant):
    assert verdict("initialization.layer_std", reference_layer_std, variant=variant).passed
    v = verdict("initialization.layer_std", loop_layer_std, variant=variant)
    assert v.passed, v.message


@pytest.mark.parametrize(
    "kwargs, message",
    [({"ddof": 1}, "ddof=1"), ({"include_x": True}, "leave out X"), ({"use_z": True}, "not correct"),
     ({"skip_b": True}, "not correct")],
)
@pytest.mark.parametrize("variant", VARIANTS)
def test_layer_std_mistakes_fail(kwargs, message, variant):
    v = verdict("initialization.layer_std", lambda X, p, g=relu: loop_layer_std(X, p, g, **kwargs), variant=variant)
    assert not v.passed and message in v.message, v.message


@pytest.mark.parametrize("variant", VARIANTS)
def test_layer_std_ignoring_the_activation_argument_fails(variant):
    v = verdict("initialization.layer_std", lambda X, p, g=relu: loop_layer_std(X, p, relu), variant=variant)
    assert not v.passed and v.n_passed < v.n_cases


@pytest.mark.parametrize(
    "student",
    [lambda X, p, h: EqualsEverything(),
     lambda X, p, h: np.zeros(len(p) // 2).view(RiggedArray),
     lambda X, p, h: [float("nan")] * (len(p) // 2),
     lambda X, p, h: "0.5"],
)
def test_layer_std_hostile_answers_fail(student):
    v = verdict("initialization.layer_std", student)
    assert not v.passed and v.n_passed == 0


def test_layer_std_student_cannot_alter_the_graded_inputs():
    def vandal(X, params, g=relu):
        for v in params.values():
            v *= 0
        X *= 0
        return np.zeros(len(params) // 2)

    v = verdict("initialization.layer_std", vandal)
    assert not v.passed and v.n_passed == 0


# --------------------------------------------------------------------------- (c) alive
def alive_from(init, measure):
    def alive_methods(X, layer_dims, methods, seed=None):
        out = []
        for method in methods:
            r = measure(X, init(layer_dims, method, seed=seed), relu)[-1] / np.std(X)
            if 1 / ci.ALIVE_FACTOR <= r <= ci.ALIVE_FACTOR:
                out.append(method)
        return out

    return alive_methods


@pytest.mark.parametrize("variant", VARIANTS)
def test_alive_reference_passes_and_answers_differ_between_cases(variant):
    v = verdict("initialization.alive", alive_from(reference_init, reference_layer_std), variant=variant)
    assert v.passed, v.message
    answers = {tuple(ci._alive_expected(ci._alive_inputs(c))) for c in varied("initialization.alive", variant)}
    assert len(answers) >= 3, f"hidden answers too uniform to resist a typed-in answer: {answers}"


@pytest.mark.parametrize("typed", [["he"], ["he", "xavier"], []])
@pytest.mark.parametrize("variant", VARIANTS)
def test_alive_a_typed_in_answer_fails(typed, variant):
    v = verdict("initialization.alive", lambda X, dims, methods, seed=None: [m for m in typed if m in methods],
                variant=variant)
    assert not v.passed


def _alive_draws(case: dict, n: int = 8) -> tuple:
    """The reference answer of ``case`` and log(std ratio) per method for ``n`` other draws (seeds)."""
    expected = ci._alive_expected(ci._alive_inputs(case))
    logs = []
    for k in range(n):
        inputs = ci._alive_inputs(case)
        inputs["seed"] += 7919 * (k + 1)
        logs.append({m: math.log(r) if r > 0 else -math.inf for m, r in ci.alive_ratios(inputs).items()})
    return expected, logs


def test_alive_does_not_depend_on_the_draw():
    # the verdict margin: with other seeds (= another draw order) the answer is the same,
    # and log(std ratio) is at least 6 of its own standard deviations from the thresholds
    limit = math.log(ci.ALIVE_FACTOR)
    for case in CASES["initialization.alive"]:
        expected, logs = _alive_draws(case)
        for method in case["methods"]:
            values = np.array([row[method] for row in logs])
            assert ((np.abs(values) <= limit) == (method in expected)).all(), (case, method, values)
            if np.isfinite(values).all():
                spread = max(values.std(ddof=1), 0.05)
                distance = np.abs(np.abs(values.mean()) - limit)
                assert distance > 6 * spread, (case, method, values.mean(), spread)


def test_alive_does_not_depend_on_the_draw_on_students_variants():
    # the same margin on students' cases (depth and width vary). One 8-draw spread is a noisy
    # estimate (the literal 50-layer He case gives 0.58 with the seeds above but 0.69 over 300
    # draws: 5.6 true spreads from the threshold), so here the spread of each case and method is
    # pooled over the draws of five students' variants (35 degrees of freedom), and each student's
    # mean must be 5 of them from the threshold (a flip: below 3e-7 with normal tails). Variants
    # are shallower than the literal 50 layers (depth x 0.7..0.8), which is what keeps He alive
    # with that margin.
    limit = math.log(ci.ALIVE_FACTOR)
    deviations, means = {}, {}
    for variant in VARIANTS[1:]:
        for i, case in enumerate(varied("initialization.alive", variant)):
            expected, logs = _alive_draws(case)
            for method in case["methods"]:
                values = np.array([row[method] for row in logs])
                assert ((np.abs(values) <= limit) == (method in expected)).all(), (variant, case, method, values)
                if np.isfinite(values).all():
                    deviations.setdefault((i, method), []).extend(values - values.mean())
                    means.setdefault((i, method), []).append((variant, values.mean()))
    for key, devs in deviations.items():
        dof = len(devs) - len(means[key])
        spread = max(math.sqrt(np.sum(np.square(devs)) / dof), 0.05)
        for variant, mean in means[key]:
            assert abs(abs(mean) - limit) > 5 * spread, (key, variant, mean, spread)


@pytest.mark.parametrize(
    "student",
    [lambda X, d, m, seed=None: "he",
     lambda X, d, m, seed=None: [EqualsEverything()],
     lambda X, d, m, seed=None: None,
     lambda X, d, m, seed=None: type("S", (str,), {"__eq__": lambda s, o: True, "__hash__": str.__hash__})("he"),
     lambda X, d, m, seed=None: list(m) + list(m)],
)
def test_alive_hostile_answers_fail(student):
    v = verdict("initialization.alive", student)
    assert not v.passed and v.n_passed < v.n_cases
