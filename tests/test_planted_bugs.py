"""helpers.planted_bugs: every planted bug changes exactly the blocks it claims.

The oracle is a finite-difference gradient written here (central differences, entry by
entry), not the course's backprop nor helpers.gradcheck.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import planted_bugs as pb
from helpers.network import backward, forward, make_cost_fn
from helpers.plots.gradcheck import plot_before_after, plot_block_differences

TOL_CLEAN = 1e-6  # finite-difference noise at eps=1e-6 on these small nets is ~1e-9
TOL_BUGGY = 1e-3


def numerical_grads(cost, params, eps=1e-6):
    out = {}
    for key, value in params.items():
        d = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            p = {k: v.copy() for k, v in params.items()}
            p[key][idx] += eps
            plus = cost(p)
            p[key][idx] -= 2 * eps
            d[idx] = (plus - cost(p)) / (2 * eps)
        out["d" + key] = d
    return out


def reldiff(a, b):
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else np.linalg.norm(a - b) / den


def network(dims=(3, 4, 3, 1), m=10, seed=0, scale=0.8, bias=0.4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (np.arange(m) % 2).reshape(1, m).astype(float)
    return X, Y, pb.random_params(list(dims), scale=scale, bias_scale=bias, seed=rng)


def all_single_bugs(L):
    for kind, bug in pb.CATALOG.items():
        last = L - 1 if bug.hidden_only else L
        for layer in range(bug.first_layer, last + 1):
            yield kind, layer


@pytest.mark.parametrize("hidden", ["tanh", "relu", "sigmoid"])
def test_each_bug_changes_exactly_its_blocks(hidden):
    X, Y, params = network(seed={"tanh": 1, "relu": 2, "sigmoid": 3}[hidden])
    lambd = 0.6
    truth = numerical_grads(make_cost_fn(X, Y, hidden=hidden, lambd=lambd), params)
    for kind, layer in all_single_bugs(3):
        grads = pb.make_buggy_backprop(X, Y, [[kind, layer]], hidden=hidden, lambd=lambd)(params)
        claimed = pb.affected_blocks([[kind, layer]], 3, hidden=hidden, lambd=lambd)
        assert claimed, (kind, layer)
        for key in truth:
            d = reldiff(grads[key], truth[key])
            if key in claimed:
                assert d > TOL_BUGGY, (kind, layer, key, d)
            else:
                assert d < TOL_CLEAN, (kind, layer, key, d)


def test_two_bugs_affect_the_union_of_their_blocks():
    X, Y, params = network(dims=(2, 4, 4, 3, 1), seed=4)
    bugs = [["act_deriv", 2], ["db_no_m", 4]]
    assert pb.affected_blocks(bugs, 4, hidden="tanh") == {"dW1", "db1", "dW2", "db2", "db4"}
    truth = numerical_grads(make_cost_fn(X, Y, hidden="tanh"), params)
    grads = pb.make_buggy_backprop(X, Y, bugs, hidden="tanh")(params)
    wrong = {k for k in truth if reldiff(grads[k], truth[k]) > TOL_BUGGY}
    assert wrong == {"dW1", "db1", "dW2", "db2", "db4"}


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("keep_prob", [1.0, 0.7])
def test_no_bug_is_the_course_backward(hidden, keep_prob):
    X, Y, params = network(dims=(3, 5, 4, 1), seed=5)
    AL, cache = forward(X, params, hidden=hidden, keep_prob=keep_prob, seed=9)
    got = pb.buggy_backward([])(AL, Y, cache, params, lambd=0.3)
    want = backward(AL, Y, cache, params, lambd=0.3)
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_backprop_with_frozen_masks_matches_the_frozen_cost():
    X, Y, params = network(seed=6)
    _, cache = forward(X, params, hidden="tanh", keep_prob=0.6, seed=1)
    J = make_cost_fn(X, Y, hidden="tanh", keep_prob=0.6, masks=cache.D)
    grads = pb.make_buggy_backprop(X, Y, [], hidden="tanh", keep_prob=0.6, masks=cache.D)(params)
    truth = numerical_grads(J, params)
    assert max(reldiff(grads[k], truth[k]) for k in truth) < TOL_CLEAN


def test_l2_on_b_is_invisible_while_b_is_zero_and_shows_once_b_grows():
    X, Y, params = network(seed=7, bias=0.0)
    bugs = [["l2_on_b", 1], ["l2_on_b", 2]]
    J = make_cost_fn(X, Y, hidden="tanh", lambd=0.7)
    at_init = pb.make_buggy_backprop(X, Y, bugs, hidden="tanh", lambd=0.7)(params)
    for key, value in J.gradients(params).items():
        np.testing.assert_array_equal(at_init[key], value)
    grown = {k: (v + 0.5 if k.startswith("b") else v) for k, v in params.items()}
    truth = numerical_grads(J, grown)
    later = pb.make_buggy_backprop(X, Y, bugs, hidden="tanh", lambd=0.7)(grown)
    assert reldiff(later["db1"], truth["db1"]) > TOL_BUGGY
    assert reldiff(later["db2"], truth["db2"]) > TOL_BUGGY


def test_l2_half_hides_while_W_is_near_zero():
    X, _, small = network(seed=8, scale=1e-6, bias=0.0)
    # more ones than zeros: db[L] = mean(AL - Y) stays away from 0 while W is tiny
    Y = (np.arange(10) < 7).reshape(1, 10).astype(float)
    big = {k: v * 1e6 for k, v in small.items()}
    for params, low, high in ((small, 0.0, 1e-6), (big, 1e-2, 1.0)):
        J = make_cost_fn(X, Y, hidden="tanh", lambd=0.5)
        truth = numerical_grads(J, params)
        grads = pb.make_buggy_backprop(X, Y, [["l2_half", 1]], hidden="tanh", lambd=0.5)(params)
        theta = np.concatenate([truth[k].ravel() for k in truth])
        dtheta = np.concatenate([grads[k].ravel() for k in truth])
        assert low <= reldiff(dtheta, theta) < high


def test_harmless_configurations_claim_no_blocks():
    assert pb.affected_blocks([["l2_missing", 1], ["l2_half", 2], ["l2_on_b", 1]], 2, lambd=0.0) == frozenset()
    assert pb.affected_blocks([["dW_uses_Z", 2]], 2, hidden="linear") == frozenset()
    assert pb.affected_blocks([["dW_uses_Z", 2]], 2, hidden="relu") == {"dW2"}


@pytest.mark.parametrize(
    ("bugs", "L", "error", "match"),
    [
        ("db_no_m", 2, TypeError, "list of"),
        ([["nope", 1]], 2, ValueError, "unknown bugs\\[0\\] kind"),
        ([["db_no_m", 3]], 2, ValueError, "layer 1..L"),
        ([["act_deriv", 2]], 2, ValueError, "hidden layer"),
        ([["dW_uses_Z", 1]], 2, ValueError, "layer >= 2"),
        ([["db_no_m", 1], ["db_no_m", 1]], 2, ValueError, "twice"),
        ([["db_no_m", 1.0]], 2, TypeError, "integer"),
        ([["db_no_m"]], 2, ValueError, "pair"),
    ],
)
def test_bad_specs_raise_named_errors(bugs, L, error, match):
    with pytest.raises(error, match=match):
        pb.check_bugs(bugs, L)


def test_a_bug_in_a_layer_the_network_lacks_is_reported_at_call_time():
    X, Y, params = network(dims=(3, 4, 1))
    with pytest.raises(ValueError, match="L = 2"):
        pb.make_buggy_backprop(X, Y, [["db_no_m", 3]])(params)


def test_the_backprop_does_not_reveal_its_bugs():
    X, Y, _ = network()
    bp = pb.make_buggy_backprop(X, Y, [["dW_no_m", 2]], hidden="tanh", lambd=0.1)
    text = repr(bp) + " ".join(dir(bp))
    assert "dW_no_m" not in text and "bug" not in text.lower()
    assert not hasattr(bp, "__dict__")
    assert repr(bp) == "Backprop(hidden='tanh', lambd=0.1, m=10)"


def test_random_bugs_are_deterministic_visible_and_validated():
    a = pb.random_bugs(3, seed=5, n_bugs=3, hidden="linear", lambd=0.0)
    assert a == pb.random_bugs(3, seed=5, n_bugs=3, hidden="linear", lambd=0.0)
    assert len({tuple(b) for b in a}) == 3
    assert pb.affected_blocks(a, 3, hidden="linear", lambd=0.0)
    assert all(kind not in ("l2_missing", "l2_half", "l2_on_b", "dW_uses_Z") for kind, _ in a)
    with pytest.raises(ValueError, match="n_bugs"):
        pb.random_bugs(1, seed=0, n_bugs=50)
    with pytest.raises(ValueError, match="n_layers"):
        pb.random_bugs(0, seed=0)


def test_random_params_shapes_and_scales():
    p = pb.random_params([4, 3, 1], scale=0.1, seed=0)
    assert [(k, v.shape) for k, v in p.items()] == [("W1", (3, 4)), ("b1", (3, 1)), ("W2", (1, 3)), ("b2", (1, 1))]
    assert not p["b1"].any() and 0 < np.abs(p["W1"]).max() < 1
    assert pb.random_params([4, 3, 1], seed=3)["W1"].tolist() == pb.random_params([4, 3, 1], seed=3)["W1"].tolist()
    with pytest.raises(ValueError, match="layer_dims"):
        pb.random_params([4, 0, 1])


def test_plots_return_figures_and_validate():
    per_block = {"dW1": 1e-9, "db1": 0.0, "dW2": 0.3, "db2": 2e-5}
    fig = plot_block_differences(per_block, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.containers[0].patches) == 4  # 4 bars (+ 3 shaded regions)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["great: < 1e-06", "look closer: < 1e-04", "worry: >= 1e-04"]
    assert {round(np.log10(line.get_ydata()[0])) for line in ax.lines} == {-7, -5, -3}
    colors = [p.get_facecolor()[:3] for p in ax.containers[0].patches]
    assert colors[2] != colors[0]  # worry and great differ
    fig2 = plot_before_after(per_block, per_block)
    assert len(fig2.axes) == 2
    plt.close("all")
    with pytest.raises(TypeError, match="per_block"):
        plot_block_differences([1, 2])
    with pytest.raises(ValueError, match="finite"):
        plot_block_differences({"dW1": float("nan")})


# --------------------------------------------------------------------------- first drafts (notebook 4, exercise 5)
#: The draft the committed notebook shows (no variant): the course's two bugs, verbatim.
COURSE_DRAFT = '''def backward_buggy(AL, Y, cache, params, lambd=0.0):
    """Backprop for the sigmoid + cross-entropy network (with two bugs)."""
    L = len(params) // 2
    m = AL.shape[1]
    grads = {}
    dZ = AL - Y
    for l in range(L, 0, -1):
        A_prev = cache.A[l - 1]
        grads[f"dW{l}"] = dZ @ A_prev.T / m + lambd / (2 * m) * params[f"W{l}"]
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            dA = params[f"W{l}"].T @ dZ
            D = cache.D[l - 1]
            if D is not None:
                dA = dA * D
            dZ = dA * activation_derivative(cache.Z[l - 1], cache.hidden)
    return grads
'''
ALL_DRAFTS = [(l2, dropout) for l2 in pb.DRAFT_L2 for dropout in pb.DRAFT_DROPOUT]


def compiled(source):
    from helpers.network import activation_derivative

    scope = {"np": np, "activation_derivative": activation_derivative}
    exec(compile(source, "<draft>", "exec"), scope)
    return scope["backward_buggy"]


def notebook_network():
    """Notebook 4's network: two moons (m = 20), layer_dims [2, 5, 3, 1], b = 0, as its setup draws them."""
    from helpers.datasets import moons

    rng = np.random.default_rng(4)
    X, Y = moons(m=20, seed=rng)
    return X, Y, pb.random_params([2, 5, 3, 1], scale=0.5, seed=rng), rng


