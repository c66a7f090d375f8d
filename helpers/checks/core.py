"""Graded checks whose verdict is computed outside the student's kernel.

Why: a test cell runs in the same kernel as the student's code, and that code may have
patched ``np.allclose``, builtins, IPython's traceback display or :mod:`helpers` itself.
So a hidden test does not decide anything in the kernel. It only *records* what the
student's functions return on hidden inputs:

.. code-block:: python

    ### BEGIN HIDDEN TESTS
    grade_hidden("normalization.fit", fit_normalization, cases=[{"seed": 7, "n_x": 4, "m": 30}])
    ### END HIDDEN TESTS

:func:`grade_hidden` runs the student's code on each case and emits one display output
whose metadata holds the recorded answers (the *payload*). At autograde time the kernel
has the student edition of ``helpers`` (no reference implementations), and the nbgrader
preprocessor in ``grading/`` calls :func:`verify_cell`, in the grader's own process: it
reads the cases from the trusted test-cell source (nbgrader has restored it), rebuilds
the inputs, computes the reference answers and compares. A missing or forged payload
fails. Forging a passing payload means producing the right answers on inputs the student
never saw, which is solving the exercise.

When the reference is importable (the instructor's source notebook, nbval), the cell
also verifies in the kernel and raises ``AssertionError``, so a broken solution or check
is caught while authoring.

A :class:`Check` is registered per graded question in ``helpers/checks/<topic>.py``.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import math
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "PAYLOAD_KEY",
    "CellVerdict",
    "Check",
    "CheckFailure",
    "PayloadError",
    "call_student",
    "compare_arrays",
    "decode_array",
    "encode_array",
    "expect_array",
    "get_check",
    "grade_hidden",
    "hidden_calls_in_source",
    "record_answers",
    "register",
    "verify_cell",
]

#: Key of the output metadata that carries the recorded answers.
PAYLOAD_KEY = "dl_opt_setup_hidden_tests"
PAYLOAD_VERSION = 1
#: Longest error text kept per case (a hostile ``__str__`` could be huge).
_MAX_ERROR = 400


class CheckFailure(AssertionError):
    """A graded check failed; the message says which case and why.

    ``str()`` is the whole message (the hint included), as nbgrader and the feedback show it.
    In a notebook the exception renders itself as a compact block (``_render_traceback_``,
    see :mod:`helpers.checks.feedback`): the exercise, what was wrong and the hint, with
    no library source.

    Parameters
    ----------
    message : str
        What was wrong, for the student.
    hint : str, optional
        The likely mistake ("keepdims=True?"); appended to ``str()`` after ``": "``.
    function : str, optional
        The student's function the check called (for crashes and unwritten exercises).
    student_error : BaseException, optional
        The exception the student's own code raised (its frames are the ones shown).
    not_written : bool
        The student's function still raises ``NotImplementedError``.
    """

    def __init__(self, message: str = "", *, hint: str | None = None, function: str | None = None,
                 student_error: BaseException | None = None, not_written: bool = False):
        self.message, self.hint, self.function = str(message), hint, function
        self.student_error, self.not_written = student_error, not_written
        super().__init__(self.message + (f": {hint}" if hint else ""))

    def __reduce__(self):  # picklable with its fields (the traceback of student_error is not kept)
        return (_rebuild_check_failure, (self.message, self.hint, self.function, self.not_written))

    def _render_traceback_(self) -> list[str]:
        """IPython calls this instead of formatting the traceback (a compact block)."""
        from helpers.checks import feedback

        return feedback.render_check_failure(self)


def _rebuild_check_failure(message, hint, function, not_written):
    return CheckFailure(message, hint=hint, function=function, not_written=not_written)


class PayloadError(ValueError):
    """The recorded answers are malformed (tampered with, or truncated)."""


@dataclass(frozen=True)
class Check:
    """One graded question.

    Parameters
    ----------
    name : str
        Registry key, ``"<topic>.<question>"``; the hidden cell names it.
    make_inputs : callable(case: dict) -> dict
        Builds the inputs of one case from its JSON spec (seed, sizes, ...).
        Runs both in the kernel and in the grader, so it must be deterministic.
    run : callable(solution: tuple, inputs: dict) -> Any
        Calls the student's function(s) (``solution`` is what the cell passed).
    encode : callable(output) -> JSON-able
        Turns the student's output into plain data (see :func:`encode_array`). It must
        raise on malformed output (wrong type or shape).
    expected : callable(inputs: dict) -> Any
        The reference answer, usually computed with :mod:`helpers._reference`.
    compare : callable(answer, expected, inputs) -> str or None
        ``answer`` is the *decoded, untrusted* payload entry. Returns ``None`` when it
        is right, else a message for the student (no hidden values in it).
    describe : str
        One line, shown in feedback ("mu and sigma2 on unseen data").
    """

    name: str
    make_inputs: Callable[[dict], dict]
    run: Callable[[tuple, dict], Any]
    encode: Callable[[Any], Any]
    expected: Callable[[dict], Any]
    compare: Callable[[Any, Any, dict], str | None]
    describe: str = ""
    decode: Callable[[Any], Any] = field(default=lambda x: x)
    #: What a per-student variant may change besides the seeds, key -> rule
    #: (``{"m": Scale(0.7, 1.4), "hidden": OneOf(("tanh", "sigmoid"))}``, see
    #: :mod:`helpers.variants`): only within what the lesson teaches, so every variant asks the
    #: same question. Seeds always vary.
    vary: dict = field(default_factory=dict)

    def cases_for(self, cases: Sequence[dict], variant: int | None) -> list[dict]:
        """The hidden ``cases`` as variant ``variant`` sees them (``None``: the cases themselves)."""
        from helpers.variants import vary_cases

        return vary_cases(cases, variant, self.vary)


_REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add ``check`` to the registry (names are unique)."""
    if check.name in _REGISTRY and _REGISTRY[check.name] is not check:
        raise ValueError(f"a check named {check.name!r} is already registered")
    _REGISTRY[check.name] = check
    return check


