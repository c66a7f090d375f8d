"""Every collected submission is kept: ``versions/<student>/<assignment>/<version>/``.

A version is what one hand-in gave for one assignment: its notebooks, the submission time
(UTC) and where that time came from (``version.json``). Its name, ``<UTC time>Z-<hash>``,
sorts by submission time. ``submitted/<student>/<assignment>/`` (what nbgrader grades) is a
copy of the version that counts: the newest, unless the instructor pinned another
(``PINNED``). Collecting the same files again adds nothing; an older version never replaces
a newer one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

from .errors import CourseError
from .paths import Course

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt (utils.parse_utc reads it)
PIN_FILE = "PINNED"
META_FILE = "version.json"


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
    for v in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
        meta = json.loads((v / META_FILE).read_text())
        out.append({**meta, "name": v.name})
    return out


def add(course: Course, student: str, assignment: str, files: dict[str, bytes], when: dt.datetime,
        source: str, origin: str, lms: dict | None = None) -> tuple[str, bool]:
    """Store one version (``when``: naive UTC); returns ``(its name, whether it is new)``."""
    key = digest(files)
    for v in listing(course, student, assignment):
        if v["digest"] == key:
            return v["name"], False
    name = f"{when:%Y%m%dT%H%M%S}Z-{key[:8]}"
    dest = folder(course, student, assignment) / name
    dest.mkdir(parents=True)
    for filename, data in files.items():
        (dest / filename).write_bytes(data)
    meta = {"time": when.strftime(TIME_FORMAT), "time_source": source, "origin": origin, "digest": key,
            "files": sorted(files), "lms": lms or {}}
    (dest / META_FILE).write_text(json.dumps(meta, indent=1))
    return name, True


def counting(course: Course, student: str, assignment: str) -> str | None:
    """The version that counts: the pinned one, else the newest."""
    base = folder(course, student, assignment)
    pinned = (base / PIN_FILE).read_text().strip() if (base / PIN_FILE).is_file() else ""
    if pinned and (base / pinned).is_dir():
        return pinned
    names = [v["name"] for v in listing(course, student, assignment)]
    return names[-1] if names else None


def install(course: Course, student: str, assignment: str) -> str | None:
    """Make ``submitted/<student>/<assignment>/`` a copy of the version that counts; returns its name."""
    name = counting(course, student, assignment)
    if name is None:
        return None
    src = folder(course, student, assignment) / name
    dest = course.dir("submitted") / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    meta = json.loads((src / META_FILE).read_text())
    for filename in meta["files"]:
        shutil.copy2(src / filename, dest / filename)
    (dest / "timestamp.txt").write_text(meta["time"])
    return name


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
