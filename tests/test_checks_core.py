"""helpers.checks.core: hidden answers are recorded in the kernel and judged outside it."""

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.checks import core

SQUARE = core.register(
    core.Check(
        name="selftest.square",
        make_inputs=lambda case: {"x": np.random.default_rng(case["seed"]).normal(size=case["n"])},
        run=lambda sol, inputs: sol[0](inputs["x"]),
        encode=lambda out: core.encode_array(out, name="the result"),
        expected=lambda inputs: inputs["x"] ** 2,
        compare=lambda ans, exp, inputs: core.compare_arrays(ans, exp, name="the result"),
        decode=core.decode_array,
    )
)
CASES = [{"seed": 1, "n": 3}, {"seed": 2, "n": 5}]


def _verdict(fn, cases=CASES):
    payload = core.record_answers("selftest.square", fn, cases=cases)
    return core.verify_payload("selftest.square", CASES, [payload])


def test_correct_answers_pass():
    v = _verdict(lambda x: x * x)
    assert v.passed and v.n_passed == 2, v.message


def test_wrong_answer_fails_and_says_which_case():
    v = _verdict(lambda x: x * x + (x.size == 5))
    assert not v.passed and v.n_passed == 1
    assert "hidden case 2/2" in v.message


def test_an_exception_is_recorded_not_raised():
    def boom(x):
        raise RuntimeError("kaput")

    v = _verdict(boom)
    assert not v.passed and "RuntimeError: kaput" in v.message


class _EqualsEverything:
    def __eq__(self, other):
        return True

    __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __abs__(self):
        return 0.0


class _RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array_finalize__(self, obj):
        pass


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: _EqualsEverything(),
        lambda x: np.zeros_like(x).view(_RiggedArray),
        lambda x: [float("nan")] * x.size,
        lambda x: x.reshape(1, -1) ** 2,
        lambda x: None,
        lambda x: "x squared",
    ],
)
def test_hostile_or_malformed_answers_fail(fn):
    assert not _verdict(fn).passed


def test_missing_payload_fails():
    v = core.verify_payload("selftest.square", CASES, [])
    assert not v.passed and "did not run" in v.message


def test_payload_recorded_on_other_cases_is_rejected():
    # a student replaying the visible test's inputs with correct answers
    forged = core.record_answers("selftest.square", lambda x: x * x, cases=[{"seed": 9, "n": 3}] * 2)
    v = core.verify_payload("selftest.square", CASES, [forged])
    assert not v.passed and "differ" in v.message


def test_every_payload_must_pass():
    good = core.record_answers("selftest.square", lambda x: x * x, cases=CASES)
    bad = core.record_answers("selftest.square", lambda x: x, cases=CASES)
    assert not core.verify_payload("selftest.square", CASES, [good, bad]).passed


def test_tampered_array_bytes_are_rejected():
    payload = core.record_answers("selftest.square", lambda x: x * x, cases=CASES)
    payload["outputs"][0]["answer"]["f8"] = base64.b64encode(b"\x00" * 7).decode()
    v = core.verify_payload("selftest.square", CASES, [payload])
    assert not v.passed and "malformed" in v.message


def test_encode_decode_round_trip_is_exact():
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert np.array_equal(core.decode_array(core.encode_array(x)), x)


def test_verify_cell_reads_cases_from_the_trusted_source():
    source = '"""squares"""\nassert True\n### BEGIN HIDDEN TESTS\ngrade_hidden("selftest.square", f, cases=' + repr(
        CASES
    ) + ")\n### END HIDDEN TESTS\n"
    payload = core.record_answers("selftest.square", lambda x: x * x, cases=CASES)
    outputs = [{"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {core.PAYLOAD_KEY: payload}}]
    assert core.verify_cell(source, outputs).passed
    assert not core.verify_cell(source, []).passed
    assert core.verify_cell('"""no hidden tests"""\nassert 1 == 1\n', []) is None


def test_hidden_calls_need_literal_cases():
    with pytest.raises(ValueError, match="literal"):
        core.hidden_calls_in_source('grade_hidden("selftest.square", f, cases=make_cases())')


def test_call_student_explains_an_unanswered_exercise():
    def fit_normalization(X):
        raise NotImplementedError()

    with pytest.raises(core.CheckFailure, match="not written yet"):
        core.call_student(fit_normalization, np.zeros((2, 2)))


def test_expect_array_gives_the_shape_hint():
    with pytest.raises(core.CheckFailure, match="keepdims"):
        core.expect_array(np.zeros(2), "mu", shape=(2, 1), hints={(2,): "keepdims=True?"})


def test_student_edition_withholds_references(tmp_path: Path):
    """Without helpers/_reference every module imports and withheld calls say where to write them."""
    src = Path(__file__).resolve().parent.parent / "helpers"
    shutil.copytree(src, tmp_path / "helpers", ignore=shutil.ignore_patterns("_reference", "__pycache__"))
    # A student's machine has no editable install of the instructor's repo; drop its
    # import finder so this interpreter sees only the copied student edition.
    code = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
        "import helpers, helpers.checks\n"
        "from helpers.initialization import initialize_parameters\n"
        "assert not helpers.reference_available()\n"
        "try:\n    initialize_parameters([2, 3])\nexcept helpers.WithheldError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "not part of the student edition" in out.stdout and "notebook 2" in out.stdout
