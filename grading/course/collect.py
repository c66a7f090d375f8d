"""Collect: file student hand-ins into ``versions/`` and ``submitted/<student>/<assignment>/``.

The inbox is a folder or a zip (an LMS download as it comes): plain entries named by
student id (``<id>.zip``, ``<id>.ipynb``, ``<id>/``), Canvas' or Moodle's download naming
(``lms.py``, students found through the roster). Each notebook is filed by its **content**
(the checksums nbgrader wrote into the read-only cells), by its name only when the content
says nothing; a name that disagrees with the content is reported. ``assignment=`` files only
that assignment's notebooks and lists the others as misfiled.

The submission time is, in this order: the time the LMS stored with the file in its download
zip (in course.timezone; the LMS wrote it, not the student), a ``timestamp.txt`` in the
hand-in (nbgrader's exchange writes one at submission; it comes from the student's side, so
the report says so, and it never overrides the LMS's time), else the file's modification
time (when it was downloaded or copied, which can make lateness wrong: reported). Every hand-in is kept as a version
(``versions.py``); the newest counts. Nothing is guessed: what cannot be filed is listed,
and the exit status is 1. Zip members never leave their folder (base names only) and are
size-capped.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import books, lms, versions, withdraw
from .errors import CourseError
from .gradebook import cell_checksums
from .paths import Course
from .settings import Settings

TOKEN_FILE = "variant-token.json"  # helpers.variants.TOKEN_FILE (collect needs no helpers)
MAX_TOKEN_BYTES = 4096

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 2000
TIMESTAMP = "timestamp.txt"
FROM_FILE = "timestamp file in the hand-in (written on the student's side)"
FROM_LMS = "time the LMS stored in its download"
FROM_MTIME = "file modification time (when downloaded/copied, not necessarily when submitted)"


@dataclass
class HandIn:
    """Notebooks from one inbox entry, with who, when and how we know when."""

    student: str
    origin: str
    notebooks: list[tuple[str, bytes]]
    when: dt.datetime
    source: str
    lms: dict
    #: ``variant-token.json`` files of the hand-in by the name of their folder (an assignment's):
    #: kept with that assignment's notebook, never believed (per-student variants, variants.py)
    tokens: dict = field(default_factory=dict)


def _catalog(course: Course):
    names, sums = {}, {}
    with Gradebook(course.db_url) as gb:
        for a in gb.assignments:
            for nb in a.notebooks:
                names[nb.name] = (a.name, nb.name)
                for c in nb.source_cells:
                    sums.setdefault(c.checksum, set()).add((a.name, nb.name))
    return names, sums


def _by_content(data: bytes, sums) -> tuple[str, str] | None:
    try:
        found = cell_checksums(nbformat.reads(data.decode("utf-8"), as_version=4).cells)
    except Exception:
        return None
    votes: dict[tuple[str, str], int] = {}
    for s in found - {None}:
        for target in sums.get(s, ()):
            votes[target] = votes.get(target, 0) + 1
    if not votes:
        return None
    best = max(votes.values())
    winners = [t for t, v in votes.items() if v == best]
    return winners[0] if len(winners) == 1 else None


def _zip_time(info: zipfile.ZipInfo, settings: Settings) -> dt.datetime:
    return settings.to_utc(dt.datetime(*info.date_time))


def _read_zip(path: Path, problems: list[str], label: str):
    """``[(name, bytes, ZipInfo)]`` of a zip's notebooks and timestamp files (base names only)."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS:
                problems.append(f"{label}: more than {MAX_MEMBERS} files; not read")
                return []
            out = []
            for m in members:
                parts = Path(m.filename).parts
                if "__MACOSX" in parts or ".ipynb_checkpoints" in parts:
                    continue
                if m.file_size > MAX_NOTEBOOK_BYTES:
                    problems.append(f"{label}: {m.filename} is larger than {MAX_NOTEBOOK_BYTES} bytes; skipped")
                    continue
                with zf.open(m) as fh:
                    out.append((m.filename, fh.read(MAX_NOTEBOOK_BYTES + 1), m))
            return out
    except (zipfile.BadZipFile, OSError) as exc:
        problems.append(f"{label}: not a readable zip ({exc})")
        return []


def _stamp(text: str, settings: Settings) -> dt.datetime | None:
    from nbgrader.utils import parse_utc

    try:
        parsed = parse_utc(text.strip()) if text.strip().endswith(("UTC", "Z")) or "+" in text else None
        return parsed or settings.to_utc(dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1)))
    except (ValueError, OverflowError):
        return None


