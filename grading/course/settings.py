"""The course configuration the instructor edits once: ``<root>/course.toml``.

It holds what nbgrader's gradebook cannot say on its own: each assignment's due date (and
per-student extensions), the late policy, the roster (names, emails, LMS ids) and the LMS.
``books.sync`` writes the facts nbgrader has columns for (due dates, extensions, names,
emails) into the gradebook, so nbgrader's own commands and the formgrader see them too.

No file means an empty configuration: no due dates (nothing is late), no roster (any valid
student id is accepted), no LMS. ``grading/course.example.toml`` is the documented example.
Every mistake is a ``ConfigError`` whose one line names the key and what to write instead.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from .errors import CourseError

FILE_NAME = "course.toml"
LMS_CHOICES = ("none", "canvas", "moodle")
LATE_POLICIES = ("none", "zero", "per_hour", "per_day")
#: What a student id may be: also a folder name under submitted/ and a gradebook key.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ConfigError(CourseError):
    """A mistake in course.toml (the message names the key and the fix)."""


@dataclass(frozen=True)
class LatePolicy:
    """How a late submission is penalised (``late.py`` applies it inside nbgrader).

    ``deduction`` is a percentage of the notebook's points per started hour/day late,
    ``cap`` the largest percentage a late submission can lose; ``grace_minutes`` of
    lateness are forgiven (clock skew, an upload that took a minute).
    """

    policy: str = "none"
    deduction: float = 0.0
    cap: float = 100.0
    grace_minutes: float = 0.0


@dataclass(frozen=True)
class Student:
    """One roster entry. ``canvas_id``: Canvas' user id; ``moodle_ids``: Moodle participant ids."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    moodle_ids: tuple[str, ...] = ()
    id_number: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.id


@dataclass(frozen=True)
class Assignment:
    """Due date (UTC, naive as nbgrader stores it), LMS title/id, extensions in hours by student."""

    name: str
    due: dt.datetime | None = None
    title: str = ""
    lms_id: str = ""
    extensions: dict[str, float] = field(default_factory=dict)
    variants: bool = False


@dataclass(frozen=True)
class Grading:
    """The per-notebook time budget (``budget.py``): ``budget_factor`` x the source notebook's run time
    measured at release, at least ``budget_floor`` seconds; ``notebook_timeout`` (seconds) fixes it instead."""

    budget_factor: float = 20.0
    budget_floor: float = 60.0
    notebook_timeout: int | None = None


@dataclass(frozen=True)
class Settings:
    """The parsed, validated course.toml."""

    path: Path | None = None
    name: str = ""
    timezone: str = "UTC"
    lms: str = "none"
    late: LatePolicy = LatePolicy()
    assignments: dict[str, Assignment] = field(default_factory=dict)
    roster: tuple[Student, ...] = ()
    #: The file holding the course secret of per-student variants (``grading/course/variants.py``).
    variant_secret_file: Path | None = None
    grading: Grading = Grading()

    @property
    def tz(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def student(self, student_id: str) -> Student | None:
        return next((s for s in self.roster if s.id == student_id), None)

    def assignment(self, name: str) -> Assignment:
        return self.assignments.get(name) or Assignment(name)

    def to_utc(self, when: dt.datetime) -> dt.datetime:
        """A naive time is in the course's time zone; returns naive UTC (nbgrader's convention)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        return when.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def local(self, utc: dt.datetime) -> str:
        """A naive UTC time shown in the course's time zone, for messages."""
        return utc.replace(tzinfo=dt.timezone.utc).astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")


def load(root: Path) -> Settings:
    """``<root>/course.toml`` parsed and validated (an empty configuration when there is none)."""
    path = Path(root) / FILE_NAME
    if not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); compare with grading/course.example.toml") from None
    return parse(data, path)


