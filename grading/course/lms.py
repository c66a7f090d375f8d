"""Who handed in a file of an LMS download: Canvas' and Moodle's naming, mapped through the roster.

Canvas ("Download Submissions") names every file ``<sortablename>_<userid>_<submissionid>_<file>``,
with ``LATE_`` after the name when Canvas counted it late (``smithjohn_LATE_12345_678901_hw.ipynb``);
the user id is the roster's ``canvas_id``. Moodle ("Download all submissions") puts each
student's files in a folder ``<Full Name>_<participant id>_assignsubmission_file_`` (or, with
"Download submissions in folders" off, prefixes the file names with it); the participant id
is per assignment, so a student is found by a roster ``moodle_id`` when given, else by full
name (case, accents and spacing ignored). Anything else is the plain layout: the entry is
named by student id (``<id>.zip``, ``<id>.ipynb``, ``<id>/``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .settings import STUDENT_ID, Settings

CANVAS = re.compile(r"^(?P<name>[a-z0-9-]*?)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")


@dataclass
class Origin:
    """An inbox entry's student (``None``: not found, ``problem`` says why) and what the LMS said."""

    student: str | None
    lms: str = "none"
    file: str = ""  # the file name inside the LMS's prefix ("" for a folder)
    info: dict = field(default_factory=dict)
    problem: str = ""


def fold(text: str) -> str:
    """Lower case, accents and everything but letters and digits removed: to compare names."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.lower() if ch.isalnum() and not unicodedata.combining(ch))


def identify(entry_name: str, settings: Settings, lms: str | None = None) -> Origin:
    """The student of one inbox entry (a file or folder name).

    ``lms``: ``"canvas"``/``"moodle"`` (that naming only), ``"none"`` (plain only), ``None``
    (recognised by its naming: Moodle's and Canvas' patterns cannot be mistaken for each other).
    """
    kinds = [] if lms == "none" else [lms] if lms else ["moodle", "canvas"]
    for kind in kinds:
        match = (MOODLE if kind == "moodle" else CANVAS).match(entry_name)
        if match:
            return (_moodle if kind == "moodle" else _canvas)(match, settings)
    if lms and lms != "none":
        return Origin(None, problem=f"not named like a {lms} download entry")
    stem = entry_name[: -len(".ipynb")] if entry_name.endswith(".ipynb") else \
        entry_name[: -len(".zip")] if entry_name.endswith(".zip") else entry_name
    if not STUDENT_ID.match(stem):
        return Origin(None, problem=f"{stem!r} is not a valid student id (letters, digits, _ . -), "
                                    "nor a Canvas or Moodle download name")
    if settings.roster and settings.student(stem) is None:
        return Origin(None, problem=f"{stem!r} is not on the roster ([[students]] in course.toml)")
    return Origin(stem, file=entry_name)


def _canvas(match: re.Match, settings: Settings) -> Origin:
    info = {"user_id": match["user"], "submission_id": match["submission"], "late": bool(match["late"]),
            "name": match["name"]}
    by_id = [s for s in settings.roster if s.canvas_id == match["user"]]
    by_name = [s for s in settings.roster if fold(s.last_name + s.first_name) == match["name"]]
    found = by_id or (by_name if len(by_name) == 1 else [])
    if found:
        return Origin(found[0].id, "canvas", match["file"], info)
    if not settings.roster:
        return Origin(f"canvas-{match['user']}", "canvas", match["file"], info,
                      problem=f"no roster: filed as canvas-{match['user']}; add canvas_id = {match['user']} "
                              "to the student in course.toml")
    return Origin(None, "canvas", match["file"], info,
                  problem=f"Canvas user {match['user']} ({match['name']}) is not on the roster: "
                          f"add canvas_id = {match['user']} to the student in course.toml")


def _moodle(match: re.Match, settings: Settings) -> Origin:
    info = {"participant_id": match["participant"], "name": match["name"], "plugin": match["plugin"]}
    by_id = [s for s in settings.roster if match["participant"] in s.moodle_ids]
    by_name = [s for s in settings.roster if fold(s.full_name) == fold(match["name"])]
    found = by_id or (by_name if len(by_name) == 1 else [])
    if found:
        return Origin(found[0].id, "moodle", match["file"], info)
    slug = fold(match["name"]) or f"moodle{match['participant']}"
    if not settings.roster:
        return Origin(slug[:64], "moodle", match["file"], info,
                      problem=f"no roster: {match['name']!r} filed as {slug[:64]}")
    why = f"{len(by_name)} roster students are named" if by_name else "no roster student is named"
    return Origin(None, "moodle", match["file"], info,
                  problem=f"{why} {match['name']!r} (Moodle participant {match['participant']}): "
                          f"add moodle_id = {match['participant']} to the right student in course.toml")
