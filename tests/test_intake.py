"""Intake (issue 20): every hand-in filed once, to the right student, at the right time; nothing a student
sends reaches outside its folder.

Through the real CLI (``python -m grading.course collect``, ``python -m hub collect``) on a
temporary two-assignment toy course: the hostile corpus of ``intake_corpus.py`` (a folder of
e-mailed hand-ins, a Canvas download zip, a Moodle download zip) with honest classmates in the
same inboxes, four of whom are then autograded and must get exactly the grade their notebook and
the LMS's (or the inbox file's) time deserve (the toy's points per exercise and the late policy,
computed here independently). Then the term's walkthrough cases the issue names: an unpacked
Moodle download keeps the LMS's times, a withdrawal beside byte-identical hand-ins, a notebook
handed in to the wrong assignment without ``--assignment``, a ``handin.py`` zip filed quietly,
``versions`` with times and scores; and the Hub exchange's ``inbound/`` with links placed in it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import grading_support as gs
import intake_corpus as corpus
import nbformat
import pytest

from grading.course import collect as collect_module

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
A1, A2 = corpus.A1, corpus.A2
ME = getpass.getuser()
SECRET = "course-secret-0123456789abcdef0123456789abcdef"
POINTS = {"ex1": 3, "ex2": 2}  # the toy's exercises (grading_support.make_toy_source)


def _run(env, *argv, module="grading.course", check_code=None):
    done = subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    if check_code is not None:
        assert done.returncode == check_code, (argv, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def _nb_bytes(rel, src, replace=None) -> bytes:
    return nbformat.writes(gs.with_solutions(rel, src, replace=replace)).encode()


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("intake")
    source = tmp / "source"
    gs.make_toy_source(source, A1)
    corpus.second_toy(source, gs)
    root = tmp / "course"
    root.mkdir()
    roster = [*corpus.ROSTER, *([{"id": ME, "canvas_id": 9990, "email": "me@x.edu"}] if ME not in
                                {s["id"] for s in corpus.ROSTER} else [])]
    (root / "course.toml").write_text(corpus.config(roster))
    (root / "variant-secret").write_text(SECRET)  # what a link must never bring into a submission
    env = {**os.environ, "COURSE_CELL_TIMEOUT": "20", "COURSE_CHECK_MODULES": str(source / A1 / "toycheck.py"),
           "OPENBLAS_NUM_THREADS": "1"}
    base = ["--root", str(root), "--source", str(source)]

    def cli(*argv, **kw):
        return _run(env, *base, *argv, **kw)

    cli("release", check_code=0)
    rel = {a: nbformat.read(root / "release" / a / f"{n}.ipynb", as_version=4) for a, n in ((A1, "toy"), (A2, "toy2"))}
    src = {a: nbformat.read(source / a / f"{n}.ipynb", as_version=4) for a, n in ((A1, "toy"), (A2, "toy2"))}
    nb = {"right": {a: _nb_bytes(rel[a], src[a]) for a in (A1, A2)},
          "wrong_ex1": {a: _nb_bytes(rel[a], src[a], lambda g, code: code.replace("x ** 2", "x ** 3")
                                     if "ex1" in g else code) for a in (A1, A2)},
          "release": {a: (root / "release" / a / f"{n}.ipynb").read_bytes() for a, n in ((A1, "toy"), (A2, "toy2"))}}
    out = {"tmp": tmp, "root": root, "source": source, "nb": nb, "cli": cli, "env": env, "base": base, "runs": {}}
    # the corpus: three inboxes, collected one after the other
    inbox = tmp / "inbox"
    inbox.mkdir()
    elsewhere = tmp / "elsewhere"
    out["expect"] = {"folder": corpus.folder_inbox(inbox, nb, root, elsewhere),
                     "canvas": corpus.canvas_zip(tmp / "submissions.zip", nb),
                     "moodle": corpus.moodle_zip(tmp / "moodle.zip", nb)}
    out["runs"]["folder"] = cli("collect", str(inbox))
    out["runs"]["canvas"] = cli("collect", str(tmp / "submissions.zip"))
    out["runs"]["moodle"] = cli("collect", str(tmp / "moodle.zip"))
    yield out


def _versions(root: Path, student: str, assignment: str) -> list[dict]:
    base = root / "versions" / student / assignment
    return [json.loads((v / "version.json").read_text()) | {"name": v.name, "path": v}
            for v in sorted(base.iterdir()) if (v / "version.json").is_file()] if base.is_dir() else []


def _utc_text(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@pytest.mark.parametrize("kind", ["folder", "canvas", "moodle"])
def test_hostile_entries_set_aside_or_flagged_with_a_reason(term, kind):
    code, text = term["runs"][kind]
    expect = term["expect"][kind]
    assert code == 1, text  # something was set aside: the instructor must look
    lines = text.splitlines()
    for entry, words in expect.aside.items():
        mine = [ln for ln in lines if ln.startswith(f"SET ASIDE: {entry}")]
        assert mine and any(w in ln for ln in mine for w in words), (entry, words, text)
    for entry, words in expect.flagged.items():
        assert any(ln.startswith(f"FLAGGED: {entry}") and words in ln for ln in lines), (entry, words, text)
    assert any(ln.startswith("collect summary: ") for ln in lines), text


@pytest.mark.parametrize("kind", ["folder", "canvas", "moodle"])
def test_honest_and_confined_work_filed_under_the_right_student_and_time(term, kind):
    root = term["root"]
    for (student, a), (data, when) in term["expect"][kind].filed.items():
        digest = hashlib.sha256(data).hexdigest()
        mine = [v for v in _versions(root, student, a)
                if hashlib.sha256((v["path"] / v["files"][0]).read_bytes()).hexdigest() == digest]
        assert len(mine) == 1, (student, a, _versions(root, student, a))
        assert mine[0]["time"] == _utc_text(when), (student, a, mine[0])
        name = "toy.ipynb" if a == A1 else "toy2.ipynb"
        assert (root / "submitted" / student / a / name).read_bytes() == data, (student, a)
        assert (root / "submitted" / student / a / "timestamp.txt").read_text() == _utc_text(when)


def test_classmates_work_untouched_by_impersonation(term):
    root = term["root"]
    nb = term["nb"]
    assert [hashlib.sha256((v["path"] / "toy.ipynb").read_bytes()).digest() for v in _versions(root, "alice", A1)] \
        == [hashlib.sha256(nb["right"][A1]).digest()]  # only her own zip; m18's 'alice/' folder is m18's
    assert not (root / "versions" / "blee" / A1).exists()  # the Canvas user named like blee filed nothing
    assert [v["origin"] for v in _versions(root, "blee", A2)] == ["Bruno Lée_301_assignsubmission_file_"]
    assert not (root / "versions" / "sam" / A2).exists()  # two participants named Sam Same: neither
    assert not (root / "submitted" / "alice" / A1 / "alice").exists()


def test_nothing_outside_the_course_folders_and_no_link_or_secret_inside(term):
    tmp, root = term["tmp"], term["root"]
    assert not (tmp / "escape").exists() and not Path("/abs/escape").exists()
    assert not any(p.name == "escape" for p in tmp.rglob("escape"))
    gradebook_head = b"SQLite format 3"
    for step in ("versions", "submitted"):
        for path in (root / step).rglob("*"):
            assert not path.is_symlink(), path
            if path.is_file():
                data = path.read_bytes()
                assert SECRET.encode() not in data and not data.startswith(gradebook_head), path
                assert os.stat(path).st_nlink == 1, path


def test_summary_says_who_handed_nothing_in(term):
    text = term["runs"]["folder"][1]
    line = next(ln for ln in text.splitlines() if ln.startswith(f"handed nothing in to {A1}:"))
    assert "quiet" in line.split(":", 1)[1].split(", ") and "alice" not in line.split(":", 1)[1].split(", ")
    summary = next(ln for ln in text.splitlines() if ln.startswith("collect summary:"))
    placed = sum(1 for ln in text.splitlines() if ln.startswith("placed "))
    aside = sum(1 for ln in text.splitlines() if ln.startswith("SET ASIDE: "))
    assert f" {placed} filed," in summary and f" {aside} set aside" in summary


def _deserved(notebook: bytes, assignment: str, when: dt.datetime) -> float:
    """The toy's points for the exercises answered right (x ** 2), minus the late policy (per started day)."""
    cells = nbformat.reads(notebook.decode(), as_version=4).cells
    score = 0.0
    for cell in cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        for ex, pts in POINTS.items():
            if ex in grade_id and cell.metadata["nbgrader"].get("solution") and "return x ** 2" in cell.source:
                score += pts
    late = (when - corpus.DUE[assignment]).total_seconds()
    if late > 0:
        percent = min(corpus.LATE["cap"], corpus.LATE["deduction"] * math.ceil(late / 86400))
        score -= min(score, 5 * percent / 100)
    return score


