"""Who handed in a file of an LMS download: Canvas' and Moodle's naming, mapped through the roster.

Canvas ("Download Submissions") names every file ``<sortablename>_<userid>_<submissionid>_<file>``,
with ``LATE_`` after the name when Canvas counted it late (``smithjohn_LATE_12345_678901_hw.ipynb``);
the user id is the roster's ``canvas_id``. The sortable name keeps Unicode letters
(``ñúñezzoë``), so names are compared NFC-normalised with accents folded. Moodle ("Download all submissions") puts each
student's files in a folder ``<Full Name>_<participant id>_assignsubmission_file_`` (or, with
"Download submissions in folders" off, prefixes the file names with it); the participant id
is per assignment, so a student is found by a roster ``moodle_id`` when given, else by full
name (case, accents and spacing ignored). A display name is the student's to choose: it files a
hand-in only when exactly one roster student has it and that student has no LMS id of that kind
on the roster (an id that differs is another person); ``Origin.by_name`` tells ``collect``,
which also refuses two LMS accounts that a name would file under the same student. Anything
else is the plain layout: the entry is named by student id (``<id>.zip``, ``<id>.ipynb``, ``<id>/``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .settings import STUDENT_ID, Settings

CANVAS = re.compile(r"^(?P<name>[^_/]*?)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
#: Moodle's own part of an entry name; a display name holding it again forges another participant.
MOODLE_TAG = re.compile(r"_\d+_assignsubmission_[a-z]+_")


@dataclass
class Origin:
    """An inbox entry's student (``None``: not found, ``problem`` says why) and what the LMS said."""

    student: str | None
    lms: str = "none"
    file: str = ""  # the file name inside the LMS's prefix ("" for a folder)
    info: dict = field(default_factory=dict)
    problem: str = ""
    #: found by a display name (no LMS id on the roster): a review note, and never two accounts on one student
    by_name: bool = False

    @property
    def account(self) -> str:
        """The LMS account behind the entry (``canvas:1002``, ``moodle:301``), ``""`` for the plain layout."""
        key = self.info.get("user_id") or self.info.get("participant_id")
        return f"{self.lms}:{key}" if key else ""


def fold(text: str) -> str:
    """Lower case, accents and everything but letters and digits removed: to compare names."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.lower() if ch.isalnum() and not unicodedata.combining(ch))


class _Index:
    """The roster by Canvas id, Moodle id and folded names, built once per settings (a class is read 4x500 times)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.canvas: dict[str, list] = {}
        self.moodle: dict[str, list] = {}
        self.sortable: dict[str, list] = {}
        self.full: dict[str, list] = {}
        for s in settings.roster:
            self.canvas.setdefault(s.canvas_id, []).append(s)
            for m in s.moodle_ids:
                self.moodle.setdefault(m, []).append(s)
            self.sortable.setdefault(fold(s.last_name + s.first_name), []).append(s)
            self.full.setdefault(fold(s.full_name), []).append(s)


_INDEX: list[_Index] = []


def _index(settings: Settings) -> _Index:
    if not _INDEX or _INDEX[0].settings is not settings:
        _INDEX[:] = [_Index(settings)]
    return _INDEX[0]


def identify(entry_name: str, settings: Settings, lms: str | None = None) -> Origin:
    """The student of one inbox entry (a file or folder name).

    ``lms``: ``"canvas"``/``"moodle"`` (that naming only), ``"none"`` (plain only), ``None``
    (recognised by its naming: Moodle's and Canvas' patterns cannot be mistaken for each other).
    """
    entry_name = unicodedata.normalize("NFC", entry_name)
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
    index = _index(settings)
    by_id = index.canvas.get(match["user"], [])
    by_name = index.sortable.get(fold(match["name"]), [])
    if len(by_id) == 1:
        return Origin(by_id[0].id, "canvas", match["file"], info)
    if len(by_id) > 1:
        return Origin(None, "canvas", match["file"], info,
                      problem=f"Canvas user {match['user']} is the canvas_id of {len(by_id)} roster students: "
                              "fix course.toml")
    if len(by_name) == 1 and not by_name[0].canvas_id:
        return Origin(by_name[0].id, "canvas", match["file"], info, by_name=True,
                      problem=f"filed under {by_name[0].id} by the name {match['name']!r} alone: add canvas_id = "
                              f"{match['user']} to that student in course.toml")
    if by_name:
        return Origin(None, "canvas", match["file"], info,
                      problem=f"Canvas user {match['user']} is named {match['name']!r} like "
                              f"{', '.join(s.id for s in by_name)} but is not their canvas_id: not filed by a name "
                              f"(add canvas_id = {match['user']} to the right student)")
    if not settings.roster:
        return Origin(f"canvas-{match['user']}", "canvas", match["file"], info,
                      problem=f"no roster: filed as canvas-{match['user']}; add canvas_id = {match['user']} "
                              "to the student in course.toml")
    return Origin(None, "canvas", match["file"], info,
                  problem=f"Canvas user {match['user']} ({match['name']}) is not on the roster: "
                          f"add canvas_id = {match['user']} to the student in course.toml")


def _moodle(match: re.Match, settings: Settings) -> Origin:
    info = {"participant_id": match["participant"], "name": match["name"], "plugin": match["plugin"]}
    if len(MOODLE_TAG.findall(match.string)) > 1:
        return Origin(None, "moodle", match["file"], info,
                      problem="names two Moodle participants (a display name or file name holding "
                              "'_<id>_assignsubmission_'): which one handed it in cannot be told; check it by hand")
    index = _index(settings)
    by_id = index.moodle.get(match["participant"], [])
    by_name = index.full.get(fold(match["name"]), [])
    if len(by_id) == 1:
        return Origin(by_id[0].id, "moodle", match["file"], info)
    if len(by_name) == 1 and not by_name[0].moodle_ids and not by_id:
        return Origin(by_name[0].id, "moodle", match["file"], info, by_name=True,
                      problem=f"filed under {by_name[0].id} by the name {match['name']!r} alone: add moodle_id = "
                              f"{match['participant']} to that student in course.toml")
    slug = fold(match["name"]) or f"moodle{match['participant']}"
    if not settings.roster:
        return Origin(slug[:64], "moodle", match["file"], info, by_name=True,
                      problem=f"no roster: {match['name']!r} filed as {slug[:64]}")
    p, name = match["participant"], match["name"]
    if len(by_id) > 1:
        problem = f"Moodle participant {p} is the moodle_id of {len(by_id)} roster students: fix course.toml"
    elif len(by_name) == 1:
        problem = (f"Moodle participant {p} is named {name!r} like {by_name[0].id}, whose moodle_id list does not "
                   f"hold {p}: not filed by a name (add moodle_id = {p} to the right student in course.toml)")
    else:
        why = f"{len(by_name)} roster students are named" if by_name else "no roster student is named"
        problem = (f"{why} {name!r} (Moodle participant {p}): add moodle_id = {p} to the right student "
                   "in course.toml")
    return Origin(None, "moodle", match["file"], info, problem=problem)
