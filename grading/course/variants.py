"""Per-student variants: the instructor's side (the secret, the tokens, the grader's variant).

A student's variant of an assignment is ``HMAC-SHA256(secret, "<assignment>\\0<student id>")``
read as a number below ``helpers.variants.SPACE``. The secret is a file only the instructor
holds (``[course] variant_secret_file`` in ``course.toml``, git-ignored, never released or
bundled); ``[assignments.NAME] variants = true`` turns variants on for one assignment.

* **Students** get their variant as a token, ``variant-token.json`` beside the notebook:
  :func:`write_tokens` (run by the release step) writes one folder and one zip per roster
  student under ``<root>/variants/``; on a JupyterHub, :func:`hub_environment` gives a spawner
  the ``COURSE_VARIANTS`` environment of a user name (``helpers.variants`` reads both).
* **The grader** never reads a token: :func:`for_submission` derives the submitter's variant
  from the submission folder's student id; the hidden tests are judged on that variant's cases
  (``helpers.checks.core.verify_cell``), and records made on a classmate's variant are reported
  (``logs/collusion.csv``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import zipfile
from pathlib import Path

from helpers.variants import ENV_MAP, OFF, SPACE, TOKEN_FILE

from .settings import ConfigError, Settings

#: Shortest secret accepted (bytes of the file, whitespace stripped).
MIN_SECRET = 16
NEW_SECRET = 'python -c "import secrets; print(secrets.token_hex(32))" > {path}; chmod 600 {path}'
FOLDER = "variants"
COLLUSION = "collusion.csv"


def variant_of(secret: bytes, student: str, assignment: str) -> int:
    """The variant of ``student`` in ``assignment`` under ``secret``."""
    mac = hmac.new(secret, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "big") % SPACE


def read_secret(settings: Settings) -> bytes:
    """The course secret (``ConfigError`` saying how to create it when it is missing or short)."""
    path = _secret_path(settings)
    try:
        data = path.read_bytes()
    except OSError:
        raise ConfigError(f"course.variant_secret_file: cannot read {path}; create it once with: "
                          f"{NEW_SECRET.format(path=path)} (keep it, and never hand it out)") from None
    return _long_enough(path, data)


def _secret_path(settings: Settings):
    if settings.variant_secret_file is None:
        raise ConfigError("course.toml has no course.variant_secret_file: variants need a course secret")
    return settings.variant_secret_file


def _long_enough(path, data: bytes) -> bytes:
    """The secret of the file ``path`` holding ``data`` (whitespace stripped), if long enough."""
    secret = data.strip()
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"course.variant_secret_file: {path} holds fewer than {MIN_SECRET} bytes; "
                          f"write a long random secret: {NEW_SECRET.format(path=path)}")
    return secret


def varying(settings: Settings) -> list[str]:
    """Assignments whose variants are on."""
    return sorted(name for name, a in settings.assignments.items() if a.variants)


def for_submission(root: Path, student: str, assignment: str) -> tuple[str, int | None, dict[str, int]]:
    """What the grader needs for one submission: ``(kernel setting, variant, classmates)``.

    ``kernel setting`` is the value of ``COURSE_VARIANT`` in the grading kernel: ``"off"`` when this
    assignment's variants are off (a token in the hand-in is then ignored, and the hidden tests
    record on the literal cases, as without variants), else the submitter's variant (used when
    the hand-in carries no token). ``classmates``: every other roster student's variant.
    """
    return _for_submission(str(Path(root).resolve()), student, assignment)


@functools.lru_cache(maxsize=256)
def _settings_and_secret(root: str, stamp: float) -> tuple[Settings, bytes | None]:
    from .settings import load

    settings = load(Path(root))
    return settings, (read_secret(settings) if varying(settings) else None)


def _for_submission(root: str, student: str, assignment: str):
    path = Path(root) / "course.toml"
    stamp = path.stat().st_mtime if path.is_file() else 0.0
    settings, secret = _settings_and_secret(root, stamp)
    if secret is None or not settings.assignment(assignment).variants:
        return OFF, None, {}
    classmates = {s.id: variant_of(secret, s.id, assignment) for s in settings.roster if s.id != student}
    variant = variant_of(secret, student, assignment)
    return str(variant), variant, classmates


def token(settings: Settings, secret: bytes, student: str, assignment: str) -> dict:
    """The content of one student's ``variant-token.json`` for ``assignment``."""
    return {"course": settings.name, "assignment": assignment, "student": student,
            "variant": variant_of(secret, student, assignment)}


