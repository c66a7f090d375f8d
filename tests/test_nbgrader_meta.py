"""scripts/nbgrader_meta.py writes nbgrader schema-3 metadata from tags and headings."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import nbgrader_meta  # noqa: E402

TEST_SRC = '"""f doubles."""\nassert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(3) == 6\n### END HIDDEN TESTS\n'
SOL_SRC = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"


def _cell(kind, src, *tags):
    cell = new_code_cell(src) if kind == "code" else new_markdown_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _nb(*cells):
    return new_notebook(cells=list(cells))


def test_roles_points_and_ids():
    nb = _nb(
        _cell("code", "import numpy as np", "setup"),
        _cell("md", "## Exercise 1: double it (3 points)"),
        _cell("code", SOL_SRC, "solution"),
        _cell("code", "f(2)"),
        _cell("code", TEST_SRC, "tests"),
        _cell("md", "## Exercise 2: twice (5 points)"),
        _cell("code", SOL_SRC, "solution"),
        _cell("code", TEST_SRC, "tests", "points=2"),
        _cell("code", TEST_SRC, "tests", "points=3"),
    )
    meta = nbgrader_meta.build_metadata(nb)
    assert meta[0]["grade_id"] == "setup" and meta[0]["locked"] and not meta[0]["grade"]
    assert meta[2] == {"grade": False, "grade_id": "ex1-solution", "locked": False,
                       "schema_version": 3, "solution": True, "task": False}
    assert meta[3] is None
    assert meta[4]["grade_id"] == "ex1-tests" and meta[4]["points"] == 3 and meta[4]["grade"] and meta[4]["locked"]
    assert [meta[7]["points"], meta[8]["points"]] == [2, 3]
    assert meta[8]["grade_id"] == "ex2-tests-2"


@pytest.mark.parametrize(
    ("cells", "fragment"),
    [
        ([_cell("code", SOL_SRC, "solution")], "before any"),
        ([_cell("md", "## Exercise 1: x (2 points)"), _cell("code", "def f(): pass", "solution"),
          _cell("code", TEST_SRC, "tests")], "BEGIN/END SOLUTION"),
        ([_cell("md", "## Exercise 1: x (2 points)"), _cell("code", SOL_SRC, "solution"),
          _cell("code", "assert f(1) == 2", "tests")], "docstring"),
        ([_cell("md", "## Exercise 1: x (2 points)"), _cell("code", SOL_SRC, "solution"),
          _cell("code", '"""t."""\nassert f(1) == 2', "tests")], "hidden tests"),
        ([_cell("md", "## Exercise 1: x (2 points)"), _cell("code", SOL_SRC, "solution")], "no test cell"),
        ([_cell("md", "## Exercise 1: x (4 points)"), _cell("code", SOL_SRC, "solution"),
          _cell("code", TEST_SRC, "tests", "points=1"), _cell("code", TEST_SRC, "tests", "points=1")], "sum to 2"),
    ],
)
def test_authoring_mistakes_are_reported(cells, fragment):
    with pytest.raises(nbgrader_meta.AuthoringError, match=fragment):
        nbgrader_meta.build_metadata(_nb(*cells))


def test_check_mode_detects_stale_metadata(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(_nb(_cell("md", "## Exercise 1: x (1 points)"), _cell("code", SOL_SRC, "solution"),
                       _cell("code", TEST_SRC, "tests")), path)
    assert nbgrader_meta.main(["--check", str(path)]) == 1
    assert nbgrader_meta.main([str(path)]) == 0
    assert nbgrader_meta.main(["--check", str(path)]) == 0


def test_committed_notebooks_have_current_metadata():
    notebooks = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
    notebooks = [p for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    if not notebooks:
        pytest.skip("no notebooks yet")
    assert nbgrader_meta.main(["--check", *map(str, notebooks)]) == 0


def test_locked_cell_ids_survive_inserting_a_cell_above():
    """nbgrader keys read-only cells by grade_id: it must not depend on the cell's position."""
    locked = _cell("code", "def backward_buggy(): ...", "locked")
    nb = _nb(_cell("md", "intro"), locked)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # gives every cell an id, as JupyterLab does
    before = nbgrader_meta.build_metadata(nb)[1]["grade_id"]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("a new paragraph"))
    after = nbgrader_meta.build_metadata(nb)[2]["grade_id"]
    assert before == after == f"locked-{nb.cells[2].id}"