def parse(data: dict, path: Path | None = None) -> Settings:
    where = str(path or FILE_NAME)
    _only(data, {"course", "late", "assignments", "students", "grading"}, where, "")
    course = _table(data, "course", where)
    _only(course, {"name", "timezone", "lms", "variant_secret_file"}, where, "course.")
    timezone = _text(course, "timezone", where, "course.", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: course.timezone = {timezone!r} is not a time zone; "
                          "write an IANA name such as \"Europe/Paris\" or \"UTC\"") from None
    lms = _text(course, "lms", where, "course.", "none").lower()
    if lms not in LMS_CHOICES:
        raise ConfigError(f"{where}: course.lms = {lms!r}; write one of {', '.join(LMS_CHOICES)}")
    settings = Settings(path=path, name=_text(course, "name", where, "course.", ""), timezone=timezone, lms=lms,
                        late=_late(_table(data, "late", where), where))
    roster = tuple(_student(s, i, where) for i, s in enumerate(_list(data, "students", where)))
    seen: set[str] = set()
    for s in roster:
        if s.id in seen:
            raise ConfigError(f"{where}: student id {s.id!r} appears twice in [[students]]; keep one entry")
        seen.add(s.id)
    _lms_fields(roster, lms, where)
    assignments = {}
    for name, table in _table(data, "assignments", where).items():
        assignments[name] = _assignment(settings, name, table, where, seen)
    secret = _text(course, "variant_secret_file", where, "course.", "")
    secret_file = None
    if secret:
        secret_file = Path(secret).expanduser()
        if not secret_file.is_absolute() and path is not None:
            secret_file = Path(path).parent / secret_file  # relative to course.toml
    varying = sorted(n for n, a in assignments.items() if a.variants)
    if varying and secret_file is None:
        raise ConfigError(f"{where}: assignments.{varying[0]}.variants = true needs course.variant_secret_file "
                          "(a file only you hold, e.g. \"variant-secret\"; grading/README.md, Per-student variants)")
    return Settings(path=path, name=settings.name, timezone=timezone, lms=lms, late=settings.late,
                    assignments=assignments, roster=roster, variant_secret_file=secret_file,
                    grading=_grading(_table(data, "grading", where), where))


def _grading(table: dict, where: str) -> Grading:
    _only(table, {"budget_factor", "budget_floor", "notebook_timeout"}, where, "grading.")
    fixed = table.get("notebook_timeout")
    if fixed is not None and (not isinstance(fixed, int) or isinstance(fixed, bool) or fixed < 0):
        raise ConfigError(f"{where}: grading.notebook_timeout = {fixed!r}; write whole seconds (0: no budget), "
                          "or leave it out to budget from the run time measured at release")
    return Grading(budget_factor=_number(table, "budget_factor", where, "grading.", 20.0, 1, 10**4),
                   budget_floor=_number(table, "budget_floor", where, "grading.", 60.0, 1, 10**6),
                   notebook_timeout=fixed)


#: The roster fields an LMS's grade import matches a row on (exports.py), by LMS.
LMS_FIELDS = {"canvas": ("canvas_id", "sis_user_id", "sis_login_id"), "moodle": ("email", "id_number")}


def _lms_fields(roster: tuple[Student, ...], lms: str, where: str) -> None:
    """Every student has a field the chosen LMS's export (and download naming) can match on."""
    fields = LMS_FIELDS.get(lms, ())
    for i, s in enumerate(roster):
        if fields and not any(getattr(s, f) for f in fields):
            raise ConfigError(f"{where}: students[{i}] ({s.id}) has no {' or '.join(fields)}, which course.lms = "
                              f"{lms!r} matches on: add {fields[0]} = ... to that student")


def check_names(settings: Settings, known: list[str]) -> None:
    """Every ``[assignments.X]`` names an assignment of the course (a misspelling would leave the real one
    without a due date)."""
    unknown = sorted(set(settings.assignments) - set(known))
    if unknown:
        raise ConfigError(f"{settings.path or FILE_NAME}: [assignments.{unknown[0]}] names no assignment of the "
                          f"course; the assignments are {', '.join(known)}: fix the name")


#: nbgrader settings that course.toml decides (books.sync and nbgrader_config.py would override them).
NBGRADER_OVERRIDDEN = {("LateSubmissionPlugin", "penalty_method"): "late.policy in course.toml",
                       ("CourseDirectory", "db_assignments"): "due = ... under [assignments.NAME] in course.toml",
                       ("NbGrader", "db_assignments"): "due = ... under [assignments.NAME] in course.toml"}


def check_nbgrader(config, origin: str) -> None:
    """Refuse nbgrader-native due dates and penalty settings that course.toml would silently override."""
    for (section, key), instead in NBGRADER_OVERRIDDEN.items():
        if section in config and key in config[section]:
            value = config[section][key]
            if key == "db_assignments" and not any(isinstance(a, dict) and a.get("duedate") for a in value or ()):
                continue
            raise ConfigError(f"{origin}: {section}.{key} is set, but course.toml decides this and the course's "
                              f"steps override it: remove it from that file and write {instead}")
    plugin = config.get("AssignLatePenalties", {}).get("plugin_class") if "AssignLatePenalties" in config else None
    if plugin is not None and getattr(plugin, "__name__", str(plugin)).rsplit(".", 1)[-1] != "CoursePolicy":
        raise ConfigError(f"{origin}: AssignLatePenalties.plugin_class is {plugin!r}; the course's late policy "
                          "is late.policy in course.toml (plugin grading.course.late.CoursePolicy): remove it")


