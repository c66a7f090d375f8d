"""Withdraw a submission or a student: out of the gradebook, grades, feedback and exports.

Nothing is deleted: the files (``submitted/``, ``autograded/``, ``feedback/``, ``versions/``)
move to ``withdrawn/<UTC time>/<student>/[<assignment>/]`` and ``withdrawn/record.json``
remembers what was withdrawn, so that collecting the same download again does not bring it
back, and ``undo`` can. A withdrawn submission is remembered as *that student's* content
(student, assignment and digest together): the same bytes handed in by a classmate (an
untouched release notebook is common) are the classmate's, and are collected. The gradebook
rows go through nbgrader's own API (``remove_submission`` / ``remove_student``), so nbgrader's commands agree.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .errors import CourseError
from .paths import Course

STEPS = ("submitted", "autograded", "feedback", "versions")


def _record_path(course: Course) -> Path:
    return course.dir("withdrawn") / "record.json"


def _key(student: str, assignment: str, digest: str) -> str:
    return f"{student}/{assignment}/{digest}"


def record(course: Course) -> dict:
    """``{"students": {id: time}, "digests": {"student/assignment/digest": time}}``."""
    path = _record_path(course)
    data = json.loads(path.read_text()) if path.is_file() else {}
    digests = {}
    for k, v in data.get("digests", {}).items():
        if "/" in k:
            digests[k] = v
        else:  # the old record, keyed by the digest alone ({digest: "student/assignment"})
            digests[f"{v}/{k}"] = ""
    return {"students": data.get("students", {}), "digests": digests}


def _save(course: Course, data: dict) -> None:
    path = _record_path(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def withdrawn_students(course: Course) -> set[str]:
    return set(record(course)["students"])


def withdrawn_digest(course: Course, student: str, assignment: str, digest: str) -> bool:
    """Whether ``student``'s own submission of ``assignment`` with this content was withdrawn."""
    return _key(student, assignment, digest) in record(course)["digests"]


def withdraw(course: Course, student: str, assignment: str | None = None, *, log=print) -> Path:
    """Withdraw ``student``'s submission of ``assignment``, or the student altogether (``None``)."""
    from . import versions

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    archive = course.dir("withdrawn") / stamp / student
    data = record(course)
    with Gradebook(course.db_url) as gb:
        known = {a.name for a in gb.assignments}
        if assignment is not None and assignment not in known:
            raise CourseError(f"unknown assignment {assignment!r}; released: {', '.join(sorted(known))}")
        in_book = {s.id for s in gb.students}
        on_disk = any((course.dir(step) / student).is_dir() for step in STEPS)
        if student not in in_book and not on_disk:
            raise CourseError(f"no student {student!r} in the gradebook or the course folders (check the id)")
        which = [assignment] if assignment else sorted(known)
        for a in which:
            for v in versions.listing(course, student, a):
                data["digests"][_key(student, a, v["digest"])] = stamp
            for step in STEPS:
                here = course.dir(step) / student / a
                if here.is_dir():
                    (archive / a).mkdir(parents=True, exist_ok=True)
                    shutil.move(str(here), str(archive / a / step))
            try:
                gb.remove_submission(a, student)
            except MissingEntry:
                pass
        if assignment is None:
            for step in STEPS:  # whatever else is left of the student (e.g. a misnamed folder)
                here = course.dir(step) / student
                if here.is_dir():
                    archive.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(here), str(archive / f"rest-{step}"))
            if student in in_book:
                gb.remove_student(student)
            data["students"][student] = stamp
    _save(course, data)
    what = f"{student}/{assignment}" if assignment else f"student {student}"
    log(f"withdrew {what}; its files are in {archive} (undo: withdraw --undo {student}"
        f"{' ' + assignment if assignment else ''})")
    return archive


def undo(course: Course, student: str, assignment: str | None = None, *, log=print) -> None:
    """Bring back the most recent withdrawal of ``student`` (or of one of their submissions)."""
    data = record(course)
    archives = sorted(course.dir("withdrawn").glob(f"*/{student}")) if course.dir("withdrawn").is_dir() else []
    restored = []
    for archive in reversed(archives):
        for adir in sorted(p for p in archive.iterdir() if p.is_dir() and not p.name.startswith("rest-")):
            if assignment and adir.name != assignment:
                continue
            if (course.dir("submitted") / student / adir.name).exists():
                continue  # a newer submission was collected since: keep it
            for step in STEPS:
                if (adir / step).is_dir():
                    (course.dir(step) / student).mkdir(parents=True, exist_ok=True)
                    shutil.move(str(adir / step), str(course.dir(step) / student / adir.name))
            restored.append(adir.name)
        if restored:
            break
    data["students"].pop(student, None)
    data["digests"] = {k: w for k, w in data["digests"].items()
                       if not (k.split("/")[0] == student and (assignment is None or k.split("/")[1] == assignment))}
    _save(course, data)
    if not restored and assignment:
        raise CourseError(f"nothing withdrawn to restore for {student}/{assignment}")
    log(f"restored {student}: {', '.join(restored) or 'no submissions'}; "
        f"now run: python -m grading.course autograde --student {student}")
