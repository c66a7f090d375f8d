"""``validate`` exits non-zero when a notebook fails (unlike ``nbgrader validate``, issue #1908)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grading.course.validate import main

pytestmark = pytest.mark.slow


def _nb(path, test_source):
    meta = {"nbgrader": {"grade": True, "grade_id": "t", "locked": True, "points": 1, "schema_version": 3,
                         "solution": False, "task": False}}
    nbformat.write(new_notebook(cells=[new_code_cell("x = 2"), new_code_cell(test_source, metadata=meta)]), path)
    return str(path)


def test_validate_exit_codes(tmp_path, capsys):
    good = _nb(tmp_path / "good.ipynb", "assert x == 2")
    bad = _nb(tmp_path / "bad.ipynb", "assert x == 3, 'x should be 3'")
    (tmp_path / "broken.ipynb").write_text("{nope")
    assert main([good]) == 0
    assert main([bad]) == 1
    assert "x should be 3" in capsys.readouterr().out
    assert main([str(tmp_path / "broken.ipynb"), good]) == 2
