"""What a student sees when a test cell runs: a compact result, not a library traceback.

A failing visible test still raises (nbgrader, ``validate.py`` and the grader must see an
error output), but the exception renders itself through IPython's ``_render_traceback_``
hook as a few lines: which exercise and which line of the test cell, what was wrong, the
hint. No library source and no paths. A crash inside the student's own function keeps
the student's frames (that traceback is theirs to read) and adds a hint when the crash
matches a known mistake (the broadcasting error of a missing ``keepdims``, an axis out of
range, a matrix product of mismatched shapes...).

A passing test cell ends with one short block: the exercise, that its visible tests pass,
its points, and that hidden tests decide them when the work is graded.

Importing :mod:`helpers.checks` installs two IPython callbacks (``pre_run_cell`` notes which
exercise a cell tests, from its first line ``\"\"\"Exercise N: ...\"\"\"``; ``post_run_cell`` shows
the pass block) and an exception handler that renders a plain ``assert`` failing in a test
cell the same way. Outside IPython nothing is installed. ``HELPERS_FULL_TRACEBACK=1`` in the
kernel's environment turns the compact rendering off (for the course's maintainers).

Nothing here decides a grade: rendering is cosmetic, the verdicts are computed elsewhere.
"""

from __future__ import annotations

import ast
import html
import linecache
import os
import re
import sys
import warnings
from dataclasses import dataclass

__all__ = ["EXERCISE_POINTS", "crash_hint", "install", "pass_text", "render_failure"]

#: Points of each exercise, per notebook (named by its checks module), as the test cells'
#: nbgrader metadata give them (``tests/test_feedback_render.py`` checks they agree).
EXERCISE_POINTS: dict[str, dict[int, int]] = {
    "normalization": {1: 4, 2: 4, 3: 2},
    "initialization": {1: 4, 2: 3, 3: 3},
    "numerical": {1: 2, 2: 3, 3: 2, 4: 3},
    "gradcheck": {1: 3, 2: 3, 3: 3, 4: 2, 5: 2, 6: 2, 7: 2},
}

#: At most this many lines in a failure block (crashes add the student's own frames).
MAX_LINES = 8
#: A crash shows the student's frames from the outermost (the line they wrote that started it)
#: to the one that failed, in at most this many lines (two per frame; the middle elided).
MAX_FRAME_LINES = 6
_WIDTH = 110
_EXERCISE = re.compile(r"^\s*(?:[rRuU]?)(?:\"\"\"|''')\s*Exercise\s+(\d+)\s*[:.]")
_RED, _GREEN, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"


@dataclass
class CellContext:
    """What the running cell is: a test cell of exercise ``exercise`` (or not a test cell)."""

    source: str
    exercise: int | None = None


_current: CellContext | None = None


def _full_tracebacks() -> bool:
    return os.environ.get("HELPERS_FULL_TRACEBACK", "") not in ("", "0")


def test_cell_exercise(source: str) -> int | None:
    """The exercise a test cell tests, from its first line ``\"\"\"Exercise N: ...\"\"\"``."""
    m = _EXERCISE.match(source or "")
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- known mistakes
_WRONG_OBJECT = re.compile(r"'([\w.]+)' object is not (subscriptable|callable)")
#: Types of values (not functions): indexing them is right, calling them is the mistake.
_VALUES = frozenset({"dict", "list", "tuple", "str", "int", "float", "numpy.ndarray", "ndarray", "numpy.float64",
                     "NoneType"})
_SHAPES = re.compile(r"shapes\s+\(([\d,\s]*)\)\s+\(([\d,\s]*)\)")


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.replace(" ", "").split(",") if s)