def _late(table: dict, where: str) -> LatePolicy:
    _only(table, {"policy", "deduction", "cap", "grace_minutes"}, where, "late.")
    policy = _text(table, "policy", where, "late.", "none")
    if policy not in LATE_POLICIES:
        raise ConfigError(f"{where}: late.policy = {policy!r}; write one of {', '.join(LATE_POLICIES)}")
    deduction = _number(table, "deduction", where, "late.", 0.0, 0, 100)
    cap = _number(table, "cap", where, "late.", 100.0, 0, 100)
    if policy.startswith("per_") and deduction == 0:
        raise ConfigError(f"{where}: late.policy = {policy!r} needs late.deduction (percent of the points "
                          "per started hour/day, e.g. 10)")
    return LatePolicy(policy, deduction, cap, _number(table, "grace_minutes", where, "late.", 0.0, 0, 10**6))


def _student(entry, index: int, where: str) -> Student:
    key = f"students[{index}]."
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each [[students]] entry must be a table (id = ..., first_name = ...)")
    allowed = {"id", "first_name", "last_name", "email", "canvas_id", "sis_user_id", "sis_login_id", "section",
               "moodle_id", "id_number"}
    _only(entry, allowed, where, key)
    sid = _text(entry, "id", where, key, None)
    if not STUDENT_ID.match(sid):
        raise ConfigError(f"{where}: {key}id = {sid!r} is not a valid student id (letters, digits, _ . -, "
                          "at most 64, starting with a letter or digit)")
    email = _text(entry, "email", where, key, "")
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise ConfigError(f"{where}: {key}email = {email!r} (student {sid}) is not an email address")
    moodle = entry.get("moodle_id", ())
    moodle = moodle if isinstance(moodle, list) else [moodle] if moodle != () else []
    ids = {k: _ident(entry, k, where, key) for k in ("canvas_id", "sis_user_id", "sis_login_id", "id_number")}
    return Student(id=sid, first_name=_text(entry, "first_name", where, key, ""),
                   last_name=_text(entry, "last_name", where, key, ""), email=email,
                   section=_text(entry, "section", where, key, ""),
                   moodle_ids=tuple(_ident({"moodle_id": m}, "moodle_id", where, key) for m in moodle), **ids)


def _assignment(settings: Settings, name: str, table, where: str, roster: set[str]) -> Assignment:
    key = f"assignments.{name}."
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [assignments.{name}] must be a table (due = ..., title = ...)")
    _only(table, {"due", "title", "lms_id", "extensions", "variants"}, where, key)
    variants = table.get("variants", False)
    if not isinstance(variants, bool):
        raise ConfigError(f"{where}: {key}variants = {variants!r}; write true or false (no quotes)")
    due = table.get("due")
    if due is not None:
        if isinstance(due, dt.date) and not isinstance(due, dt.datetime):
            raise ConfigError(f"{where}: {key}due = {due} has no time of day; write e.g. {due}T23:59:00")
        if not isinstance(due, dt.datetime):
            raise ConfigError(f"{where}: {key}due must be a TOML date-time without quotes, e.g. 2027-02-01T23:59:00 "
                              f"(in course.timezone) or 2027-02-01T23:59:00+01:00")
        due = settings.to_utc(due)
    extensions = {}
    for sid, hours in _table(table, "extensions", where, key).items():
        if roster and sid not in roster:
            raise ConfigError(f"{where}: {key}extensions names {sid!r}, who is not on the roster ([[students]])")
        extensions[sid] = _number({sid: hours}, sid, where, f"{key}extensions.", 0.0, 0, 10**5)
    return Assignment(name=name, due=due, title=_text(table, "title", where, key, ""),
                      lms_id=_ident(table, "lms_id", where, key), extensions=extensions, variants=variants)


# ------------------------------------------------------------------ small typed readers
def _only(table: dict, allowed: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {prefix}{unknown[0]}; the keys here are {', '.join(sorted(allowed))}")


def _table(data: dict, key: str, where: str, prefix: str = "") -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {prefix}{key} must be a table ([{prefix}{key}])")
    return value


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be a list of tables ([[{key}]])")
    return value


def _text(table: dict, key: str, where: str, prefix: str, default: str | None) -> str:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}: {prefix}{key} is missing")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {prefix}{key} = {value!r} must be text in quotes")
    return value.strip()


def _ident(table: dict, key: str, where: str, prefix: str) -> str:
    """An LMS identifier: written as a number or as text, kept as text."""
    value = table.get(key, "")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{where}: {prefix}{key} = {value!r} must be a number or text")
    return str(value).strip()


def _number(table: dict, key: str, where: str, prefix: str, default: float, low: float, high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{where}: {prefix}{key} = {value!r} must be a number from {low:g} to {high:g}")
    return float(value)
