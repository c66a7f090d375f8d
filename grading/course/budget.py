"""The per-notebook time budget, from the work: a multiple of the source notebook's own run time.

Why: a fixed budget must fit the slowest notebook of any course, so for a course whose notebooks
take a few seconds it lets a stalling submission hold a grading slot for many minutes. At release
each source notebook (the instructor's, with its solutions) is run once the way autograde runs a
submission, in the sandbox, on this machine, and its wall time, kernel start included, is kept in
``<root>/run-times.json``. Autograde then gives every submission of that notebook
``max(floor, factor x measured)`` seconds (``[grading]`` in ``course.toml``: ``budget_factor``,
default 20, ``budget_floor``, default 60 s). A fixed ``notebook_timeout`` there, or the
``COURSE_NOTEBOOK_TIMEOUT`` environment variable, overrides it; a notebook never measured (released
before this existed, or where the sandbox could not run) gets :data:`UNMEASURED` seconds.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

FILE = "run-times.json"
#: the budget of a notebook without a measured run time (the old fixed default)
UNMEASURED = 900
ENV = "COURSE_NOTEBOOK_TIMEOUT"


def load(root: Path) -> dict[str, dict[str, float]]:
    """``{assignment: {notebook name: seconds}}`` measured at release (empty when there is none)."""
    try:
        data = json.loads((Path(root) / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def budget(root: Path, assignment: str | None, notebook: str | None) -> tuple[int, str]:
    """``(seconds, where they come from)`` for one notebook; 0 seconds: no budget."""
    if os.environ.get(ENV):
        return int(os.environ[ENV]), f"set by {ENV}"
    from .settings import load as load_settings

    grading = load_settings(Path(root)).grading
    if grading.notebook_timeout is not None:
        return grading.notebook_timeout, "grading.notebook_timeout in course.toml"
    measured = load(root).get(assignment or "", {}).get(notebook or "")
    if not isinstance(measured, (int, float)) or measured <= 0:
        return UNMEASURED, "the default: this notebook's run time was not measured at release"
    seconds = max(grading.budget_floor, math.ceil(grading.budget_factor * measured))
    return int(seconds), (f"{grading.budget_factor:g}x the {measured:.1f} s its source took at release, "
                          f"at least {grading.budget_floor:g} s")


def measure(course, assignment: str, *, log=print) -> dict[str, float]:
    """Run each source notebook of ``assignment`` as autograde would (sandboxed); record and return its wall time.

    The sandbox is required unless ``COURSE_NO_SANDBOX=1`` (the instructor's own notebook is
    trusted, but a time measured outside the sandbox would not be the one autograde sees).
    """
    import nbformat

    from . import findings, sandbox
    from .execute import GuardedExecute

    if sandbox.sandboxed():
        sandbox.check()
    course.environ()
    times = {}
    folder = course.source / assignment
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        ep = GuardedExecute(notebook_timeout=0, timeout=int(os.environ.get("COURSE_CELL_TIMEOUT", "120")))
        start = time.monotonic()
        ep.preprocess(nb, {"metadata": {"path": str(folder)}})
        times[path.stem] = round(time.monotonic() - start, 3)
        findings.reset()  # nothing of the instructor's run belongs in a submission's report
        errors = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") or i for i, c in enumerate(nb.cells)
                  if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        if errors:
            log(f"note: {assignment}/{path.name} raised errors when run for its time budget (cells {errors})")
    record(course.root, assignment, times)
    return times


def record(root: Path, assignment: str, times: dict[str, float]) -> None:
    """Keep ``times`` for ``assignment`` (the other assignments' are kept); written atomically."""
    data = load(root)
    data[assignment] = times
    target = Path(root) / FILE
    tmp = target.with_name(f".{FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(target)
