"""Autograde a list of ``student:assignment`` pairs into one gradebook (one process per shard).

``python -m grading.course.worker ROOT SOURCE DB_URL OUT.json student:assignment ...``

Each finished submission is also appended, as one JSON line, to ``OUT.progress`` (beside
``OUT.json``), which the parent reads while the worker runs (``progress.py``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import findings
from .gradebook import mark_unsandboxed, zero_failed
from .nbapi import api, failure_reason
from .paths import Course
from .sandbox import sandboxed


def grade_pairs(course: Course, db_url: str, pairs: list[tuple[str, str]], on_done=None) -> list[dict]:
    """Grade ``pairs`` one after the other; ``on_done(entry)`` after each (progress)."""
    nb = api(course, CourseDirectory={"db_url": db_url})
    results = []
    for student, assignment in pairs:
        start = time.monotonic()
        findings.reset()
        result = nb.autograde(assignment, student, force=True, create=True)
        log = result.get("log") or ""
        # the report's notes come from the grader's own preprocessors, never from the log's text
        notes, matches = findings.take()
        entry = {"student": student, "assignment": assignment, "success": bool(result["success"]),
                 "notes": notes, "variant_matches": matches, "seconds": round(time.monotonic() - start, 2)}
        if not result["success"]:
            entry["error"] = failure_reason(log, result.get("error"))
            zero_failed(db_url, student, assignment)
        if not sandboxed():
            mark_unsandboxed(db_url, student, assignment)
        results.append(entry)
        if on_done is not None:
            on_done(entry)
    return results


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root, source, db_url, out, *pairs = argv
    course = Course(Path(root), Path(source), db_url)
    with open(Path(out).with_suffix(".progress"), "a", encoding="utf-8") as progress:
        def done(entry):
            progress.write(json.dumps(entry) + "\n")
            progress.flush()

        results = grade_pairs(course, db_url, [tuple(p.split(":", 1)) for p in pairs], on_done=done)
    Path(out).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
