"""Per-student variants: which hidden cases (seeds, sizes) a student's notebook works on.

When the instructor turns variants on for an assignment, every student gets a *variant*, a
number derived by the instructor from the student id, the assignment and a course secret
(``grading/course/variants.py``; the secret never leaves the instructor's machine). The
student's notebook learns its variant from a **token** and the hidden tests record answers on
the cases of that variant (:func:`vary_case`). At grading time the grader does *not* read the
token: it derives the variant again from the submitter's id and judges the records against that
variant's cases, so a token (or a notebook) copied from a classmate earns nothing on the items
that vary.

Where the kernel finds its variant (:func:`current`), first match wins:

1. ``COURSE_VARIANT=off`` in the environment (the grader sets it when the assignment's variants
   are off): no variant;
2. ``variant-token.json`` in the working folder (the notebook's folder): the file the instructor
   hands out per student (``grading/variants/<student>/...``), handed in with the notebook;
3. ``COURSE_VARIANT=<number>`` (the grader: the submitter's own variant, when the hand-in
   carries no token);
4. ``COURSE_VARIANTS={"<assignment>": <number>, ...}`` (a JupyterHub spawner derives it from
   the user name); the assignment is the name of the working folder;
5. none: the literal cases, as without variants.

Everything here is public and deterministic: knowing it lets a student compute the cases of a
variant, never which variant a classmate has.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["ENV", "ENV_MAP", "TOKEN_FILE", "current", "read_token", "seed", "vary_case", "vary_cases"]

TOKEN_FILE = "variant-token.json"
ENV = "COURSE_VARIANT"
ENV_MAP = "COURSE_VARIANTS"
OFF = "off"
#: Variants are numbers below this (nine digits).
SPACE = 10**9


def _valid(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SPACE:
        return None
    return value


def read_token(path: str | os.PathLike) -> int | None:
    """The variant a token file names (``None`` when it is missing or malformed)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _valid(data.get("variant")) if isinstance(data, dict) else None


def current(folder: str | os.PathLike | None = None) -> int | None:
    """The variant of the notebook running in ``folder`` (default: the working folder); see the module docstring."""
    env = os.environ.get(ENV, "").strip()
    if env.lower() == OFF:
        return None
    folder = Path(folder) if folder is not None else Path.cwd()
    token = folder / TOKEN_FILE
    if token.is_file():
        return read_token(token)
    if env:
        try:
            return _valid(int(env))
        except ValueError:
            return None
    mapping = os.environ.get(ENV_MAP, "").strip()
    if mapping:
        try:
            return _valid(json.loads(mapping).get(folder.name))
        except (ValueError, AttributeError):
            return None
    return None


def _draw(key: str, value, variant: int) -> int:
    digest = hashlib.sha256(f"{key}\0{value!r}\0{variant}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def vary_case(case: dict, variant: int | None, sizes: dict | None = None) -> dict:
    """The case ``case`` of the hidden tests as variant ``variant`` sees it.

    Every integer ``seed`` (or ``*_seed``) becomes another seed drawn from the variant; every key
    of ``sizes`` (``{"m": (20, 60)}``: the range the lesson teaches) another size in that range.
    Nothing else changes. ``variant=None``: the case itself.
    """
    if variant is None:
        return dict(case)
    out = dict(case)
    for key, value in case.items():
        if (key == "seed" or key.endswith("_seed")) and isinstance(value, int) and not isinstance(value, bool):
            out[key] = _draw(key, value, variant) % 2**31
    for key, (low, high) in (sizes or {}).items():
        value = case.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = int(low) + _draw(key, value, variant) % (int(high) - int(low) + 1)
    return out


def seed(base: int, variant: int | None = None) -> int:
    """The seed a notebook draws its data from: ``base`` without a variant, else the variant's own.

    For the visible part of a notebook (data sets, demos), so a student sees their own numbers:
    ``SEED = variants.seed(1, variants.current())``.
    """
    return vary_case({"seed": base}, variant)["seed"]


def vary_cases(cases, variant: int | None, sizes: dict | None = None) -> list[dict]:
    """:func:`vary_case` of every case."""
    return [vary_case(c, variant, sizes) for c in cases]
