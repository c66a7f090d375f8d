"""Collect: file student hand-ins into ``versions/`` and ``submitted/<student>/<assignment>/``.

Every source goes through one path. The inbox is a folder or a zip (an LMS download as it
comes, or unpacked), or the Hub exchange's ``inbound/`` (:func:`collect_exchange`); its
entries are read by ``intake.py`` (regular files only, never through a link, archives under
caps) and named by ``lms.py`` (Canvas user id, Moodle participant id, roster, or the plain
``<id>.zip``/``<id>.ipynb``/``<id>/``). A student is never found by a display name two
accounts share. Each notebook is filed by its **content** (the checksums nbgrader wrote into
the read-only cells), by its name only when the content says nothing. A notebook handed in
to another assignment (a handin.py folder, ``--assignment``, or the assignment most of an
LMS download holds) is flagged; without ``--assignment`` it is filed where it belongs, but
never counts over a version that assignment already has (kept *held*, ``versions.py``).

The submission time is, in this order: the time the LMS stored (the member time of its
download zip, in course.timezone), the Hub's record (the exchange entry's status-change
time, which the kernel sets and the student cannot), else the file's time inside the
download or the inbox (an unzip tool keeps the LMS's time; a copy may not: said in the
report). A time the student wrote (``timestamp.txt``) is kept as a note and flagged when it
would change the lateness; it never decides a penalty.

What cannot be filed is set aside with a one-line reason, for that hand-in only; the
summary says what was filed, replaced, set aside, flagged, and who handed nothing in. The
exit status is 1 when anything was set aside or flagged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import archive, books, intake, lms, versions, withdraw
from .errors import CourseError
from .gradebook import cell_checksums
from .overview import known_assignments
from .paths import Course
from .settings import STUDENT_ID, Settings, check_names

TOKEN_FILE = intake.TOKEN_FILE
TIMESTAMP = intake.TIMESTAMP
FROM_LMS = "time the LMS stored in its download"
FROM_HUB = "the Hub's record: exchange file times set by the server"
FROM_UNPACKED = "file time in the unpacked download: the LMS's, if the unzip tool kept it"
FROM_ZIP = "file time inside the download zip"
FROM_MTIME = "file time in the inbox: when it was saved or copied there"
STUDENT_TIME = "timestamp file in the hand-in (written on the student's side)"


@dataclass
class HandIn:
    """One inbox entry of one student: what it holds, when it was handed in and how we know."""

    student: str
    label: str
    contents: intake.Contents
    when: dt.datetime  # naive UTC
    source: str
    lms: dict
    file_name: str = ""  # an LMS file entry's own file name (its prefix removed)
    declared: str | None = None  # the assignment it was handed in to, when the download says
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What one collect did, line by line, in the order the summary shows it."""

    filed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    aside: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    placed: list[tuple[str, str]] = field(default_factory=list)
    kept_pairs: list[tuple[str, str]] = field(default_factory=list)
    seen: set = field(default_factory=set)  # assignments this collect concerned
    #: what was replaced, removed only once everything new is on disk (``versions.Settle``)
    settle: versions.Settle = field(default_factory=versions.Settle)

    def print(self, log, nothing: dict[str, list[str]]) -> None:
        for line in self.filed + self.replaced + self.kept + self.already:
            log(line)
        for line in self.aside:
            log(f"SET ASIDE: {line}")
        for line in self.flagged:
            log(f"FLAGGED: {line}")
        log(f"collect summary: {len(self.filed)} filed, {len(self.replaced)} replaced (older versions kept), "
            f"{len(self.kept)} kept as earlier or held versions, {len(self.already)} already collected, "
            f"{len(self.aside)} set aside, {len(self.flagged)} flagged for review")
        for a, who in sorted(nothing.items()):
            log(f"handed nothing in to {a}: {', '.join(who) if who else 'nobody (all handed in)'}")


