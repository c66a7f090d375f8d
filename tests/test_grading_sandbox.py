"""The grading sandbox against a hostile class (issue 10): one course, one ``autograde.run(jobs=2)``.

Every attacker of ``tests/sandbox_corpus.py`` hands in its notebook(s); honest students (the
toy assignment answered correctly) sit before and after each attacker in name order, so each
attacker has honest neighbours in its own shard and in the other one. Asserted: attackers
score exactly what their honest code earns, honest students keep full marks, the gradebook
holds only what the grader wrote, the environment, the student edition of ``helpers``, the
repository and the classmates' submissions are byte-identical afterwards, no file an attack
planted survives, floods are small, stalls stop at the notebook budget, and the report says why.

Debugging: ``SANDBOX_CORPUS_ONLY=name,klass,...`` grades a subset of the corpus;
``SANDBOX_CORPUS_SANDBOX=0`` runs it with ``sandbox=False``,
to see which attacks work without the sandbox. Both are for investigation, never for CI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grading_support as gs
import nbformat
import pytest
import sandbox_corpus as corpus

from grading.course import autograde, release
from grading.course.paths import Course

pytestmark = pytest.mark.slow

REPO = gs.REPO
TOY = "00_toy"
NB1 = "01_normalizing_inputs"
CELL_TIMEOUT = 10
NOTEBOOK_BUDGET = 40
#: grading wall time allowed beyond the notebook budget (kernel start, sandbox set-up, verification)
BUDGET_MARGIN = 20
ENV = {"COURSE_CELL_TIMEOUT": str(CELL_TIMEOUT), "COURSE_NOTEBOOK_TIMEOUT": str(NOTEBOOK_BUDGET),
       "COURSE_KERNEL_MEMORY_MB": "2048"}
#: largest autograded notebook of a flooding submission
MAX_NOTEBOOK_BYTES = 5_000_000

#: Short substrings expected in a report entry (problems + cells), by reason key of the corpus.
REASONS = {
    "budget": "time budget",
    "outside": "outside a test cell",
}
#: The error when bubblewrap is unavailable must name it and say how to install it.
NO_BWRAP = ("bubblewrap", "apt-get install bubblewrap")

ONLY = {x for x in os.environ.get("SANDBOX_CORPUS_ONLY", "").split(",") if x}
SANDBOX = os.environ.get("SANDBOX_CORPUS_SANDBOX", "1") != "0"


# ----------------------------------------------------------------------------- snapshots
def _hash_tree(root: Path, skip=()) -> dict[str, str]:
    """``{relative path: sha1}`` of every regular file under ``root`` (symlinks by target)."""
    out = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            try:
                if path.is_symlink():
                    out[rel] = "->" + os.readlink(path)
                elif path.is_file():
                    out[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
            except OSError as exc:
                out[rel] = f"unreadable: {exc}"
    return out


def _tracked_files() -> dict[str, str]:
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    out = {}
    for name in filter(None, names.decode().split("\0")):
        path = REPO / name
        out[name] = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    return out


def _site_dirs() -> list[Path]:
    """Every site-packages of the grader's interpreter (the venv's and the base installation's)."""
    dirs = {Path(p) for p in sys.path if p.rstrip("/").endswith("site-packages")}
    dirs |= {Path(p) for p in site.getsitepackages()}
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        dirs |= set((Path(prefix) / "lib").glob("python3*/site-packages"))
    return sorted(d for d in dirs if d.is_dir())


def _shared_places() -> list[Path]:
    """Where a planted file would outlive one kernel: searched for marker files, cleaned afterwards."""
    home = Path.home()
    places = [*_site_dirs(), home, home / ".ipython" / "profile_default" / "startup", Path("/tmp"),
              Path("/var/tmp"), Path("/dev/shm"), REPO / "helpers", REPO]
    return [p for p in places if p.is_dir()]


def _markers_in(place: Path) -> list[Path]:
    try:
        return [p for p in place.iterdir() if corpus.MARK in p.name or corpus.SCRATCH in p.name]
    except OSError:
        return []