def get_check(name: str) -> Check:
    """Look up a registered check, importing the topic modules on first use."""
    from helpers import checks as _all  # noqa: F401  (registers every topic)

    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no graded check named {name!r}; known: {sorted(_REGISTRY)}") from None


# --------------------------------------------------------------------------- encoding
def encode_array(value, *, name: str = "the result", shape: tuple | None = None) -> dict:
    """Encode a numeric array exactly (float64 bytes, base64) for the payload.

    Raises ``CheckFailure`` with a readable message when ``value`` is not numeric or has
    the wrong ``shape`` (``None`` entries in ``shape`` match any size).
    """
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except Exception as exc:
        raise CheckFailure(f"{name} could not be read as numbers ({type(value).__name__}: {exc})") from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == a for s, a in zip(shape, arr.shape, strict=False)
        )
        if not ok:
            want = tuple("any" if s is None else s for s in shape)
            raise CheckFailure(f"{name} has shape {arr.shape}, expected {want}")
    data = np.ascontiguousarray(arr, dtype="<f8").tobytes()
    return {"shape": list(arr.shape), "f8": base64.b64encode(data).decode("ascii")}


def decode_array(obj) -> np.ndarray:
    """Inverse of :func:`encode_array`, validating the untrusted payload entry."""
    if not isinstance(obj, dict) or set(obj) != {"shape", "f8"}:
        raise PayloadError("array entry is not of the recorded form")
    shape = obj["shape"]
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise PayloadError("array entry has an invalid shape")
    try:
        raw = base64.b64decode(obj["f8"], validate=True)
    except Exception as exc:
        raise PayloadError(f"array entry is not valid base64: {exc}") from None
    n = math.prod(shape)
    if len(raw) != 8 * n:
        raise PayloadError("array entry has the wrong number of bytes for its shape")
    return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)


def compare_arrays(
    answer: np.ndarray, expected, *, name: str, rtol: float = 1e-7, atol: float = 1e-10
) -> str | None:
    """Compare a decoded answer with the reference; message or ``None``.

    Uses plain ndarray arithmetic on float64 copies, never a function the student could
    have replaced in the kernel (this runs in the grader's process anyway).
    """
    expected = np.asarray(expected, dtype=np.float64)
    if answer.shape != expected.shape:
        return f"{name} has shape {answer.shape}, expected {expected.shape}"
    if not np.isfinite(answer).all():
        return f"{name} contains NaN or inf"
    err = np.abs(answer - expected)
    tol = atol + rtol * np.abs(expected)
    if (err > tol).any():
        worst = float((err - tol).max())
        return f"{name} is not correct (largest error beyond tolerance: {worst:.3g})"
    return None


