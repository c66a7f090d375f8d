"""No exercise can be passed by delegating to the student edition.

For every graded exercise of every notebook, the reference solution scores full marks and every
shortcut student of :mod:`shortcut_students` scores 0, graded through the production path:

* a Jupyter kernel whose ``helpers`` is the student edition as the release builds it
  (:func:`grading.course.release.build_student_helpers`: no ``helpers/_reference``), the
  instructor's editable install removed from its import system;
* in it, the notebook's own setup cell, its reference solution cells, then per shortcut the
  shortcut's definitions and the *hidden* part of the exercise's test cell, which records the
  answers (``grade_hidden``) in a display output as at autograde time (the visible part is
  left out, so the hidden tests alone must stop the shortcut);
* in this process (the grader's, with the reference), :func:`helpers.checks.core.verify_cell` on the
  trusted test-cell source and those outputs, without and with a per-student variant.

One kernel per notebook and variant keeps this light (about a minute on one core).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from shortcut_students import SHORTCUTS, TOOLS

from grading.course.release import build_student_helpers
from helpers.checks import core

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(REPO.glob("notebooks/*/*.ipynb"))
#: Variants off (the literal cases) and one student's variant.
VARIANTS = [None, 52]

_BOOT = """\
import os, sys
os.environ["COURSE_VARIANT"] = {variant!r}
# the kernel sees the student edition only: drop the instructor's editable install
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p]
sys.path.insert(0, {edition!r})
import matplotlib
matplotlib.use("Agg")
import helpers
assert not helpers.reference_available() and helpers.__file__.startswith({edition!r}), helpers.__file__
"""


def _hidden_part(source: str) -> str:
    start, end = source.index("### BEGIN HIDDEN TESTS"), source.index("### END HIDDEN TESTS")
    return source[start:end]


def _exercises(nb) -> list[dict]:
    """Per graded test cell: its check, its trusted source and the solution cells it calls."""
    solutions = [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    out = []
    for cell in nb.cells:
        if "tests" in cell.metadata.get("tags", []) and "### BEGIN HIDDEN TESTS" in cell.source:
            ((check, _),) = core.hidden_calls_in_source(cell.source)
            out.append({"check": check, "source": cell.source})
    return out, solutions


def _setup(nb) -> str:
    (cell,) = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    return "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))


def _run(path: Path, variant, edition: Path, workdir: Path) -> dict:
    """Run every student of one notebook in one kernel; ``{(check, student): verdict}``."""
    nb = nbformat.read(path, as_version=4)
    exercises, solutions = _exercises(nb)
    cells = [new_code_cell(_BOOT.format(variant="off" if variant is None else str(variant), edition=str(edition))),
             new_code_cell(_setup(nb)), *[new_code_cell(s) for s in solutions], new_code_cell(TOOLS)]
    graded = []  # (index of the hidden cell, check, student, trusted source)
    for ex in exercises:
        students = [("reference", ""), *SHORTCUTS.get(ex["check"], [])]
        for name, student in students:
            if student:
                cells.append(new_code_cell(student))
            graded.append((len(cells), ex["check"], name, ex["source"]))
            cells.append(new_code_cell(_hidden_part(ex["source"])))
            cells.extend(new_code_cell(s) for s in solutions)  # the next student starts from the reference
    run = new_notebook(cells=cells)
    run.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(run, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    for cell in run.cells[:2 + len(solutions) + 1]:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{path.name}: set-up cell failed: {errors[0].get('evalue')}\n{cell.source[:300]}"
    verdicts = {}
    for index, check, name, source in graded:
        outputs = json.loads(json.dumps(run.cells[index].get("outputs", [])))
        verdicts[(check, name)] = core.verify_cell(source, outputs, variant=variant)
    return verdicts


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return build_student_helpers(tmp_path_factory.mktemp("student-edition")).parent


@pytest.fixture(scope="module")
def results(edition, tmp_path_factory) -> dict:
    cache: dict = {}

    def get(path: Path, variant):
        if (path, variant) not in cache:
            cache[(path, variant)] = _run(path, variant, edition, tmp_path_factory.mktemp("kernel"))
        return cache[(path, variant)]

    return get


def test_every_graded_exercise_has_shortcut_students():
    checks = {ex["check"] for path in NOTEBOOKS for ex in _exercises(nbformat.read(path, as_version=4))[0]}
    assert checks == set(SHORTCUTS), checks ^ set(SHORTCUTS)
    assert all(SHORTCUTS[c] for c in checks)


@pytest.mark.parametrize("variant", VARIANTS, ids=["variants-off", "variant-52"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_reference_scores_full_and_every_shortcut_scores_zero(path, variant, results):
    verdicts = results(path, variant)
    for (check, name), verdict in verdicts.items():
        assert verdict is not None, (check, name)
        if name == "reference":
            assert verdict.passed and verdict.n_passed == verdict.n_cases, (check, verdict.message)
        else:
            assert not verdict.passed, f"{check}: the shortcut '{name}' passed"