def write_tokens(course, assignments: list[str] | None = None) -> Path | None:
    """``<root>/variants/<student>/notebooks/<assignment>/variant-token.json`` and ``<student>.zip``.

    For every roster student and every assignment with variants on (``None`` when there is
    none). The zip unpacks into the student's course folder (beside ``notebooks/``). Returns
    the folder.
    """
    settings = course.settings()
    names = [a for a in varying(settings) if assignments is None or a in assignments]
    if not names:
        return None
    if not settings.roster:
        raise ConfigError("course.toml: variants are on but [[students]] is empty; tokens are made per roster student")
    secret = read_secret(settings)
    out = course.dir(FOLDER)
    out.mkdir(parents=True, exist_ok=True)
    for student in settings.roster:
        with zipfile.ZipFile(out / f"{student.id}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for name in names:
                text = json.dumps(token(settings, secret, student.id, name), indent=1) + "\n"
                member = f"notebooks/{name}/{TOKEN_FILE}"
                target = out / student.id / member
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                zf.writestr(member, text)
    return out


def hub_environment(settings: Settings, secret: bytes, username: str) -> dict[str, str]:
    """The environment a JupyterHub spawner gives ``username``'s server (``COURSE_VARIANTS``).

    In ``jupyterhub_config.py``::

        def pre_spawn_hook(spawner):
            spawner.environment.update(hub_environment(settings, secret, spawner.user.name))

    The kernel of a notebook in ``~/<assignment>/`` (where nbgrader's exchange fetches it)
    then uses that assignment's variant; the hub keeps the secret, the user gets numbers.
    """
    return {ENV_MAP: json.dumps({a: variant_of(secret, username, a) for a in varying(settings)})}


def hub_secret(settings: Settings, owners: set[int]) -> bytes:
    """The course secret as a JupyterHub running as root reads it (``hub/jupyterhub_config.py``).

    Root reads any file, so the Hub checks what :func:`read_secret` leaves to the file system:
    ``variant_secret_file`` must be a regular file, not a symbolic link, owned by one of
    ``owners`` (the uids of the course's instructors, who read it too when they grade) and
    readable by its owner only (mode 0600 or 0400). ``ConfigError`` says what to fix.
    """
    import os
    import stat

    path = _secret_path(settings)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"course.variant_secret_file: cannot open {path} ({exc.strerror}; a symbolic link "
                          f"is refused); create it once, as the instructor: {NEW_SECRET.format(path=path)}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"course.variant_secret_file: {path} is not a regular file")
        if info.st_uid not in owners:
            raise ConfigError(f"course.variant_secret_file: {path} belongs to uid {info.st_uid}, not to an "
                              f"instructor of the course: chown it to the instructor")
        if info.st_mode & 0o077:
            raise ConfigError(f"course.variant_secret_file: {path} has mode {stat.S_IMODE(info.st_mode):04o}; "
                              f"only its owner may read it: chmod 600 {path}")
        data = fh.read(1 << 16)
    return _long_enough(path, data)


def write_collusion(course, report: list[dict]) -> Path | None:
    """``logs/collusion.csv``: one row per (submission, classmate whose variant it answered).

    Rows of submissions graded in this run are replaced; the others are kept.
    """
    import csv

    path = course.dir("logs") / COLLUSION
    graded = {(e["student"], e["assignment"]) for e in report}
    rows = []
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if (r["student"], r["assignment"]) not in graded]
    for entry in report:
        for other, cells in sorted(entry.get("variant_matches", {}).items()):
            rows.append({"student": entry["student"], "assignment": entry["assignment"], "matches_variant_of": other,
                         "cells": " ".join(sorted(cells))})
    if not rows and not path.is_file():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["student", "assignment", "matches_variant_of", "cells"])
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["assignment"], r["student"], r["matches_variant_of"])))
    return path