# --------------------------------------------------------------------------- in the kernel
def _short_error(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return text[:_MAX_ERROR]


def record_answers(check_name: str, *solution, cases: Sequence[dict], variant: int | None = None) -> dict:
    """Run the student's ``solution`` on every case and return the payload (no display).

    A case whose code raises is recorded as an error (the other cases still count). With a
    ``variant`` the cases are that variant's (:meth:`Check.cases_for`) and the payload says
    which variant it claims (the grader never believes it: it derives the submitter's own).
    """
    check = get_check(check_name)
    cases = check.cases_for(cases, variant)
    outputs = []
    for case in cases:
        try:
            inputs = check.make_inputs(dict(case))
            answer = check.encode(check.run(solution, inputs))
            json.dumps(answer, allow_nan=True)
            outputs.append({"ok": True, "answer": answer})
        except Exception as exc:  # a failing case is recorded, not raised: others still count
            outputs.append({"ok": False, "error": _short_error(exc)})
    payload = {"version": PAYLOAD_VERSION, "check": check_name, "cases": list(cases), "outputs": outputs}
    if variant is not None:  # without variants the payload is exactly what it always was
        payload["variant"] = variant
    return payload


def grade_hidden(check_name: str, *solution, cases: Sequence[dict]) -> None:
    """Record the student's answers on hidden ``cases`` (call this in a hidden test).

    Parameters
    ----------
    check_name : str
        A registered :class:`Check`.
    *solution
        The student's function(s) the check calls.
    cases : list of dict
        JSON-able case specs, written as a literal in the test cell (the grader reads
        them from the trusted source, not from the kernel).
    """
    from helpers import variants

    variant = variants.current()
    payload = record_answers(check_name, *solution, cases=cases, variant=variant)
    text = f"Hidden tests of {check_name}: {len(cases)} case(s) recorded for grading."
    if variant is not None:
        text = text[:-1] + f" (your variant, {variant})."

    from helpers._withheld import reference_available

    if reference_available():
        # Instructor edition (source notebook, nbval): judge right here and keep the
        # notebook small; the payload is only needed where the reference is absent.
        verdict = verify_payload(check_name, payload["cases"], [payload])
        if not verdict.passed:
            raise CheckFailure(verdict.message)
        _display(text, None)
    else:
        _display(text, payload)


def call_student(func, *args, name: str | None = None, **kwargs):
    """Call a student's function from a visible test, turning failures into clear messages.

    ``NotImplementedError`` (the untouched release) becomes "not written yet"; any other
    exception becomes a :class:`CheckFailure` that keeps the student's exception (its frames,
    the student's own code, are what the notebook shows) and adds a hint when the crash
    matches a known mistake (:func:`helpers.checks.feedback.crash_hint`), e.g. the
    broadcasting error of a mean taken without ``keepdims=True``.
    """
    label = name or getattr(func, "__name__", "your function")
    if not callable(func):
        raise CheckFailure(f"{label} should be a function, got {type(func).__name__}")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(
            f"{label} is not written yet: replace `raise NotImplementedError()` with your code "
            f"and run its cell again", function=label, not_written=True,
        ) from None
    except Exception as exc:
        from helpers.checks.feedback import crash_hint

        try:
            hint = crash_hint(exc)
        except Exception:  # a hostile exception's __str__ must not hide the crash
            hint = None
        raise CheckFailure(f"{label}(...) raised {_short_error(exc).strip()}", hint=hint, function=label,
                           student_error=exc) from exc


def expect_array(value, name: str, *, shape: tuple | None = None, hints: dict | None = None) -> np.ndarray:
    """Convert a student's value to a float64 array for a visible test, or fail clearly.

    Parameters
    ----------
    value : object
        What the student's function returned.
    name : str
        How to call it in messages (``"sigma2"``).
    shape : tuple, optional
        Required shape; ``None`` entries match any size.
    hints : dict, optional
        ``{wrong_shape_tuple: "hint"}``: an explanation for a likely wrong shape, e.g.
        ``{(2,): "keepdims=True?"}``.
    """
    if value is None:
        raise CheckFailure(f"{name} is None: did the function forget to `return` it?")
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except Exception:
        raise CheckFailure(f"{name} should be a numeric array, got {type(value).__name__}") from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape, strict=False))
        if not ok:
            want = tuple("any" if s is None else s for s in shape)
            hint = (hints or {}).get(arr.shape, "")
            raise CheckFailure(f"{name} has shape {arr.shape}, expected {want}", hint=hint or None)
    if not np.isfinite(arr).all():
        raise CheckFailure(f"{name} contains NaN or inf")
    return arr


