"""Every collected submission is kept: ``versions/<student>/<assignment>/<version>/``.

A version is what one hand-in gave for one assignment: its notebooks, the submission time
(UTC) and where that time came from (``version.json``). Its name, ``<UTC time>Z-<hash>``,
sorts by submission time. ``submitted/<student>/<assignment>/`` (what nbgrader grades) is a
copy of the version that counts: the newest, unless the instructor pinned another
(``PINNED``), and never a version kept ``held`` (a notebook handed in to another assignment
while this one already had a version: filed, shown, counted only when pinned). Collecting the
same files again adds nothing; an older version never replaces a newer one.

Nothing is lost on the way: a version is written under a temporary name, its files synced,
then renamed into place; ``submitted/`` is replaced the same way, the old copy removed only
after the new one is in place and on disk. A collect of a whole class passes a :class:`Settle`:
its files are then synced once, together, before any replaced copy is removed (one ``sync``
instead of one ``fsync`` per file and folder, most of a class collect's time otherwise).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from .errors import CourseError
from .paths import Course

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt (utils.parse_utc reads it)
PIN_FILE = "PINNED"
META_FILE = "version.json"
STAGING = ".collect-staging"


def folder(course: Course, student: str, assignment: str) -> Path:
    return course.dir("versions") / student / assignment


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def listing(course: Course, student: str, assignment: str) -> list[dict]:
    """The versions, oldest first, each its ``version.json`` plus ``name``."""
    base = folder(course, student, assignment)
    out = []
    for v in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if base.is_dir() else []:
        if not (v / META_FILE).is_file():
            continue  # not a finished version (a copy made by hand, half-written by a crash)
        meta = json.loads((v / META_FILE).read_text())
        out.append({**meta, "name": v.name})
    return out


class Settle:
    """Removals that wait until what replaced them is on disk: :meth:`done` syncs once, then removes."""

    def __init__(self):
        self.removals: list[Path] = []

    def done(self) -> None:
        os.sync()
        for path in self.removals:
            shutil.rmtree(path, ignore_errors=True)
        self.removals.clear()


def _write(path: Path, data: bytes, sync: bool) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staging(course: Course) -> Path:
    """Where new copies are written and replaced ones wait: the course root's (one file system, so a rename
    moves them), outside ``submitted/`` and ``versions/`` (an interrupted collect leaves nothing there)."""
    path = course.root / STAGING
    path.mkdir(parents=True, exist_ok=True)
    return path


def _staged(course: Course, files: dict[str, bytes], sync: bool) -> Path:
    """A staging folder holding ``files`` (synced when ``sync``), renamed into place by the caller."""
    tmp = _staging(course) / f"new-{uuid.uuid4().hex}"
    tmp.mkdir()
    for filename, data in files.items():
        _write(tmp / filename, data, sync)
    if sync:
        _sync_dir(tmp)
    return tmp


def add(course: Course, student: str, assignment: str, files: dict[str, bytes], when: dt.datetime,
        source: str, origin: str, lms: dict | None = None, *, held: str = "",
        notes: list[str] | None = None, settle: Settle | None = None) -> tuple[str, bool]:
    """Store one version (``when``: naive UTC); returns ``(its name, whether it is new)``.

    ``held``: why this version must not count unless pinned (``""``: it may); ``notes``: what the
    collect report said about it (a student-written time, a review flag), kept with it;
    ``settle``: sync later, with the rest of a collect (else now).
    """
    key = digest(files)
    for v in listing(course, student, assignment):
        if v["digest"] == key:
            return v["name"], False
    name = f"{when:%Y%m%dT%H%M%S}Z-{key[:8]}"
    base = folder(course, student, assignment)
    meta = {"time": when.strftime(TIME_FORMAT), "time_source": source, "origin": origin, "digest": key,
            "files": sorted(files), "lms": lms or {}, "held": held, "notes": notes or []}
    tmp = _staged(course, {**files, META_FILE: json.dumps(meta, indent=1).encode()}, settle is None)
    base.mkdir(parents=True, exist_ok=True)
    os.rename(tmp, base / name)
    if settle is None:
        _sync_dir(base)
    return name, True


def counting(course: Course, student: str, assignment: str) -> str | None:
    """The version that counts: the pinned one, else the newest not held."""
    base = folder(course, student, assignment)
    pinned = (base / PIN_FILE).read_text().strip() if (base / PIN_FILE).is_file() else ""
    if pinned and (base / pinned / META_FILE).is_file():
        return pinned
    names = [v["name"] for v in listing(course, student, assignment) if not v.get("held")]
    return names[-1] if names else None


def install(course: Course, student: str, assignment: str, *, settle: Settle | None = None) -> str | None:
    """Make ``submitted/<student>/<assignment>/`` a copy of the version that counts; returns its name.

    The copy is made beside the old one and renamed over it; the old one goes only after (with
    ``settle``: once ``settle.done()`` has synced everything).
    """
    name = counting(course, student, assignment)
    if name is None:
        return None
    src = folder(course, student, assignment) / name
    dest = course.dir("submitted") / student / assignment
    meta = json.loads((src / META_FILE).read_text())
    files = {filename: (src / filename).read_bytes() for filename in meta["files"]}
    tmp = _staged(course, {**files, "timestamp.txt": meta["time"].encode()}, settle is None)
    old = _staging(course) / f"old-{uuid.uuid4().hex}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        os.rename(dest, old)
    os.rename(tmp, dest)
    if settle is None:
        _sync_dir(dest.parent)
        shutil.rmtree(old, ignore_errors=True)
    else:
        settle.removals.append(old)
    return name


def graded_score(course: Course, student: str, assignment: str) -> tuple[str, str] | None:
    """``(submission time, score line)`` of what the gradebook holds for the submission, if graded."""
    from nbgrader.api import Gradebook, MissingEntry

    from .books import score_line

    if course.local_db and not course.db.exists():
        return None
    try:
        with Gradebook(course.db_url) as gb:
            stamp = gb.find_submission(assignment, student).timestamp
    except MissingEntry:  # not graded yet, or withdrawn
        return None
    line = score_line(course, student, assignment)
    return (stamp.strftime(TIME_FORMAT) if stamp else "", line) if line else None


def describe(course: Course, student: str, assignment: str) -> list[str]:
    """One line per version: time, where the time came from, origin, score (the graded one), flags."""
    now = counting(course, student, assignment)
    graded = graded_score(course, student, assignment)
    lines = []
    for v in listing(course, student, assignment):
        mark = "*" if v["name"] == now else " "
        score = graded[1] if graded and graded[0] == v["time"] else "not graded"
        held = f"; HELD, counts only when pinned: {v['held']}" if v.get("held") else ""
        notes = "".join(f"\n      note: {n}" for n in v.get("notes", []))
        lines.append(f"{mark} {v['name']}  submitted {v['time']} ({v['time_source']}); score: {score}; "
                     f"from {v['origin']}{held}{notes}")
    if now is None:
        lines.append(f"no counting version of {student}/{assignment}" if lines else
                     f"no collected versions of {student}/{assignment}")
    return lines


def adopt(course: Course, student: str, assignment: str) -> None:
    """Keep a submission placed by hand in ``submitted/`` (no versions yet) as its first version."""
    here = course.dir("submitted") / student / assignment
    if not here.is_dir() or listing(course, student, assignment):
        return
    files = {p.name: p.read_bytes() for p in here.glob("*.ipynb")}
    if not files:
        return
    token = here / "variant-token.json"  # per-student variants: the token handed in (never believed)
    if token.is_file():
        files[token.name] = token.read_bytes()
    stamp = here / "timestamp.txt"
    if stamp.is_file():
        from nbgrader.utils import parse_utc

        when, source = parse_utc(stamp.read_text().strip()), "timestamp file in submitted/"
    else:
        when = dt.datetime.fromtimestamp(max(p.stat().st_mtime for p in here.glob("*.ipynb")), dt.timezone.utc)
        when, source = when.replace(tzinfo=None), "file time in submitted/"
    add(course, student, assignment, files, when, source, "placed by hand in submitted/")


def pin(course: Course, student: str, assignment: str, version: str | None) -> str:
    """Count ``version`` (a name or a unique prefix of one) instead of the newest; ``None``: the newest again."""
    names = [v["name"] for v in listing(course, student, assignment)]
    if not names:
        raise CourseError(f"no collected versions of {student}/{assignment}: collect the submission first")
    base = folder(course, student, assignment)
    if version is None:
        (base / PIN_FILE).unlink(missing_ok=True)
    else:
        match = [n for n in names if n.startswith(version)]
        if len(match) != 1:
            raise CourseError(f"{version!r} names {len(match)} versions of {student}/{assignment}; "
                              f"the versions are: {', '.join(names)}")
        (base / PIN_FILE).write_text(match[0])
    return install(course, student, assignment)