def crash_hint(exc: BaseException) -> str | None:
    """A hint for an exception raised inside a student's function, when it matches a known mistake."""
    text = str(exc)
    name = type(exc).__name__
    if name == "AxisError" or "out of bounds for array of dimension" in text:
        return ("axes count from 0: for X of shape (n_x, m), axis=0 goes down the features (rows) and "
                "axis=1 across the examples (columns)")
    if isinstance(exc, ValueError) and "could not be broadcast" in text:
        m = _SHAPES.search(text)
        if m:
            a, b = _shape(m.group(1)), _shape(m.group(2))
            flat, full = (a, b) if len(a) == 1 else (b, a)
            if len(flat) == 1 and len(full) == 2 and flat[0] == full[0] != full[1]:
                n = flat[0]
                return (f"a vector of shape ({n},) lines up with the last axis of a {full} matrix, not with its "
                        f"rows: keep the averaged axis, np.mean(X, axis=1, keepdims=True) has shape ({n}, 1)")
            return (f"arrays of shapes {a} and {b} cannot be combined element-wise: each axis must be equal "
                    f"or 1 (print the shapes; keepdims=True keeps an averaged axis as 1)")
    if isinstance(exc, ValueError) and text.startswith("matmul:"):
        return ("A @ B needs as many columns in A as rows in B: W[l] has shape (n[l], n[l-1]) and A[l-1] "
                "(n[l-1], m); print the shapes (a missing or extra .T?)")
    wrong = _WRONG_OBJECT.search(text) if isinstance(exc, TypeError) else None
    if wrong:
        kind, use = wrong.group(1), wrong.group(2)
        if use == "subscriptable" and kind not in _VALUES:
            return (f"a {kind} object was indexed like a dict or an array: if it is a function (or callable, "
                    f"like a backprop), pass what calling it returns, e.g. backprop(params), not the function")
        if use == "callable" and kind in _VALUES:
            return (f"a {kind} was called like a function: where a function is expected, pass the function "
                    f"itself (e.g. backprop, not backprop(params))")
    if isinstance(exc, TypeError) and "NoneType" in text:
        return "a value is None: a function without `return` gives None"
    if isinstance(exc, NameError):
        return "run the cells above this one first (Run > Run All Above Selected Cell), or check the spelling"
    return None


# --------------------------------------------------------------------------- tracebacks
def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _cell_label(filename: str) -> str | None:
    """``"Cell In[5]"`` when ``filename`` is a notebook cell run by IPython, else ``None``."""
    shell = _shell()
    fmt = getattr(getattr(shell, "compile", None), "format_code_name", None)
    if fmt is not None:
        try:
            named = fmt(filename)
        except Exception:
            named = None
        if named:
            return f"{named[0]} {named[1]}"
    if filename.startswith("<ipython-input-") or filename.startswith("<cell"):
        return "Cell"
    return None


def _cell_frames(tb) -> list[tuple[str, int, str, str]]:
    """``(cell label, line, function, source line)`` of the frames of ``tb`` that are notebook cells."""
    out = []
    while tb is not None:
        code = tb.tb_frame.f_code
        label = _cell_label(code.co_filename)
        if label is not None:
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            out.append((label, tb.tb_lineno, code.co_name, line))
        tb = tb.tb_next
    return out


def _clip(text: str, width: int = _WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _message_lines(text: str, limit: int) -> list[str]:
    lines = [ln.rstrip() for ln in str(text).strip().splitlines() if ln.strip()] or ["(no message)"]
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"… ({len(lines) - limit + 1} more lines)"]
    return [_clip(ln, 400) for ln in lines]