def draft_settings(X, Y, params, seed):
    _, cache = forward(X, params, hidden="tanh", keep_prob=0.8, seed=seed)
    return {"plain": {}, "lambd": {"lambd": 0.7}, "dropout": {"keep_prob": 0.8, "masks": cache.D}}


@pytest.mark.parametrize("net", ["notebook", "four layers, b != 0"])
def test_every_draft_hides_on_the_plain_network_and_shows_exactly_under_its_setting(net):
    X, Y, params, rng = notebook_network() if net == "notebook" else (*network(dims=(3, 4, 3, 3, 1), seed=12), 12)
    L = len(params) // 2
    settings = draft_settings(X, Y, params, rng)
    truths = {name: numerical_grads(make_cost_fn(X, Y, hidden="tanh", **kw), params) for name, kw in settings.items()}
    lines = set()
    for l2, dropout in ALL_DRAFTS:
        backward_fn = compiled(pb.render_backward(l2, dropout))
        for name, kw in settings.items():
            grads = pb.as_backprop(backward_fn, X, Y, hidden="tanh", **kw)(params)
            wrong = {k for k, v in truths[name].items() if reldiff(grads[k], v) > TOL_BUGGY}
            clean = all(reldiff(grads[k], v) < TOL_CLEAN for k, v in truths[name].items() if k not in wrong)
            want = {"plain": set(), "lambd": pb.DRAFT_L2[l2].blocks(L),
                    "dropout": pb.DRAFT_DROPOUT[dropout].blocks(L)}[name]
            assert wrong == want and clean, (l2, dropout, name, sorted(wrong))
            if name != "plain":
                lines.add((name, tuple(sorted(wrong))))
    # several different "wrong blocks" lines per setting, not one line for every student
    assert len({w for n, w in lines if n == "lambd"}) == 3 and len({w for n, w in lines if n == "dropout"}) == 2


