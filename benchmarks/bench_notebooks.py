"""Restart-and-run-all time of each course notebook vs the floor.

The floor is a notebook that only starts a kernel and imports numpy, matplotlib and
helpers: what any notebook of this course pays before doing anything. Target: each
notebook within 3x the floor (issue: notebook throughput).

Each run starts a fresh kernel (as "Restart kernel and run all" does), executes every cell
with nbclient, and discards the outputs. Runs alternate between notebooks so drifting
machine load hits all of them alike.

Usage: ``python benchmarks/bench_notebooks.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ratio, summary

ROOT = Path(__file__).resolve().parent.parent
FLOOR = new_notebook(
    cells=[new_code_cell("%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport helpers")],
    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
)


def run_once(nb, cwd: Path) -> float:
    nb = nbformat.from_dict(nb)  # fresh copy: outputs are discarded
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    paths = sorted(p for p in (ROOT / "notebooks").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    subjects = {"floor (imports only)": (FLOOR, ROOT / "notebooks")}
    subjects.update({p.parent.name: (nbformat.read(p, as_version=4), p.parent) for p in paths})
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for nb, cwd in subjects.values():  # warm-up: disk caches, font cache
        run_once(nb, cwd)
    for _ in range(args.repeats):
        for name, (nb, cwd) in subjects.items():
            times[name].append(run_once(nb, cwd))
    print(f"restart-and-run-all, {args.repeats} runs each, seconds (min / median / max); target ratio <= 3.0")
    print(f"{'notebook':<36} {'min / median / max':>27} {'ratio to floor':>15}")
    worst = 0.0
    for name, t in times.items():
        r = ratio(t, times["floor (imports only)"])
        worst = max(worst, r)
        print(f"{name:<36} {summary(t):>27} {r:15.2f}")
    print(f"worst ratio: {worst:.2f} ({'meets' if worst <= 3.0 else 'misses'} the 3x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
