"""Per-student variants for a class of 500: making the tokens, and the grader's extra work.

Targets (issue 15): making 500 per-student variants (tokens) takes under a minute; grading with
variants stays within 1.1x of grading without (``bench_autograde.py`` measures whole gradings
side by side; this script shows where the variant work goes, per student):

* ``release``: ``grading.course.variants.write_tokens`` for 500 roster students and the four
  assignments (one zip and one unpacked folder per student), in a temporary course;
* ``cases``: every hidden case of the four notebooks as one student's variant sees it
  (``Check.cases_for``), which the grader does once per submission;
* ``collusion scan``: a failing cell compared with the variants of 499 classmates (only cells
  that fail pay it).

Usage: ``python benchmarks/bench_variants.py [--students 500] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]
import nbformat  # noqa: E402
from _timing import summary  # noqa: E402

import helpers.checks  # noqa: E402, F401  (registers the course's checks)
from grading.course import variants  # noqa: E402
from grading.course.paths import Course  # noqa: E402
from helpers.checks import core  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def _course(tmp: Path, students: int, assignments: list[str]) -> Course:
    (tmp / "variant-secret").write_text(SECRET)
    (tmp / "course.toml").write_text(
        '[course]\nvariant_secret_file = "variant-secret"\n'
        + "".join(f"[assignments.{a}]\nvariants = true\n" for a in assignments)
        + "".join(f'[[students]]\nid = "s{i:04d}"\n' for i in range(students)))
    return Course(tmp, REPO / "notebooks")


def _hidden() -> dict[str, list[tuple[str, list[dict]]]]:
    out = {}
    for path in sorted(REPO.glob("notebooks/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        out[path.parent.name] = [call for c in nb.cells if "tests" in c.metadata.get("tags", [])
                                 for call in core.hidden_calls_in_source(c.source)]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    hidden = _hidden()
    n_cases = sum(len(cases) for calls in hidden.values() for _, cases in calls)
    release, cases, scan = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            course = _course(Path(tmp), args.students, list(hidden))
            start = time.perf_counter()
            out = variants.write_tokens(course)
            release.append(time.perf_counter() - start)
            assert len(list(out.glob("*.zip"))) == args.students
        secret = SECRET.encode()
        ids = [f"s{i:04d}" for i in range(args.students)]
        start = time.perf_counter()
        for who in ids:
            for assignment, calls in hidden.items():
                v = variants.variant_of(secret, who, assignment)
                for name, spec in calls:
                    core.get_check(name).cases_for(spec, v)
        cases.append((time.perf_counter() - start) / args.students)
        assignment = "04_gradient_checking"
        classmates = {who: variants.variant_of(secret, who, assignment) for who in ids[1:]}
        name, spec = hidden[assignment][-1]
        start = time.perf_counter()
        core._claimed_by(name, spec, [{"cases": []}], classmates)
        scan.append(time.perf_counter() - start)
    print(f"{args.students} students, {len(hidden)} assignments, {n_cases} hidden cases per student")
    print("| step | min / median / max (s) | target |")
    print("|---|---|---|")
    print(f"| tokens for {args.students} students (release) | {summary(release)} | < 60 s |")
    print(f"| every hidden case of one student's variants | {summary(cases, 'ms')} | (per submission) |")
    print(f"| collusion scan of one failing cell, {args.students - 1} classmates | {summary(scan, 'ms')} "
          "| (per failing cell) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
