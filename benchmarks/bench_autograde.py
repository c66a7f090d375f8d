"""Autograding throughput: one student's four notebooks vs four trivial ones, and a class in parallel.

Targets (issue: grading throughput):

1. Autograding one student's four solved course notebooks takes at most 2x what the same
   pipeline needs for four trivial notebooks. A trivial notebook is the floor of
   ``bench_notebooks.py`` (``%matplotlib inline`` and the imports of numpy, matplotlib and
   helpers) plus one exercise: a solution cell and a graded test cell with one
   ``grade_hidden`` call, so it pays what every graded notebook pays (kernel start, imports,
   nbgrader's sanitize/restore and database work, out-of-kernel verification). Like the
   course, the trivial notebooks are four assignments of one notebook each.
2. Autograding a class with ``jobs=2`` has at least 1.6x the throughput of ``jobs=1`` on 2
   cores, and leaves exactly the gradebook a sequential run leaves (every student, submission,
   grade and comment row is compared).
3. The operating-system sandbox (issue: grading kernels in a sandbox): its start-up costs at
   most 0.3 s per notebook (kernel start, sandboxed minus unsandboxed, in the instrumented
   runs), and one student's four notebooks take at most 1.2x the unsandboxed pipeline
   (``--no-sandbox``), measured side by side, alternating. Every other figure is sandboxed.
4. Per-student variants (issue 15): grading the class with variants on stays within 1.1x of
   grading it with variants off, measured side by side, alternating: the same notebooks, the same
   students, the same ``course.toml`` (roster, course secret) but for the assignments' ``variants``
   switch. With variants on every student's hidden cases are their own, so the grader computes the
   reference answers per student instead of once per class; both settings must give the same
   totals, and no one answers a classmate's variant.

Everything runs through ``grading.course.autograde.run`` (what ``make autograde`` runs) on a
temporary course built from the repository's notebooks. Single-student runs are in-process
and warm (after one warm-up run), i.e. the marginal cost of one more student in a class
run. Runs alternate between the compared variants so drifting machine load hits both alike;
ratios are ratios of medians.

The grading kernel draws no figures by default (``COURSE_KERNEL_FIGURES=none``, grading/README.md);
a third single-student variant renders them as PNG, as nbgrader normally does, to show that cost.

Usage: ``python benchmarks/bench_autograde.py [--repeats 5] [--class-repeats 2] [--students 8] [--no-png]
[--variant-repeats 3] [--parts single,class,variants]``
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).resolve().parent)]
import grading_support as gs  # noqa: E402
import nbformat  # noqa: E402
from _timing import ratio, summary  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

# nothing above imports numpy: grading.course sets one BLAS thread for the grader first, as the CLI does
from grading.course import autograde, gradebook, release, variants  # noqa: E402
from grading.course.paths import Course  # noqa: E402

TRIVIAL = [f"trivial_{k}" for k in range(1, 5)]
#: the class: cheap-to-run notebooks, so the comparison takes a minute, not ten
CLASS_ASSIGNMENTS = ["01_normalizing_inputs", "03_numerical_approximation"]
#: what each class member hands in (cycled): mostly right, some wrong or hostile, so grades differ
#: (none that hangs a kernel: a timed-out cell costs the whole cell timeout and would dominate the figures)
CLASS_CASES = ["correct", "correct", "import_reference", "correct", "untouched", "correct", "rigged_eq", "correct"]
FLOOR_SETUP = ("%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport helpers\n"
               "import toycheck  # registers toy.square\nfrom helpers.checks import call_student, expect_array, "
               "grade_hidden")


def trivial_source(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "toycheck.py").write_text(gs.TOY_CHECK)
    nb = new_notebook(cells=[new_markdown_cell("# Trivial"), new_code_cell(FLOOR_SETUP, metadata={"tags": ["setup"]}),
                             *gs._toy_cells("square", "toy.square", 1, 1)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "trivial.ipynb"
    nbformat.write(nb, path)
    gs.nbgrader_meta.apply(path, check=False)


def build(tmp: Path) -> tuple[Course, list[str], list[str]]:
    source = tmp / "source"
    course_nbs = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    for name in course_nbs:
        shutil.copytree(ROOT / "notebooks" / name, source / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in TRIVIAL:
        trivial_source(source / name)
    os.environ["COURSE_CHECK_MODULES"] = str(source / TRIVIAL[0] / "toycheck.py")
    course = Course(tmp / "course", source)
    release.release(course, log=lambda *a: None)

    def read(kind, a):
        return nbformat.read(next((course.root / kind / a).glob("*.ipynb")) if kind == "release"
                             else next((source / a).glob("*.ipynb")), as_version=4)

    def submit(student, a, nb):
        folder = course.root / "submitted" / student / a
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / next((source / a).glob("*.ipynb")).name)

    for a in course_nbs + TRIVIAL:
        submit("solo", a, read("source", a))
    students = []
    for a in CLASS_ASSIGNMENTS:
        cases = gs.hostile_notebooks(read("release", a), read("source", a), kernel_classes=False)
        for i in range(len(CLASS_CASES)):
            students.append(f"class{i + 1:02d}")
            submit(students[-1], a, cases[CLASS_CASES[i % len(CLASS_CASES)]][0])
    return course, course_nbs, sorted(set(students))


def scores(course: Course, student: str, assignments) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {a: (float(gb.find_submission(a, student).score), float(gb.find_assignment(a).max_score))
                for a in assignments}


def grade(course: Course, students, assignments, jobs: int, sandbox: bool = True) -> float:
    start = time.perf_counter()
    result = autograde.run(course, students=students, assignments=assignments, jobs=jobs, sandbox=sandbox,
                           log=lambda *a: None)
    took = time.perf_counter() - start
    if result["failed"]:
        raise SystemExit(f"autograde failed: {result['failed']}")
    return took


@contextmanager
def kernel_figures(value: str | None):
    """Run with ``COURSE_KERNEL_FIGURES=value`` (``None``: as configured); kernels read it at launch."""
    saved = os.environ.get("COURSE_KERNEL_FIGURES")
    if value is not None:
        os.environ["COURSE_KERNEL_FIGURES"] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COURSE_KERNEL_FIGURES", None)
        else:
            os.environ["COURSE_KERNEL_FIGURES"] = saved


# ----------------------------------------------------------------------------- where the time goes
@contextmanager
def breakdown_probe():
    """Time the parts of autograding a notebook (instrumentation, for one extra untimed run)."""
    from nbclient import NotebookClient
    from nbgrader.converters.autograde import Autograde

    from grading.course.execute import GuardedExecute
    from grading.course.verify import VerifyHiddenTests

    times: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(float))
    current = ["?"]
    saved = []

    def wrap(cls, name, label, sets_current=False):
        orig = cls.__dict__[name]
        saved.append((cls, name, orig))

        def timed(self, *a, **k):
            if sets_current:
                current[0] = Path(a[0]).parent.name
            start = time.perf_counter()
            try:
                return orig(self, *a, **k)
            finally:
                times[current[0]][label] += time.perf_counter() - start

        setattr(cls, name, timed)

    wrap(Autograde, "convert_single_notebook", "total", sets_current=True)
    wrap(NotebookClient, "start_new_kernel", "kernel start")
    wrap(NotebookClient, "start_new_kernel_client", "kernel start")
    wrap(NotebookClient, "_cleanup_kernel", "kernel stop")
    wrap(GuardedExecute, "preprocess_cell", "cells")
    wrap(VerifyHiddenTests, "preprocess", "verify")
    try:
        yield times
    finally:
        for cls, name, orig in saved:
            setattr(cls, name, orig)


def print_breakdown(times) -> None:
    cols = ["kernel start", "cells", "kernel stop", "verify", "nbgrader rest", "total"]
    print(f"{'notebook (one run)':<36}" + "".join(f"{c:>14}" for c in cols))
    for name, t in times.items():
        t["nbgrader rest"] = t["total"] - sum(t[c] for c in cols[:4])
        print(f"{name:<36}" + "".join(f"{t[c]:14.2f}" for c in cols))


def sandbox_alone(runs: int = 20) -> tuple[list[float], list[float]]:
    """Seconds to run ``python -c pass`` plainly and in the grading sandbox, alternating.

    The sandbox as each kernel gets it: its socket folder (a tmpfs mounted as root), its control
    groups (memory, tasks, CPU quota) and their shell, the seccomp filter on a pipe (the program
    itself is built once per grader process, before the runs), bwrap and setpriv.
    """
    import subprocess

    from grading.course import cgroups, sandbox, seccomp

    seccomp.program()  # once per run, as in the grader
    limits, identity = sandbox.Limits(), sandbox.kernel_identity()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name in ("helpers", "submission"):
            (base / name).mkdir()
        bare, inside = [], []
        for i in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            private, mounted = sandbox.private_folder(identity, limits.run_kb)
            group = cgroups.KernelGroup(f"course-bench-{os.getpid()}-{i}", limits.group_memory_mb, limits.processes,
                                        limits.cpus)
            fd = seccomp.pipe_for_bwrap()
            cmd = sandbox.bwrap_command(private_dir=private, submission_dir=base / "submission",
                                        student_helpers=base / "helpers", limits=limits, identity=identity,
                                        figures="none", seccomp_fd=fd, groups=group.inside())
            boxed = group.wrap([*cmd[:cmd.index(sys.executable)], sys.executable, "-I", "-c", "pass"])
            subprocess.run(boxed, check=True, pass_fds=(fd,))
            os.close(fd)
            group.remove()
            if mounted:
                sandbox._libc().umount2(str(private).encode(), 2)
            private.rmdir()
            inside.append(time.perf_counter() - start)
    return bare, inside


# ----------------------------------------------------------------------------- per-student variants
VARIANT_SECRET = "bench-autograde-secret-3f9c2a7e1d5b8c0a4e6f2b9d7c1a3e5f"


def variants_switch(course: Course, students, on: bool) -> None:
    """``course.toml``: the roster and the course secret, variants on or off for the class assignments."""
    (course.root / "variant-secret").write_text(VARIANT_SECRET + "\n")
    path = course.root / "course.toml"
    path.write_text('[course]\nvariant_secret_file = "variant-secret"\n'
                    + "".join(f"[assignments.{a}]\nvariants = {'true' if on else 'false'}\n" for a in CLASS_ASSIGNMENTS)
                    + "".join(f'[[students]]\nid = "{s}"\n' for s in ["solo", *students]))
    os.utime(path, ns=(time.time_ns(), time.time_ns()))  # the grader's settings cache is keyed by this


def variants_side_by_side(course: Course, students, pristine: Path, repeats: int, jobs: int) -> None:
    """The class graded with variants off and on, alternating; prints both and the ratio (target <= 1.1)."""
    times: dict[bool, list[float]] = {False: [], True: []}
    totals: dict[bool, dict] = {}
    collusion = course.dir("logs") / variants.COLLUSION
    # a warm-up run (imports, disk caches), then pairs in alternating order (off-on, on-off, ...) so a drift
    # of the machine's load hits both settings alike
    for index, on in [(None, True)] + [(r, on) for r in range(repeats) for on in ((False, True) if r % 2 == 0
                                                                                    else (True, False))]:
        variants_switch(course, students, on)
        gradebook.copy_sqlite(pristine, course.db)
        shutil.rmtree(course.root / "autograded", ignore_errors=True)
        collusion.unlink(missing_ok=True)
        took = grade(course, students, CLASS_ASSIGNMENTS, jobs=jobs)
        if index is not None:
            times[on].append(took)
        totals[on] = {s: sum(scores(course, s, CLASS_ASSIGNMENTS)[a][0] for a in CLASS_ASSIGNMENTS) for s in students}
        if on and collusion.is_file():
            print(f"collusion report written with variants on (nobody should answer a classmate's variant):\n"
                  f"{collusion.read_text()}")
    n = len(students) * len(CLASS_ASSIGNMENTS)
    print(f"\nper-student variants: the class ({n} submissions), JOBS={jobs}, variants off vs on, {repeats} runs "
          "each after a warm-up, alternating; target ratio <= 1.1")
    print(f"{'variants':<36} {'min / median / max':>27} {'submissions/s':>13}")
    for on, t in times.items():
        print(f"{'on' if on else 'off':<36} {summary(t):>27} {n / statistics.median(t):13.2f}")
    slower = ratio(times[True], times[False])
    print(f"ratio variants on / off: {slower:.2f} ({'meets' if slower <= 1.1 else 'misses'} the 1.1x target); "
          f"same totals per student: {'yes' if totals[True] == totals[False] else 'NO'} {totals[True]}")
    variants_switch(course, students, False)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed single-student runs per variant")
    parser.add_argument("--class-repeats", type=int, default=2, help="timed class runs per jobs setting")
    parser.add_argument("--students", type=int, default=8, help="class size (at most 8)")
    parser.add_argument("--no-png", action="store_true", help="skip the variant that renders figures (~1.5 min)")
    parser.add_argument("--variant-repeats", type=int, default=3, help="timed class runs with variants on and off")
    parser.add_argument("--variant-jobs", type=int, default=2, help="JOBS of the variants on/off class runs")
    parser.add_argument("--parts", default="single,class,variants",
                        help="what to measure: single (one student), class (jobs), variants (on vs off)")
    args = parser.parse_args(argv)
    measure = set(args.parts.split(","))
    identical = True
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        course, course_nbs, students = build(tmp)
        students = students[: args.students]
        pristine = tmp / "pristine.db"
        gradebook.copy_sqlite(course.db, pristine)
        print(f"autograde throughput on {os.cpu_count()} cores; seconds min / median / max; ratios of medians")
        print(f"kernel figures: COURSE_KERNEL_FIGURES={os.environ.get('COURSE_KERNEL_FIGURES', 'none')}; "
              f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")

        if "single" in measure:
            # 1. one student: four solved notebooks vs four trivial ones (and, for the record, with figures drawn)
            unsandboxed = "four course notebooks, --no-sandbox"
            variants = {"four course notebooks (solved)": (course_nbs, None, True),
                        "four trivial notebooks": (TRIVIAL, None, True), unsandboxed: (course_nbs, None, False)}
            if not args.no_png:
                variants["four course notebooks, figures as PNG"] = (course_nbs, "png", True)
            for assignments, figures, boxed in variants.values():  # warm-up: imports, disk caches, font cache
                with kernel_figures(figures):
                    grade(course, ["solo"], assignments, jobs=1, sandbox=boxed)
            breakdowns = {}
            for boxed in (True, False):
                with breakdown_probe() as parts:
                    for name in list(variants)[:2]:
                        grade(course, ["solo"], variants[name][0], jobs=1, sandbox=boxed)
                breakdowns[boxed] = parts
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, (assignments, figures, boxed) in variants.items():
                    with kernel_figures(figures):
                        times[name].append(grade(course, ["solo"], assignments, jobs=1, sandbox=boxed))
            for assignments, *_ in variants.values():
                got = scores(course, "solo", assignments)
                assert all(s == m for s, m in got.values()), f"solved notebooks must get full marks: {got}"
            print(f"\none student, jobs=1, {args.repeats} runs each; target ratio <= 2.0")
            print(f"{'variant':<36} {'min / median / max':>27} {'per notebook':>13}")
            for name, t in times.items():
                print(f"{name:<36} {summary(t):>27} {statistics.median(t) / 4:13.2f}")
            single = statistics.median(times["four course notebooks (solved)"]) / statistics.median(
                times["four trivial notebooks"])
            print(f"ratio course / trivial: {single:.2f} ({'meets' if single <= 2.0 else 'misses'} the 2x target)")
            if "four course notebooks, figures as PNG" in times:
                png = statistics.median(times["four course notebooks, figures as PNG"]) / statistics.median(
                    times["four trivial notebooks"])
                print(f"(with figures rendered as PNG, nbgrader's usual output: ratio {png:.2f})")
            boxed_ratio = ratio(times["four course notebooks (solved)"], times[unsandboxed])
            print(f"ratio sandboxed / --no-sandbox: {boxed_ratio:.2f} "
                  f"({'meets' if boxed_ratio <= 1.2 else 'misses'} the 1.2x target)")
            for boxed, parts in breakdowns.items():
                print(f"\nwhere the time goes, {'sandboxed' if boxed else '--no-sandbox'} (seconds, one instrumented "
                      "run; cells = the notebook's own code incl. imports)")
                print_breakdown(parts)
            # The unsandboxed launcher imports numpy and matplotlib before its kernel starts (to set up the
            # audit hook), the sandboxed one in the first cell: compare kernel start + cells of the trivial
            # notebooks (imports and one exercise), and the sandbox alone on an empty Python.
            ready = {boxed: [parts[n]["kernel start"] + parts[n]["cells"] for n in TRIVIAL]
                     for boxed, parts in breakdowns.items()}
            extra = statistics.mean(ready[True]) - statistics.mean(ready[False])
            bare, boxed_python = sandbox_alone()
            start = statistics.median(boxed_python) - statistics.median(bare)
            print(f"sandbox start-up per notebook: kernel start + cells of the trivial notebooks, sandboxed minus "
                  f"--no-sandbox: {extra:+.3f} s (mean of 4); the sandbox alone (bwrap + setpriv + a private "
                  f"/tmp and $HOME around `python -c pass`, {len(bare)} runs alternating): {start:+.3f} s "
                  f"({'meets' if max(extra, start) <= 0.3 else 'misses'} the 0.3 s target)")

        if "class" in measure:
            # 2. a class, sequential vs parallel, same gradebook
            class_times: dict[int, list[float]] = {1: [], 2: []}
            snapshots: dict[int, list[dict]] = {1: [], 2: []}
            for _ in range(args.class_repeats):
                for jobs in (1, 2):
                    gradebook.copy_sqlite(pristine, course.db)
                    shutil.rmtree(course.root / "autograded", ignore_errors=True)
                    class_times[jobs].append(grade(course, students, CLASS_ASSIGNMENTS, jobs=jobs))
                    snapshots[jobs].append(gradebook.snapshot(course.db_url))
            reference = snapshots[1][0]
            identical = all(s == reference for runs in snapshots.values() for s in runs)
            rows = sum(1 for k in reference if k[0] in ("grade", "comment") and k[1] in students)
            n = len(students) * len(CLASS_ASSIGNMENTS)
            print(f"\na class: {len(students)} students x {len(CLASS_ASSIGNMENTS)} assignments ({n} submissions, "
                  f"{', '.join(sorted(set(CLASS_CASES[:len(students)])))}), {args.class_repeats} runs each; "
                  "target ratio >= 1.6")
            print(f"{'jobs':<36} {'min / median / max':>27} {'submissions/s':>13}")
            for jobs, t in class_times.items():
                print(f"{jobs:<36} {summary(t):>27} {n / statistics.median(t):13.2f}")
            speedup = statistics.median(class_times[1]) / statistics.median(class_times[2])
            print(f"throughput jobs=2 / jobs=1: {speedup:.2f} "
                  f"({'meets' if speedup >= 1.6 else 'misses'} the 1.6x target)")
            totals = {s: sum(scores(course, s, CLASS_ASSIGNMENTS)[a][0] for a in CLASS_ASSIGNMENTS) for s in students}
            print(f"gradebooks of all {2 * args.class_repeats} runs identical ({rows} grade/comment rows compared): "
                  f"{'yes' if identical else 'NO'}; totals per student: {totals}")
            if not identical:
                diff = {k: (reference.get(k), s.get(k)) for s in snapshots[2] for k in set(reference) | set(s)
                        if reference.get(k) != s.get(k)}
                print(f"differences (sequential, parallel): {dict(list(diff.items())[:10])}")
        # 3. the class with per-student variants on vs off (issue 15)
        if "variants" in measure:
            variants_side_by_side(course, students, pristine, args.variant_repeats, args.variant_jobs)
        print(f"\nbenchmark wall time: {time.perf_counter() - started:.0f} s")
        return 0 if identical else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