class Catalog:
    """The released notebooks: by name and by the checksums of their read-only cells; answers cached."""

    def __init__(self, course: Course):
        self.names: dict[str, tuple[str, str]] = {}
        self.sums: dict[str, set] = {}
        with Gradebook(course.db_url) as gb:
            for a in gb.assignments:
                for nb in a.notebooks:
                    self.names[nb.name] = (a.name, nb.name)
                    for c in nb.source_cells:
                        self.sums.setdefault(c.checksum, set()).add((a.name, nb.name))
        self.assignments = sorted({a for a, _ in self.names.values()})
        self._cache: dict[bytes, tuple[str, str] | None] = {}

    def by_content(self, data: bytes) -> tuple[str, str] | None:
        key = hashlib.sha256(data).digest()
        if key not in self._cache:
            self._cache[key] = self._vote(data)
        return self._cache[key]

    def _vote(self, data: bytes) -> tuple[str, str] | None:
        try:
            raw = json.loads(data.decode("utf-8"))
            # only nbgrader's cells carry checksums: a v4 notebook's are taken as they are (no schema validation
            # of the whole notebook, most of nbformat.reads' time; autograde validates what it grades)
            cells = [nbformat.from_dict(c) for c in raw["cells"] if isinstance(c, dict) and
                     "nbgrader" in c.get("metadata", {})] if raw.get("nbformat") == 4 else \
                nbformat.reads(data.decode("utf-8"), as_version=4).cells
            found = cell_checksums(cells)
        except Exception:  # not a notebook at all: what it is not matters, not why
            return None
        votes = Counter(t for s in found - {None} for t in self.sums.get(s, ()))
        if not votes:
            return None
        best = max(votes.values())
        winners = [t for t, v in votes.items() if v == best]
        return winners[0] if len(winners) == 1 else None

    def by_name(self, filename: str) -> tuple[str, str] | None:
        stem = Path(filename).stem
        head, _, tail = stem.rpartition("-")  # Canvas renames a resubmitted toy.ipynb toy-1.ipynb
        return self.names.get(stem) or (self.names.get(head) if head and tail.isdigit() else None)


# ------------------------------------------------------------------ entry points
def collect(course: Course, inbox: Path, *, assignment: str | None = None, lms_name: str | None = None,
            log=print) -> dict:
    """File ``inbox`` (a folder or a zip); returns the report as a dict (``placed``, ``kept``, ``problems``, ...)."""
    inbox = Path(inbox).expanduser()
    if not inbox.exists():
        raise CourseError(f"{inbox} does not exist: give the folder (or zip) of downloaded submissions")
    settings, catalog = _ready(course, assignment)
    report = Report()
    if inbox.is_dir():
        entries, aside = intake.folder_entries(str(inbox))
        report.aside += aside
        return _run(course, settings, catalog, entries, report, assignment, lms_name, zipped=False, log=log)
    if not zipfile.is_zipfile(inbox):
        raise CourseError(f"{inbox} is neither a folder nor a zip: give the download folder or the LMS's zip")
    with zipfile.ZipFile(inbox) as zf:
        try:
            entries = intake.zip_entries(zf, inbox.name)
        except archive.Refused as exc:
            raise CourseError(str(exc)) from None
        return _run(course, settings, catalog, entries, report, assignment, lms_name, zipped=True, log=log)


def collect_exchange(course: Course, inbound: Path, assignment: str, *, owner=None, log=print) -> dict:
    """File the hand-ins of ``assignment`` in the Hub exchange's ``inbound/``.

    An entry is ``<student>+<assignment>+<time>+<random>`` (nbgrader's name); it is filed under
    ``owner(uid)`` (the account that wrote it; ``None``: the name's student), set aside when the
    name claims someone else, and timed by the status-change times of what it holds.
    """
    settings, catalog = _ready(course, assignment)
    report = Report()
    hand_ins = []
    for raw in sorted(os.listdir(inbound)) if inbound.is_dir() else []:
        name = intake.nfc(raw)
        parts = name.split("+")
        if name.startswith(".") or len(parts) < 4 or parts[1] != assignment:
            continue
        try:
            st = os.stat(inbound / raw, follow_symlinks=False)
        except OSError:
            continue  # gone since the listing
        student = owner(st.st_uid) if owner else parts[0]
        if student != parts[0] or not STUDENT_ID.match(student or ""):
            report.aside.append(f"{name}: claims to be {parts[0]}'s hand-in but was written by {student}; set aside")
            continue
        if settings.roster and settings.student(student) is None:
            report.aside.append(f"{name}: {student} is not on the roster ([[students]] in course.toml); set aside")
            continue
        contents = intake.read_folder(str(inbound / raw))
        when = dt.datetime.fromtimestamp(contents.ctime or st.st_ctime, dt.timezone.utc).replace(tzinfo=None)
        hand_ins.append(HandIn(student, name, contents, when, FROM_HUB, {"lms": "hub", "account": student},
                               declared=assignment))
    gone = withdraw.withdrawn_students(course)
    by_student: dict[str, list[HandIn]] = {}
    for h in hand_ins:
        if h.student in gone:
            report.aside.append(f"{h.label}: {h.student} was withdrawn; set aside (withdraw --undo to restore)")
        else:
            by_student.setdefault(h.student, []).append(h)
    report.seen.add(assignment)
    for _student, group in sorted(by_student.items()):
        _file_student(course, settings, catalog, group, None, report)
    return _finish(course, settings, report, log)