def test_honest_classmates_autograded_at_exactly_their_grade(term):
    cli, _root = term["cli"], term["root"]
    students = {"alice": "folder", "bob": "folder", "zoe": "canvas", "m22": "folder"}
    args = [x for s in students for x in ("--student", s)]
    code, text = cli("autograde", *args, "--assignment", A1, "--jobs", "2")
    assert code == 0, text
    cli("grades", "--out", str(term["tmp"] / "grades.csv"), check_code=0)
    import csv

    with open(term["tmp"] / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    for student, kind in students.items():
        data, when = term["expect"][kind].filed[(student, A1)]
        assert float(rows[student][A1]) == _deserved(data, A1, when), (student, rows[student])
    # versions: each version's time and, for the graded one, its score
    code, shown = cli("versions", "zoe", A1)
    assert code == 0 and "2027-01-11 14:00:00.000000 UTC" in shown and "score: 4/5 points" in shown, shown


# ------------------------------------------------------------------ the term walkthrough cases
def test_unpacked_moodle_download_keeps_the_lms_times(term):
    """Unzipped as unzip does (member times restored on the files): the folder's own time is never used."""
    tmp, t = term["tmp"], corpus.DUE[A2] - dt.timedelta(hours=3)
    folder = "Ünal Ünpacked_555_assignsubmission_file_"
    handin = corpus.zip_of([("una/01_toy2/toy2.ipynb", term["nb"]["right"][A2], None)])
    data = corpus.zip_of([(f"{folder}/a/b/c/una.zip", handin, t)])  # a handin.py zip, three folders down
    unpacked = tmp / "moodle-unpacked"
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        for info in zf.infolist():
            target = unpacked / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            stamp = dt.datetime(*info.date_time, tzinfo=dt.timezone.utc).timestamp()
            os.utime(target, (stamp, stamp))
    code, text = term["cli"]("collect", str(unpacked))
    assert code == 0, text
    assert f"placed {folder} -> una/{A2}, submitted {t:%Y-%m-%d %H:%M} UTC" in text, text
    assert "h late" not in text


def test_withdrawal_beside_identical_hand_ins(term):
    cli, tmp, release = term["cli"], term["tmp"], term["nb"]["release"][A1]
    inbox = tmp / "wd-1"
    inbox.mkdir()
    corpus._write(inbox / "wd1.ipynb", release)  # an untouched release notebook: common, byte-identical
    assert cli("collect", str(inbox))[0] == 0
    cli("withdraw", "wd1", A1, check_code=0)
    inbox2 = tmp / "wd-2"
    inbox2.mkdir()
    for s in ("wd1", "wd2", "wd3"):
        corpus._write(inbox2 / f"{s}.ipynb", release)
    code, text = cli("collect", str(inbox2))
    assert "placed wd2.ipynb -> wd2/00_toy" in text and "placed wd3.ipynb -> wd3/00_toy" in text, text
    assert "SET ASIDE: wd1.ipynb: wd1/00_toy was withdrawn" in text and code == 1, text
    assert "wd2/00_toy was withdrawn" not in text
    code, text = cli("withdraw", "--undo", "wd1", A1)
    assert code == 0 and "restored wd1: 00_toy" in text, text
    assert (term["root"] / "submitted" / "wd1" / A1 / "toy.ipynb").read_bytes() == release


def test_misfiled_notebook_without_assignment_never_replaces_the_on_time_one(term):
    cli, tmp, nb = term["cli"], term["tmp"], term["nb"]
    on_time = corpus.DUE[A1] - dt.timedelta(hours=1)
    first = tmp / "a1-download.zip"
    with zipfile.ZipFile(first, "w") as zf:
        zf.writestr(zipfile.ZipInfo("filedmisha_1111_7001_toy.ipynb", on_time.timetuple()[:6]), nb["right"][A1])
    assert cli("collect", str(first))[0] == 0
    # assignment 2's download: most notebooks hold A2; Misha's holds A1 (a week late for A1)
    late = corpus.DUE[A2] - dt.timedelta(hours=2)
    second = tmp / "a2-download.zip"
    with zipfile.ZipFile(second, "w") as zf:
        for name, data in (("filedmisha_1111_7002_toy.ipynb", nb["wrong_ex1"][A1]),
                           ("curiemarie_1003_7003_toy2.ipynb", nb["right"][A2]),
                           ("lovelaceada_1001_7004_toy2.ipynb", nb["right"][A2])):
            zf.writestr(zipfile.ZipInfo(name, late.timetuple()[:6]), data)
    code, text = cli("collect", str(second))
    assert code == 1, text
    assert f"FLAGGED: filedmisha_1111_7002_toy.ipynb: handed in to {A2} but holds {A1}" in text, text
    assert f"FLAGGED: filedmisha_1111_7002_toy.ipynb: handed in to {A2} without a notebook of {A2}" in text
    root = term["root"]
    assert (root / "submitted" / "mis" / A1 / "toy.ipynb").read_bytes() == nb["right"][A1]  # still the on-time one
    assert (root / "submitted" / "mis" / A1 / "timestamp.txt").read_text() == _utc_text(on_time)
    held = [v for v in _versions(root, "mis", A1) if v["held"]]
    assert len(held) == 1 and (held[0]["path"] / "toy.ipynb").read_bytes() == nb["wrong_ex1"][A1]
    code, shown = cli("versions", "mis", A1)
    assert "HELD" in shown and shown.splitlines()[0].startswith("*"), shown
    line = next(ln for ln in text.splitlines() if ln.startswith(f"handed nothing in to {A2}:"))
    assert "mis" in line.split(":", 1)[1].split(", ")


def test_handin_zip_filed_notebook_by_notebook_quietly(term, tmp_path):
    """The bundle's handin.py, run as a student runs it, e-mailed; due dates set: no warning at all."""
    laptop = tmp_path / "laptop"
    for a, n in ((A1, "toy"), (A2, "toy2")):
        (laptop / "notebooks" / a).mkdir(parents=True)
        (laptop / "notebooks" / a / f"{n}.ipynb").write_bytes(term["nb"]["right"][a])
    (laptop / "handin.py").write_bytes((REPO / "grading" / "course" / "handin.py").read_bytes())
    inbox = tmp_path / "mail"
    inbox.mkdir()
    subprocess.run([sys.executable, "handin.py", "hana", "--out", str(inbox)], cwd=laptop, check=True,
                   capture_output=True)
    code, text = term["cli"]("collect", str(inbox))
    assert code == 0, text
    assert "SET ASIDE" not in text and "FLAGGED" not in text, text
    assert f"-> hana/{A1}" in text and f"-> hana/{A2}" in text


def test_a_failed_filing_keeps_the_collected_copy_and_the_class(term, tmp_path):
    """The versions folder of one submission cannot be written (here: a file where its folder goes)."""
    cli, root, nb = term["cli"], term["root"], term["nb"]
    first = tmp_path / "first"
    first.mkdir()
    corpus._write(first / "quiet.ipynb", nb["release"][A1])
    assert cli("collect", str(first))[0] == 0
    versions_dir = root / "versions" / "quiet" / A1
    versions_dir.rename(tmp_path / "kept-aside")
    versions_dir.write_text("not a folder")
    second = tmp_path / "second"
    second.mkdir()
    corpus._write(second / "quiet.ipynb", nb["right"][A1])
    corpus._write(second / "wd3.ipynb", nb["right"][A1])
    code, text = cli("collect", str(second))
    assert code == 1 and "SET ASIDE: quiet.ipynb: could not be filed as quiet/00_toy" in text, text
    assert "placed wd3.ipynb -> wd3/00_toy" in text, text  # the class goes on
    assert (root / "submitted" / "quiet" / A1 / "toy.ipynb").read_bytes() == nb["release"][A1]  # nothing lost


# ------------------------------------------------------------------ the Hub exchange
def test_hub_collect_never_follows_links_in_inbound(term, tmp_path):
    """A fake exchange (nbgrader's layout); entries written by this account, so they are its hand-ins."""
    root, nb = term["root"], term["nb"]
    course_id = "intake-course"
    exchange = tmp_path / "exchange"
    (exchange / course_id / "outbound" / A1).mkdir(parents=True)
    inbound = exchange / course_id / "inbound"
    inbound.mkdir()
    name = f"{ME}+{A1}+2027-01-09 10:00:00.000000 UTC+"
    honest = inbound / f"{name}aaa"
    honest.mkdir()
    (honest / "toy.ipynb").write_bytes(nb["right"][A1])
    (honest / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")  # the student's side: not believed
    outside = tmp_path / "someone-elses"
    outside.mkdir()
    (outside / "toy.ipynb").write_bytes(nb["wrong_ex1"][A1])
    os.symlink(outside, inbound / f"{name}bbb")                          # a link as the entry itself
    (inbound / f"{name}ccc").mkdir()
    os.symlink(root / "gradebook.db", inbound / f"{name}ccc" / "toy.ipynb")  # a link to the gradebook inside
    os.symlink("/dev/zero", inbound / f"{name}ddd")                       # a link to a device
    env = {**term["env"], "COURSE_HUB_EXCHANGE": str(exchange), "COURSE_ID": course_id}
    code, text = _run(env, "--prefix", str(tmp_path / "hub"), "collect", A1, *term["base"], module="hub")
    assert code == 0, text
    for suffix in ("bbb", "ddd"):
        assert f"SET ASIDE: {name}{suffix}: not a folder" in text, text
    assert f"SET ASIDE: {name}ccc: toy.ipynb is a symbolic link" in text, text
    mine = [v for v in _versions(root, ME, A1) if v["origin"] == f"{name}aaa"]
    assert len(mine) == 1 and mine[0]["time_source"] == collect_module.FROM_HUB, mine
    assert (mine[0]["path"] / "toy.ipynb").read_bytes() == nb["right"][A1]
    stamp = dt.datetime.strptime(mine[0]["time"], "%Y-%m-%d %H:%M:%S.%f UTC")
    assert abs((stamp - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).total_seconds()) < 600  # not 2020
    assert not any(hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256(nb["wrong_ex1"][A1]).digest()
                   for p in (root / "versions" / ME).rglob("toy.ipynb"))


# ------------------------------------------------------------------ config: what course.toml would override
@pytest.mark.parametrize("toml, nbgrader, needle", [
    ('[assignments.00_tyo]\ndue = 2027-01-10T12:00:00\n', "", "[assignments.00_tyo] names no assignment"),
    ('[course]\nlms = "canvas"\n[[students]]\nid = "ada"\nemail = "ada@x.edu"\n', "",
     "students[0] (ada) has no canvas_id or sis_user_id or sis_login_id"),
    ('[course]\nlms = "moodle"\n[[students]]\nid = "ada"\ncanvas_id = 5\n', "", "students[0] (ada) has no email"),
    ("", 'c.LateSubmissionPlugin.penalty_method = "zero"\n', "LateSubmissionPlugin.penalty_method is set"),
    ("", 'c.CourseDirectory.db_assignments = [dict(name="00_toy", duedate="2027-01-01 10:00:00 UTC")]\n',
     "CourseDirectory.db_assignments is set"),
])
def test_config_refuses_what_would_be_silently_ignored(tmp_path, toml, nbgrader, needle):
    source = tmp_path / "source"
    gs.make_toy_source(source, A1)
    root = tmp_path / "course"
    root.mkdir()
    (root / "course.toml").write_text(toml)
    if nbgrader:
        (root / "nbgrader_config.py").write_text("c = get_config()\n" + nbgrader)
    code, text = _run(dict(os.environ), "--root", str(root), "--source", str(source), "config")
    assert code == 2 and needle in text and text.count("\n") == 1, text
    (root / "nbgrader_config.py").unlink(missing_ok=True)
    (root / "course.toml").write_text('[assignments.00_toy]\ndue = 2027-01-10T12:00:00\n')
    code, text = _run(dict(os.environ), "--root", str(root), "--source", str(source), "config")
    assert code == 0 and "00_toy: due 2027-01-10 12:00 UTC" in text, text  # the fixed file passes
