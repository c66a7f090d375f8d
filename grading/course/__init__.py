"""Instructor tooling for the course: ``python -m grading.course <step>`` (see grading/README.md)."""

import os as _os
import sys as _sys

# One BLAS thread in the grader and its shard workers (set before numpy is first imported;
# workers inherit it): the verifier's reference computations are small matrices, where
# OpenBLAS threads cost more than they save, and parallel shards already use every core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

# jsonschema (imported by nbformat) checks the "iri" formats with rfc3987_syntax when it is
# installed (jupyter-events asks for jsonschema[format-nongpl]), and building that grammar is
# 1.5 s of each grader process's 2.7 s start: every CLI step and every parallel shard worker
# pays it. No schema nbformat or nbgrader validates has an "iri" format, so jsonschema's
# fallback (the check is skipped) changes nothing here.
_sys.modules.setdefault("rfc3987_syntax", None)

# nbgrader's Gradebook runs the `alembic` script of this interpreter's environment: make it
# findable when the environment is not activated (``.venv/bin/python -m grading.course``).
_bin = _os.path.dirname(_sys.executable)
if _bin not in _os.environ.get("PATH", "").split(_os.pathsep):
    _os.environ["PATH"] = _bin + _os.pathsep + _os.environ.get("PATH", "")
