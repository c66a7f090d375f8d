"""Grades out of the gradebook: the course's wide CSV, and the files Canvas' and Moodle's gradebook imports take.

All three format ``books.table`` (final score = score minus late penalty; no submission is
"missing" in grades.csv and an empty cell for an LMS, which both read as "leave ungraded",
never as 0).

* **Canvas** (Grades > Import): the layout of Canvas' own gradebook export: columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment headed
  ``<name> (<assignment id>)`` (a header without an id creates a new assignment), a second
  row ``Points Possible`` giving each assignment's points, then one row per student
  (``Student`` is ``Last, First``; Canvas matches rows by ``ID``, the Canvas user id, or the SIS ids).
* **Moodle** (Grades > Import > CSV file): ``Email address, First name, Last name, ID number``
  then one column per assignment; map "Email address" to ``useremail`` (or "ID number" to
  ``idnumber``) and each assignment column to its grade item.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .books import Row, fmt, table
from .paths import Course
from .settings import Settings

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_FIXED = ["Email address", "First name", "Last name", "ID number"]
FORMATS = ("csv", "canvas", "moodle")


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _cell(row: Row, a: str, empty: str) -> str:
    score = row.marks[a].score
    return empty if score is None else fmt(score)


def wide(names: list[str], rows: list[Row]) -> list[list[str]]:
    """grades.csv: names, one column per assignment (``missing`` when nothing was submitted), totals."""
    out = [["student_id", "first_name", "last_name", "email", *names, "total", "max_total", "late_penalty",
            "late", "missing", "needs_review"]]
    for row in rows:
        s, marks = row.student, row.marks
        out.append([s.id, s.first_name, s.last_name, s.email, *[_cell(row, a, "missing") for a in names],
                    fmt(row.total), fmt(sum(m.max_score for m in marks.values())),
                    fmt(sum(m.penalty for m in marks.values())),
                    " ".join(a for a in names if marks[a].seconds_late > 0 and marks[a].score is not None),
                    " ".join(a for a in names if marks[a].score is None),
                    " ".join(a for a in names if marks[a].review)])
    return out


def canvas(settings: Settings, names: list[str], rows: list[Row]) -> tuple[list[list[str]], list[str]]:
    """Canvas' gradebook CSV and warnings (students Canvas cannot match)."""
    heads = []
    for a in names:
        spec = settings.assignment(a)
        heads.append(f"{spec.title or a} ({spec.lms_id})" if spec.lms_id else spec.title or a)
    points = ["    Points Possible", "", "", "", "",
              *[fmt(rows[0].marks[a].max_score) if rows else "" for a in names]]
    out, warnings = [CANVAS_FIXED + heads, points], []
    for row in rows:
        s = row.student
        if not (s.canvas_id or s.sis_user_id or s.sis_login_id):
            warnings.append(f"{s.id}: no canvas_id, sis_user_id or sis_login_id in course.toml; Canvas cannot "
                            "match this row")
        name = f"{s.last_name}, {s.first_name}" if s.last_name else s.full_name
        out.append([name, s.canvas_id, s.sis_user_id, s.sis_login_id, s.section, *[_cell(row, a, "") for a in names]])
    return out, warnings


def moodle(settings: Settings, names: list[str], rows: list[Row]) -> tuple[list[list[str]], list[str]]:
    """Moodle's grade import CSV (mapped by email address or ID number) and warnings."""
    out = [MOODLE_FIXED + [settings.assignment(a).title or a for a in names]]
    warnings = []
    for row in rows:
        s = row.student
        if not (s.email or s.id_number):
            warnings.append(f"{s.id}: no email or id_number in course.toml; Moodle cannot match this row")
        out.append([s.email, s.first_name, s.last_name, s.id_number, *[_cell(row, a, "") for a in names]])
    return out, warnings


def export(course: Course, formats=FORMATS, out_dir: Path | None = None, log=print) -> dict[str, Path]:
    """Write the chosen formats to ``out_dir`` (default ``<root>/exports``); returns their paths."""
    settings = course.settings()
    names, rows = table(course)
    out_dir = Path(out_dir or course.dir("exports"))
    paths = {}
    for kind in formats:
        if kind == "csv":
            paths[kind] = _write(out_dir / "grades.csv", wide(names, rows))
            continue
        data, warnings = (canvas if kind == "canvas" else moodle)(settings, names, rows)
        paths[kind] = _write(out_dir / f"{kind}-grades.csv", data)
        for line in warnings:
            log(f"{kind} WARNING: {line}")
    strays = [r.student.id for r in rows if not r.on_roster]
    if strays:
        log(f"WARNING: in the gradebook but not on the roster (course.toml): {', '.join(strays)}")
    return paths
