"""``python -m grading.course <step>``: the instructor's grading workflow (see grading/README.md)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .paths import GRADING, REPO, Course


def _shard(text: str) -> tuple[int, int]:
    from .autograde import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading.course", description=__doc__)
    p.add_argument("--root", type=Path, default=GRADING, help="nbgrader course root (default: grading/)")
    p.add_argument("--source", type=Path, default=REPO / "notebooks", help="source assignments (default: notebooks/)")
    p.add_argument("--db-url", default=os.environ.get("COURSE_DB_URL") or None,
                   help="gradebook URL, e.g. postgresql+psycopg://grader@host/course (default: $COURSE_DB_URL, "
                        "else ROOT/gradebook.db)")
    sub = p.add_subparsers(dest="step", required=True)
    r = sub.add_parser("release", help="student versions of the assignments + the student bundle")
    r.add_argument("assignments", nargs="*")
    sub.add_parser("config", help="check course.toml and show what it says (due dates, late policy, roster, LMS)")
    c = sub.add_parser("collect", help="file a folder or LMS download zip of hand-ins into versions/ and submitted/")
    c.add_argument("inbox", type=Path)
    c.add_argument("--assignment", help="file only this assignment's notebooks (by content); list the others")
    c.add_argument("--lms", choices=["canvas", "moodle", "none"], default=None,
                   help="the inbox's naming (default: recognised per entry)")
    a = sub.add_parser("autograde", help="autograde submitted/ (all students and assignments by default)")
    a.add_argument("--student", action="append", help="only this student (repeatable)")
    a.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    a.add_argument("--jobs", type=int, default=None, help="parallel shards (default: number of cores)")
    a.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                   help="only the students of shard K of N (machines of a job array; needs a shared --db-url)")
    a.add_argument("--no-sandbox", action="store_true",
                   help="UNSAFE: run kernels without the operating-system sandbox (trusted submissions only)")
    f = sub.add_parser("feedback", help="per-student HTML feedback in feedback/")
    f.add_argument("--student", action="append")
    f.add_argument("--assignment", action="append")
    g = sub.add_parser("grades", help="grades.csv: students x assignments (late penalties applied) with totals")
    g.add_argument("--out", type=Path, default=None)
    e = sub.add_parser("export", help="grades for an LMS import: exports/{grades,canvas-grades,moodle-grades}.csv")
    e.add_argument("formats", nargs="*", metavar="FORMAT", help="csv, canvas, moodle (default: csv + the LMS)")
    e.add_argument("--out-dir", type=Path, default=None)
    sub.add_parser("return", help="returned/: one feedback zip per student (and Moodle's feedback upload zips)")
    w = sub.add_parser("withdraw", help="withdraw a submission (STUDENT ASSIGNMENT) or a student (STUDENT)")
    w.add_argument("student")
    w.add_argument("assignment", nargs="?")
    w.add_argument("--undo", action="store_true", help="bring back what was withdrawn")
    vs = sub.add_parser("versions", help="the collected versions of one submission; which one counts")
    vs.add_argument("student")
    vs.add_argument("assignment")
    pn = sub.add_parser("pin", help="count VERSION of a submission instead of the newest (no VERSION: the newest)")
    pn.add_argument("student")
    pn.add_argument("assignment")
    pn.add_argument("version", nargs="?")
    v = sub.add_parser("validate", help="like nbgrader validate, but exit 1 when a notebook fails")
    v.add_argument("notebooks", nargs="+")
    v.add_argument("--timeout", type=int, default=120)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    course = Course(args.root, args.source, args.db_url)
    from .books import user_error

    try:
        return _run(args, course)
    except Exception as exc:  # an instructor's mistake is one line; anything else is a bug: traceback
        if not user_error(exc):
            raise
        print(f"{args.step}: {exc}")
        return 2


def _run(args, course: Course) -> int:
    if args.step == "config":
        from .overview import describe

        print(describe(course))
        return 0
    if args.step == "release":
        from .release import release

        print(f"student bundle: {release(course, args.assignments or None)}")
        return 0
    if args.step == "collect":
        from .collect import collect

        return 1 if collect(course, args.inbox, assignment=args.assignment, lms_name=args.lms)["problems"] else 0
    if args.step == "autograde":
        from .autograde import run
        from .sandbox import SandboxUnavailable

        try:
            result = run(course, students=args.student, assignments=args.assignment, jobs=args.jobs,
                         shard=args.shard, sandbox=not args.no_sandbox)
        except SandboxUnavailable as exc:
            print(f"autograde: nothing was graded: {exc}")
            return 2
        return 1 if result["failed"] else 0
    if args.step == "feedback":
        from .results import feedback

        return 1 if feedback(course, students=args.student, assignments=args.assignment) else 0
    if args.step == "grades":
        from .results import grades

        print(f"grades: {grades(course, args.out)}")
        return 0
    if args.step == "export":
        from .exports import FORMATS, export

        wrong = sorted(set(args.formats) - set(FORMATS))
        if wrong:
            raise ValueError(f"unknown format {wrong[0]!r}; write one or more of {', '.join(FORMATS)}")
        formats = args.formats or ["csv", *([course.settings().lms] if course.settings().lms != "none" else [])]
        for kind, path in export(course, formats, args.out_dir).items():
            print(f"{kind}: {path}")
        return 0
    if args.step == "return":
        from .results import hand_back

        hand_back(course)
        return 0
    if args.step == "withdraw":
        from .withdraw import undo, withdraw

        (undo if args.undo else withdraw)(course, args.student, args.assignment)
        return 0
    if args.step in ("versions", "pin"):
        from . import versions

        if args.step == "pin":
            now = versions.pin(course, args.student, args.assignment, args.version)
            print(f"{args.student}/{args.assignment}: {now} counts now; autograde it again: "
                  f"autograde --student {args.student} --assignment {args.assignment}")
            return 0
        print("\n".join(versions.describe(course, args.student, args.assignment)))
        return 0
    from .validate import main as validate_main

    return validate_main([*args.notebooks, "--timeout", str(args.timeout)])