def render_failure(exc: BaseException, *, color: bool = True) -> list[str]:
    """The compact block for a failed check (a ``CheckFailure`` or an ``assert`` in a test cell)."""
    red, bold, reset = (_RED, _BOLD, _RESET) if color else ("", "", "")
    ctx = _current
    exercise = ctx.exercise if ctx else None
    frames = _cell_frames(exc.__traceback__)
    where = ""
    failing_line = ""
    if frames and exercise is not None:
        label, line, _, failing_line = frames[0]
        where = f" (test cell, line {line})"
    cause = getattr(exc, "student_error", None)
    what = getattr(exc, "function", None)
    if cause is not None:
        title = f"{what or 'your function'} crashed"
    elif getattr(exc, "not_written", False):
        title = f"{what or 'your function'} is not written yet"
    else:
        title = "visible test failed"
    head = f"Exercise {exercise}: {title}" if exercise is not None else title
    out = [f"{red}{bold}✗ {head}{where}{reset}"]
    hint = getattr(exc, "hint", None)
    if cause is not None:
        student = _cell_frames(cause.__traceback__)
        if frames:  # the test cell's own frame is not the student's function
            student = [f for f in student if f[:3] != frames[0][:3]]
        for frame in _bounded(student):
            if frame is None:
                out.append("  …")
                continue
            label, line, func, src = frame
            out.append(f"  {label}, line {line}, in {func}")
            if src:
                out.append(f"    {_clip(src)}")
        out.extend(_message_lines(f"{type(cause).__name__}: {cause}", 2))
    elif getattr(exc, "not_written", False):
        out.append("  Replace `raise NotImplementedError()` in its cell with your code, run that cell, "
                   "then this one again.")
    else:
        if failing_line:
            out.append(f"    {_clip(failing_line)}")
        message = getattr(exc, "message", None) or str(exc)
        out.extend(_message_lines(message, MAX_LINES - len(out) - (1 if hint else 0)))
    if hint:
        out.append(f"{bold}Hint:{reset} {hint}")
    return out


def _bounded(frames: list) -> list:
    """The outermost frame, ``None`` for the elided middle, and the innermost ones: at most
    ``MAX_FRAME_LINES`` lines (the student's line that started it is never dropped)."""
    keep = MAX_FRAME_LINES // 2
    if len(frames) <= keep:
        return frames
    return [frames[0], None, *frames[len(frames) - (keep - 1):]]


def render_check_failure(exc: BaseException) -> list[str]:
    """``CheckFailure._render_traceback_``: the compact block, or IPython's own with ``HELPERS_FULL_TRACEBACK``."""
    if _full_tracebacks():
        shell = _shell()
        if shell is not None:
            return shell.InteractiveTB.structured_traceback(type(exc), exc, exc.__traceback__)
    return render_failure(exc)