def _customize_files() -> set[Path]:
    return {d / n for d in _site_dirs() for n in ("sitecustomize.py", "usercustomize.py") if (d / n).exists()}


def _cleanup(preexisting_customize: set[Path]) -> list[str]:
    """Remove everything an attack may have planted in shared places (safety net; the test judges first)."""
    removed = []
    for place in _shared_places():
        for path in _markers_in(place):
            removed.append(str(path))
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for path in _customize_files() - preexisting_customize:
        if corpus.MARK in path.read_text(errors="replace"):
            removed.append(str(path))
            path.unlink(missing_ok=True)
    return removed


def _schema(db: Path) -> set[tuple]:
    with sqlite3.connect(db) as con:
        return set(con.execute("select type, name, sql from sqlite_master"))


# ----------------------------------------------------------------------------- the class
def _nb_name(folder: Path) -> str:
    return next(folder.glob("*.ipynb")).stem


def _selected(attacks):
    if not ONLY:
        return attacks
    return [a for a in attacks if a.name in ONLY or a.klass in ONLY]


def _snapshot(course) -> dict:
    """What no submission may change: environment, student helpers, repository, classmates, schema, markers."""
    return {
        "venv": _hash_tree(Path(sys.prefix), skip={"__pycache__"}),
        "site": {str(d): _hash_tree(d, skip={"__pycache__"}) for d in _site_dirs()},
        "student_helpers": _hash_tree(course.student_helpers),
        "repo": _tracked_files(),
        "submitted": _hash_tree(course.root / "submitted"),
        "schema": _schema(course.db),
        "markers": {str(p) for place in _shared_places() for p in _markers_in(place)},
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    have_nb1 = (REPO / "notebooks" / NB1).is_dir()
    if have_nb1:
        shutil.copytree(REPO / "notebooks" / NB1, source / NB1,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    restore = gs.set_environ({**ENV, "COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py")})
    preexisting_customize = _customize_files()
    try:
        course = Course(tmp / "course", source)
        release.release(course, log=lambda *a: None)

        def read(kind, a):
            return nbformat.read(course.root / kind / a / f"{_nb_name(source / a)}.ipynb", as_version=4)

        def src(a):
            return nbformat.read(source / a / f"{_nb_name(source / a)}.ipynb", as_version=4)

        toy = (TOY, read("release", TOY), src(TOY))
        nb1 = (NB1, read("release", NB1), src(NB1)) if have_nb1 else None
        attacks = _selected(corpus.corpus(toy, nb1, cell_timeout=CELL_TIMEOUT))
        toy_total = sum(gs.points_by_exercise(toy[1]).values())
        honest_nb = gs.with_solutions(toy[1], toy[2])

        # name order H A A H A A H ...: with students dealt round-robin into 2 shards, every attacker
        # has an honest student before and after it, one in its own shard and one in the other
        expected, attackers, honest, placed = {}, {}, [], []
        slots, i = [], 0
        for attack in attacks:
            if i % 2 == 0:
                slots.append(None)
            slots.append(attack)
            i += 1
        slots.append(None)
        for index, attack in enumerate(slots):
            if attack is None:
                student = f"{index:03d}_honest"
                honest.append(student)
                entries = [(TOY, honest_nb, toy_total)]
            else:
                student = f"{index:03d}_{attack.name}"
                attackers[student] = attack
                entries = [(a, nb, score) for a, nb, score, *_ in attack.entries(student)]
            for assignment, nb, score in entries:
                folder = course.root / "submitted" / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, folder / f"{_nb_name(source / assignment)}.ipynb")
                expected[(student, assignment)] = score
                placed.append((student, assignment))
        if nb1 is not None:  # two honest students also hand in notebook 1 (first and last)
            for student in (honest[0], honest[-1]):
                folder = course.root / "submitted" / student / NB1
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb1[2], folder / f"{_nb_name(source / NB1)}.ipynb")
                expected[(student, NB1)] = sum(gs.points_by_exercise(nb1[1]).values())
                placed.append((student, NB1))

        before = _snapshot(course)
        kwargs = {"jobs": 2, "log": lambda *a: None, "sandbox": SANDBOX}
        started = time.monotonic()
        error = None
        try:
            report = autograde.run(course, **kwargs)
        except Exception as exc:  # judged by the tests below, after the snapshots
            report, error = {"report": [], "failed": []}, exc
        wall = time.monotonic() - started
        after = _snapshot(course)
        yield {"course": course, "expected": expected, "attackers": attackers, "honest": honest,
               "placed": placed, "report": report, "error": error, "wall": wall, "before": before,
               "after": after, "have_nb1": have_nb1}
    finally:
        removed = _cleanup(preexisting_customize)
        if removed:
            print("removed planted files:", removed)
        restore()


