"""Write nbgrader cell metadata (schema 3) from cell tags and the exercise headings.

Authors never edit nbgrader JSON by hand. They tag cells (JupyterLab: property
inspector > cell tags) and write headings as the authoring guide says:

* ``setup``: a locked, read-only cell (imports, seed) -> ``grade_id`` ``setup`` (or
  ``setup-2``, ...).
* ``solution``: a cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` ->
  an autograded-answer cell.
* ``tests``: a read-only test cell. Its first line is a one-line docstring; it has a
  visible test and ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``. Its points come
  from the nearest heading above, ``## Exercise N: <what> (k points)``; when an exercise
  has several test cells, tag each ``points=K`` as well (the total must match the heading).
* ``locked``: any other cell to make read-only.

``grade_id`` values are ``exN-solution``, ``exN-tests`` (``exN-tests-2``, ...), stable as
long as exercise numbers are.

Usage::

    python scripts/nbgrader_meta.py notebooks/*/*.ipynb          # rewrite in place
    python scripts/nbgrader_meta.py --check notebooks/*/*.ipynb  # exit 1 if stale/invalid
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

EXERCISE = re.compile(r"^##\s+Exercise\s+(\d+)\s*:.*\((\d+)\s+points?\)\s*$", re.MULTILINE)
POINTS_TAG = re.compile(r"^points=(\d+)$")


class AuthoringError(ValueError):
    """The notebook does not follow the authoring conventions."""


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _locked_id(cell, index: int, kind: str) -> str:
    """A grade_id that survives inserting cells above: the nbformat cell id when it has one.

    nbgrader keys read-only cells by grade_id in the gradebook; an id made from the cell's
    position would change mid-term when a cell is added above it.
    """
    cell_id = cell.get("id")
    return f"locked-{cell_id}" if cell_id else f"locked-{kind}-{index}"


def build_metadata(nb) -> list[dict | None]:
    """Return the nbgrader metadata each cell should have (``None``: not an nbgrader cell)."""
    result: list[dict | None] = []
    exercise, n_tests = None, {}
    pending_tests: list[tuple[int, int | None]] = []
    setup_count = 0
    seen_ids = set()

    def meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
        if grade_id in seen_ids:
            raise AuthoringError(f"duplicate grade_id {grade_id!r}")
        seen_ids.add(grade_id)
        m = {"grade": grade, "grade_id": grade_id, "locked": locked,
             "schema_version": 3, "solution": solution, "task": False}
        if points is not None:
            m["points"] = points
        return m

    exercise_points: dict[int, int] = {}
    for index, cell in enumerate(nb.cells):
        src = _source(cell)
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            match = EXERCISE.search(src)
            if match:
                exercise = int(match.group(1))
                if exercise in exercise_points:
                    raise AuthoringError(f"exercise {exercise} appears twice")
                exercise_points[exercise] = int(match.group(2))
            result.append(meta(_locked_id(cell, index, "md"), locked=True) if "locked" in tags else None)
            continue
        if "setup" in tags:
            setup_count += 1
            result.append(meta("setup" if setup_count == 1 else f"setup-{setup_count}", locked=True))
        elif "solution" in tags:
            if exercise is None:
                raise AuthoringError(
                    f"cell {index}: a solution cell before any '## Exercise N: ... (k points)' heading"
                )
            if "### BEGIN SOLUTION" not in src or "### END SOLUTION" not in src:
                raise AuthoringError(
                    f"cell {index} (exercise {exercise}): solution cell without BEGIN/END SOLUTION markers"
                )
            result.append(meta(f"ex{exercise}-solution", solution=True))
        elif "tests" in tags:
            if exercise is None:
                raise AuthoringError(f"cell {index}: a test cell before any exercise heading")
            first = src.lstrip().splitlines()[0] if src.strip() else ""
            if not (first.startswith('"""') and first.rstrip().endswith('"""') and len(first.strip()) > 6):
                raise AuthoringError(
                    f"cell {index} (exercise {exercise}): a test cell must start with a one-line docstring"
                )
            if "### BEGIN HIDDEN TESTS" not in src or "### END HIDDEN TESTS" not in src:
                raise AuthoringError(f"cell {index} (exercise {exercise}): test cell without hidden tests")
            n_tests[exercise] = n_tests.get(exercise, 0) + 1
            k = n_tests[exercise]
            explicit = [int(m.group(1)) for t in tags if (m := POINTS_TAG.match(t))]
            pending_tests.append((index, explicit[0] if explicit else None))
            result.append(meta(f"ex{exercise}-tests" + ("" if k == 1 else f"-{k}"),
                               grade=True, locked=True, points=0))
            result[-1]["_exercise"] = exercise
        elif "locked" in tags:
            result.append(meta(_locked_id(cell, index, "code"), locked=True))
        else:
            result.append(None)
    # distribute points: explicit points=K tags, or the heading's total for a single test cell
    for ex, total in exercise_points.items():
        cells = [(i, p) for i, p in pending_tests if result[i]["_exercise"] == ex]
        if not cells:
            raise AuthoringError(f"exercise {ex} has no test cell")
        if len(cells) == 1 and cells[0][1] is None:
            result[cells[0][0]]["points"] = total
            continue
        if any(p is None for _, p in cells):
            raise AuthoringError(f"exercise {ex} has several test cells: tag each with points=K")
        if sum(p for _, p in cells) != total:
            raise AuthoringError(
                f"exercise {ex}: test cell points sum to {sum(p for _, p in cells)}, heading says {total}"
            )
        for i, p in cells:
            result[i]["points"] = p
    for m in result:
        if m is not None:
            m.pop("_exercise", None)
    return result


def apply(path: Path, *, check: bool) -> bool:
    """Rewrite (or with ``check``, compare) one notebook; True when it was up to date."""
    nb = nbformat.read(path, as_version=4)
    wanted = build_metadata(nb)
    changed = False
    for cell, m in zip(nb.cells, wanted, strict=True):
        current = cell.metadata.get("nbgrader")
        if m is None:
            if current is not None:
                changed = True
                cell.metadata.pop("nbgrader")
        elif current != m:
            changed = True
            cell.metadata["nbgrader"] = m
            # JupyterLab honours these for read-only cells too
            if m["locked"]:
                cell.metadata["editable"] = False
                cell.metadata["deletable"] = False
    if changed and not check:
        nbformat.write(nb, path)
    return not changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if metadata is stale")
    args = parser.parse_args(argv)
    ok = True
    for path in args.notebooks:
        try:
            fresh = apply(path, check=args.check)
        except AuthoringError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            ok = False
            continue
        if not fresh:
            print(f"{path}: nbgrader metadata {'is stale' if args.check else 'updated'}")
            ok = ok and not args.check
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
