"""Per-student variants of the course's own notebooks (issue 15).

* every hidden case of the four notebooks is another case for two students (and for each of
  them, another case than the literal one), and every rule a check declares (sizes, functions,
  points, activations, planted bugs) really changes something between students;
* the instructor's solutions pass every hidden test on the variants of 30 students (oracle:
  ``grade_hidden`` judges against the withheld reference in the process), so the ranges the
  checks declare never draw a case the lesson's method cannot answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grading.course import variants
from helpers import variants as kv
from helpers.checks import core

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(REPO.glob("notebooks/*/*.ipynb"))
SECRET = b"a course secret for the variant tests, 0123456789abcdef"
CLASS = [f"s{i:03d}" for i in range(30)]

#: What the issue asks to vary per student, per graded question, besides the seeds (data sets,
#: feature scales, layer sizes, depth and width, functions and points, the planted bugs, whose
#: kinds and blocks come from ``bug_seed``): the keys each check must declare a rule for.
REQUIRED = {
    "normalization.fit": {"m", "offsets", "scales"},
    "normalization.apply": {"m", "offsets", "scales", "shift"},
    "normalization.max_lr": {"m", "scales"},
    "initialization.initialize_parameters": {"layer_dims"},
    "initialization.layer_std": {"layer_dims", "m", "w_std"},
    "initialization.alive": {"width", "depth"},
    "numerical.one_sided_difference": {"f", "theta", "eps"},
    "numerical.centered_difference": {"f", "theta", "eps"},
    "numerical.error_order": {"f", "theta"},
    "numerical.best_eps": {"f", "theta"},
    "gradcheck.flatten": {"dims"},
    "gradcheck.approx": {"dims"},
    "gradcheck.check": {"dims"},
    "gradcheck.bug_hunt": {"dims"},
    "gradcheck.fixed_backward": {"dims", "lambd"},
    "gradcheck.regularized": {"dims", "lambd"},
    "gradcheck.sampled": {"dims"},
}


def _hidden(path: Path) -> list[tuple[str, list[dict]]]:
    nb = nbformat.read(path, as_version=4)
    return [call for c in nb.cells if "tests" in c.metadata.get("tags", [])
            for call in core.hidden_calls_in_source(c.source)]


def _check(name: str) -> core.Check:
    import helpers.checks  # noqa: F401  (registers the course's checks)

    return core.get_check(name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_two_students_differ_on_every_hidden_case_and_every_rule(path):
    assignment = path.parent.name
    va, vb = (variants.variant_of(SECRET, who, assignment) for who in ("alovelace", "bhopper"))
    calls = _hidden(path)
    assert calls
    for name, cases in calls:
        check = _check(name)
        assert REQUIRED[name] <= set(check.vary), f"{name} does not vary {REQUIRED[name] - set(check.vary)}"
        mine, theirs = check.cases_for(cases, va), check.cases_for(cases, vb)
        for literal, a, b in zip(cases, mine, theirs, strict=True):
            assert a != literal and b != literal and a != b, (name, literal)
            assert set(a) == set(literal)  # a variant changes values, never the question's keys
        for key in check.vary:
            having = [i for i, c in enumerate(cases) if key in c]
            assert having, f"{name}: rule for {key!r} but no case has it"
            assert any(mine[i][key] != theirs[i][key] for i in having), (name, key)
            # ... and over a class, many different values, not a coin flip
            seen = {repr([check.cases_for(cases, variants.variant_of(SECRET, s, assignment))[i][key]
                          for i in having]) for s in CLASS}
            assert len(seen) >= 10, (name, key, len(seen))


def test_rules_keep_each_case_within_its_range_and_intent():
    scale = kv.Scale(0.5, 2.0, keep=(0, -1))
    for v in range(200):
        dims = scale.apply("dims", [3, 4, 5, 1], v)
        assert dims[0] == 3 and dims[-1] == 1 and all(1 <= d <= 10 for d in dims[1:-1])
        assert scale.apply("m", 1, v) in (1, 2) and scale.apply("s", 0, v) == 0 and scale.apply("s", 0.0, v) == 0.0
        x = scale.apply("theta", -1.2, v)
        assert -2.4 <= x <= -0.6 and x == float(f"{x:.3g}")
        assert kv.Between(20, 60).apply("m", 47, v) in range(20, 61)
        assert kv.OneOf(("tanh", "sigmoid"), ("exp", "sin", "cube")).apply("f", "exp", v) in ("exp", "sin", "cube")
        assert kv.OneOf(("tanh", "sigmoid")).apply("hidden", "relu", v) == "relu"  # in no group: stays
    assert len({kv.Scale(0.5, 2.0).apply("k", 3.0, v) for v in range(200)}) > 50
    # draws depend on the case: two cases sharing a value change independently
    a, b = (kv.vary_case({"seed": s, "eps": 1e-3}, 7, {"eps": kv.Scale(0.5, 2.0)}) for s in (1, 2))
    assert a["eps"] != b["eps"]
    with pytest.raises(ValueError, match="low <= high"):
        kv.Between(5, 2)
    with pytest.raises(TypeError, match="Between, Scale or OneOf"):
        kv.vary_case({"m": 3}, 1, {"m": 4})


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_reference_solutions_pass_every_hidden_test_on_30_students_variants(path):
    chosen = [str(variants.variant_of(SECRET, s, path.parent.name)) for s in CLASS]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("COURSE_VARIANTS", None)
    run = subprocess.run([sys.executable, str(REPO / "tests" / "variant_oracle.py"), str(path), *chosen],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    passed = [ln for ln in run.stdout.splitlines() if ln.startswith("variant ") and ln.endswith(" s")]
    assert len(passed) == len(chosen) * len(_hidden(path))
