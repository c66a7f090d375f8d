"""``RestoreCells``: nbgrader's ``OverwriteCells``, extended to every tampering we grade against.

nbgrader restores a locked cell's source, its type, ``locked`` and ``points``, but it:

* keeps the student's ``grade``/``solution``/``task`` flags (a test cell turned into a
  solution cell is then not autograded; a flag change also breaks its checksum check and
  fails the whole notebook with "Inconsistent checksums");
* keeps cells with unknown or duplicated ``grade_id`` as grade cells, which fails the whole
  notebook in ``CheckCellMetadata``;
* re-adds deleted test cells only with ``add_missing_cells``, and then raises ``KeyError``
  when the cell before it in the source is not a grade/solution cell of the submission.

Here every known cell's nbgrader metadata is rebuilt from the gradebook, unknown and
duplicate ids lose their nbgrader metadata (they run as ordinary cells and earn nothing),
and every missing locked code cell (test cells, setup) is put back, with the gradebook's
source, after the nearest earlier cell of the source notebook that the submission still has.
Each change is a finding of the autograde report (``findings.note``), logged with ``[course]``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import OverwriteCells

from . import findings


class RestoreCells(OverwriteCells):
    """Rebuild grading metadata and missing locked cells from the gradebook, then OverwriteCells."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source_nb = gb.find_notebook(info["notebook"], info["assignment"])
            ordered = [(c.name, c.cell_type, c.locked, c.checksum, c.source) for c in source_nb.source_cells]
            points = {c.name: float(c.max_score) for c in source_nb.grade_cells}
            points.update({c.name: float(c.max_score) for c in source_nb.task_cells})
            solutions = {c.name for c in source_nb.solution_cells}
            tasks = {c.name for c in source_nb.task_cells}
        known = {name: (ctype, locked, checksum, src) for name, ctype, locked, checksum, src in ordered}
        order = self._source_order(resources, [n for n, *_ in ordered])

        def wanted(name):
            _, locked, checksum, _ = known[name]
            meta = {"grade_id": name, "grade": name in points and name not in tasks, "solution": name in solutions,
                    "task": name in tasks, "locked": bool(locked), "schema_version": 3, "checksum": checksum}
            if name in points:
                meta["points"] = points[name]
            return meta

        present = []
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            name = meta.get("grade_id") if isinstance(meta, dict) else None
            if name not in known or name in present:
                # the id itself is the submission's text: never echoed into the grader's report
                findings.note(self.log, f"cell {index}: unknown or duplicate grade_id; graded as an ordinary cell")
                del cell.metadata["nbgrader"]
                continue
            present.append(name)
            new = wanted(name)
            old = {k: meta.get(k) for k in new if k != "checksum"}
            if old != {k: v for k, v in new.items() if k != "checksum"}:
                findings.note(self.log, f"cell {name!r}: nbgrader metadata was edited; restored from the gradebook")
            cell.metadata["nbgrader"] = new

        for position, name in enumerate(order):
            ctype, locked, _, src = known[name]
            if name in present or not (locked and ctype == "code"):
                continue
            before = [n for n in order[:position] if n in present]
            at = 0
            if before:
                at = 1 + next(i for i, c in enumerate(nb.cells)
                              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == before[-1])
            cell = new_code_cell(src) if ctype == "code" else new_markdown_cell(src)
            cell.metadata["nbgrader"] = wanted(name)
            cell.metadata["editable"] = cell.metadata["deletable"] = False
            nb.cells.insert(at, cell)
            present.append(name)
            findings.note(self.log, f"cell {name!r} was missing from the submission; restored from the gradebook")
        return super().preprocess(nb, resources)

    def _source_order(self, resources, names):
        """Cell order of the release notebook (the gradebook does not keep one).

        nbgrader runs converters from the course root, where ``release/`` is.
        """
        info = resources["nbgrader"]
        path = Path("release") / info["assignment"] / f"{info['notebook']}.ipynb"
        try:
            cells = nbformat.read(path, as_version=4).cells
            order = [c.metadata["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.metadata]
        except Exception:  # no release on this machine: the gradebook's (creation) order
            findings.note(self.log, f"{path} not readable; restoring missing cells in gradebook order")
            return names
        return [n for n in order if n in names] + [n for n in names if n not in order]
