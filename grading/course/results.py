"""Feedback (nbgrader's HTML), the grades table, and the feedback to hand back to students."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import books, exports, versions, withdraw
from .nbapi import api, last_line
from .paths import Course


def feedback(course: Course, *, students=None, assignments=None, log=print) -> list[str]:
    """HTML feedback for every autograded submission in the gradebook; returns the failures (also logged).

    A folder in ``autograded/`` whose submission is no longer in the gradebook (withdrawn, or
    removed with ``nbgrader db``) is skipped with a note: nbgrader would fail on it.
    """
    books.need_gradebook(course)
    books.sync(course)
    nb = api(course)
    base = course.dir("autograded")
    gone = withdraw.withdrawn_students(course)
    failures = []
    with Gradebook(course.db_url) as gb:
        graded = {(sub.student.id, a.name) for a in gb.assignments for sub in a.submissions}
    for sdir in sorted(base.iterdir()) if base.is_dir() else []:
        if (students and sdir.name not in students) or sdir.name in gone:
            continue
        for adir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            if assignments and adir.name not in assignments:
                continue
            if (sdir.name, adir.name) not in graded:
                log(f"feedback: skipped {sdir.name} / {adir.name}: not in the gradebook (withdrawn or removed); "
                    f"autograde it again or withdraw it (python -m grading.course withdraw {sdir.name} {adir.name})")
                continue
            result = nb.generate_feedback(adir.name, sdir.name, force=True)
            if not result["success"]:
                failures.append(f"{sdir.name} / {adir.name}: {last_line(result.get('error'))}")
    for line in failures:
        log(f"feedback FAILED: {line}")
    log(f"feedback in {course.dir('feedback')}")
    return failures


def grades(course: Course, out: Path | None = None) -> Path:
    """Write ``grades.csv``: one row per student with names, per-assignment final scores, totals.

    Final score = nbgrader's score minus its late penalty; ``missing`` where nothing was
    submitted (counted 0 in ``total``); ``late``, ``missing`` and ``needs_review`` list assignments.
    """
    names, rows = books.table(course)
    return exports._write(Path(out or course.root / "grades.csv"), exports.wide(names, rows))


def hand_back(course: Course, *, log=print) -> Path:
    """``returned/``: one zip per student (``<student>.zip``: ``<assignment>/<notebook>.html``) and,
    for submissions collected from Moodle, ``moodle/<assignment>.zip`` in the layout of Moodle's
    "Upload multiple feedback files in a zip" (the download's folder names).
    """
    base, out = course.dir("feedback"), course.dir("returned")
    if not base.is_dir() or not any(base.iterdir()):
        raise FileNotFoundError(f"no feedback in {base}: run the feedback step first")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    gone = withdraw.withdrawn_students(course)
    with Gradebook(course.db_url) as gb:
        graded = {(sub.student.id, a.name) for a in gb.assignments for sub in a.submissions}
    count = 0
    for sdir in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in gone):
        pages = [p for p in sorted(sdir.rglob("*.html")) if (sdir.name, p.relative_to(sdir).parts[0]) in graded]
        if not pages:
            continue
        with zipfile.ZipFile(out / f"{sdir.name}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for page in pages:
                zf.write(page, page.relative_to(sdir).as_posix())
        count += 1
        for page in pages:
            _moodle_copy(course, sdir.name, page.relative_to(sdir).parts[0], page, out / "moodle")
    for folder in sorted((out / "moodle").iterdir()) if (out / "moodle").is_dir() else []:
        shutil.make_archive(str(folder), "zip", root_dir=folder)
        shutil.rmtree(folder)
    log(f"feedback for {count} students in {out}")
    return out


def _moodle_copy(course: Course, student: str, assignment: str, page: Path, dest: Path) -> None:
    name = versions.counting(course, student, assignment)
    if name is None:
        return
    meta = json.loads((versions.folder(course, student, assignment) / name / versions.META_FILE).read_text())
    info = meta.get("lms", {})
    if info.get("lms") != "moodle":
        return
    folder = dest / assignment / f"{info['name']}_{info['participant_id']}_assignsubmission_file_"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(page, folder / page.name)


def removed_but_graded(course: Course) -> list[tuple[str, str]]:
    """Gradebook submissions whose files are gone from ``submitted/``: to withdraw, or to collect again."""
    try:
        with Gradebook(course.db_url) as gb:
            return sorted((sub.student.id, a.name) for a in gb.assignments for sub in a.submissions
                          if not (course.dir("submitted") / sub.student.id / a.name).is_dir())
    except MissingEntry:
        return []
