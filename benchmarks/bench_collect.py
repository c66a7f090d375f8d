"""Collect speed and memory: a 500-student Canvas download of four notebooks each (issue 20).

Targets: collecting the class (``python -m grading.course collect submissions.zip``, what
``make collect`` runs) takes under 30 s and under 300 MB of memory (peak resident set of the
collect process); a zip bomb in the class costs its own caps, not the class: the same download
with bombs added (one by compression ratio, one by member count, one nested) takes about the
same time and memory, side by side.

The course is a temporary one built from the repository's four notebooks (released by the
course's release step); every student hands in the four solved notebooks, each with a line of
their own (so no two hand-ins are byte-identical and every notebook is read and recognised),
as Canvas names them: ``<sortablename>_<userid>_<attachmentid>_<file>``, member times on time.
Each measured run collects into a fresh copy of the released course. Runs alternate between the
two downloads; figures are min / median / max over ``--repeats`` runs.

Usage: ``python benchmarks/bench_collect.py [--students 500] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).resolve().parent)]
import grading_support as gs  # noqa: E402
import nbformat  # noqa: E402
from _timing import ratio, summary  # noqa: E402

TARGET_S, TARGET_MB = 30.0, 300.0
WHEN = dt.datetime(2027, 1, 1, 12, 0)


def _course(tmp: Path, students: int) -> tuple[Path, dict[str, bytes]]:
    """A released copy of the course (roster of ``students`` with Canvas ids); the solved notebooks."""
    root = tmp / "course"
    root.mkdir()
    roster = "".join(f'[[students]]\nid = "s{i:04d}"\nfirst_name = "Stu"\nlast_name = "Dent{i}"\n'
                     f"canvas_id = {100000 + i}\n\n" for i in range(students))
    (root / "course.toml").write_text(f'[course]\nlms = "canvas"\n\n{roster}')
    subprocess.run([sys.executable, "-m", "grading.course", "--root", str(root), "release"], cwd=ROOT, check=True,
                   capture_output=True)
    solved = {}
    for folder in sorted((ROOT / "notebooks").iterdir()):
        for src in folder.glob("*.ipynb"):
            rel = nbformat.read(root / "release" / folder.name / src.name, as_version=4)
            solved[src.name] = gs.with_solutions(rel, nbformat.read(src, as_version=4))
    return root, solved


def _download(path: Path, solved: dict, students: int, bombs: bool) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(students):
            for k, (name, nb) in enumerate(sorted(solved.items())):
                mine = nbformat.from_dict(nb)
                mine.cells[-1].source += f"\n# handed in by student {i}"  # a line of their own
                info = zipfile.ZipInfo(f"dent{i}stu_{100000 + i}_{500000 + 4 * i + k}_{name}", WHEN.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, nbformat.writes(mine))
        if bombs:  # three more students of the class (ids beyond the honest ones), each a bomb
            zf.writestr(f"dent{students}stu_{100000 + students}_1_ratio.zip", _zip({"a.ipynb": b" " * 45_000_000}))
            zf.writestr(f"dent{students + 1}stu_{100001 + students}_2_count.zip",
                        _zip({f"{n}/a.ipynb": b"{}" for n in range(5000)}))
            inner = _zip({"a.ipynb": b"{}"})
            for depth in range(6):
                inner = _zip({f"l{depth}.zip": inner})
            zf.writestr(f"dent{students + 2}stu_{100002 + students}_3_nested.zip", inner)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _collect(course: Path, download: Path, work: Path) -> tuple[float, float, str]:
    """Seconds and peak MB of one collect into a fresh copy of the released course."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(course, work)
    code = ("import resource, sys, time\nfrom grading.course.cli import main\nt = time.perf_counter()\n"
            "rc = main(sys.argv[1:])\nsys.stderr.write(f'BENCH {time.perf_counter() - t} '\n"
            "                 f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}\\n')\n")
    done = subprocess.run([sys.executable, "-c", code, "--root", str(work), "collect", str(download)], cwd=ROOT,
                          capture_output=True, text=True)
    line = next(ln for ln in done.stderr.splitlines() if ln.startswith("BENCH "))
    seconds, mb = map(float, line.split()[1:])
    return seconds, mb, done.stdout


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        tmp = Path(tmp)
        course, solved = _course(tmp, args.students)
        clean, bombed = tmp / "submissions.zip", tmp / "submissions-bombs.zip"
        _download(clean, solved, args.students, bombs=False)
        _download(bombed, solved, args.students, bombs=True)
        print(f"download: {args.students} students x {len(solved)} notebooks, {clean.stat().st_size / 1e6:.1f} MB "
              f"zipped ({bombed.stat().st_size / 1e6:.1f} MB with the bombs)")
        runs = {"class": ([], []), "class + bombs": ([], [])}
        for _ in range(args.repeats):
            for label, download in (("class", clean), ("class + bombs", bombed)):
                seconds, mb, out = _collect(course, download, tmp / "work")
                placed = sum(1 for ln in out.splitlines() if ln.startswith("placed "))
                assert placed == args.students * len(solved), out[-2000:]
                if label == "class + bombs":
                    assert out.count("SET ASIDE: dent") >= 3, out[-2000:]
                runs[label][0].append(seconds)
                runs[label][1].append(mb)
        print(f"{'':16} {'seconds (min / median / max)':>30} {'peak MB (min / median / max)':>30}")
        for label, (secs, mbs) in runs.items():
            mb = " / ".join(f"{f(mbs):7.1f}" for f in (min, statistics.median, max))
            print(f"{label:16} {summary(secs):>30} {mb:>30}")
        secs, mbs = runs["class"]
        worst = max(mbs)
        print(f"targets: median {statistics.median(secs):.1f} s < {TARGET_S:.0f} s, peak {worst:.0f} MB < "
              f"{TARGET_MB:.0f} MB; with the bombs: x{ratio(runs['class + bombs'][0], secs):.2f} time, "
              f"x{max(runs['class + bombs'][1]) / worst:.2f} memory")
        ok = statistics.median(secs) < TARGET_S and worst < TARGET_MB
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
