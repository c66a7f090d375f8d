"""Gradebook operations of the grading steps, all through nbgrader's ``Gradebook`` API.

``merge`` copies what ``nbgrader autograde`` writes for one submission (the student,
the submission timestamp, each notebook's late penalty, each grade's ``auto_score`` and
``needs_manual_grade``, each comment's ``auto_comment``) from a shard's gradebook into the
main one. A shard starts as a copy of the main gradebook and autogrades a disjoint set of
students, so after the merges the main gradebook holds the same values a sequential run
would have written (manual scores and everything else are never touched).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")


def ensure_course_row(db_url: str) -> None:
    """Create the ``default_course`` row that ``Gradebook(url)`` (no course id) inserts when missing.

    nbgrader checks for the row and inserts it, unlocked: two graders opening a new gradebook on
    a server at once both insert it, and one fails on the primary key. Created once at release,
    the row is only read afterwards; a lost race here is harmless (the row exists either way).
    """
    from nbgrader.api import InvalidEntry

    for attempt in range(2):
        try:
            Gradebook(db_url).close()
            return
        except InvalidEntry:
            if attempt:
                raise


def copy_sqlite(src: Path, dest: Path) -> None:
    """A consistent copy of an SQLite gradebook (the backup API, not a file copy)."""
    dest.unlink(missing_ok=True)
    with sqlite3.connect(src) as s, sqlite3.connect(dest) as d:
        s.backup(d)


def merge(src_url: str, dst_url: str, pairs: list[tuple[str, str]]) -> None:
    """Copy the autograde results of ``(student, assignment)`` pairs from ``src_url`` to ``dst_url``."""
    with Gradebook(src_url) as src, Gradebook(dst_url) as dst:
        for student_id, assignment_id in pairs:
            try:
                sub = src.find_submission(assignment_id, student_id)
            except MissingEntry:  # nbgrader never got as far as creating it
                continue
            student = src.find_student(student_id)
            dst.update_or_create_student(student_id, **{f: getattr(student, f) for f in STUDENT_FIELDS})
            dst.update_or_create_submission(assignment_id, student_id, timestamp=sub.timestamp)
            for nb in sub.notebooks:
                target = dst.find_submission_notebook(nb.name, assignment_id, student_id)
                target.late_submission_penalty = nb.late_submission_penalty
                for grade in nb.grades:
                    g = dst.find_grade(grade.name, nb.name, assignment_id, student_id)
                    g.auto_score, g.needs_manual_grade = grade.auto_score, grade.needs_manual_grade
                for comment in nb.comments:
                    c = dst.find_comment(comment.name, nb.name, assignment_id, student_id)
                    c.auto_comment = comment.auto_comment
            dst.db.commit()


def zero_failed(db_url: str, student_id: str, assignment_id: str) -> None:
    """Record a submission nbgrader could not grade: 0 points, flagged for the instructor.

    Without this a failed regrade would leave the previous run's scores in place.
    """
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student_id)
        sub = gb.update_or_create_submission(assignment_id, student_id)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = True
        gb.db.commit()


UNSANDBOXED_COMMENT = "[graded without the operating-system sandbox (--no-sandbox)]"


@contextlib.contextmanager
def submitted_notebooks(db_url: str, student_id: str, assignment_id: str):
    """The notebooks of one submission in an open gradebook (empty if there is no such submission).

    What the ``with`` block changes in them is committed when it ends.
    """
    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment_id, student_id)
        except MissingEntry:
            yield []
            return
        yield list(sub.notebooks)
        gb.db.commit()


def mark_unsandboxed(db_url: str, student_id: str, assignment_id: str) -> None:
    """Say in every comment of the submission that its kernel ran without the sandbox (once)."""
    with submitted_notebooks(db_url, student_id, assignment_id) as notebooks:
        for nb in notebooks:
            for comment in nb.comments:
                if UNSANDBOXED_COMMENT not in (comment.auto_comment or ""):
                    comment.auto_comment = "\n".join(filter(None, [comment.auto_comment, UNSANDBOXED_COMMENT]))


def cell_checksums(cells) -> set[str]:
    """Checksums a notebook's nbgrader cells carry or have: to recognise which assignment it is.

    The stored checksum (release notebooks carry one per cell) and the one computed from the
    cell as it is (an untouched locked cell of any version of the notebook matches it).
    """
    from nbgrader.utils import compute_checksum

    out = set()
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or "grade_id" not in meta:
            continue
        if meta.get("checksum"):
            out.add(meta["checksum"])
        try:
            out.add(compute_checksum(cell))
        except Exception:  # malformed metadata: nothing to recognise
            continue
    return out


def snapshot(db_url: str) -> dict:
    """Every grading value in a gradebook, keyed by name (ids are random): for comparisons."""
    out = {}
    with Gradebook(db_url) as gb:
        for student in gb.students:
            out[("student", student.id)] = tuple(getattr(student, f) for f in STUDENT_FIELDS)
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                key = (sub.student.id, assignment.name)
                out[("submission", *key)] = str(sub.timestamp)
                for nb in sub.notebooks:
                    out[("penalty", *key, nb.name)] = nb.late_submission_penalty
                    for g in nb.grades:
                        out[("grade", *key, nb.name, g.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade)
                    for c in nb.comments:
                        out[("comment", *key, nb.name, c.name)] = (c.auto_comment, c.manual_comment)
    return out