def _ready(course: Course, assignment: str | None) -> tuple[Settings, Catalog]:
    books.need_gradebook(course)
    settings = course.settings()  # the gradebook's copy of it is autograde's to update (books.sync)
    catalog = Catalog(course)
    if not catalog.names:
        raise CourseError("the gradebook has no assignments: run the release step first (make release)")
    if assignment and assignment not in catalog.assignments:
        raise CourseError(f"unknown assignment {assignment!r}; released: {', '.join(catalog.assignments)}")
    check_names(settings, sorted(set(known_assignments(course)) | set(catalog.assignments)))
    return settings, catalog


# ------------------------------------------------------------------ an inbox: entries to hand-ins
def _run(course: Course, settings: Settings, catalog: Catalog, entries, report: Report, only: str | None,
         lms_name: str | None, *, zipped: bool, log) -> dict:
    gone = withdraw.withdrawn_students(course)
    named = []
    for entry in entries:
        origin = lms.identify(entry.name, settings, lms_name)
        if origin.student is None:
            report.aside.append(f"{entry.name}: {origin.problem}; set aside")
            continue
        if origin.student in gone:
            report.aside.append(f"{entry.name}: {origin.student} was withdrawn; set aside (withdraw --undo to restore)")
            continue
        named.append((entry, origin))
    named = _one_account_each(named, report)
    report.flagged += [f"{entry.name}: {origin.problem}" for entry, origin in named if origin.problem]
    is_lms = any(o.lms in ("canvas", "moodle") for _, o in named)
    declared = only or (_majority(named, catalog) if is_lms else None)
    if only:
        report.seen.add(only)
    by_student: dict[str, list] = {}
    for entry, origin in named:
        by_student.setdefault(origin.student, []).append((entry, origin))
    for _student, pairs in sorted(by_student.items()):
        hand_ins = [_hand_in(entry, origin, settings, zipped, declared) for entry, origin in pairs]
        _file_student(course, settings, catalog, hand_ins, only, report)
    return _finish(course, settings, report, log)


def _one_account_each(named, report: Report):
    """Entries found by a display name are dropped when another account is filed under the same student."""
    accounts: dict[str, set[str]] = {}
    for _, o in named:
        if o.account:
            accounts.setdefault(o.student, set()).add(o.account)
    keep = []
    for entry, o in named:
        others = sorted(accounts.get(o.student, set()) - {o.account})
        if o.by_name and others:
            report.aside.append(f"{entry.name}: {o.account} is named like {o.student}, but so is {', '.join(others)} "
                                f"in this download: filed under neither by a name; add the LMS id of {o.student} "
                                "to course.toml")
            continue
        keep.append((entry, o))
    return keep


def _majority(named, catalog: Catalog) -> str | None:
    """The assignment an LMS download is for: the one more than half of its notebooks hold (read once, cached)."""
    votes: Counter = Counter()
    for entry, _ in named:
        contents = entry.load()
        for item in contents.items:
            if item.name.lower().endswith(intake.NOTEBOOK) and item.data.strip():
                target = catalog.by_content(item.data)
                if target:
                    votes[target[0]] += 1
    if not votes:
        return None
    a, n = votes.most_common(1)[0]
    return a if n * 2 > sum(votes.values()) else None


def _hand_in(entry, origin: lms.Origin, settings: Settings, zipped: bool, declared: str | None) -> HandIn:
    contents = entry.load()
    info = {"lms": origin.lms, **origin.info, **({"account": origin.account} if origin.account else {})}
    if zipped and entry.time is not None:
        when, source = settings.to_utc(entry.time), FROM_LMS if origin.lms != "none" else FROM_ZIP
    else:
        stamp = contents.mtime or 0.0
        when = dt.datetime.fromtimestamp(stamp, dt.timezone.utc).replace(tzinfo=None)
        source = FROM_UNPACKED if origin.lms != "none" else FROM_MTIME
    return HandIn(origin.student, entry.name, contents, when, source, info, "" if entry.folder else origin.file,
                  declared if origin.lms != "none" else None)


