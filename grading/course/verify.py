"""``VerifyHiddenTests``: the verdict of every test cell, computed in the grader's process.

Runs in autograde after ``GuardedExecute`` and before ``LimitOutput``/``SaveAutoGrades``.
The cell source is trusted (``RestoreCells`` put the gradebook's copy back); the outputs are
not (they came from the student's kernel). For each grade cell that is not a solution cell:

* ``helpers.checks.core.verify_cell`` judges the recorded hidden-test answers; the payload
  metadata is then stripped (small notebooks, nothing to reuse in feedback);
* a cell with no ``grade_hidden`` call fails closed (``require_hidden``): in-kernel asserts
  alone can be defeated by patching the kernel;
* ``execute_result`` outputs become ``display_data``: nbgrader reads the first
  ``execute_result`` as partial credit, and student code can emit one from inside a test
  cell (``sys.displayhook``), ahead of the error that should zero the cell;
* on failure an ``error`` output (``HiddenTestFailure``) is appended, so nbgrader's
  ``determine_grade`` gives 0. An in-kernel failure (a visible test) keeps its own error
  output and stays a failure;
* the verdict is also written to the cell's metadata (``inert.VERDICT_KEY``: passed, the
  grader's message, the class name of an in-kernel error): the returned feedback is built
  from it and from the restored source, never from what the kernel printed (``forstudents.py``).

Reference answers are computed once per hidden case per grader process
(``helpers.checks.core._expected``); students' answers are never cached.

Per-student variants (``variants.py``): the submitter's variant is derived from the student id
of the submission (nbgrader's ``resources``), never from the notebook; records made on another
roster student's variant are kept in the grading process (``findings.match``; the autograde
report, ``logs/collusion.csv``), and logged as ``[course] answers match the variant of student X``.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, List

from . import findings
from .inert import VERDICT_KEY

HIDDEN_FAILURE = "HiddenTestFailure"
#: The report line of a submission answered on a classmate's variant (followed by the id).
MATCHES = "answers match the variant of student "


class VerifyHiddenTests(NbGraderPreprocessor):
    """Judge hidden tests out of the kernel; see the module docstring."""

    require_hidden = Bool(True, help="Fail a test cell that records no hidden-test answers.").tag(config=True)
    check_modules = List([], help="Extra Python files registering checks (tests use it; the course's "
                         "checks are registered by importing helpers.checks).").tag(config=True)

    def preprocess(self, nb, resources):
        import importlib.util
        import os
        import sys
        from pathlib import Path

        for path in self.check_modules:
            name = Path(path).stem
            if name not in sys.modules:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
        from . import variants
        from .paths import GRADING

        info = resources.get("nbgrader", {}) if isinstance(resources, dict) else {}
        self._variant, self._classmates = None, {}
        if info.get("student") and info.get("assignment"):
            root = Path(os.environ.get("COURSE_ROOT") or GRADING)
            _, self._variant, self._classmates = variants.for_submission(root, info["student"], info["assignment"])
        for cell in nb.cells:  # only this grader's verdicts count: a submission may carry its own key
            if isinstance(cell.get("metadata"), dict):
                cell.metadata.pop(VERDICT_KEY, None)
        nb, resources = super().preprocess(nb, resources)
        for other, cells in findings.matches().items():
            self.log.warning("%s %s%s (cells %s)", findings.TAG, MATCHES, other, ", ".join(cells))
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        from helpers.checks.core import PAYLOAD_KEY, verify_cell

        outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error" or o.get("ename")]
        # the kernel's own error (before the grader adds one): nbgrader scores the cell 0 for it
        crashed = next((o.get("ename", "") for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        try:
            verdict = verify_cell(cell.source, outputs, variant=getattr(self, "_variant", None),
                                  classmates=getattr(self, "_classmates", None))
            for other in getattr(verdict, "matches", []):
                findings.match(other, cell.metadata.nbgrader.get("grade_id"))
            message = None if verdict is None else verdict.message
            passed = None if verdict is None else verdict.passed
        except Exception as exc:  # a malformed test cell is an authoring error: never a pass
            passed, message = False, f"grader error while verifying the hidden tests: {type(exc).__name__}: {exc}"
        if passed is None and self.require_hidden:
            passed, message = False, "this test cell recorded no hidden-test answers (grade_hidden was not called)"
        for out in cell.outputs:
            meta = out.get("metadata")
            if isinstance(meta, dict):
                meta.pop(PAYLOAD_KEY, None)
            if out.get("output_type") == "execute_result":
                out.output_type = "display_data"
                out.pop("execution_count", None)
        if message:
            cell.outputs.append(new_output("stream", name="stdout", text=message.rstrip() + "\n"))
        if passed is False:
            first = message.splitlines()[0] if message else "hidden tests failed"
            cell.outputs.append(
                new_output("error", ename=HIDDEN_FAILURE, evalue=first, traceback=[f"{HIDDEN_FAILURE}: {message}"])
            )
        cell.metadata[VERDICT_KEY] = {"passed": passed is not False and crashed is None, "message": message or "",
                                      "visible_error": _error_name(crashed) if crashed is not None else "",
                                      "variant": getattr(self, "_variant", None)}
        grid = cell.metadata.nbgrader.get("grade_id")
        resources.setdefault("hidden_verdicts", {})[grid] = {"passed": bool(passed), "message": message or ""}
        return cell, resources


def _error_name(ename) -> str:
    """The kernel's exception class name, if it is one (the kernel may put any text there)."""
    text = str(ename)
    return text if text.isidentifier() and len(text) <= 60 else "an error"