@pytest.fixture(scope="module")
def scores(graded):
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(graded["course"].db_url) as gb:
        for student, assignment in graded["expected"]:
            try:
                out[(student, assignment)] = gb.find_submission(assignment, student).score
            except MissingEntry:
                out[(student, assignment)] = None
    return out


@pytest.fixture(scope="module")
def report(graded):
    return {(e["student"], e["assignment"]): e for e in graded["report"]["report"]}


def _text(entry) -> str:
    return "\n".join([str(entry.get("error") or ""), *entry.get("problems", []), *entry.get("cells", [])])


# ----------------------------------------------------------------------------- tests
def test_autograde_completes_and_grades_everyone(graded, report):
    assert graded["error"] is None, f"autograde failed: {graded['error']!r}"
    missing = [p for p in graded["placed"] if p not in report]
    assert not missing, f"no report entry for {missing}"
    failed = {k: e.get("error") for k, e in report.items() if not e["success"]}
    assert not failed, f"submissions nbgrader could not grade: {failed}"
    print(f"autograde wall time: {graded['wall']:.0f} s for {len(graded['placed'])} submissions")


def test_honest_students_keep_full_marks(graded, scores):
    wrong = {k: (scores[k], want) for k, want in graded["expected"].items()
             if k[0] in graded["honest"] and scores[k] != want}
    assert not wrong, f"honest students harmed, (got, expected): {wrong}"


def test_attackers_score_what_their_honest_code_earns(graded, scores):
    wrong = {}
    for (student, assignment), want in graded["expected"].items():
        if student in graded["attackers"] and scores[(student, assignment)] != want:
            attack = graded["attackers"][student]
            wrong[(student, assignment)] = (scores[(student, assignment)], want, attack.klass)
    assert not wrong, f"(got, expected, class): {wrong}"


def test_gradebook_holds_only_what_the_grader_wrote(graded):
    from nbgrader.api import Gradebook

    course = graded["course"]
    placed = set(graded["placed"])
    students = {s for s, _ in placed}
    problems = []
    with Gradebook(course.db_url) as gb:
        known_cells = {(a.name, nb.name): {c.name for c in nb.grade_cells} for a in gb.assignments
                       for nb in a.notebooks}
        for student in gb.students:
            if student.id not in students:
                problems.append(f"unknown student {student.id}")
        for a in gb.assignments:
            for sub in a.submissions:
                if (sub.student.id, a.name) not in placed:
                    problems.append(f"submission nobody handed in: {sub.student.id}/{a.name}")
                for nb in sub.notebooks:
                    for g in nb.grades:
                        where = f"{sub.student.id}/{a.name}/{g.name}"
                        if g.manual_score is not None:
                            problems.append(f"manual_score {g.manual_score} on {where}")
                        if g.extra_credit:
                            problems.append(f"extra_credit {g.extra_credit} on {where}")
                        if g.name not in known_cells[(a.name, nb.name)]:
                            problems.append(f"unknown grade cell {where}")
                        if g.score is None or not 0 <= g.score <= g.max_score:
                            problems.append(f"score {g.score} of {g.max_score} on {where}")
    assert not problems, "\n".join(problems[:40])
    added = graded["after"]["schema"] - graded["before"]["schema"]
    assert not added, f"gradebook schema changed (triggers, tables): {sorted(added)}"


