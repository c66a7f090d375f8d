"""End to end, the instructor's books (issue 14): a sample class of one term on two toy assignments.

course.toml (due dates, a per-day late policy with a cap, an extension, a roster with accents),
a Canvas download (resubmission, late, misfiled, misnamed), a Moodle download (folders, names with
spaces and accents, a stranger, two copies of one notebook, an empty file), a plain hand-in with
its timestamp file, a notebook of another assignment placed by hand, one autograde, a pinned
earlier version regraded, a withdrawn student, feedback for students, exports. Expected grades
are computed by hand below (5 points per assignment; 10% of the points per started day late, at
most 30%), exports compared with the LMSs' documented layouts.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import zipfile
from pathlib import Path

import grading_support as gs
import intake_corpus as corpus
import nbformat
import pytest
from nbgrader.api import Gradebook

from grading.course import autograde, cli, collect, exports, results, versions, withdraw
from grading.course.paths import Course

pytestmark = pytest.mark.slow

A1, A2 = "00_toy", "01_toy2"
CONFIG = '''
[course]
name = "Sample class"
timezone = "UTC"
lms = "canvas"

[late]
policy = "per_day"
deduction = 10
cap = 30

[assignments.00_toy]
due = 2027-01-10T12:00:00
title = "Toy"
lms_id = 501
[assignments.00_toy.extensions]
blee = 24

[assignments.01_toy2]
due = 2027-01-17T12:00:00+00:00
title = "Toy two"
lms_id = "502"

[[students]]
id = "alovelace"
first_name = "Ada"
last_name = "Lovelace"
email = "ada@example.edu"
canvas_id = 1001
sis_user_id = "S1"
section = "A"

[[students]]
id = "blee"
first_name = "Bruno"
last_name = "Lée"
email = "bruno@example.edu"
canvas_id = 1002
moodle_id = 301

[[students]]
id = "mcurie"
first_name = "Marie"
last_name = "Curie"
email = "marie@example.edu"
canvas_id = 1003

[[students]]
id = "aturing"
first_name = "Alan"
last_name = "Turing"
email = "alan@example.edu"
canvas_id = 1004

[[students]]
id = "ghopper"
first_name = "Grace"
last_name = "Hopper"
email = "grace@example.edu"
canvas_id = 1005

[[students]]
id = "dan"
first_name = "Dan"
last_name = "Drop"
email = "dan@example.edu"
canvas_id = 1006
'''


def _zip(path: Path, members: dict[str, tuple[bytes, dt.datetime]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in members.items():
            zf.writestr(zipfile.ZipInfo(name, when.timetuple()[:6]), data)
    return path


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("term")
    source = tmp / "source"
    gs.make_toy_source(source, A1)
    corpus.second_toy(source, gs)
    restore = gs.set_environ({"COURSE_CELL_TIMEOUT": "20", "COURSE_CHECK_MODULES": str(source / A1 / "toycheck.py")})
    course = Course(tmp / "course", source)
    course.root.mkdir(parents=True)
    (course.root / "course.toml").write_text(CONFIG)
    run = []

    def cmd(*argv):
        lines = []
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli.main(["--root", str(course.root), "--source", str(source), *argv])
        lines = out.getvalue()
        run.append((argv, code, lines))
        return code, lines

    assert cmd("grades")[0] == 2  # before release: a one-line error, no empty gradebook created
    assert not (course.root / "gradebook.db").exists()
    assert cmd("release")[0] == 0
    assert cmd("autograde")[0] == 2  # nothing collected yet
    rel = {a: nbformat.read(course.root / "release" / a / f"{n}.ipynb", as_version=4)
           for a, n in ((A1, "toy"), (A2, "toy2"))}
    src = {a: nbformat.read(source / a / f"{n}.ipynb", as_version=4) for a, n in ((A1, "toy"), (A2, "toy2"))}
    right = {a: nbformat.writes(gs.with_solutions(rel[a], src[a])).encode() for a in (A1, A2)}
    wrong2 = nbformat.writes(gs.with_solutions(
        rel[A2], src[A2], replace=lambda g, code: code.replace("x ** 2", "x ** 3"))).encode()
    wrong_ex1 = nbformat.writes(gs.with_solutions(
        rel[A1], src[A1], replace=lambda g, code: code.replace("x ** 2", "x ** 3") if "ex1" in g else code)).encode()
    t = dt.datetime
    canvas = _zip(tmp / "submissions.zip", {
        "lovelaceada_1001_5001_toy.ipynb": (right[A1], t(2027, 1, 10, 11, 0)),          # on time
        "leebruno_LATE_1002_5002_toy.ipynb": (right[A1], t(2027, 1, 11, 14, 0)),       # 26 h late, 24 h extension
        "curiemarie_LATE_1003_5003_toy.ipynb": (right[A1], t(2027, 1, 20, 12, 0)),     # 10 days late: capped
        "turingalan_1004_5004_toy2.ipynb": (right[A2], t(2027, 1, 10, 9, 0)),          # the other assignment
        "nobodyknown_9999_5009_toy.ipynb": (right[A1], t(2027, 1, 10, 9, 0)),          # not on the roster
    })
    moodle = _zip(tmp / "moodle.zip", {
        "Bruno Lée_301_assignsubmission_file_/toy2.ipynb": (right[A2], t(2027, 1, 17, 10, 0)),
        "Marie Curie_412_assignsubmission_file_/toy2.ipynb": (right[A2], t(2027, 1, 17, 11, 0)),
        "Some Stranger_999_assignsubmission_file_/toy2.ipynb": (right[A2], t(2027, 1, 17, 11, 0)),
        "Alan Turing_413_assignsubmission_file_/a/toy2.ipynb": (right[A2], t(2027, 1, 17, 11, 0)),
        "Alan Turing_413_assignsubmission_file_/b/toy2.ipynb": (wrong2, t(2027, 1, 17, 11, 0)),
        "Alan Turing_413_assignsubmission_file_/notes.ipynb": (b"", t(2027, 1, 17, 11, 0)),
    })
    # downloaded again later: an earlier hand-in Canvas kept (a resubmission renamed toy-1.ipynb)
    canvas_old = _zip(tmp / "submissions-2.zip", {
        "lovelaceada_1001_5006_toy-1.ipynb": (wrong_ex1, t(2027, 1, 9, 8, 0))})
    plain = tmp / "plain"
    plain.mkdir()
    # e-mailed, saved at 13:00 (1 h late); its own timestamp file (the student's side) claims 11:00
    _zip(plain / "dan.zip", {"toy.ipynb": (right[A1], t(2030, 1, 1)),
                             "timestamp.txt": (b"2027-01-10 11:00:00.000000 UTC", t(2030, 1, 1))})
    saved = t(2027, 1, 10, 13, 0, tzinfo=dt.timezone.utc).timestamp()
    os.utime(plain / "dan.zip", (saved, saved))
    steps = {"canvas": cmd("collect", str(canvas), "--assignment", A1),
             "canvas_again": cmd("collect", str(canvas), "--assignment", A1),
             "canvas_old": cmd("collect", str(canvas_old)),
             "moodle": cmd("collect", str(moodle)),
             "plain": cmd("collect", str(plain))}
    # a notebook of A2 handed in under A1's name, placed by hand (an LMS folder copied in)
    by_hand = course.root / "submitted" / "ghopper" / A1
    by_hand.mkdir(parents=True)
    (by_hand / "toy.ipynb").write_bytes(right[A2])
    steps["autograde"] = cmd("autograde", "--jobs", "2")
    steps["grades_before"] = cmd("grades", "--out", str(tmp / "before.csv"))
    steps["pin"] = cmd("pin", "alovelace", A1, "20270109")
    steps["regrade"] = cmd("autograde", "--student", "alovelace", "--assignment", A1)
    steps["withdraw"] = cmd("withdraw", "dan")
    steps["feedback"] = cmd("feedback")
    steps["grades"] = cmd("grades")
    steps["export"] = cmd("export", "csv", "canvas", "moodle")
    steps["return"] = cmd("return")
    yield {"course": course, "steps": steps, "tmp": tmp}
    restore()


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _by_student(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def test_every_step_exits_as_documented(term):
    codes = {k: v[0] for k, v in term["steps"].items()}
    assert codes == {"canvas": 1, "canvas_again": 1, "canvas_old": 0, "moodle": 1, "plain": 1, "autograde": 0,
                     "grades_before": 0, "pin": 0, "regrade": 0, "withdraw": 0, "feedback": 0, "grades": 0,
                     "export": 0, "return": 0}


def test_grades_with_late_penalties_by_hand(term):
    before = _by_student(term["tmp"] / "before.csv")
    assert before["dan"]["00_toy"] == "4.5"  # the file's time: 1 h late -> one day -> 10% of 5 (not its own 11:00)
    rows = _by_student(term["course"].root / "grades.csv")
    got = {s: (r["00_toy"], r["01_toy2"], r["total"], r["late_penalty"], r["missing"], r["needs_review"])
           for s, r in rows.items()}
    assert got == {
        "alovelace": ("2", "missing", "2", "0", "01_toy2", ""),        # pinned earlier version: ex1 wrong
        "blee": ("4.5", "5", "9.5", "0.5", "", ""),                     # 2 h after the extension: 10%
        "mcurie": ("3.5", "5", "8.5", "1.5", "", ""),                   # 10 days late: capped at 30%
        "aturing": ("missing", "missing", "0", "0", "00_toy 01_toy2", ""),
        "ghopper": ("0", "missing", "0", "0", "01_toy2", "00_toy"),    # another assignment's notebook
    }
    assert before["alovelace"]["00_toy"] == "5"  # the newest version counted before the pin
    assert rows["blee"]["last_name"] == "Lée" and rows["blee"]["late"] == "00_toy"


def test_nbgrader_sees_the_same_books(term):
    course = term["course"]
    with Gradebook(course.db_url) as gb:
        assert gb.find_assignment(A1).duedate == dt.datetime(2027, 1, 10, 12, 0)
        assert gb.find_student("blee").email == "bruno@example.edu"
        sub = gb.find_submission(A1, "blee")
        assert sub.extension == dt.timedelta(hours=24) and sub.late_submission_penalty == 0.5
        assert "dan" not in {s.id for s in gb.students}


def test_collect_reports(term):
    steps = term["steps"]
    canvas = steps["canvas"][1]
    assert "turingalan_1004_5004_toy2.ipynb: misfiled, holds 01_toy2, not 00_toy" in canvas
    assert "Canvas user 9999 (nobodyknown) is not on the roster" in canvas
    assert "kept alovelace/00_toy version 20270109T080000Z" in steps["canvas_old"][1]  # never replaces the newer
    assert "placed lovelaceada_1001_5001_toy.ipynb -> alovelace/00_toy, submitted 2027-01-10 11:00 UTC" in canvas
    assert "curiemarie_LATE_1003_5003_toy.ipynb -> mcurie/00_toy, submitted 2027-01-20 12:00 UTC (time the LMS" \
        in canvas and "240.0 h late" in canvas
    again = steps["canvas_again"][1]
    assert "already collected: alovelace/00_toy" in again
    assert not [line for line in again.splitlines() if line.startswith("placed")]
    moodle = steps["moodle"][1]
    assert "placed Bruno Lée_301_assignsubmission_file_ -> blee/01_toy2" in moodle
    assert "-> mcurie/01_toy2" in moodle  # by name: no moodle_id in the roster
    assert "no roster student is named 'Some Stranger'" in moodle
    assert "a second, different toy2.ipynb in the same hand-in" in moodle
    assert "notes.ipynb is an empty file (0 bytes)" in moodle
    assert "dan.zip -> dan/00_toy, submitted 2027-01-10 13:00 UTC (file time in the inbox" in steps["plain"][1]
    assert ("FLAGGED: dan.zip: its timestamp.txt (written on the student's side) says 2027-01-10 11:00 UTC, the "
            "file time in the inbox") in steps["plain"][1]
    assert "filed under mcurie by the name 'Marie Curie' alone: add moodle_id = 412" in moodle


def test_autograde_lines_and_reports(term):
    out = term["steps"]["autograde"][1]
    assert "blee / 00_toy: ok, 4.5/5 points (after a late penalty of 0.5)" in out
    assert "ghopper / 00_toy: ok, 0/5 points, NEEDS REVIEW" in out
    logs = term["course"].root / "logs"
    assert len(list((logs / "runs").glob("autograde-*.json"))) == 2  # every run kept
    assert [e["student"] for e in __import__("json").loads((logs / "autograde-report.json").read_text())] == \
        ["alovelace"]  # the latest run's


def test_versions_and_withdrawal(term):
    course = term["course"]
    names = [v["name"] for v in versions.listing(course, "alovelace", A1)]
    assert len(names) == 2 and versions.counting(course, "alovelace", A1) == names[0]
    assert not (course.root / "submitted" / "dan").exists() and "dan" in withdraw.withdrawn_students(course)
    assert not (course.root / "feedback" / "dan").exists()
    assert any((course.root / "withdrawn").glob("*/dan/00_toy/submitted/toy.ipynb"))


def test_feedback_for_students(term):
    course = term["course"]
    returned = course.root / "returned"
    assert sorted(p.name for p in returned.glob("*.zip")) == ["alovelace.zip", "blee.zip", "ghopper.zip",
                                                                "mcurie.zip"]
    with zipfile.ZipFile(returned / "blee.zip") as zf:
        assert sorted(zf.namelist()) == ["00_toy/toy.html", "01_toy2/toy2.html"]
        html = zf.read("00_toy/toy.html").decode()
    assert "grade_hidden(" not in html and "BEGIN HIDDEN TESTS" not in html
    assert str(course.root) not in html and str(Path(__file__).resolve().parent.parent) not in html
    with zipfile.ZipFile(returned / "alovelace.zip") as zf:
        page = zf.read("00_toy/toy.html").decode()
        assert "✗ Not passed" in page and "(0 / 3 points)" in page  # the grader's verdict and reason stay
    with zipfile.ZipFile(returned / "moodle" / "01_toy2.zip") as zf:
        files = sorted(n for n in zf.namelist() if not n.endswith("/"))
        assert files == ["Bruno Lée_301_assignsubmission_file_/toy2.html",
                         "Marie Curie_412_assignsubmission_file_/toy2.html"]


def test_canvas_export_layout(term):
    rows = _csv(term["course"].root / "exports" / "canvas-grades.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Toy (501)", "Toy two (502)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "5", "5"]
    assert rows[2:] == [["Lovelace, Ada", "1001", "S1", "", "A", "2", ""],
                        ["Lée, Bruno", "1002", "", "", "", "4.5", "5"],
                        ["Curie, Marie", "1003", "", "", "", "3.5", "5"],
                        ["Turing, Alan", "1004", "", "", "", "", ""],
                        ["Hopper, Grace", "1005", "", "", "", "0", ""]]


def test_moodle_export_layout(term):
    rows = _csv(term["course"].root / "exports" / "moodle-grades.csv")
    assert rows == [["Email address", "First name", "Last name", "ID number", "Toy", "Toy two"],
                    ["ada@example.edu", "Ada", "Lovelace", "", "2", ""],
                    ["bruno@example.edu", "Bruno", "Lée", "", "4.5", "5"],
                    ["marie@example.edu", "Marie", "Curie", "", "3.5", "5"],
                    ["alan@example.edu", "Alan", "Turing", "", "", ""],
                    ["grace@example.edu", "Grace", "Hopper", "", "0", ""]]
    assert exports.FORMATS == ("csv", "canvas", "moodle")


def test_mistakes_are_one_line(term):
    course = term["course"]
    for argv, needle in ((["autograde", "--assignment", "nope"], "unknown assignment"),
                         (["withdraw", "nobody"], "no student 'nobody'"),
                         (["pin", "alovelace", A1, "1999"], "names 0 versions"),
                         (["collect", str(term["tmp"] / "missing")], "does not exist"),
                         (["export", "excel"], "unknown format 'excel'")):
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli.main(["--root", str(course.root), "--source", str(course.source), *argv])
        text = out.getvalue().strip()
        assert code == 2 and needle in text and "\n" not in text and "Traceback" not in text, (argv, text)
    assert results and collect and autograde  # the modules the CLI drives

