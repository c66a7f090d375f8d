"""What rendering feedback inert costs: the whitelist rebuild, the sanitiser and the policy.

Target (issue 21): sanitising and the Content-Security-Policy cost under 5% of ``feedback``'s
time. Measured side by side, alternating, on each of the four course notebooks as committed
(outputs included, so the sanitiser has figures, tables and text to walk):

* ``plain``: nbgrader's feedback template through nbconvert's ``HTMLExporter`` (what the
  feedback step rendered before);
* ``inert``: the course's own page (``grading.course.feedback_page``): the whitelist rebuild,
  bleach on every markdown cell, syntax highlighting, the policy. It shows no kernel output by
  design (``forstudents.py``), so part of its lead is work it does not do.

The feedback step's other work (nbgrader's database reads, ``ForStudents``, writing files) is
the same for both.

Usage: ``python benchmarks/bench_feedback.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]
import nbformat  # noqa: E402
import nbgrader  # noqa: E402
from _timing import ratio, summary  # noqa: E402
from nbconvert.exporters import HTMLExporter  # noqa: E402
from traitlets.config import Config  # noqa: E402

from grading.course.feedback_page import FeedbackPageExporter  # noqa: E402


def _config() -> Config:
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    c.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    # as nbgrader's GenerateFeedback sets it: the page inlines bootstrap's CSS
    c.HTMLExporter.extra_template_paths = [os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist",
                                                        "css")]
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    notebooks = sorted((REPO / "notebooks").glob("0*/*.ipynb"))
    plain, inert = HTMLExporter(config=_config()), FeedbackPageExporter(config=_config())
    print("| notebook | plain (s) | inert (s) | ratio inert / plain |")
    print("|---|---|---|---|")
    medians = {"plain": 0.0, "inert": 0.0}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # what nbgrader's GetGrades adds before the template runs
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") or meta.get("solution"):
                meta.update(score=meta.get("points", 0.0), comment=None)
        info = {"notebook": path.stem, "score": 0.0, "max_score": 0.0, "late_penalty": 0.0}
        times = {"plain": [], "inert": []}
        for _ in range(args.repeats):
            for name, exporter in (("plain", plain), ("inert", inert)):
                started = time.perf_counter()
                exporter.from_notebook_node(nb, resources={"nbgrader": dict(info)})
                times[name].append(time.perf_counter() - started)
        for name in medians:
            medians[name] += sorted(times[name])[len(times[name]) // 2]
        print(f"| {path.parent.name} | {summary(times['plain'])} | {summary(times['inert'])} | "
              f"{ratio(times['inert'], times['plain']):.3f} |")
    print(f"| all four (sum of medians) | {medians['plain']:.3f} | {medians['inert']:.3f} | "
          f"{medians['inert'] / medians['plain']:.3f} |")


if __name__ == "__main__":
    main()