def _diff(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def test_environment_helpers_and_repository_untouched(graded):
    b, a = graded["before"], graded["after"]
    assert not _diff(b["venv"], a["venv"]), f"the course environment changed: {_diff(b['venv'], a['venv'])[:20]}"
    for d in b["site"]:
        changed = _diff(b["site"][d], a["site"].get(d, {}))
        assert not changed, f"{d} changed: {changed[:20]}"
    changed = _diff(b["student_helpers"], a["student_helpers"])
    assert not changed, f"the student edition of helpers changed: {changed}"
    changed = _diff(b["repo"], a["repo"])
    assert not changed, f"tracked files of the repository changed: {changed}"


def test_classmates_submissions_untouched(graded):
    changed = _diff(graded["before"]["submitted"], graded["after"]["submitted"])
    assert not changed, f"submitted/ changed: {changed}"
    root = graded["course"].root
    planted = sorted(str(p.relative_to(root)) for p in root.rglob(f"*{corpus.MARK}*")
                     if not _in_own_folder(p, root))
    assert not planted, f"attack files outside the attacker's own folders: {planted}"


def _in_own_folder(path: Path, root: Path) -> bool:
    """An attacker may litter its own autograded folder (its private working copy)."""
    parts = path.relative_to(root).parts
    return len(parts) > 2 and parts[0] == "autograded" and parts[1] in path.name


def test_no_planted_file_survives(graded):
    new = sorted(graded["after"]["markers"] - graded["before"]["markers"])
    assert not new, f"files planted in shared places: {new}"


def test_floods_are_small(graded):
    course = graded["course"]
    big = {}
    for student, attack in graded["attackers"].items():
        if "flood" in attack.kinds:
            for path in (course.root / "autograded" / student).rglob("*.ipynb"):
                if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                    big[str(path.relative_to(course.root))] = path.stat().st_size
    assert not big, f"autograded notebooks over {MAX_NOTEBOOK_BYTES} bytes: {big}"


def test_stalls_stop_at_the_notebook_budget(graded, report):
    slow = {}
    for student, attack in graded["attackers"].items():
        if "stall" in attack.kinds:
            for (s, a), entry in report.items():
                if s == student:
                    seconds = entry.get("seconds")
                    if seconds is None or seconds > NOTEBOOK_BUDGET + BUDGET_MARGIN:
                        slow[(s, a)] = seconds
    assert not slow, f"grading seconds over {NOTEBOOK_BUDGET} + {BUDGET_MARGIN}: {slow}"


def test_attackers_get_a_readable_reason(graded, report):
    missing = {}
    for student, attack in graded["attackers"].items():
        if attack.reason:
            want = REASONS[attack.reason]
            entries = [e for (s, _a), e in report.items() if s == student]
            if not any(want in _text(e) for e in entries):
                missing[student] = (want, [_text(e)[:300] for e in entries])
    assert not missing, f"expected reasons missing: {missing}"


def test_without_bubblewrap_nothing_is_graded(tmp_path, monkeypatch):
    source = tmp_path / "source"
    gs.make_toy_source(source, TOY)
    monkeypatch.setenv("COURSE_CHECK_MODULES", str(source / TOY / "toycheck.py"))
    course = Course(tmp_path / "course", source)
    release.release(course, log=lambda *a: None)
    rel = nbformat.read(course.root / "release" / TOY / "toy.ipynb", as_version=4)
    folder = course.root / "submitted" / "someone" / TOY
    folder.mkdir(parents=True)
    nbformat.write(gs.with_solutions(rel, nbformat.read(source / TOY / "toy.ipynb", as_version=4)),
                   folder / "toy.ipynb")
    monkeypatch.setenv("COURSE_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(Exception) as info:
        autograde.run(course, jobs=1, log=lambda *a: None)
    for needle in NO_BWRAP:
        assert needle in str(info.value), f"{needle!r} not in the error: {info.value}"
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert not [s for a in gb.assignments for s in a.submissions], "something was graded"
    assert not (course.root / "autograded" / "someone").exists()