def _entries(inbox: Path, settings: Settings, problems: list[str]):
    """``(name, path, lms time or None)`` of the inbox's entries; a zip inbox is unpacked first."""
    if inbox.is_dir():
        return [(p.name, p, None) for p in sorted(inbox.iterdir()) if not p.name.startswith(".")], None
    if not zipfile.is_zipfile(inbox):
        raise CourseError(f"{inbox} is neither a folder nor a zip: give the download folder or the LMS's zip")
    tmp = tempfile.TemporaryDirectory(prefix="course-inbox-")
    out, folders = [], {}
    for name, data, info in _read_zip(inbox, problems, inbox.name):
        parts = Path(name).parts
        if len(parts) > 1:  # Moodle: one folder per student; keep the folder, flatten below it
            top = parts[0]  # below it, sub-folders stay apart (two copies of a notebook are two files)
            safe = [p for p in parts[1:] if p not in ("", ".", "..") and not p.startswith("/")]
            dest = Path(tmp.name) / top / Path(*safe)
            folders.setdefault(top, _zip_time(info, settings))
            folders[top] = max(folders[top], _zip_time(info, settings))
        else:
            dest = Path(tmp.name) / Path(name).name
            out.append((dest.name, dest, _zip_time(info, settings)))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    out += [(top, Path(tmp.name) / top, when) for top, when in folders.items()]
    return sorted(out, key=lambda e: e[0]), tmp


def _hand_in(name: str, path: Path, lms_time, origin: lms.Origin, settings: Settings, problems: list[str]):
    """The notebooks of one entry and its submission time."""
    files: list[tuple[str, bytes]] = []
    tokens: dict[str, bytes] = {}
    stamp_text = None
    label = name
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and p.stat().st_size <= MAX_NOTEBOOK_BYTES:
                if p.suffix == ".ipynb":
                    files.append((p.name, p.read_bytes()))
                elif p.name == TIMESTAMP:
                    stamp_text = p.read_text(errors="replace")
                elif p.name == TOKEN_FILE and p.stat().st_size <= MAX_TOKEN_BYTES:
                    tokens[p.parent.name] = p.read_bytes()
    elif path.suffix == ".ipynb":
        files.append((origin.file or path.name, path.read_bytes()))
    elif path.suffix == ".zip":
        for member, data, _info in _read_zip(path, problems, label):
            if member.endswith(".ipynb"):
                files.append((Path(member).name, data))
            elif Path(member).name == TIMESTAMP:
                stamp_text = data.decode("utf-8", "replace")
            elif Path(member).name == TOKEN_FILE and len(data) <= MAX_TOKEN_BYTES:
                tokens[Path(member).parent.name] = data
    else:
        problems.append(f"{label}: not a .zip, .ipynb or folder; skipped")
        return None
    when = _stamp(stamp_text, settings) if stamp_text else None
    if stamp_text and when is None:
        problems.append(f"{label}: its {TIMESTAMP} ({stamp_text.strip()[:40]!r}) is not a time; used another source")
    if lms_time is not None:  # the LMS's record beats a file the student could have edited
        if when is not None and when < lms_time - dt.timedelta(minutes=5):
            problems.append(f"{label}: its {TIMESTAMP} claims {when:%Y-%m-%d %H:%M}, earlier than the LMS's "
                            f"{lms_time:%Y-%m-%d %H:%M}; used the LMS's time")
        when, source = lms_time, FROM_LMS
    elif when is not None:
        source = FROM_FILE
    else:
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
        when, source = mtime.replace(tzinfo=None), FROM_MTIME
    if not files:
        problems.append(f"{label}: no notebook found")
        return None
    return HandIn(origin.student, name, files, when, source, {"lms": origin.lms, **origin.info}, tokens)


def collect(course: Course, inbox: Path, *, assignment: str | None = None, lms_name: str | None = None,
            log=print) -> dict:
    """File ``inbox``; returns ``{"placed": [(student, assignment)], "kept": [...], "problems": [...]}``."""
    inbox = Path(inbox).expanduser()
    if not inbox.exists():
        raise CourseError(f"{inbox} does not exist: give the folder (or zip) of downloaded submissions")
    books.need_gradebook(course)
    settings = books.sync(course)
    names, sums = _catalog(course)
    if not names:
        raise CourseError("the gradebook has no assignments: run the release step first (make release)")
    released = sorted({a for a, _ in names.values()})
    if assignment and assignment not in released:
        raise CourseError(f"unknown assignment {assignment!r}; released: {', '.join(released)}")
    problems: list[str] = []
    entries, tmp = _entries(inbox, settings, problems)
    gone = withdraw.withdrawn_students(course)
    groups: dict[tuple, dict] = {}
    try:
        for name, path, lms_time in entries:
            origin = lms.identify(name, settings, lms_name)
            if origin.problem:
                problems.append(f"{name}: {origin.problem}" + ("" if origin.student else "; not placed"))
            if origin.student is None:
                continue
            if origin.student in gone:
                problems.append(f"{name}: {origin.student} was withdrawn; not placed (withdraw --undo to restore)")
                continue
            hand_in = _hand_in(name, path, lms_time, origin, settings, problems)
            if hand_in is not None:
                _file(hand_in, names, sums, assignment, groups, problems)
    finally:
        if tmp is not None:
            tmp.cleanup()
    placed, kept = [], []
    for (student, a, _key), group in sorted(groups.items(), key=lambda kv: kv[0][:2]):
        line = _store(course, settings, student, a, group, problems)
        if line:
            (placed if line.startswith("placed") else kept).append(((student, a), line))
    for _, line in placed + kept:
        log(line)
    for line in problems:
        log(f"NOT PLACED / WARNING: {line}")
    return {"placed": [p for p, _ in placed], "kept": [p for p, _ in kept], "problems": problems}


