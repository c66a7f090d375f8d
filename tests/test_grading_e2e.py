"""End to end: release, collect, autograde (hostile corpus), feedback, grades, on a temporary course.

One release and one autograde run are shared by every assertion (module-scoped fixtures).
The corpus covers every hardening class on the toy assignment and on the first course
notebook; every course notebook also gets its source (full marks) and its untouched release (0).
"""

from __future__ import annotations

import ast
import csv
import json
import shutil
import zipfile
from pathlib import Path

import grading_support as gs
import nbformat
import pytest

from grading.course import autograde, collect, release, results
from grading.course.paths import Course

pytestmark = pytest.mark.slow

REPO = gs.REPO
COURSE_NOTEBOOKS = ["01_normalizing_inputs", "02_vanishing_exploding_gradients", "03_numerical_approximation",
                    "04_gradient_checking"]
PRESENT = [n for n in COURSE_NOTEBOOKS if any((REPO / "notebooks" / n).glob("*.ipynb"))]
TOY = "00_toy"
#: assignments that get the whole hostile corpus (the toy and the first course notebook)
HOSTILE = [TOY, *PRESENT[:1]]
ENV = {"COURSE_CELL_TIMEOUT": "20", "COURSE_KERNEL_MEMORY_MB": "2048"}


def _nb_name(folder: Path) -> str:
    return next(folder.glob("*.ipynb")).stem


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    for name in PRESENT:
        shutil.copytree(REPO / "notebooks" / name, source / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    restore = gs.set_environ({**ENV, "COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py")})
    course = Course(tmp / "course", source)
    bundle = release.release(course, log=lambda *a: None)
    expected, notes = {}, {}

    def submit(student, assignment, data):
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        name = _nb_name(source / assignment)
        if isinstance(data, bytes):
            (folder / f"{name}.ipynb").write_bytes(data)
        elif data is not None:
            nbformat.write(data, folder / f"{name}.ipynb")

    def read(kind, a):
        return nbformat.read(course.root / kind / a / f"{_nb_name(source / a)}.ipynb", as_version=4)

    for a in [TOY, *PRESENT]:
        rel, src = read("release", a), nbformat.read(source / a / f"{_nb_name(source / a)}.ipynb", as_version=4)
        total = sum(gs.points_by_exercise(rel).values())
        submit("source", a, src)
        expected[("source", a)] = total
        if a not in HOSTILE:
            submit("untouched", a, rel)
            expected[("untouched", a)] = 0.0
            continue
        for case, (nb, score, note) in gs.hostile_notebooks(rel, src).items():
            submit(case, a, nb)
            expected[(case, a)], notes[(case, a)] = score, note
        submit("invalid_json", a, b'{"cells": [ not json')
        submit("empty_file", a, b"")
        submit("missing_notebook", a, None)
        (course.root / "submitted" / "missing_notebook" / a / "notes.txt").write_text("forgot it")
        for case in ("invalid_json", "empty_file", "missing_notebook"):
            expected[(case, a)] = 0.0
    # a notebook of the other hostile assignment, handed in under this assignment's name
    other = {HOSTILE[0]: HOSTILE[-1], HOSTILE[-1]: HOSTILE[0]}
    for a in HOSTILE:
        src_other = source / other[a] / f"{_nb_name(source / other[a])}.ipynb"
        submit("wrong_assignment", a, src_other.read_bytes())
        expected[("wrong_assignment", a)] = 0.0 if other[a] != a else expected[("source", a)]

    # collect: a zip per student, bare notebooks, and things that cannot be placed
    inbox = tmp / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "zipped.zip", "w") as zf:
        for a in HOSTILE:
            zf.write(source / a / f"{_nb_name(source / a)}.ipynb", f"../../evil/{_nb_name(source / a)}.ipynb")
        zf.writestr("__MACOSX/._junk.ipynb", "junk")
    for a in HOSTILE:
        expected[("zipped", a)] = expected[("source", a)]
    renamed = gs.hostile_notebooks(read("release", TOY), nbformat.read(source / TOY / "toy.ipynb", as_version=4),
                                   kernel_classes=False)["correct"][0]
    nbformat.write(renamed, inbox / "renamed.ipynb")  # unknown file name: placed by content
    expected[("renamed", TOY)] = expected[("correct", TOY)]
    (inbox / "bad id!.ipynb").write_text("{}")
    (inbox / "broken.zip").write_bytes(b"PK not really")
    (inbox / "nobody.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    collected = collect.collect(course, inbox, log=lambda *a: None)

    report = autograde.run(course, jobs=2, log=lambda *a: None)
    feedback_failures = results.feedback(course, log=lambda *a: None)
    grades_csv = results.grades(course)
    yield {"course": course, "bundle": bundle, "expected": expected, "notes": notes, "collected": collected,
           "report": report, "feedback_failures": feedback_failures, "grades": grades_csv}
    restore()


@pytest.fixture(scope="module")
def scores(built):
    with open(built["grades"]) as fh:
        rows = list(csv.DictReader(fh))
    return {row["student_id"]: row for row in rows}


@pytest.fixture(scope="module")
def report(built):
    return {(e["student"], e["assignment"]): e for e in built["report"]["report"]}


def test_every_submission_gets_its_exact_score(built, scores):
    wrong = {}
    for (student, assignment), want in built["expected"].items():
        got = float(scores[student][assignment])
        if got != want:
            wrong[(student, assignment)] = (got, want)
    assert not wrong, f"(got, expected) scores: {wrong}"


@pytest.mark.parametrize("name", COURSE_NOTEBOOKS)
def test_course_notebook_source_full_marks_release_zero(built, scores, name):
    if name not in PRESENT:
        pytest.skip(f"notebooks/{name} does not exist yet")
    course = built["course"]
    rel = nbformat.read(course.root / "release" / name / f"{_nb_name(course.source / name)}.ipynb", as_version=4)
    total = sum(gs.points_by_exercise(rel).values())
    assert total > 0
    assert float(scores["source"][name]) == total
    assert float(scores["untouched"][name]) == 0.0


@pytest.mark.parametrize("name", [TOY, *COURSE_NOTEBOOKS])
def test_release_runs_to_the_first_exercise_and_fails_readably(built, name):
    if name != TOY and name not in PRESENT:
        pytest.skip(f"notebooks/{name} does not exist yet")
    path = next((built["course"].root / "autograded" / "untouched" / name).glob("*.ipynb"))
    cells = nbformat.read(path, as_version=4).cells
    first_solution = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution"))
    early = [o for c in cells[:first_solution] for o in c.get("outputs", []) if o.output_type == "error"]
    assert not early, f"errors before the first exercise: {[(o.ename, o.evalue) for o in early]}"
    tests = [c for c in cells if gs._is_test(c)]
    first_error = next(o for o in tests[0].outputs if o.output_type == "error")
    assert first_error.ename == "CheckFailure" and "not written yet" in first_error.evalue, first_error
    names = {o.ename for c in tests for o in c.outputs if o.output_type == "error"}
    assert "NameError" not in names, f"a test cell of the untouched release fails with NameError in {name}"


def test_failures_are_reported_with_reasons(built, report):
    for a in HOSTILE:
        assert "JSON" in report[("invalid_json", a)]["error"]
        assert any("empty file" in p for p in report[("empty_file", a)]["problems"])
        assert any("missing notebook" in p for p in report[("missing_notebook", a)]["problems"])
        assert any("looks like a notebook of" in p for p in report[("wrong_assignment", a)]["problems"])
        for (student, assignment), note in built["notes"].items():
            if assignment == a and note:
                entry = report[(student, assignment)]
                text = "\n".join(entry["problems"] + entry["cells"])
                assert note in text, f"{student}/{assignment}: expected {note!r} in the report:\n{text}"
    failed = {(e["student"], e["assignment"]) for e in built["report"]["failed"]}
    assert failed == {(s, a) for a in HOSTILE for s in ("invalid_json", "empty_file", "missing_notebook")}


def test_collect_places_what_it_can_and_reports_the_rest(built):
    placed = set(built["collected"]["placed"])
    assert {("zipped", a) for a in HOSTILE} | {("renamed", TOY)} <= placed
    problems = "\n".join(built["collected"]["problems"])
    assert "bad id!.ipynb" in problems and "broken.zip" in problems and "nobody.ipynb" in problems
    assert not (built["course"].root / "evil").exists()


def test_gradebook_is_consistent(built):
    from nbgrader.api import Gradebook

    course = built["course"]
    submitted = set(autograde.submissions(course))
    with Gradebook(course.db_url) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                submitted.discard((sub.student.id, a.name))
                for nb in sub.notebooks:
                    for g in nb.grades:
                        assert g.score is not None and 0 <= g.score <= g.max_score, (sub.student.id, g.name)
    assert not submitted, f"submissions missing from the gradebook: {submitted}"


def test_feedback_exists_for_every_graded_submission(built):
    assert not built["feedback_failures"]
    course = built["course"]
    for a in HOSTILE:
        html = next((course.root / "feedback" / "rigged_eq" / a).glob("*.html")).read_text()
        assert "✗ Not passed" in html  # the grader's verdict, from its own findings
        assert gs.reference_modules()[0] not in html


def _function_bodies(folder: Path) -> set[str]:
    out = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and len(node.body) > 1:
                out.add(ast.dump(ast.Module(body=node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body,
                                            type_ignores=[])))
    return out


def test_release_has_no_solution_hidden_test_or_reference(built):
    course, bundle = built["course"], built["bundle"]
    for a in [TOY, *PRESENT]:
        text = "".join(c.source for c in nbformat.read(
            next((bundle / "notebooks" / a).glob("*.ipynb")), as_version=4).cells)
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "grade_hidden(" not in text
        src = nbformat.read(next((course.source / a).glob("*.ipynb")), as_version=4)
        released = {gs.gid(c): c.source for c in nbformat.read(
            next((bundle / "notebooks" / a).glob("*.ipynb")), as_version=4).cells}
        for grade_id, body in _solution_bodies(src).items():
            leaked = [ln for ln in body if ln in released[grade_id]]
            assert not leaked, f"solution code in the release of {a}, {grade_id}: {leaked}"
    for helpers_dir in (bundle / "helpers", course.student_helpers / "helpers"):
        assert (helpers_dir / "__init__.py").exists() and not (helpers_dir / "_reference").exists()
        shared = _function_bodies(REPO / "helpers" / "_reference") & _function_bodies(helpers_dir)
        assert not shared, "reference function bodies in the student edition"
    for required in ("environment.yml", "README.md", "pyproject.toml", "validate.py"):
        assert (bundle / required).is_file()
    assert zipfile.is_zipfile(bundle.with_suffix(".zip"))


def _solution_bodies(nb) -> dict[str, list[str]]:
    """Non-blank lines between the solution markers of each solution cell."""
    out = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            inside, lines = False, []
            for ln in cell.source.splitlines():
                if "### BEGIN SOLUTION" in ln or "### END SOLUTION" in ln:
                    inside = "BEGIN" in ln
                elif inside and ln.strip() and not ln.strip().startswith("#"):
                    lines.append(ln.strip())
            out[gs.gid(cell)] = lines
    return out


def test_flood_is_capped(built):
    for a in HOSTILE:
        path = next((built["course"].root / "autograded" / "output_flood" / a).glob("*.ipynb"))
        assert path.stat().st_size < 3_000_000
