"""What the grader's own preprocessors found about the submission being graded.

The autograde report is built from these, in the grading process, and never from nbgrader's
log: the log also carries text the submission controls (nbgrader logs cell ids, for example),
so a report line parsed out of it could be forged, e.g. to name an honest classmate in the
collusion report. Each finding is also written to the log, with the ``[course]`` tag, for
whoever reads it.

One submission at a time per process (nbgrader runs the converters in the worker's process):
the worker calls :func:`reset` before grading a submission and :func:`take` after.
"""

from __future__ import annotations

TAG = "[course]"

_notes: list[str] = []
_matches: dict[str, set[str]] = {}


def reset() -> None:
    """Forget what was found (before grading the next submission)."""
    _notes.clear()
    _matches.clear()


def note(log, text: str) -> None:
    """A finding for the report (and the log)."""
    log.warning("%s %s", TAG, text)
    _notes.append(text)


def match(classmate: str, cell: str | None) -> None:
    """The submission's hidden-test records of ``cell`` were made on ``classmate``'s variant."""
    _matches.setdefault(classmate, set()).add(str(cell))


def matches() -> dict[str, list[str]]:
    """``{classmate: [cells]}`` found so far."""
    return {who: sorted(cells) for who, cells in sorted(_matches.items())}


def take() -> tuple[list[str], dict[str, list[str]]]:
    """``(notes, matches)`` of the submission just graded, then :func:`reset`."""
    out = (list(_notes), matches())
    reset()
    return out
