"""The grading sandbox against a hostile class (issue 10): one course, one ``autograde.run(jobs=2)``.

Every attacker of ``tests/sandbox_corpus.py`` hands in its notebook(s); honest students (the
toy assignment answered correctly) sit before and after each attacker in name order, so each
attacker has honest neighbours in its own shard and in the other one. Asserted: attackers
score exactly what their honest code earns, honest students keep full marks, the gradebook
holds only what the grader wrote, the environment, the student edition of ``helpers``, the
repository and the classmates' submissions are byte-identical afterwards, no file an attack
planted survives, floods are small, stalls stop at the notebook budget, and the report says why.

Per-student variants (issue 15): the same run grades ``00_toy_variants`` (the toy again) with variants
on (``course.toml``: the course secret in the course root, every student on the roster, tokens made),
handed in by the variant attacks of the corpus, a few others again, their honest neighbours (with
their own token or none) and an accomplice who gives its token away. Asserted on top: the collusion
report names the accomplice for exactly the attackers that used its variant and never an honest
student, the secret is in no folder the sandbox mounts nor in any output, the hunt for it finds
nothing, and the tokens, the secret and ``course.toml`` are unchanged afterwards.

Debugging: ``SANDBOX_CORPUS_ONLY=name,klass,...`` grades a subset of the corpus;
``SANDBOX_CORPUS_SANDBOX=0`` runs it with ``sandbox=False``,
to see which attacks work without the sandbox. Both are for investigation, never for CI.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
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

from grading.course import autograde, release, variants
from grading.course.paths import Course
from grading.course.verify import MATCHES
from helpers.variants import TOKEN_FILE

pytestmark = pytest.mark.slow

REPO = gs.REPO
TOY = "00_toy"
NB1 = "01_normalizing_inputs"
#: the toy again, graded with per-student variants on (issue 15); the other assignments keep them off
TOYV = "00_toy_variants"
SECRET = "sandbox-class-secret-5e0f2b7c91d4a3e8b6f0c2d9a7e1b4c3"
SECRET_FILE = "variant-secret"
#: the classmate who gives their token away (hands in their own work: full marks, never reported)
ACCOMPLICE = "accomplice"
#: attacks of the corpus graded a second time on TOYV, variants on (the variant attacks come on top)
VARIANT_REPRESENTATIVES = ("grade_sqlite_triggers", "harm_submissions", "forge_from_extra_cell",
                           "forge_several_in_test_cell")
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
        # the tokens, the secret and the configuration (variants on for TOYV)
        "variants": {**_hash_tree(course.dir("variants")),
                     **{n: hashlib.sha1((course.root / n).read_bytes()).hexdigest()
                        for n in ("course.toml", SECRET_FILE)}},
        "schema": _schema(course.db),
        "markers": {str(p) for place in _shared_places() for p in _markers_in(place)},
    }


def _course_toml(students: list[str]) -> str:
    return (f'[course]\nname = "Sandbox class"\nvariant_secret_file = "{SECRET_FILE}"\n'
            f"[assignments.{TOYV}]\nvariants = true\n" + "".join(f'[[students]]\nid = "{s}"\n' for s in students))


def _token(course, student: str) -> Path:
    return course.dir("variants") / student / "notebooks" / TOYV / TOKEN_FILE


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    gs.make_toy_source(source, TOYV)
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
        toyv = (TOYV, read("release", TOYV), src(TOYV))
        nb1 = (NB1, read("release", NB1), src(NB1)) if have_nb1 else None
        toy_total = sum(gs.points_by_exercise(toy[1]).values())
        giver = []  # the accomplice's id, once the slots are known; the token is read when an attack is built
        stolen = functools.cache(lambda: json.loads(_token(course, giver[0]).read_text()))
        representatives = [a for a in corpus.corpus(toyv, None, cell_timeout=CELL_TIMEOUT)
                           if a.name in VARIANT_REPRESENTATIVES]
        # the first slot below is always an honest student: the one the framing attacker names
        attacks = _selected(corpus.corpus(toy, nb1, cell_timeout=CELL_TIMEOUT)
                            + corpus.variant_corpus(toyv, stolen=stolen, victim="000_honest",
                                                    representatives=representatives))

        # name order H A A H A A H ...: with students dealt round-robin into 2 shards, every attacker
        # has an honest student before and after it, one in its own shard and one in the other. An honest
        # student hands in the assignment(s) of its neighbours: TOY, and TOYV next to a variant attack.
        slots, i = [], 0
        for attack in attacks:
            if i % 2 == 0:
                slots.append(None)
            slots.append(attack)
            i += 1
        slots.append(None)
        students = [f"{index:03d}_honest" if a is None else f"{index:03d}_{a.name}" for index, a in enumerate(slots)]
        accomplice = f"{len(slots):03d}_{ACCOMPLICE}"
        giver.append(accomplice)
        # variants on for TOYV: the course secret in the course root, every student on the roster, the tokens
        (course.root / SECRET_FILE).write_text(SECRET + "\n")
        (course.root / SECRET_FILE).chmod(0o600)
        (course.root / "course.toml").write_text(_course_toml([*students, accomplice]))
        attacks_v = [a for a in attacks if "variants" in a.kinds]
        variants.write_tokens(course)

        expected, attackers, honest, placed = {}, {}, [], []

        def hand_in(student, assignment, nb, score, files=None):
            folder = course.root / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{_nb_name(source / assignment)}.ipynb")
            for name, text in (files or {}).items():
                (folder / name).write_text(text)
            expected[(student, assignment)] = score
            placed.append((student, assignment))

        for index, (student, slot) in enumerate(zip(students, slots, strict=True)):
            if slot is None:
                honest.append(student)
                near = [slots[j] for j in (index - 1, index + 1) if 0 <= j < len(slots) and slots[j] is not None]
                if not near or any("variants" not in a.kinds for a in near):
                    hand_in(student, TOY, gs.with_solutions(toy[1], toy[2]), toy_total)
                if any("variants" in a.kinds for a in near):  # own token beside the notebook, or none (an LMS upload)
                    own = {TOKEN_FILE: _token(course, student).read_text()} if len(honest) % 2 else {}
                    hand_in(student, TOYV, gs.with_solutions(toyv[1], toyv[2]), toy_total, own)
            else:
                attack = slot
                attackers[student] = attack
                files = attack.files(student) if attack.files else {}
                for a, nb, score, *_ in attack.entries(student):
                    hand_in(student, a, nb, score, files.get(a))
        if attacks_v:
            hand_in(accomplice, TOYV, gs.with_solutions(toyv[1], toyv[2]), toy_total,
                    {TOKEN_FILE: _token(course, accomplice).read_text()})
        if nb1 is not None:  # two honest students also hand in notebook 1 (first and last)
            for student in (honest[0], honest[-1]):
                hand_in(student, NB1, nb1[2], sum(gs.points_by_exercise(nb1[1]).values()))

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
               "after": after, "have_nb1": have_nb1, "accomplice": accomplice if attacks_v else None}
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
             if (k[0] in graded["honest"] or k[0] == graded["accomplice"]) and scores[k] != want}
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
    # the working tree is shared with other engineers, whose edits during the run are not attacks:
    # a changed tracked file counts when it carries an attack's mark (every attack write does)
    changed = [n for n in _diff(b["repo"], a["repo"]) if corpus.MARK.encode() in _read_bytes(REPO / n)]
    assert not changed, f"tracked files of the repository changed: {changed}"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_classmates_submissions_untouched(graded):
    changed = _diff(graded["before"]["submitted"], graded["after"]["submitted"])
    assert not changed, f"submitted/ changed: {changed}"
    changed = _diff(graded["before"]["variants"], graded["after"]["variants"])
    assert not changed, f"the tokens, the course secret or course.toml changed: {changed}"
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


# ----------------------------------------------------------------------------- variants on (TOYV)
def _collusion_rows(graded) -> list[dict]:
    path = graded["course"].dir("logs") / variants.COLLUSION
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _variant_attackers(graded, klass: str | None = None) -> dict:
    return {s: a for s, a in graded["attackers"].items() if "variants" in a.kinds and klass in (None, a.klass)}


def test_collusion_report_names_only_whom_a_token_came_from(graded, report):
    """Rows only for attackers that used the accomplice's variant, naming the accomplice; no honest student."""
    if graded["accomplice"] is None:
        pytest.skip("no variant attack selected")
    accomplice = graded["accomplice"]
    rows = {(r["student"], r["assignment"], r["matches_variant_of"]) for r in _collusion_rows(graded)}
    want = {(s, TOYV, accomplice) for s, a in graded["attackers"].items() if "accomplice" in a.matches}
    assert rows == want, f"collusion rows (student, assignment, matches) missing: {sorted(want - rows)}, " \
                         f"unexpected: {sorted(rows - want)}"
    flagged = {k for k, e in report.items() if e.get("review")}
    assert flagged == {(s, a) for s, a, _ in want}, f"flagged for review: {sorted(flagged)}"
    named = [e for (s, _a), e in report.items() if s not in {w[0] for w in want}
             and any(MATCHES in p for p in e.get("problems", []))]
    assert not named, f"collusion notes on {[(e['student'], e['problems']) for e in named]}"
    assert accomplice not in {r["student"] for r in _collusion_rows(graded)}


