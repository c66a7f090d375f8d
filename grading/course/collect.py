"""Collect: place student files into ``submitted/<student>/<assignment>/<notebook>.ipynb``.

Input: a folder with one entry per student, named by student id: ``<id>.zip``,
``<id>.ipynb`` or a folder ``<id>/``. Each notebook found is placed by its file name
(the release's notebook names), or, when the name is unknown, by its content (the checksums
nbgrader wrote into the read-only cells). Anything that cannot be placed is reported, never
guessed. Zips are read defensively: no path leaves the student's folder, sizes are capped.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from .gradebook import cell_checksums
from .paths import Course

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 200


def _catalog(course: Course):
    names, sums = {}, {}
    with Gradebook(course.db_url) as gb:
        for a in gb.assignments:
            for nb in a.notebooks:
                names[nb.name] = (a.name, nb.name)
                for c in nb.source_cells:
                    sums.setdefault(c.checksum, set()).add((a.name, nb.name))
    return names, sums


def _place_by_content(data: bytes, sums) -> tuple[str, str] | None:
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


def _notebooks_of(entry: Path) -> tuple[list[tuple[str, bytes]], list[str]]:
    """``(file name, bytes)`` of the notebooks in one student entry, and problems."""
    problems = []
    if entry.is_dir():
        found = [(p.name, p.read_bytes()) for p in sorted(entry.rglob("*.ipynb"))
                 if ".ipynb_checkpoints" not in p.parts and p.stat().st_size <= MAX_NOTEBOOK_BYTES]
        return found, problems
    if entry.suffix == ".ipynb":
        return [(entry.name, entry.read_bytes())], problems
    if entry.suffix != ".zip":
        return [], [f"{entry.name}: not a .zip, .ipynb or folder"]
    try:
        with zipfile.ZipFile(entry) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS:
                return [], [f"{entry.name}: more than {MAX_MEMBERS} files"]
            found = []
            for m in members:
                name = Path(m.filename)
                if not m.filename.endswith(".ipynb") or "__MACOSX" in name.parts or ".ipynb_checkpoints" in name.parts:
                    continue
                if m.file_size > MAX_NOTEBOOK_BYTES:
                    problems.append(f"{entry.name}: {m.filename} is larger than {MAX_NOTEBOOK_BYTES} bytes; skipped")
                    continue
                with zf.open(m) as fh:
                    data = fh.read(MAX_NOTEBOOK_BYTES + 1)
                found.append((name.name, data))  # only the base name: nothing escapes the target folder
            return found, problems
    except (zipfile.BadZipFile, OSError) as exc:
        return [], [f"{entry.name}: not a readable zip ({exc})"]


def collect(course: Course, inbox: Path, *, force: bool = False, log=print) -> dict:
    """Import ``inbox`` into ``submitted/``; returns ``{"placed": [...], "problems": [...]}``."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise FileNotFoundError(f"{inbox} is not a folder")
    names, sums = _catalog(course)
    if not names:
        raise RuntimeError("the gradebook has no assignments: run the release step first")
    placed, problems = [], []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        student = entry.stem if entry.is_file() else entry.name
        if not STUDENT_ID.match(student):
            problems.append(f"{entry.name}: {student!r} is not a valid student id (letters, digits, _ . -)")
            continue
        notebooks, issues = _notebooks_of(entry)
        problems += issues
        if not notebooks and not issues:
            problems.append(f"{entry.name}: no notebook found")
        for filename, data in notebooks:
            target = names.get(Path(filename).stem) or _place_by_content(data, sums)
            if target is None:
                problems.append(f"{entry.name}: cannot tell which assignment {filename} belongs to; not placed")
                continue
            assignment, notebook = target
            folder = course.dir("submitted") / student / assignment
            dest = folder / f"{notebook}.ipynb"
            if dest.exists() and not force:
                problems.append(f"{entry.name}: {student}/{assignment} already submitted (use --force to replace)")
                continue
            if folder.exists() and force and not any(p == (student, assignment) for p, _ in placed):
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            stamp = dt.datetime.fromtimestamp(entry.stat().st_mtime, dt.timezone.utc)
            (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            placed.append(((student, assignment), f"{filename} -> {dest.relative_to(course.root)}"))
            if not data.strip():
                problems.append(f"{entry.name}: {filename} is empty (placed; it will score 0)")
    for _, line in placed:
        log(f"placed {line}")
    for line in problems:
        log(f"NOT PLACED / WARNING: {line}")
    return {"placed": [p for p, _ in placed], "problems": problems}