# ------------------------------------------------------------------ filing one student's hand-ins
def _file_student(course: Course, settings: Settings, catalog: Catalog, hand_ins: list[HandIn],
                  only: str | None, report: Report) -> None:
    groups: dict[tuple, dict] = {}
    for h in hand_ins:
        report.aside += h.contents.aside
        report.flagged += h.contents.notes
        _sort_notebooks(h, catalog, settings, only, groups, report)
    for (student, a, _key), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[1]["when"])):
        try:
            _store(course, settings, student, a, group, report)
        except OSError as exc:  # a full disk, a folder made read-only: this hand-in waits, the class goes on
            report.aside.append(f"{', '.join(sorted(set(group['origins'])))}: could not be filed as {student}/{a} "
                                f"({exc.strerror or exc}); nothing it would replace was touched")


def _student_claim(h: HandIn, settings: Settings) -> dt.datetime | None:
    """The time a timestamp file in the hand-in claims (the student wrote it): kept as a note only."""
    texts = [i for i in h.contents.items if i.name == TIMESTAMP]
    if not texts:
        return None
    text = texts[-1].data.decode("utf-8", "replace").strip()[:60]
    claimed = _parse_stamp(text, settings)
    h.notes.append(f"{STUDENT_TIME}: {text!r}" + ("" if claimed else " (not a time)"))
    return claimed


def _check_claim(h: HandIn, claimed: dt.datetime, assignment: str, settings: Settings, report: Report) -> None:
    """Flag a student-written time that would change the lateness (it never decides it)."""
    spec = settings.assignment(assignment)
    if spec.due is None:
        return
    due = spec.due + dt.timedelta(hours=spec.extensions.get(h.student, 0.0))
    if (claimed <= due) != (h.when <= due):
        report.flagged.append(f"{h.label}: its {TIMESTAMP} (written on the student's side) says "
                              f"{settings.local(claimed)}, the {h.source} says {settings.local(h.when)}: the "
                              f"latter decides the penalty; check")


def _parse_stamp(text: str, settings: Settings) -> dt.datetime | None:
    from nbgrader.utils import parse_utc

    try:
        parsed = parse_utc(text) if text.endswith(("UTC", "Z")) or "+" in text else None
        return parsed or settings.to_utc(dt.datetime.fromisoformat(text.replace(" ", "T", 1)))
    except (ValueError, OverflowError, TypeError):
        return None


def _hint(item: intake.Item, catalog: Catalog) -> str | None:
    """The assignment a handin.py-shaped path names (``<id>/<assignment>/<nb>.ipynb``)."""
    return next((p for p in reversed(item.parts[:-1]) if p in catalog.assignments), None)


def _sort_notebooks(h: HandIn, catalog: Catalog, settings: Settings, only: str | None, groups: dict,
                    report: Report) -> None:
    """Decide each notebook's assignment and add it to its (student, assignment, hand-in) group."""
    items = h.contents.items
    tokens = {i.parts[-2] if len(i.parts) > 1 else "": i.data for i in items
              if i.name == TOKEN_FILE and len(i.data) <= intake.MAX_TOKEN_BYTES}
    notebooks = [i for i in items if i.name.lower().endswith(intake.NOTEBOOK)]
    claimed = _student_claim(h, settings)
    if not notebooks:
        if not h.contents.aside:  # otherwise the reasons are said already
            report.aside.append(f"{h.label}: no notebook found; set aside")
        return
    others = {i.parts[0] for i in notebooks if len(i.parts) >= 3 and _hint(i, catalog) == i.parts[1]} - {h.student}
    for other in sorted(others):
        report.flagged.append(f"{h.label}: holds a folder named {other!r} (another student's id?); "
                              f"filed under {h.student}, whose hand-in it is")
    declared_got: dict[str, bool] = {}
    filed_here: set[str] = set()
    aside_before = len(report.aside)
    for item in notebooks:
        whole = item.parts == (h.label,)  # the entry is this one file (an LMS file, <id>.ipynb)
        filename = h.file_name if whole and h.file_name else item.name
        label = h.label if whole else f"{h.label}: {'/'.join(item.parts)}"
        declared = _hint(item, catalog) or only or h.declared
        if declared:
            report.seen.add(declared)
            declared_got.setdefault(declared, False)
        by_name = catalog.by_name(filename)
        if not item.data.strip():
            report.aside.append(f"{label} is an empty file (0 bytes); set aside")
            continue
        target = catalog.by_content(item.data)
        if target is None and by_name is not None:
            report.flagged.append(f"{label}: content not recognised (read-only cells changed or metadata lost); "
                                  f"filed by its name as {by_name[0]}: check it")
            target = by_name
        elif target is None:
            report.aside.append(f"{label}: cannot tell which assignment it belongs to; set aside")
            continue
        elif by_name is not None and by_name != target:
            report.flagged.append(f"{label} is named like {by_name[0]} but holds {target[0]}: filed as {target[0]}")
        if only and target[0] != only:
            report.aside.append(f"{label}: misfiled, holds {target[0]}, not {only}; set aside "
                                f"(collect it with --assignment {target[0]})")
            continue
        misfiled = declared is not None and declared != target[0]
        if misfiled:
            report.flagged.append(f"{label}: handed in to {declared} but holds {target[0]}: filed under {target[0]}"
                                  f" (never over a version it already has)")
        else:
            declared_got[target[0]] = True
        report.seen.add(target[0])
        key = (h.student, target[0], (h.lms.get("submission_id") or h.label, h.when))
        group = groups.setdefault(key, {"files": {}, "when": h.when, "source": h.source, "origins": [],
                                        "lms": h.lms, "notes": list(h.notes), "misfiled": ""})
        if misfiled:
            group["misfiled"] = f"handed in to {declared} by {h.label}"
        name = f"{target[1]}.ipynb"
        if name in group["files"] and group["files"][name] != item.data:
            report.aside.append(f"{label}: a second, different {name} in the same hand-in; neither can be trusted "
                                "to be the one meant: set aside (ask the student, or place it by hand)")
            group["files"][name] = None
            continue
        group["files"][name] = item.data
        group["origins"].append(h.label)
        filed_here.add(target[0])
        token = tokens.get(target[0])
        if token is not None:  # the token handed in beside this assignment's notebook (never believed)
            group["files"][TOKEN_FILE] = token
    if claimed is not None:
        for a in sorted(filed_here):
            _check_claim(h, claimed, a, settings, report)
    for a, got in declared_got.items():
        if not got and not only and len(report.aside) == aside_before:  # else the reason is said already
            report.flagged.append(f"{h.label}: handed in to {a} without a notebook of {a}: nothing filed for "
                                  f"{h.student}/{a} from it")


