"""Grading pieces that need no kernel: the shard merge and the CLI's argument checks."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook

from grading.course import gradebook
from grading.course.paths import Course


def _course_db(path):
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        for name, pts in (("ex1-tests", 2), ("ex2-tests", 3)):
            gb.add_grade_cell(name, "nb", "a1", max_score=pts, cell_type="code")
            gb.add_source_cell(name, "nb", "a1", cell_type="code", checksum=name, locked=True)
        gb.add_solution_cell("ex1-solution", "nb", "a1")
        gb.add_source_cell("ex1-solution", "nb", "a1", cell_type="code", checksum="s", locked=False)
        gb.add_student("old")
        gb.add_submission("a1", "old")
        grade = gb.find_grade("ex1-tests", "nb", "a1", "old")
        grade.manual_score = 1.5  # an instructor's manual score: autograding must keep it
        gb.db.commit()
    return url


def _autograde(url, student, scores):
    """What nbgrader's autograder writes for one submission."""
    with Gradebook(url) as gb:
        gb.update_or_create_student(student, first_name=student.upper())
        gb.update_or_create_submission("a1", student)
        for name, score in scores.items():
            g = gb.find_grade(name, "nb", "a1", student)
            g.auto_score = score
            g.needs_manual_grade = g.manual_score is not None
        gb.find_comment("ex1-solution", "nb", "a1", student).auto_comment = f"{student} says hi"
        gb.db.commit()


def test_merged_shards_equal_a_sequential_run(tmp_path):
    plan = {"old": {"ex1-tests": 2.0, "ex2-tests": 0.0}, "s1": {"ex1-tests": 0.0, "ex2-tests": 3.0},
            "s2": {"ex1-tests": 2.0, "ex2-tests": 3.0}}
    sequential = _course_db(tmp_path / "seq.db")
    for student, scores in plan.items():
        _autograde(sequential, student, scores)
    main = _course_db(tmp_path / "main.db")
    shards = [["old", "s2"], ["s1"]]
    for k, students in enumerate(shards):
        gradebook.copy_sqlite(tmp_path / "main.db", tmp_path / f"shard{k}.db")
        for s in students:
            _autograde(f"sqlite:///{tmp_path / f'shard{k}.db'}", s, plan[s])
    for k, students in enumerate(shards):
        gradebook.merge(f"sqlite:///{tmp_path / f'shard{k}.db'}", main, [(s, "a1") for s in students])
    assert gradebook.snapshot(main) == gradebook.snapshot(sequential)
    assert gradebook.snapshot(main)[("grade", "old", "a1", "nb", "ex1-tests")] == (2.0, 1.5, True)


def test_a_failed_submission_is_zero_and_flagged(tmp_path):
    url = _course_db(tmp_path / "g.db")
    _autograde(url, "s1", {"ex1-tests": 2.0, "ex2-tests": 3.0})
    gradebook.zero_failed(url, "s1", "a1")
    snap = gradebook.snapshot(url)
    assert snap[("grade", "s1", "a1", "nb", "ex1-tests")] == (0.0, None, True)
    assert snap[("grade", "s1", "a1", "nb", "ex2-tests")] == (0.0, None, True)


def test_autograde_needs_a_release_first(tmp_path):
    from grading.course import autograde

    (tmp_path / "src" / "a1").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="release step"):
        autograde.run(Course(tmp_path / "course", tmp_path / "src"))


def test_cell_checksums_recognise_untouched_locked_cells():
    from nbgrader.utils import compute_checksum

    cell = new_code_cell("x = 1", metadata={"nbgrader": {"grade": False, "solution": False, "locked": True,
                                                         "grade_id": "setup", "schema_version": 3}})
    nb = new_notebook(cells=[cell])
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert gradebook.cell_checksums(nb.cells) == {compute_checksum(cell)}


def test_cached_reference_answers_judge_every_student_afresh(monkeypatch):
    """The verifier's per-case cache of reference answers: same verdicts, computed once per case."""
    import numpy as np
    from nbformat.v4 import new_output

    from grading.course import verify
    from helpers.checks import core

    calls = []

    def expected(inputs):
        calls.append(1)
        return inputs["x"] ** 2

    check = core.Check(
        name="units.cached_square",
        make_inputs=lambda case: {"x": np.random.default_rng(case["seed"]).normal(size=(case["n"], 1))},
        run=lambda sol, inputs: sol[0](inputs["x"]),
        encode=lambda out: core.encode_array(out, name="the result", shape=(None, 1)),
        expected=expected,
        compare=lambda ans, exp, inputs: core.compare_arrays(ans, exp, name="the result"),
        decode=core.decode_array,
    )
    monkeypatch.setitem(core._REGISTRY, check.name, check)
    monkeypatch.setattr(core, "_EXPECTED_CACHE", {})
    cases = [{"seed": 1, "n": 3}, {"seed": 2, "n": 2}]
    source = f'"""t"""\ngrade_hidden("{check.name}", f, cases={cases!r})\n'
    pp = verify.VerifyHiddenTests()

    def judged(fn):
        payload = core.record_answers(check.name, fn, cases=cases)
        cell = new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t",
                                                            "points": 1}})
        cell.outputs = [new_output("display_data", data={"text/plain": ""}, metadata={core.PAYLOAD_KEY: payload})]
        _, resources = pp.preprocess_cell(cell, {}, 0)
        return resources["hidden_verdicts"]["t"]["passed"]

    assert [judged(lambda x: x**2), judged(lambda x: x * 2), judged(lambda x: x**2), judged(lambda x: x)] == [
        True, False, True, False]
    assert len(calls) == len(cases)  # once per case, whatever the number of students
    assert core.get_check(check.name) is check  # the registry is left as it was


def test_an_unsandboxed_grade_says_so_in_every_comment_once(tmp_path):
    url = _course_db(tmp_path / "g.db")
    _autograde(url, "s1", {"ex1-tests": 2.0, "ex2-tests": 3.0})
    for _ in range(2):  # a regrade does not repeat the mark
        gradebook.mark_unsandboxed(url, "s1", "a1")
    gradebook.mark_unsandboxed(url, "nobody", "a1")  # no such submission: nothing to mark, no error
    with Gradebook(url) as gb:
        comments = [c.auto_comment for nb in gb.find_submission("a1", "s1").notebooks for c in nb.comments]
    assert comments == [f"s1 says hi\n{gradebook.UNSANDBOXED_COMMENT}"]
