"""The instructor's books: course.toml's facts in nbgrader's gradebook, and the table of grades.

``sync`` writes what nbgrader has columns for: each assignment's due date, each roster
student's names, email and LMS id, each submission's extension. Every step calls it first, so
nbgrader's own commands (``nbgrader export``, the formgrader) see the same due dates, names and
late penalties as ``grades``. ``table`` is the one reading of the gradebook that every export
(grades.csv, Canvas, Moodle) formats: final score = nbgrader's score minus its late penalty,
``None`` for no submission (distinct from a submission that scored 0), withdrawn students left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nbgrader.api import Gradebook, MissingEntry

from . import withdraw
from .errors import CourseError
from .gradebook import submitted_notebooks
from .paths import Course
from .settings import Settings, Student


def need_gradebook(course: Course) -> None:
    """Stop (one line) when there is no gradebook yet, instead of creating an empty one."""
    if course.local_db and not course.db.exists():
        raise CourseError(f"no gradebook at {course.db}: run the release step first (make release)")


def sync(course: Course, pairs=()) -> Settings:
    """Due dates, roster and extensions from course.toml into the gradebook; returns the settings.

    ``pairs``: ``(student, assignment)`` about to be autograded; those with an extension get
    their submission row (with the extension) now, so that nbgrader's lateness, computed
    during the autograde, already includes it.
    """
    settings = course.settings()
    if settings.path is None:  # no course.toml: the gradebook is left as the instructor made it
        return settings
    gone = withdraw.withdrawn_students(course)
    with Gradebook(course.db_url) as gb:
        for a in gb.assignments:
            due = settings.assignment(a.name).due
            if a.duedate != due:
                a.duedate = due
        for s in settings.roster:
            if s.id not in gone:
                gb.update_or_create_student(s.id, first_name=s.first_name, last_name=s.last_name,
                                            email=s.email or None, lms_user_id=s.canvas_id or None)
        for a in gb.assignments:
            extensions = settings.assignment(a.name).extensions
            for sub in a.submissions:
                _extend(sub, extensions.get(sub.student.id))
        for student, assignment in pairs:
            hours = settings.assignment(assignment).extensions.get(student)
            if hours is not None and student not in gone:
                gb.update_or_create_student(student)
                _extend(gb.update_or_create_submission(assignment, student), hours)
        gb.db.commit()
    return settings


def _extend(submission, hours: float | None) -> None:
    want = dt.timedelta(hours=hours) if hours else None
    if submission.extension != want:
        submission.extension = want


@dataclass
class Mark:
    """One student's result on one assignment (``score`` None: nothing was submitted)."""

    score: float | None = None
    raw: float = 0.0
    penalty: float = 0.0
    max_score: float = 0.0
    seconds_late: float = 0.0
    timestamp: dt.datetime | None = None
    review: bool = False


@dataclass
class Row:
    student: Student
    marks: dict[str, Mark] = field(default_factory=dict)
    on_roster: bool = True

    @property
    def total(self) -> float:
        return sum(m.score or 0.0 for m in self.marks.values())


def mark_of(gb: Gradebook, assignment, student_id: str) -> Mark:
    """The gradebook's result of one submission: nbgrader's score minus nbgrader's late penalty."""
    try:
        sub = gb.find_submission(assignment.name, student_id)
    except MissingEntry:
        return Mark(max_score=float(assignment.max_score))
    raw, penalty = float(sub.score or 0.0), float(sub.late_submission_penalty or 0.0)
    return Mark(score=max(0.0, raw - penalty), raw=raw, penalty=penalty, max_score=float(assignment.max_score),
                seconds_late=float(sub.total_seconds_late or 0.0), timestamp=sub.timestamp,
                review=bool(sub.needs_manual_grade))


def table(course: Course) -> tuple[list[str], list[Row]]:
    """Assignment names (sorted) and one row per student (roster order, then the others by id)."""
    need_gradebook(course)
    settings = sync(course)
    gone = withdraw.withdrawn_students(course)
    with Gradebook(course.db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        known = {s.id: s for s in gb.students}
        rows = [Row(s) for s in settings.roster if s.id not in gone]
        listed = {r.student.id for r in rows}
        rows += [Row(Student(id=sid, first_name=s.first_name or "", last_name=s.last_name or "",
                             email=s.email or "", canvas_id=s.lms_user_id or ""), on_roster=not settings.roster)
                 for sid, s in sorted(known.items()) if sid not in listed and sid not in gone]
        for row in rows:
            for a in assignments:
                row.marks[a.name] = mark_of(gb, a, row.student.id) if row.student.id in known else \
                    Mark(max_score=float(a.max_score))
    return [a.name for a in assignments], rows


def score_line(course: Course, student_id: str, assignment_id: str) -> str:
    """``"4/5 points (1 late penalty)"``: what the autograde report prints after each submission."""
    with Gradebook(course.db_url) as gb:
        try:
            mark = mark_of(gb, gb.find_assignment(assignment_id), student_id)
        except MissingEntry:
            return ""
    if mark.score is None:
        return ""
    text = f"{fmt(mark.score)}/{fmt(mark.max_score)} points"
    if mark.penalty:
        text += f" (after a late penalty of {fmt(mark.penalty)})"
    return text


def flag_review(course: Course, student_id: str, assignment_id: str) -> None:
    """Flag every grade of a submission for the instructor (e.g. its notebook is of another assignment)."""
    with submitted_notebooks(course.db_url, student_id, assignment_id) as notebooks:
        for nb in notebooks:
            for grade in nb.grades:
                grade.needs_manual_grade = True


def fmt(x: float) -> str:
    return f"{x:g}"


def user_error(exc: Exception) -> bool:
    """Whether an exception is an instructor's mistake to print as one line (not a bug to trace)."""
    return isinstance(exc, (CourseError, ValueError, FileNotFoundError, NotADirectoryError))
