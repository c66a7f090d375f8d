"""Autograde submissions in parallel shards, merge the gradebooks, and report every failure.

Parallelism: students are dealt round-robin into ``jobs`` shards. Each shard is one
process running nbgrader's autograder (``worker.py``) on its own copy of the gradebook;
the copies are then merged one after the other into the main gradebook (see
``gradebook.merge``). Kernels run one BLAS thread each, so ``jobs`` = cores is the sweet spot.
``jobs=1`` autogrades straight into the main gradebook.

With a gradebook on a database server (``Course.database``, e.g. PostgreSQL), shard
processes write straight into it: every row autograde writes belongs to one student, and
shards hold disjoint students. ``shard=(k, n)`` grades only the students whose stable hash
falls in shard k of n, so n machines (a job array, several graders) can split a class
without talking to each other or agreeing on the list of students (grading/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import books, cgroups, gradebook, progress, variants
from . import sandbox as sandboxing
from .execute import BUDGET, KERNEL_DIED
from .paths import REPO, Course
from .verify import MATCHES
from .worker import grade_pairs


def submissions(course: Course, students=None, assignments=None) -> list[tuple[str, str]]:
    """``(student, assignment)`` pairs present in ``submitted/``, filtered, sorted."""
    base = course.dir("submitted")
    pairs = []
    for sdir in sorted(base.iterdir()) if base.is_dir() else []:
        if not sdir.is_dir() or (students and sdir.name not in students):
            continue
        for adir in sorted(sdir.iterdir()):
            if adir.is_dir() and (not assignments or adir.name in assignments):
                pairs.append((sdir.name, adir.name))
    return pairs


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``student`` belongs to shard ``k`` of ``n`` (1-based); ``None``: every student.

    A CRC of the id, not a position in a sorted list: machines that see different subsets of
    ``submitted/`` (per-machine copies, late submissions) still agree on every student's shard.
    """
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(student.encode("utf-8")) % n == k - 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) -> ``(K, N)``."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like K/N (e.g. 2/4), not {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"shard {text!r}: need 1 <= K <= N")
    return k, n


def expected_notebooks(course: Course) -> dict[str, list[str]]:
    with Gradebook(course.db_url) as gb:
        return {a.name: sorted(nb.name for nb in a.notebooks) for a in gb.assignments}


def _fingerprints(course: Course, known: dict[str, list[str]]) -> dict[str, set[str]]:
    """Checksums of each assignment's cells, to recognise a notebook of another assignment."""
    out = {}
    with Gradebook(course.db_url) as gb:
        for name, notebooks in known.items():
            out[name] = {c.checksum for nb in notebooks for c in gb.find_notebook(nb, name).source_cells}
    return out


