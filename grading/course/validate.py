"""Check notebooks before handing them in: run each one and report its exercises' visible tests.

Shipped to students as ``validate.py`` and used by ``python -m grading.course validate``::

    python validate.py notebooks/01_normalizing_inputs/normalizing_inputs.ipynb [...]

It needs only what JupyterLab installs (``nbformat``, ``nbclient``, a Python kernel), not
nbgrader: it runs a copy of the notebook top to bottom in a fresh kernel (the file is not
changed), then prints plain text per notebook and per exercise (passed or failed, the same
message the test cell shows, the points) and a last line that says what to do next. Like
``nbgrader validate`` it also reports read-only cells that were edited (they are restored
from the instructor's copy when grading, so the edit would be lost), with nbgrader's own
checksum, recomputed here.

Exit status: 0 when every notebook ran and every test cell passed, 1 when a test cell
failed or a read-only cell was changed, 2 when a file could not be validated at all
(unlike ``nbgrader validate``, which exits 0 either way, nbgrader issue #1908).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXERCISE = re.compile(r"^\s*[rRuU]?(?:\"\"\"|''')\s*Exercise\s+(\d+)\s*[:.]")
_GRADE_ID = re.compile(r"^ex(\d+)-")
#: A failure block rendered by the course's checks is at most this long (longer: a raw traceback).
_COMPACT_LINES = 10


def _plain(text: str) -> str:
    """Without terminal colours and with ASCII marks (a Windows console may not print ✓/✗)."""
    text = _ANSI.sub("", text)
    for a, b in (("✓ ", ""), ("✗ ", ""), ("…", "..."), ("✓", "ok"), ("✗", "x")):
        text = text.replace(a, b)
    return text


# --------------------------------------------------------------------------- nbgrader's cell metadata
def _nbg(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_grade(cell) -> bool:
    return bool(_nbg(cell).get("grade", False))


def _is_solution(cell) -> bool:
    return bool(_nbg(cell).get("solution", False))


def _is_locked(cell) -> bool:
    meta = _nbg(cell)
    if not meta or _is_solution(cell):
        return False
    return _is_grade(cell) or bool(meta.get("locked", False))


def checksum(cell) -> str:
    """nbgrader's ``compute_checksum`` (nbgrader/utils.py, 0.9.x), recomputed without nbgrader."""
    m = hashlib.md5()
    m.update(str(cell.get("source", "")).encode("utf-8"))
    m.update(str(cell.get("cell_type", "")).encode("utf-8"))
    m.update(str(_is_grade(cell)).encode("utf-8"))
    m.update(str(_is_solution(cell)).encode("utf-8"))
    m.update(str(_is_locked(cell)).encode("utf-8"))
    m.update(str(_nbg(cell)["grade_id"]).encode("utf-8"))
    if _is_grade(cell):
        m.update(str(float(_nbg(cell)["points"])).encode("utf-8"))
    return m.hexdigest()


# --------------------------------------------------------------------------- results
@dataclass
class TestCell:
    index: int
    exercise: str
    points: float
    errors: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors


def _exercise_label(cell) -> str:
    m = _EXERCISE.match(str(cell.get("source", "")))
    if m:
        return f"Exercise {int(m.group(1))}"
    g = _GRADE_ID.match(str(_nbg(cell).get("grade_id", "")))
    return f"Exercise {int(g.group(1))}" if g else f"Test {_nbg(cell).get('grade_id', '?')}"