def _store(course: Course, settings: Settings, student: str, assignment: str, group: dict, report: Report) -> None:
    if any(v is None for v in group["files"].values()):
        return
    origin = ", ".join(sorted(set(group["origins"])))
    if withdraw.withdrawn_digest(course, student, assignment, versions.digest(group["files"])):
        report.aside.append(f"{origin}: {student}/{assignment} was withdrawn; set aside "
                            f"(withdraw --undo {student} {assignment} to restore it)")
        return
    versions.adopt(course, student, assignment)
    earlier = versions.listing(course, student, assignment)
    account = group["lms"].get("account")
    if group["lms"].get("lms") in ("canvas", "moodle") and account and \
            any(v.get("lms", {}).get("account") not in (None, account) for v in earlier
                if v.get("lms", {}).get("lms") == group["lms"]["lms"]):
        report.aside.append(f"{origin}: {account} is filed under {student}, whose earlier versions of {assignment} "
                            "came from another account: set aside (check the roster's LMS ids)")
        return
    held = ""
    if group["misfiled"] and any(not v.get("held") for v in earlier):
        held = group["misfiled"]
    before = versions.counting(course, student, assignment)
    name, new = versions.add(course, student, assignment, group["files"], group["when"], group["source"],
                             origin, group["lms"], held=held, notes=group["notes"], settle=report.settle)
    if not new:
        report.already.append(f"already collected: {student}/{assignment} ({origin}) is version {name}")
        return
    counting = versions.install(course, student, assignment, settle=report.settle)
    when = f"submitted {settings.local(group['when'])} ({group['source']})"
    late = _lateness(settings, student, assignment, group)
    if counting != name:
        why = f"held ({held})" if held else "an earlier version"
        report.kept.append(f"kept {student}/{assignment} version {name} ({origin}, {when}) as {why}: {counting} "
                           f"counts (pin another with: pin {student} {assignment} VERSION)")
        report.kept_pairs.append((student, assignment))
        return
    report.placed.append((student, assignment))
    if before:
        report.replaced.append(f"placed {origin} -> {student}/{assignment}, {when}{late}; replaces {before}, kept")
    else:
        report.filed.append(f"placed {origin} -> {student}/{assignment}, {when}{late}")


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


def _finish(course: Course, settings: Settings, report: Report, log) -> dict:
    report.settle.done()
    nothing = {}
    if settings.roster:
        gone = withdraw.withdrawn_students(course)
        for a in sorted(report.seen):
            nothing[a] = [s.id for s in settings.roster if s.id not in gone and versions.counting(course, s.id, a)
                          is None]
    report.print(log, nothing)
    return {"placed": report.placed, "kept": report.kept_pairs, "problems": report.aside + report.flagged,
            "aside": report.aside, "flagged": report.flagged, "replaced": report.replaced, "nothing": nothing}