def _file(hand_in: HandIn, names, sums, only: str | None, groups: dict, problems: list[str]) -> None:
    """Decide each notebook's assignment and add it to its (student, assignment, hand-in) group."""
    for filename, data in hand_in.notebooks:
        label = f"{hand_in.origin}: {filename}" if filename not in hand_in.origin else hand_in.origin
        by_name = names.get(Path(filename).stem) or names.get(_canvas_stem(filename))
        if not data.strip():
            if by_name is None:
                problems.append(f"{label} is an empty file (0 bytes) of no known name; not placed")
                continue
            problems.append(f"{label} is an empty file (0 bytes): placed, it will score 0")
            target = by_name
        else:
            target = _by_content(data, sums)
            if target is None and by_name is not None:
                problems.append(f"{label}: content not recognised (read-only cells changed or metadata lost); "
                                f"placed by its name as {by_name[0]}: check it")
                target = by_name
            elif target is None:
                problems.append(f"{label}: cannot tell which assignment it belongs to; not placed")
                continue
            elif by_name is not None and by_name != target:
                problems.append(f"{label} is named like {by_name[0]} but holds {target[0]}: filed as {target[0]}")
        if only and target[0] != only:
            problems.append(f"{label}: misfiled, holds {target[0]}, not {only}; not placed "
                            f"(collect it with --assignment {target[0]})")
            continue
        key = (hand_in.student, target[0], (hand_in.lms.get("submission_id") or hand_in.origin, hand_in.when))
        group = groups.setdefault(key, {"files": {}, "when": hand_in.when, "source": hand_in.source,
                                        "origins": [], "lms": hand_in.lms})
        name = f"{target[1]}.ipynb"
        if name in group["files"] and group["files"][name] != data:
            problems.append(f"{label}: a second, different {name} in the same hand-in; neither can be trusted to be "
                            "the one meant: not placed (ask the student, or place it by hand)")
            group["files"][name] = None
            continue
        group["files"][name] = data
        group["origins"].append(hand_in.origin)
        if target[0] in hand_in.tokens:  # the token handed in beside this assignment's notebook
            group["files"][TOKEN_FILE] = hand_in.tokens[target[0]]


def _canvas_stem(filename: str) -> str:
    """Canvas appends ``-1``, ``-2`` to a resubmitted file's name: ``toy-1.ipynb`` is ``toy``."""
    stem = Path(filename).stem
    head, _, tail = stem.rpartition("-")
    return head if head and tail.isdigit() else stem


def _store(course: Course, settings: Settings, student: str, assignment: str, group: dict,
           problems: list[str]) -> str | None:
    if any(v is None for v in group["files"].values()):
        return None
    origin = ", ".join(sorted(set(group["origins"])))
    if withdraw.withdrawn_digest(course, versions.digest(group["files"])):
        problems.append(f"{origin}: {student}/{assignment} was withdrawn; not placed "
                        f"(withdraw --undo {student} {assignment} to restore it)")
        return None
    versions.adopt(course, student, assignment)
    before = versions.counting(course, student, assignment)
    name, new = versions.add(course, student, assignment, group["files"], group["when"], group["source"],
                             origin, group["lms"])
    if not new:
        return f"already collected: {student}/{assignment} ({origin}) is version {name}"
    counting = versions.install(course, student, assignment)
    when = f"submitted {settings.local(group['when'])} ({group['source']})"
    late = _lateness(settings, student, assignment, group)
    if group["source"] == FROM_MTIME and settings.assignment(assignment).due:
        problems.append(f"{origin}: {student}/{assignment}: no submission time in the hand-in; used the {FROM_MTIME}")
    if counting != name:
        return (f"kept {student}/{assignment} version {name} ({origin}, {when}) as an earlier version: "
                f"{counting} counts (pin another with: pin {student} {assignment} VERSION)")
    replaced = f"; replaces {before}, kept" if before else ""
    return f"placed {origin} -> {student}/{assignment}, {when}{late}{replaced}"


def _lateness(settings: Settings, student: str, assignment: str, group: dict) -> str:
    """``", 3.0 h late"`` against the due date plus extension; a disagreement with Canvas is said too."""
    spec = settings.assignment(assignment)
    if spec.due is None:
        return ""
    due = spec.due + dt.timedelta(hours=spec.extensions.get(student, 0.0))
    late = (group["when"] - due).total_seconds()
    text = f", {late / 3600:.1f} h late" if late > settings.late.grace_minutes * 60 else ""
    if group["lms"].get("late") and not text:
        text += ", marked LATE by Canvas but on time by course.toml (check the due date there)"
    return text