def _failure_lines(error: dict) -> tuple[str, list[str]]:
    """``(summary, detail lines)`` of one error output, as the test cell showed it."""
    lines = [_plain(ln).rstrip() for ln in "\n".join(error.get("traceback") or []).splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    compact = lines and len(lines) <= _COMPACT_LINES and not lines[0].startswith("-----")
    if compact:
        head = re.sub(r"^Exercise \d+:\s*", "", lines[0].strip())
        return head, lines[1:]
    evalue = _plain(str(error.get("evalue", ""))).strip().splitlines() or [""]
    return f"{error.get('ename', 'Error')}: {evalue[0]}", evalue[1:4]


def _points(p: float) -> str:
    p = float(p)
    text = f"{p:g} point" + ("" if p == 1 else "s")
    return text


def _changed_cells(nb) -> tuple[list[str], list[str]]:
    type_changed, changed = [], []
    for i, cell in enumerate(nb.cells):
        meta = _nbg(cell)
        if not meta:
            continue
        first = str(cell.get("source", "")).strip().splitlines()[:1]
        what = f"cell {i + 1} ({first[0][:60]!r})" if first else f"cell {i + 1}"
        was = meta.get("cell_type")
        if (_is_grade(cell) or _is_solution(cell) or _is_locked(cell)) and was and was != cell.cell_type:
            type_changed.append(f"{what} was a {was} cell and is now a {cell.cell_type} cell")
        elif _is_locked(cell) and "checksum" in meta:
            try:
                if checksum(cell) != meta["checksum"]:
                    changed.append(f"read-only {what} was edited")
            except KeyError:
                changed.append(f"read-only {what} lost its grading metadata")
    return type_changed, changed


def _execute(nb, path: Path, timeout: int):
    """Run ``nb`` (a copy) in a fresh kernel of this interpreter; the kernel's stderr is kept aside."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.log.setLevel(logging.ERROR)
    env = {**os.environ, "NBGRADER_VALIDATING": "1", "NBGRADER_EXECUTION": "validate",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    with tempfile.TemporaryFile(mode="w+b") as stderr:
        try:
            client.execute(env=env, stderr=stderr)
        except Exception as exc:
            stderr.seek(0)
            tail = _plain(stderr.read()[-600:].decode("utf-8", "replace")).strip()
            raise RuntimeError(f"{type(exc).__name__}: {exc}" + (f"\n{tail}" if tail else "")) from exc
    return nb


def validate(path: str, *, timeout: int = 120) -> tuple[int, str]:
    """Validate one notebook; returns ``(status, plain-text report)`` with the status described above."""
    import nbformat

    nb_path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.read(nb_path, as_version=4)
    except FileNotFoundError:
        return 2, f"{path}: no such file"
    except Exception as exc:
        return 2, f"{path}: could not be read as a notebook ({type(exc).__name__}: {str(exc)[:200]})"
    type_changed, changed = _changed_cells(nb)
    tests = [TestCell(i, _exercise_label(c), float(_nbg(c).get("points", 0) or 0))
             for i, c in enumerate(nb.cells) if c.cell_type == "code" and _is_grade(c)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _execute(nb, nb_path, timeout)
    except Exception as exc:
        return 2, f"{path}: could not be run\n  {_plain(str(exc))[:800]}"
    for t in tests:
        t.errors = [o for o in nb.cells[t.index].outputs if o.get("output_type") == "error"]
    return _report(path, tests, type_changed, changed, nb)


def _report(path: str, tests: list[TestCell], type_changed, changed, nb) -> tuple[int, str]:
    exercises: dict[str, list[TestCell]] = {}
    for t in tests:
        exercises.setdefault(t.exercise, []).append(t)
    n_ok = sum(all(t.passed for t in ts) for ts in exercises.values())
    name = Path(path).name
    lines = [f"{path}"]
    for label, cells in exercises.items():
        points = sum(t.points for t in cells)
        failed = [t for t in cells if not t.passed]
        if not failed:
            lines.append(f"  {label} ({_points(points)}): passed")
            continue
        summary, detail = _failure_lines(failed[0].errors[0])
        lines.append(f"  {label} ({_points(points)}): FAILED - {summary}")
        lines += [f"      {ln.strip() if ln.startswith('  ') else ln}" for ln in detail]
        if len(failed) > 1:
            lines.append(f"      (and {len(failed) - 1} more test cell(s) of {label})")
    others = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_grade(c)
              for o in c.outputs if o.get("output_type") == "error" and o.get("ename") != "CheckFailure"]
    if others and all(t.passed for t in tests):  # after a failed test, such errors are mostly its echo
        i, o = others[0]
        lines.append(f"  Note: cell {i + 1} (not a test) raised {o.get('ename')}: "
                     f"{_plain(str(o.get('evalue', ''))).strip().splitlines()[0][:200] if o.get('evalue') else ''}")
    for text in type_changed + changed:
        lines.append(f"  Changed: {text}; grading restores the original, so undo this edit "
                     f"(or copy your work into a fresh copy of {name}).")
    total = sum(t.points for t in tests)
    status = 1 if (n_ok < len(exercises) or type_changed or changed) else 0
    if not exercises:
        lines.append("  This notebook has no test cells.")
    elif status == 0:
        lines.append(f"  All {len(exercises)} exercises pass their visible tests ({_points(total)} in all; "
                     f"hidden tests decide them when your work is graded). {name} is ready to hand in.")
    else:
        first = next((label for label, cells in exercises.items() if not all(t.passed for t in cells)), None)
        todo = (f"fix {first} in JupyterLab, save the notebook (Ctrl+S / Cmd+S)" if first
                else "undo the changes above, save the notebook")
        lines.append(f"  {n_ok} of {len(exercises)} exercises pass their visible tests. "
                     f"Next: {todo}, and run this check again.")
    return status, "\n".join(lines)


def _expand(patterns: list[str]) -> list[str]:
    """``notebooks/*/*.ipynb`` expanded here too (Windows shells pass it through as it is)."""
    import glob

    out = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") and not os.path.exists(pattern) else []
        out += [p for p in found if ".ipynb_checkpoints" not in Path(p).parts] or [pattern]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    try:
        sys.stdout.reconfigure(errors="replace")
    except (AttributeError, ValueError):
        pass
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    worst = 0
    for path in _expand(args.notebooks):
        print(f"Running {path} in a fresh kernel...", flush=True)
        status, message = validate(path, timeout=args.timeout)
        print(message, flush=True)
        worst = max(worst, status)
    return worst


if __name__ == "__main__":
    sys.exit(main())
