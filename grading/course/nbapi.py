"""nbgrader's Python API for one course, quiet unless asked."""

from __future__ import annotations

import logging
import re

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from .paths import Course


def api(course: Course, **overrides) -> NbGraderAPI:
    config = course.config(**overrides)
    config.NbGraderAPI.log_level = logging.WARNING
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def last_line(text: str | None) -> str:
    """The exception line of a formatted traceback (what the instructor needs to see)."""
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown error"


def failure_reason(log: str, error: str | None) -> str:
    """Why nbgrader gave up on a submission: the first exception in its log, else the error's last line.

    nbgrader logs the real traceback and then raises a generic "see the above traceback".
    """
    lines = (log or "").splitlines()
    for i, line in enumerate(lines):
        if "Traceback (most recent call last)" in line:
            for follow in lines[i + 1:]:
                text = follow.strip()
                if text and not follow.startswith("        ") and not text.startswith(("File ", "^", "~")):
                    if re.match(r"^[\w.]+(Error|Exception|Exit)\b", text):
                        return text[:300]
    return last_line(error)