def _display(text: str, payload: dict | None) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python (unit tests): nothing to show
        return
    metadata = {} if payload is None else {PAYLOAD_KEY: payload}
    display({"text/plain": text}, metadata=metadata, raw=True)


# --------------------------------------------------------------------------- in the grader
@dataclass
class CellVerdict:
    """Outcome of the hidden tests of one cell."""

    passed: bool
    message: str
    n_cases: int = 0
    n_passed: int = 0
    #: Other students whose variant the records' cases are (``verify_cell(classmates=...)``).
    matches: list = field(default_factory=list)


def hidden_calls_in_source(source: str) -> list[tuple[str, list[dict]]]:
    """Find ``grade_hidden("<check>", ..., cases=[...])`` calls in a (trusted) cell source.

    Returns ``(check_name, cases)`` pairs. The check name and cases must be literals;
    anything else is an authoring error and raises ``ValueError``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # nbgrader test cells may contain IPython magics; hidden calls never do
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if fname != "grade_hidden":
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant):
            raise ValueError("grade_hidden needs the check name as a string literal")
        cases_kw = [kw for kw in node.keywords if kw.arg == "cases"]
        if not cases_kw:
            raise ValueError("grade_hidden needs cases=[...] as a literal")
        try:
            cases = ast.literal_eval(cases_kw[0].value)
        except ValueError:
            raise ValueError("grade_hidden needs cases=[...] as a literal (JSON-like values only)") from None
        found.append((node.args[0].value, list(cases)))
    return found


#: Reference answers per (check, trusted case): a grader judges every student on the same
#: hidden cases, and some references are costly (notebook 2's 50-layer networks).
_EXPECTED_CACHE: dict[tuple[str, str], Any] = {}
_EXPECTED_CACHE_SIZE = 1024


def _expected(check: Check, case: dict, inputs: dict):
    """``check.expected(inputs)``, computed once per case and handed out as a private copy.

    Sound because ``make_inputs`` is deterministic and the case comes from the trusted
    source; only reference answers are cached, never a student's.
    """
    key = (check.name, json.dumps(case, sort_keys=True, default=repr))
    if key not in _EXPECTED_CACHE:
        if len(_EXPECTED_CACHE) >= _EXPECTED_CACHE_SIZE:
            _EXPECTED_CACHE.clear()
        _EXPECTED_CACHE[key] = check.expected(inputs)
    return copy.deepcopy(_EXPECTED_CACHE[key])  # compare() may not alter what the next student gets


def verify_payload(check_name: str, cases: list[dict], payloads: list) -> CellVerdict:
    """Judge every payload recorded for one ``grade_hidden`` call.

    All payloads must match the trusted ``cases`` and pass; none at all is a failure.
    """
    check = get_check(check_name)
    if not payloads:
        return CellVerdict(False, f"{check_name}: the hidden tests did not run (no answers were recorded)")
    n_cases = len(cases)
    for payload in payloads:
        try:
            if not isinstance(payload, dict) or payload.get("version") != PAYLOAD_VERSION:
                raise PayloadError("unknown payload version")
            if payload.get("check") != check_name or payload.get("cases") != cases:
                raise PayloadError("recorded cases differ from the test's cases")
            outputs = payload.get("outputs")
            if not isinstance(outputs, list) or len(outputs) != n_cases:
                raise PayloadError("wrong number of recorded answers")
        except PayloadError as exc:
            return CellVerdict(False, f"{check_name}: hidden-test record rejected ({exc})", n_cases, 0)
        n_passed = 0
        problems = []
        for i, (case, out) in enumerate(zip(cases, outputs, strict=True)):
            label = f"hidden case {i + 1}/{n_cases}"
            if not isinstance(out, dict) or not isinstance(out.get("ok"), bool):
                problems.append(f"{label}: malformed record")
                continue
            if not out["ok"]:
                problems.append(f"{label}: your code raised {str(out.get('error'))[:_MAX_ERROR]}")
                continue
            try:
                inputs = check.make_inputs(dict(case))
                answer = check.decode(out.get("answer"))
                msg = check.compare(answer, _expected(check, case, inputs), inputs)
            except PayloadError as exc:
                msg = f"malformed answer ({exc})"
            except Exception:  # a grader-side bug must show, not pass
                msg = "grader error: " + traceback.format_exc(limit=3)[-_MAX_ERROR:]
            if msg is None:
                n_passed += 1
            else:
                problems.append(f"{label}: {msg}")
        if problems:
            return CellVerdict(
                False,
                f"{check_name}: {n_passed}/{n_cases} hidden cases passed\n" + "\n".join(problems),
                n_cases,
                n_passed,
            )
    return CellVerdict(True, f"{check_name}: all {n_cases} hidden cases passed", n_cases, n_cases)


def _claimed_by(check_name: str, cases: list[dict], payloads: list, classmates: dict) -> list[str]:
    """Students (of ``classmates``: id -> variant) whose variant's cases a payload was recorded on."""
    check = get_check(check_name)
    claimed = [p.get("cases") for p in payloads if isinstance(p, dict)]
    return sorted(s for s, v in classmates.items() if check.cases_for(cases, v) in claimed)