def test_collusion_notes_come_only_from_the_graders_verdicts(graded):
    """A submission cannot write a collusion note naming a classmate (it would blame an honest student)."""
    framers = _variant_attackers(graded, "variant_frame")
    if not framers:
        pytest.skip("no framing attack selected")
    rows = [r for r in _collusion_rows(graded) if r["student"] in framers]
    assert not rows, f"a submission named classmates in the collusion report: {rows}"


def test_course_secret_is_out_of_reach(graded, tmp_path):
    """The secret lives in the course root, which the sandbox does not mount; no output holds it."""
    from grading.course import sandbox

    course = graded["course"]
    secret_path = (course.root / SECRET_FILE).resolve()
    if SANDBOX:  # what a grading kernel sees: none of its bind mounts holds the secret (or the course root)
        sub = next(p for p in (course.root / "autograded").glob(f"*/{TOYV}") if p.is_dir())
        cmd = sandbox.bwrap_command(private_dir=tmp_path, submission_dir=sub, student_helpers=course.student_helpers,
                                    limits=sandbox.Limits(), identity=sandbox.kernel_identity(), figures="none")
        sources = [Path(cmd[i + 1]).resolve() for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")]
        exposed = [str(s) for s in sources if secret_path.is_relative_to(s) or course.root.resolve() == s]
        assert not exposed, f"the sandbox mounts a folder holding the course secret: {exposed}"
    needle = SECRET.encode()
    leaked = [str(p.relative_to(course.root)) for top in ("autograded", "logs", "feedback")
              for p in (course.root / top).rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert not leaked, f"the course secret appears in {leaked}"
    hunters = [s for s, a in graded["attackers"].items() if a.name == "var_secret_hunt"]
    for student in hunters:  # the hunt ran, and found neither the secret nor a classmate's token
        nb = nbformat.read(next((course.root / "autograded" / student / TOYV).glob("*.ipynb")), as_version=4)
        said = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("output_type") == "stream"]
        hunt = [ln for t in said for ln in t.splitlines() if ln.startswith("SECRET HUNT:")]
        assert hunt, f"{student}: the secret hunt did not report (outputs: {said[:5]})"
        found = json.loads(hunt[0].split(":", 1)[1])
        assert found == {"secret_files": [], "tokens": 0, "configs": [], "classmates_variants": 0}, found


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