# --------------------------------------------------------------------------- passing test cells
def _topic_of(source: str, namespace: dict) -> str | None:
    """The checks module (``normalization``, ...) a test cell uses, from the names it references."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name):
            continue
        obj = namespace.get(node.id)
        module = getattr(obj, "__name__", "") if type(obj).__name__ == "module" else getattr(obj, "__module__", "")
        if isinstance(module, str) and module.startswith("helpers.checks."):
            topic = module.rsplit(".", 1)[1]
            if topic in EXERCISE_POINTS:
                return topic
    return None


def pass_text(exercise: int, points: int | None, variant: int | None = None) -> str:
    """The plain-text pass block of a test cell (``variant``: the student's, see :mod:`helpers.variants`)."""
    worth = f"Worth {points} point{'s' if points != 1 else ''}, decided" if points is not None else "Points decided"
    inputs = "inputs you have not seen"
    if variant is not None:
        inputs += f", drawn for your variant ({variant})"
    return (f"✓ Exercise {exercise}: visible tests passed.\n"
            f"  {worth} by hidden tests on {inputs}, when your work is graded.")


def _pass_html(text: str) -> str:
    first, _, rest = text.partition("\n")
    return ('<div class="helpers-check-passed" style="border-left: 4px solid #2e7d32; padding: 2px 10px; '
            'background: rgba(46, 125, 50, 0.08); font-family: var(--jp-content-font-family, sans-serif)">'
            f"<b>{html.escape(first)}</b><br>{html.escape(rest.strip())}</div>")


#: Exercises with a cell that failed in this kernel, and the execution count of the first such
#: cell; a passing test cell of the exercise clears it. A cell belongs to the exercise of its
#: test cell, or, before it, to the exercise after the last test cell that ran (notebook order).
_failed: dict[int, int | None] = {}
_last_tested = 0


def _exercise_of(ctx: CellContext | None) -> int:
    return ctx.exercise if ctx is not None and ctx.exercise is not None else _last_tested + 1


def _pre_run_cell(info) -> None:
    global _current
    source = getattr(info, "raw_cell", "") or ""
    _current = CellContext(source, test_cell_exercise(source))


def cascade_block(exc: BaseException) -> list[str] | None:
    """For a ``NameError`` after an earlier cell failed: one block naming the exercise to fix first."""
    if not isinstance(exc, NameError) or not _failed:
        return None
    first = min(_failed)
    count = _failed[first]
    where = f"exercise {first}" + (f", cell In [{count}]" if count else "")
    return [f"{_RED}{_BOLD}✗ NameError: {exc}{_RESET}",
            f"  An earlier cell failed ({where}), so what it defines was never made.",
            f"{_BOLD}Hint:{_RESET} fix exercise {first} first, then run the cells below it again "
            "(Run > Run All Above Selected Cell, then this cell)."]


def _post_run_cell(result) -> None:
    global _last_tested
    ctx = _current
    exercise = _exercise_of(ctx)
    if not getattr(result, "success", False):
        _failed.setdefault(exercise, getattr(result, "execution_count", None))
    elif ctx is not None and ctx.exercise is not None:
        _failed.pop(ctx.exercise, None)
    if ctx is not None and ctx.exercise is not None:
        _last_tested = ctx.exercise
    if ctx is None or ctx.exercise is None or not getattr(result, "success", False):
        return
    shell = _shell()
    topic = _topic_of(ctx.source, getattr(shell, "user_ns", {}) or {})
    points = EXERCISE_POINTS.get(topic, {}).get(ctx.exercise) if topic else None
    from helpers import variants

    text = pass_text(ctx.exercise, points, variants.current())
    from IPython.display import display

    display({"text/plain": text, "text/html": _pass_html(text)}, raw=True)


def _custom_exc(shell, etype, value, tb, tb_offset=None):
    """IPython handler for ``AssertionError`` (compact for a bare ``assert`` failing in a test cell)
    and ``NameError`` (after an earlier failure: which exercise to fix first, not a cascade)."""
    compact = None
    if not _full_tracebacks():
        if isinstance(value, NameError):
            compact = cascade_block(value)
        elif hasattr(value, "_render_traceback_"):
            compact = value._render_traceback_()
        elif _current is not None and _current.exercise is not None:
            frames = _cell_frames(tb)
            last = tb
            while last is not None and last.tb_next is not None:
                last = last.tb_next
            if frames and last is not None and _cell_label(last.tb_frame.f_code.co_filename) and len(frames) == 1:
                compact = render_failure(value)
    if compact is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    try:
        shell._get_exc_info((etype, value, tb))  # sets sys.last_* for %debug and %tb
    except Exception:
        pass
    shell._showtraceback(etype, value, compact)
    return None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning raised in a notebook cell names the cell (``Cell In[5], line 4``), not the kernel's
    temporary file (``/tmp/ipykernel_…/….py``); other warnings print as Python prints them."""
    label = _cell_label(str(filename))
    if label is None:
        return _plain_show_warning(message, category, filename, lineno, file, line)
    target = file if file is not None else sys.stderr
    try:
        target.write(f"{category.__name__} ({label}, line {lineno}): {message}\n")
    except OSError:
        pass
    return None


_plain_show_warning = warnings.showwarning
_INSTALLED: set[int] = set()


def install(shell=None) -> bool:
    """Install the callbacks in the running IPython (idempotent); ``False`` outside IPython."""
    shell = shell or _shell()
    if shell is None or id(shell) in _INSTALLED or not hasattr(shell, "events"):
        return False
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _post_run_cell)
    if not getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((AssertionError, NameError), _custom_exc)
    if warnings.showwarning is _plain_show_warning:
        warnings.showwarning = _show_warning
    _INSTALLED.add(id(shell))
    return True