def test_the_course_draft_with_its_two_lines_fixed_is_the_course_backward():
    # the fix exercise 5 asks for, written here (nowhere in the public helpers): the result is the
    # course's reference backward on every setting
    fixed = COURSE_DRAFT.replace("lambd / (2 * m)", "lambd / m")
    fixed = fixed.replace("dA = dA * D\n", "dA = dA * D / cache.keep_prob\n")
    assert fixed.count("cache.keep_prob") == 1 and "(2 * m)" not in fixed
    X, Y, params = network(dims=(3, 5, 4, 1), seed=13)
    AL, cache = forward(X, params, hidden="relu", keep_prob=0.7, seed=2)
    got = compiled(fixed)(AL, Y, cache, params, lambd=0.4)
    want = backward(AL, Y, cache, params, lambd=0.4)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15)


def test_no_call_renders_a_correct_backprop():
    # a student could otherwise answer exercise 5 with exec(planted_bugs.render_backward())
    for args in ((), (None, None), ("l2_half", None), (None, "no_scale")):
        with pytest.raises((TypeError, ValueError)):
            pb.render_backward(*args)


def test_the_committed_notebook_shows_the_course_draft_and_drafts_read_alike():
    assert pb.first_draft(None) == pb.first_draft() == COURSE_DRAFT
    assert pb.draft_bugs(None) == ("l2_half", "no_scale")
    for l2, dropout in ALL_DRAFTS:
        source = pb.render_backward(l2, dropout)
        assert source.startswith("def backward_buggy(AL, Y, cache, params, lambd=0.0):\n")
        assert '"""Backprop for the sigmoid + cross-entropy network (with two bugs)."""' in source
        assert "<" not in source.replace("range(L, 0, -1)", "")  # every slot filled
        compiled(source)
    with pytest.raises(ValueError, match="draft mistake"):
        pb.render_backward("l2_typo", "no_scale")


