"""Instructor tooling for the course: ``python -m grading.course <step>`` (see grading/README.md)."""

import os as _os
import sys as _sys

# nbgrader's Gradebook runs the `alembic` script of this interpreter's environment: make it
# findable when the environment is not activated (``.venv/bin/python -m grading.course``).
_bin = _os.path.dirname(_sys.executable)
if _bin not in _os.environ.get("PATH", "").split(_os.pathsep):
    _os.environ["PATH"] = _bin + _os.pathsep + _os.environ.get("PATH", "")