def preflight(course: Course, pairs, known) -> dict[tuple[str, str], list[str]]:
    """Problems visible before running anything: unreadable, empty, missing or misplaced notebooks."""
    prints = _fingerprints(course, known)
    problems: dict[tuple[str, str], list[str]] = {}
    for student, assignment in pairs:
        notes = problems.setdefault((student, assignment), [])
        if assignment not in known:
            notes.append(f"unknown assignment {assignment!r} (released: {sorted(known)})")
            continue
        folder = course.dir("submitted") / student / assignment
        present = {p.stem: p for p in folder.glob("*.ipynb")}
        for extra in sorted(set(present) - set(known[assignment])):
            notes.append(f"unexpected notebook {extra}.ipynb (ignored; expected {known[assignment]})")
        for name in known[assignment]:
            path = present.get(name)
            if path is None:
                notes.append(f"missing notebook {name}.ipynb: scored 0")
                continue
            if path.stat().st_size == 0:
                notes.append(f"{name}.ipynb is an empty file")
                continue
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception as exc:
                notes.append(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            sums = gradebook.cell_checksums(nb.cells)
            if sums and not sums & prints[assignment]:
                other = [a for a, s in prints.items() if a != assignment and sums & s]
                notes.append(f"{name}.ipynb {MISFILED} {other[0] if other else 'another assignment'}"
                             " (flagged for review)")
    return problems


def _cell_failures(course: Course, student: str, assignment: str) -> list[str]:
    """One line per failed grade cell (its first error) and per cell where the kernel died."""
    out = []
    for path in sorted((course.dir("autograded") / student / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            graded = meta.get("grade") and not meta.get("solution")
            if errors and (graded or any(o.get("ename") in (KERNEL_DIED, BUDGET) for o in errors)):
                where = meta.get("grade_id") or "an ungraded cell"
                said = "; ".join(f"{o.get('ename')}: {str(o.get('evalue'))[:160]}".rstrip(": ") for o in errors)
                out.append(f"{path.stem}/{where}: {said}")
    return out


def run(course: Course, *, students=None, assignments=None, jobs: int | None = None,
        shard: tuple[int, int] | None = None, sandbox: bool = True, log=print, stream=None) -> dict:
    """Autograde; returns (and writes to ``<root>/logs/autograde-report[-shard-K-of-N].json``) the report.

    Progress is shown as submissions finish (``progress.py``: a bar when ``stream``, default
    standard error, is a terminal; plain lines through ``log`` otherwise), and a summary at the end.
    ``sandbox=False`` (``--no-sandbox``) runs the kernels without the operating-system
    sandbox: unsafe, for trusted submissions only; every report entry and gradebook comment says so.
    Otherwise the sandbox must work (``sandboxing.SandboxUnavailable`` before anything is graded).
    """
    if sandbox:
        os.environ.pop(sandboxing.NO_SANDBOX_ENV, None)
        sandboxing.check()
        _bases, why = cgroups.parents()
        if why:
            log(f"note: kernels get no control group ({why}); memory is bounded per process (RLIMIT_AS) "
                "and processes per kernel (RLIMIT_NPROC) only")
        elif cgroups.cpu_missing():
            log(f"note: kernels get no CPU quota of their own ({cgroups.cpu_missing()}): a CPU hog slows the "
                "kernels graded beside it")
    else:
        os.environ[sandboxing.NO_SANDBOX_ENV] = "1"
        log("WARNING: grading WITHOUT the sandbox (--no-sandbox): a submission can read the reference "
            "answers and write grades. Use it for trusted submissions only.")
    if course.local_db and not course.db.exists():
        raise FileNotFoundError(f"no gradebook at {course.db}: run the release step first")
    if not (course.student_helpers / "helpers" / "__init__.py").is_file():
        raise FileNotFoundError(f"no student edition of helpers in {course.student_helpers}: run the release step")
    if variants.varying(course.settings()):
        variants.read_secret(course.settings())  # a missing secret stops here, not in every worker
    gradebook.ensure_course_row(course.db_url)  # before shards or other machines race to create it
    known = expected_notebooks(course)
    if not known:
        raise FileNotFoundError(f"the gradebook {_shown(course)} has no assignments: run the release step first")
    if assignments:
        unknown = sorted(set(assignments) - set(known))
        if unknown:
            raise ValueError(f"unknown assignment(s) {unknown}; released: {sorted(known)}")
    pairs = [p for p in submissions(course, students, assignments) if in_shard(p[0], shard)]
    if students and shard is None:
        missing = sorted(set(students) - {s for s, _ in pairs})
        if missing:
            raise ValueError(f"no submissions for student(s) {missing} in {course.dir('submitted')}")
    if not pairs and shard is None:
        raise books.CourseError(f"nothing to grade in {course.dir('submitted')}: collect the submissions first")
    problems = preflight(course, pairs, known)
    gradable = [p for p in pairs if p[1] in known]
    books.sync(course, gradable)  # due dates, names, extensions: nbgrader computes lateness from them
    jobs = max(1, min(jobs or os.cpu_count() or 1, len({s for s, _ in gradable}) or 1))
    shown = progress.Progress(len(gradable), log=log, stream=stream)
    try:
        results = _grade(course, gradable, jobs, shown)
    finally:
        shown.close()
    report = []
    for entry in results:
        key = (entry["student"], entry["assignment"])
        entry["problems"] = problems.get(key, []) + entry.pop("notes")
        entry["cells"] = _cell_failures(course, *key) if entry["success"] else []
        entry["sandboxed"] = sandbox
        if not sandbox:
            entry["problems"].append(UNSANDBOXED)
        for other, cells in entry["variant_matches"].items():  # found in the grader (findings), shown here
            entry["problems"].append(f"{MATCHES}{other} (cells {', '.join(cells)})")
        # both found by the grader itself (preflight, findings): nothing a notebook could have written
        if any(MISFILED in p for p in problems.get(key, [])) or entry["variant_matches"]:
            books.flag_review(course, *key)  # a 0 for another assignment's notebook is not a grade
            entry["review"] = True
        entry["score"] = books.score_line(course, *key)
        report.append(entry)
    for key, notes in problems.items():
        if key[1] not in known:
            report.append({"student": key[0], "assignment": key[1], "success": False,
                           "error": notes[0], "problems": notes, "cells": []})
    logs = course.dir("logs")
    logs.mkdir(parents=True, exist_ok=True)
    # shards on a shared file system must not overwrite each other's report
    name = "autograde-report.json" if shard is None else f"autograde-report-shard-{shard[0]}-of-{shard[1]}.json"
    runs = logs / "runs"  # every run kept; the file above is the latest run's
    runs.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = runs / name.replace("autograde-report", f"autograde-{stamp}-{os.getpid()}")
    kept.write_text(json.dumps(report, indent=1))
    (logs / name).write_text(json.dumps(report, indent=1))
    collusion = variants.write_collusion(course, report)
    pairs_found = sum(len(e.get("variant_matches", {})) for e in report)
    for entry in report:
        status = "ok" if entry["success"] else f"FAILED: {entry.get('error')}"
        status = f"{status}, {entry['score']}" if entry.get("score") else status
        status += ", NEEDS REVIEW" if entry.get("review") else ""
        if "seconds" in entry:
            status += f" ({entry['seconds']:.1f} s)"
        log(f"{entry['student']} / {entry['assignment']}: {status}")
        for line in entry["problems"] + entry["cells"]:
            log(f"    {line}")
    if pairs_found:
        log(f"variants: {pairs_found} submission(s) answered a classmate's variant (flagged for review): {collusion}")
    missing = _missing(course, pairs, assignments or {a for _, a in gradable}, students, shard)
    for line in progress.summary(report, missing):
        log(line)
    return {"report": report, "failed": [e for e in report if not e["success"]]}


MISFILED = "looks like a notebook of"
UNSANDBOXED = "graded without the sandbox (--no-sandbox): the grade is only as trustworthy as the submission"


def _shown(course: Course) -> str:
    """The gradebook's URL without a password (for messages)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(course.db_url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def _missing(course: Course, pairs, assignments, students, shard) -> dict[str, list[str]]:
    """Roster students (of this run's selection) with nothing handed in, per assignment graded."""
    from . import withdraw

    gone = withdraw.withdrawn_students(course)
    roster = [s.id for s in course.settings().roster if s.id not in gone and in_shard(s.id, shard)
              and (not students or s.id in students)]
    handed = set(pairs)
    return {a: [s for s in roster if (s, a) not in handed] for a in sorted(assignments)}


def _grade(course: Course, pairs, jobs: int, shown: progress.Progress) -> list[dict]:
    if jobs == 1:
        return grade_pairs(course, course.db_url, pairs, on_done=shown.advance)
    students = sorted({s for s, _ in pairs})
    shards = [[p for p in pairs if p[0] in students[k::jobs]] for k in range(jobs)]
    # in the system's temporary folder (mode 0700), never in the course root: no kernel sees it
    with tempfile.TemporaryDirectory(prefix="course-shards-") as tmp:
        procs = []
        for k, shard in enumerate(shards):
            db, out = Path(tmp) / f"shard-{k}.db", Path(tmp) / f"shard-{k}.json"
            if course.local_db:
                gradebook.copy_sqlite(course.db, db)
                url = f"sqlite:///{db}"
            else:  # a server takes concurrent writers; shards write disjoint students' rows
                url = course.db_url
            cmd = [sys.executable, "-m", "grading.course.worker", str(course.root), str(course.source),
                   url, str(out), *[f"{s}:{a}" for s, a in shard]]
            logfile = open(Path(tmp) / f"shard-{k}.log", "w")
            procs.append((subprocess.Popen(cmd, cwd=REPO, stdout=logfile, stderr=subprocess.STDOUT), db, out,
                          shard, logfile))
        results = []
        codes = []
        feeds, seen = [Path(tmp) / f"shard-{k}.progress" for k in range(len(procs))], {}
        while any(proc.poll() is None for proc, *_ in procs):  # progress while the workers run
            progress.follow(feeds, seen, shown)
            time.sleep(0.25)
        progress.follow(feeds, seen, shown)
        for proc, _db, _out, _shard, logfile in procs:  # all of them: no worker outlives the temporary folder
            codes.append(proc.wait())
            logfile.close()
        for code, (_proc, _db, out, _shard, logfile) in zip(codes, procs, strict=True):
            if code != 0 or not out.exists():
                tail = Path(logfile.name).read_text()[-2000:]
                state = ("the main gradebook was not changed" if course.local_db else
                         "the other shards' grades are in the gradebook; re-run autograde for this shard's students")
                raise RuntimeError(f"an autograde worker failed (exit {code}); {state}\n{tail}")
        for _proc, db, out, shard, _log in procs:  # serially, in shard order
            if course.local_db:
                gradebook.merge(f"sqlite:///{db}", course.db_url, shard)
            results.extend(json.loads(out.read_text()))
    order = {p: i for i, p in enumerate(pairs)}
    return sorted(results, key=lambda e: order[(e["student"], e["assignment"])])