def test_students_get_their_own_drafts():
    from grading.course.variants import variant_of

    secret = b"a course secret for the variant tests, 0123456789abcdef"
    drafts = [pb.draft_bugs(variant_of(secret, f"s{i:03d}", "04_gradient_checking")) for i in range(60)]
    pairs = [(a, b) for i, a in enumerate(drafts) for b in drafts[i + 1:]]
    assert sum(a != b for a, b in pairs) / len(pairs) > 0.9
    many = {pb.draft_bugs(v) for v in range(400)}
    assert {l2 for l2, _ in many} == set(pb.DRAFT_L2) and {d for _, d in many} == set(pb.DRAFT_DROPOUT)
    assert len(many) == len(ALL_DRAFTS)
    assert pb.first_draft(variant_of(secret, "alovelace", "04_gradient_checking")) != pb.first_draft(
        variant_of(secret, "bhopper", "04_gradient_checking"))
    assert pb.draft_blocks(None, 3) == {"plain": frozenset(), "lambd": {"dW1", "dW2", "dW3"},
                                        "dropout": {"dW1", "db1", "dW2", "db2"}}


def test_the_mystery_of_exercise_4_is_visible_on_every_variant():
    """Notebook 4's try-it cell draws its two bugs from the student's variant: each must show."""
    from helpers import variants
    from helpers._reference import gradcheck as ref

    X, Y, params, _ = notebook_network()
    J = make_cost_fn(X, Y, hidden="tanh")
    lines = set()
    for variant in [None, *range(80)]:
        bugs = pb.random_bugs(3, seed=variants.seed(2024, variant), n_bugs=2, hidden="tanh")
        result = ref.gradient_check(J, params, pb.make_buggy_backprop(X, Y, bugs, hidden="tanh")(params))
        wrong = pb.affected_blocks(bugs, 3, hidden="tanh")
        assert set(result.suspicious_blocks) == wrong, (variant, bugs)
        assert min(result.per_block[b] for b in wrong) > 1e-2, (variant, bugs)
        lines.add(tuple(sorted(wrong)))
    assert len(lines) >= 10
