"""What feedback may show a student: their own sources, the tests' visible part, the grader's verdicts.

``ForStudents`` runs first in nbgrader's feedback pipeline (``GenerateFeedback.preprocessors``,
nbgrader_config.py). Nothing the grading kernel printed reaches the feedback: that kernel ran
the hidden tests, so any of its outputs (a cell of the student's that prints ``In``, a frame's
code, a figure with the cases drawn into it) can carry a hidden test, in clear or encoded.
So the feedback notebook is built from:

* the cells' sources: the student's own, and the course's cells as the grader restored them
  from the gradebook, with the hidden-test regions of test cells removed (nbgrader's own
  ``ClearHiddenTests``: the region between the markers);
* for each test cell, one output written here from the grader's verdict (``inert.VERDICT_KEY``,
  set by ``verify.py``): passed, or the grader's reason, or the class of the error the visible
  tests raised; instructor paths in it masked with ``…``;
* no other output.

The page is then rendered inert (``feedback_page.FeedbackPageExporter``: whitelisted fields,
sanitised markdown, a script-free Content-Security-Policy).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool, List, Unicode

from .inert import VERDICT_KEY
from .verify import HIDDEN_FAILURE

#: The verdict line of a test cell whose autograde predates verdicts in metadata.
NO_VERDICT = "The grader's verdict for this cell was not recorded: ask your instructor to grade it again."


def private_paths() -> list[str]:
    """Folders whose absolute paths never reach a student, longest first (most specific wins)."""
    repo = Path(__file__).resolve().parents[2]
    paths = {str(repo), sys.prefix, sys.base_prefix, os.path.expanduser("~"), tempfile.gettempdir(),
             os.environ.get("COURSE_ROOT", ""), os.environ.get("COURSE_SOURCE", "")}
    return sorted((p for p in paths if p and p != os.sep), key=len, reverse=True)


def verdict_outputs(verdict) -> list:
    """The one output a test cell shows in feedback, from the grader's verdict (``None``: not recorded)."""
    if not isinstance(verdict, dict):
        return [new_output("stream", name="stderr", text=NO_VERDICT + "\n")]
    variant = verdict.get("variant")
    mine = f" (your variant, {variant})" if isinstance(variant, int) else ""
    if verdict.get("passed") is True:
        said = str(verdict.get("message") or "The grader's hidden tests agree with your work.").rstrip()
        return [new_output("stream", name="stdout", text=said + mine + "\n")]
    if verdict.get("visible_error"):
        text = (f"The visible tests of this cell failed when your work was graded ({verdict['visible_error']}). "
                "Run this cell in your notebook to see the details.")
    else:
        text = str(verdict.get("message") or "The hidden tests failed.").rstrip() + mine
    return [new_output("error", ename=HIDDEN_FAILURE, evalue=text.splitlines()[0],
                       traceback=[f"{HIDDEN_FAILURE}: {text}"])]


class ForStudents(ClearHiddenTests):
    """Hidden tests removed, kernel outputs replaced by the grader's verdicts (see the module docstring)."""

    paths = List(Unicode(), help="absolute folders to mask in outputs (default: private_paths())").tag(config=True)
    # the autograded notebook's cells are already checked; a stray marker must not stop feedback
    enforce_metadata = Bool(False).tag(config=True)

    def preprocess(self, nb, resources):
        found = self.paths or private_paths()
        self._pattern = re.compile("|".join(re.escape(p) for p in found)) if found else None
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        verdict = meta.pop(VERDICT_KEY, None)
        if cell.cell_type != "code":
            return cell, resources
        test = utils.is_grade(cell) and not utils.is_solution(cell)
        cell.outputs = verdict_outputs(verdict) if test else []
        if self._pattern is not None:
            for output in cell.outputs:
                _mask(output, self._pattern)
        return cell, resources


def _mask(node, pattern: re.Pattern) -> None:
    """Replace the paths in every string of one output (text, traceback lines), in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            node[key] = pattern.sub("…", value)
        elif isinstance(value, (dict, list)):
            _mask(value, pattern)
