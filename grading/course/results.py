"""Feedback (nbgrader's HTML) and the grades table (CSV, one row per student)."""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .nbapi import api, last_line
from .paths import Course


def feedback(course: Course, *, students=None, assignments=None, log=print) -> list[str]:
    """HTML feedback for every autograded submission; returns the failures (also logged)."""
    nb = api(course)
    base = course.dir("autograded")
    failures = []
    for sdir in sorted(base.iterdir()) if base.is_dir() else []:
        if students and sdir.name not in students:
            continue
        for adir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            if assignments and adir.name not in assignments:
                continue
            result = nb.generate_feedback(adir.name, sdir.name, force=True)
            if not result["success"]:
                failures.append(f"{sdir.name} / {adir.name}: {last_line(result.get('error'))}")
    for line in failures:
        log(f"feedback FAILED: {line}")
    log(f"feedback in {course.dir('feedback')}")
    return failures


def grades(course: Course, out: Path | None = None) -> Path:
    """Write ``grades.csv``: student, one score column per assignment, total, max, needs_review.

    A student without a submission scores 0 for it; ``needs_review`` lists the assignments
    with a grade flagged for manual review (e.g. a submission the autograder could not run).
    """
    out = Path(out or course.root / "grades.csv")
    with Gradebook(course.db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        header = ["student_id", *[a.name for a in assignments], "total", "max_total", "needs_review"]
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            scores, review = [], []
            for a in assignments:
                try:
                    sub = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    scores.append(0.0)
                    continue
                scores.append(float(sub.score))
                if sub.needs_manual_grade:
                    review.append(a.name)
            max_total = sum(float(a.max_score) for a in assignments)
            rows.append([student.id, *[_fmt(s) for s in scores], _fmt(sum(scores)), _fmt(max_total), " ".join(review)])
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return out


def _fmt(x: float) -> str:
    return f"{x:g}"
