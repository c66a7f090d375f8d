"""Per-student variants: which hidden cases (seeds, sizes, functions, points) a student's notebook works on.

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
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV", "ENV_MAP", "TOKEN_FILE", "Between", "OneOf", "Scale", "current", "read_token", "seed", "vary_case",
           "vary_cases"]

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


def _unit(key: str, value, variant: int) -> float:
    """A number in [0, 1) drawn from the variant (deterministic, one per key and value)."""
    return _draw(key, value, variant) / 2**32


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- rules
# A check declares, per key of its cases, how a variant may change it (``Check.vary``). Every rule
# is drawn from the variant *and the original value*, so each case keeps its own intent: an edge
# case (``m = 1``, ``shift = 0``) stays an edge case, a large offset stays large.


@dataclass(frozen=True)
class Between:
    """An integer drawn in ``[low, high]`` (a size the lesson teaches in that range)."""

    low: int
    high: int

    def __post_init__(self):
        if not (isinstance(self.low, int) and isinstance(self.high, int) and self.low <= self.high):
            raise ValueError(f"Between({self.low!r}, {self.high!r}): need integers low <= high")

    def apply(self, key: str, value, variant: int):
        if not _is_number(value) or isinstance(value, float):
            return value
        return self.low + _draw(key, value, variant) % (self.high - self.low + 1)


@dataclass(frozen=True)
class Scale:
    """The number (or each number of a list) times a factor drawn in ``[low, high]``.

    Integers are rounded (and stay at least 1 when they were), floats keep ``digits``
    significant digits; zero stays zero and signs never change. ``keep`` lists indices of a
    list left alone (``keep=(0, -1)``: a network's input and output sizes).
    """

    low: float
    high: float
    digits: int = 3
    keep: tuple = ()

    def __post_init__(self):
        if not 0 < self.low <= self.high:
            raise ValueError(f"Scale({self.low!r}, {self.high!r}): need 0 < low <= high")

    def _one(self, key: str, value, variant: int):
        if not _is_number(value) or value == 0:
            return value
        factor = self.low + (self.high - self.low) * _unit(key, value, variant)
        if isinstance(value, int):
            scaled = round(value * factor)
            return max(1, scaled) if value > 0 else min(-1, scaled)
        return float(f"{value * factor:.{self.digits}g}")

    def apply(self, key: str, value, variant: int):
        if isinstance(value, list):
            kept = {i % len(value) for i in self.keep} if value else set()
            return [v if i in kept else self._one(f"{key}[{i}]", v, variant) for i, v in enumerate(value)]
        return self._one(key, value, variant)


@dataclass(frozen=True)
class OneOf:
    """A value replaced by a member of its group (``OneOf(("tanh", "sigmoid"), ("exp", "sin"))``).

    Values in no group stay (``"relu"`` above keeps its kinks); a group lists only choices that
    ask the same question.
    """

    groups: tuple

    def __init__(self, *groups):
        object.__setattr__(self, "groups", tuple(tuple(g) for g in groups))

    def apply(self, key: str, value, variant: int):
        for group in self.groups:
            if value in group:
                return group[_draw(key, value, variant) % len(group)]
        return value


def _rule(rule):
    if isinstance(rule, tuple):  # ``{"m": (20, 60)}``: a size in a range
        return Between(*rule)
    if not hasattr(rule, "apply"):
        raise TypeError(f"a variant rule should be Between, Scale or OneOf, got {rule!r}")
    return rule


def vary_case(case: dict, variant: int | None, rules: dict | None = None) -> dict:
    """The case ``case`` of the hidden tests as variant ``variant`` sees it.

    Every integer ``seed`` (or ``*_seed``) becomes another seed drawn from the variant; every key
    of ``rules`` is changed by its rule (:class:`Between`, :class:`Scale`, :class:`OneOf`; a pair
    ``(low, high)`` means ``Between``), drawn from the variant and the case. Keys without a rule
    stay. ``variant=None``: the case itself.
    """
    if variant is None:
        return dict(case)
    out = dict(case)
    for key, value in case.items():
        if (key == "seed" or key.endswith("_seed")) and isinstance(value, int) and not isinstance(value, bool):
            out[key] = _draw(key, value, variant) % 2**31
    # the case's own fingerprint keys the draws, so two cases sharing a value still differ
    where = json.dumps(case, sort_keys=True, default=repr)
    for key, rule in (rules or {}).items():
        if key in case:
            out[key] = _rule(rule).apply(f"{where}\0{key}", case[key], variant)
    return out


def seed(base: int, variant: int | None = None) -> int:
    """The seed a notebook draws its data from: ``base`` without a variant, else the variant's own.

    For the visible part of a notebook (data sets, demos), so a student sees their own numbers:
    ``SEED = variants.seed(1, variants.current())``.
    """
    return vary_case({"seed": base}, variant)["seed"]


def vary_cases(cases, variant: int | None, rules: dict | None = None) -> list[dict]:
    """:func:`vary_case` of every case."""
    return [vary_case(c, variant, rules) for c in cases]
