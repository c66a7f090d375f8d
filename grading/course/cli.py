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
    c = sub.add_parser("collect", help="import a folder of student zips/notebooks into submitted/")
    c.add_argument("inbox", type=Path)
    c.add_argument("--force", action="store_true", help="replace existing submissions")
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
    g = sub.add_parser("grades", help="grades.csv: students x assignments with totals")
    g.add_argument("--out", type=Path, default=None)
    v = sub.add_parser("validate", help="like nbgrader validate, but exit 1 when a notebook fails")
    v.add_argument("notebooks", nargs="+")
    v.add_argument("--timeout", type=int, default=120)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    course = Course(args.root, args.source, args.db_url)
    if args.step == "release":
        from .release import release

        print(f"student bundle: {release(course, args.assignments or None)}")
        return 0
    if args.step == "collect":
        from .collect import collect

        return 1 if collect(course, args.inbox, force=args.force)["problems"] else 0
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
    from .validate import main as validate_main

    return validate_main([*args.notebooks, "--timeout", str(args.timeout)])
