"""``config``: what course.toml says, in words, after validating it (and against the gradebook).

Beyond course.toml's own checks (``settings.py``): every ``[assignments.X]`` must name an
assignment of the course, and no nbgrader configuration the course's steps would override
(nbgrader-native due dates, ``LateSubmissionPlugin.penalty_method``, another late-penalty
plugin) may sit in the course's ``nbgrader_config.py``, one in the course root, or one in
Jupyter's config path, where nbgrader's own commands would read it.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook

from .paths import Course
from .settings import check_names, check_nbgrader


def known_assignments(course: Course) -> list[str]:
    """The course's assignments: its source folders, else those released into the gradebook."""
    if course.source.is_dir():
        return course.assignments()
    if course.local_db and not course.db.exists():
        return []
    with Gradebook(course.db_url) as gb:
        return sorted(a.name for a in gb.assignments)


def check_nbgrader_files(course: Course) -> None:
    """nbgrader settings course.toml decides, wherever nbgrader would read them: one line each."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import PyFileConfigLoader

    check_nbgrader(course.config(), "grading/nbgrader_config.py")
    for folder in [course.root, *map(Path, jupyter_config_path())]:
        path = folder / "nbgrader_config.py"
        if path.is_file() and path.resolve() != Path(__file__).resolve().parent.parent / "nbgrader_config.py":
            check_nbgrader(PyFileConfigLoader(path.name, path=str(folder)).load_config(), str(path))


def describe(course: Course) -> str:
    s = course.settings()
    known = known_assignments(course)
    if known:
        check_names(s, known)
    check_nbgrader_files(course)
    if s.path is None:
        return (f"no {course.root / 'course.toml'}: no due dates (nothing is late), no roster (any student id is "
                "accepted), no LMS. Start from grading/course.example.toml.")
    lines = [f"{s.path}: valid", f"course: {s.name or '(no name)'}; time zone {s.timezone}; LMS {s.lms}"]
    late = s.late
    rule = {"none": "no late penalty", "zero": "a late submission scores 0",
            "per_hour": f"{late.deduction:g}% of the points per started hour late, at most {late.cap:g}%",
            "per_day": f"{late.deduction:g}% of the points per started day late, at most {late.cap:g}%"}[late.policy]
    lines.append(f"late policy: {rule}" + (f" (after {late.grace_minutes:g} minutes of grace)" if late.grace_minutes
                                            else ""))
    released = set()
    if not course.local_db or course.db.exists():
        with Gradebook(course.db_url) as gb:
            released = {a.name for a in gb.assignments}
    for name, a in sorted(s.assignments.items()):
        due = s.local(a.due) if a.due else "no due date"
        ext = f"; extensions: {', '.join(f'{k} +{v:g} h' for k, v in a.extensions.items())}" if a.extensions else ""
        state = "" if not released or name in released else "  (not released yet)"
        var = "; per-student variants" if a.variants else ""
        lines.append(f"  {name}: due {due}{ext}{var}{state}")
    lines.append(f"roster: {len(s.roster)} students")
    if any(a.variants for a in s.assignments.values()):
        from .variants import read_secret

        read_secret(s)  # a missing or short secret: the one-line error that says how to make it
        lines.append(f"variants: secret in {s.variant_secret_file} (keep it; never hand it out); tokens in "
                     f"{course.dir('variants')}/<student>.zip after the release")
    return "\n".join(lines)
