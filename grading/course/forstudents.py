"""What feedback may show a student: no hidden-test code, no instructor file paths.

``ForStudents`` runs first in nbgrader's feedback pipeline (``GenerateFeedback.preprocessors``,
nbgrader_config.py). It removes the hidden-test regions of test cells (nbgrader's own
``ClearHiddenTests``: the region between the markers, nothing else) and replaces the
instructor's absolute paths in outputs (tracebacks name the repository, the environment,
the grader's temporary folders) with ``…``. Error outputs stay, so the failure reason
(``HiddenTestFailure: ...``) is still there.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool, List, Unicode


def private_paths() -> list[str]:
    """Folders whose absolute paths never reach a student, longest first (most specific wins)."""
    repo = Path(__file__).resolve().parents[2]
    paths = {str(repo), sys.prefix, sys.base_prefix, os.path.expanduser("~"), tempfile.gettempdir(),
             os.environ.get("COURSE_ROOT", ""), os.environ.get("COURSE_SOURCE", "")}
    return sorted((p for p in paths if p and p != os.sep), key=len, reverse=True)


class ForStudents(ClearHiddenTests):
    """Hidden tests removed, instructor paths masked (see the module docstring)."""

    paths = List(Unicode(), help="absolute folders to mask in outputs (default: private_paths())").tag(config=True)
    # the autograded notebook's cells are already checked; a stray marker must not stop feedback
    enforce_metadata = Bool(False).tag(config=True)

    def preprocess(self, nb, resources):
        found = self.paths or private_paths()
        self._pattern = re.compile("|".join(re.escape(p) for p in found)) if found else None
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if self._pattern is not None:
            for output in cell.get("outputs", []):
                _mask(output, self._pattern)
        return cell, resources


def _mask(node, pattern: re.Pattern) -> None:
    """Replace the paths in every string of one output (text, traceback lines, data), in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            node[key] = pattern.sub("…", value)
        elif isinstance(value, (dict, list)):
            _mask(value, pattern)