def verify_cell(source: str, outputs: list, *, variant: int | None = None,
                classmates: dict | None = None) -> CellVerdict | None:
    """Verify one executed test cell: trusted ``source``, untrusted ``outputs``.

    Returns ``None`` when the cell has no hidden tests, else the combined verdict of its
    ``grade_hidden`` calls. ``outputs`` are nbformat output dicts.

    ``variant``: the submitter's variant, derived by the grader (never read from the notebook);
    the answers must be recorded on that variant's cases. ``classmates`` (student id -> variant,
    the submitter left out): when the records are on another student's variant, the verdict's
    ``matches`` names that student ("answers match the variant of student X").
    """
    calls = hidden_calls_in_source(source)
    if not calls:
        return None
    recorded: dict[str, list] = {}
    for out in outputs or []:
        meta = out.get("metadata") if isinstance(out, dict) else None
        if isinstance(meta, dict) and PAYLOAD_KEY in meta:
            payload = meta[PAYLOAD_KEY]
            key = payload.get("check") if isinstance(payload, dict) else None
            recorded.setdefault(str(key), []).append(payload)
    verdicts, matches = [], []
    for name, cases in calls:
        trusted = get_check(name).cases_for(cases, variant) if variant is not None else cases
        verdict = verify_payload(name, trusted, recorded.get(name, []))
        if not verdict.passed and variant is not None and classmates:
            others = _claimed_by(name, cases, recorded.get(name, []), classmates)
            if others:  # named to the instructor (``matches``: the report), never in what the student reads
                verdict.message += (f"\n{name}: the answers were recorded on another student's variant, not yours "
                                    "(flagged for the instructor's review)")
                matches.extend(others)
        verdicts.append(verdict)
    passed = all(v.passed for v in verdicts)
    return CellVerdict(
        passed,
        "\n".join(v.message for v in verdicts),
        sum(v.n_cases for v in verdicts),
        sum(v.n_passed for v in verdicts),
        sorted(set(matches)),
    )


# In a notebook: compact feedback for test cells (helpers.checks.feedback); nothing outside IPython.
def _install_feedback() -> None:
    try:
        from helpers.checks import feedback

        feedback.install()
    except Exception:  # cosmetic: never let it break an import
        pass


_install_feedback()
