"""What an instructor watching autograde sees: progress while it runs, a summary at the end.

A class takes minutes (222 s for 12 students), and until now nothing was printed before the
end. Each finished submission is reported as it finishes: in a terminal, one tqdm bar
(notebooks done / total, rate, time left) with the last submission graded beside it; in a pipe
or a log file, where a bar would be noise, one plain line per submission with the same facts.
Parallel shards report through a file each (one JSON line per submission, written by the
worker as it goes, see ``worker.py``), read here while they run.

The end summary says how many submissions were graded, which failed to grade and why, which
are flagged for review, and which roster students handed nothing in for the assignments
graded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def _eta(done: int, total: int, elapsed: float) -> str:
    if done == 0 or done >= total:
        return "0 s" if done >= total else "?"
    left = elapsed / done * (total - done)
    return f"{left:.0f} s" if left < 120 else f"{left / 60:.1f} min"


class Progress:
    """Progress over ``total`` submissions; ``stream`` a terminal (bar) or not (plain lines via ``log``)."""

    def __init__(self, total: int, *, log=print, stream=None):
        self.total, self.done, self.log = total, 0, log
        self.started = time.monotonic()
        stream = stream if stream is not None else sys.stderr
        self.bar = None
        if total and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            try:
                size = os.get_terminal_size(stream.fileno())
            except (OSError, ValueError, AttributeError):
                size = os.terminal_size((0, 0))
            sized = size.columns > 0 and size.lines > 0
            # a terminal that reports no size (a bare pseudo-terminal) gets a fixed one: tqdm draws nothing in 0 rows
            self.bar = tqdm(total=total, unit="submission", file=stream, desc="autograde", smoothing=0.1,
                            dynamic_ncols=sized, ncols=None if sized else 100, nrows=None if sized else 24)

    def advance(self, entry: dict) -> None:
        """One submission finished (a worker's result entry)."""
        self.done += 1
        state = "ok" if entry.get("success") else "FAILED"
        # "student, assignment": the report's own "student / assignment: ..." line stays the only one of its kind
        what = f"{entry.get('student')}, {entry.get('assignment')}: {state}"
        if self.bar is not None:
            self.bar.set_postfix_str(what[:60], refresh=False)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        self.log(f"[{self.done}/{self.total}] {what} ({rate:.2f} submissions/s, "
                 f"about {_eta(self.done, self.total, elapsed)} left)")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def follow(files: list[Path], seen: dict[Path, int], progress: Progress) -> None:
    """Report the entries the workers appended to their progress ``files`` since the last call."""
    for path in files:
        try:
            with open(path, "rb") as f:
                f.seek(seen.get(path, 0))
                data = f.read()
        except FileNotFoundError:
            continue
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next call
        seen[path] = seen.get(path, 0) + len(complete)
        for line in complete.splitlines():
            if line.strip():
                progress.advance(json.loads(line))


def summary(report: list[dict], missing: dict[str, list[str]]) -> list[str]:
    """The end summary's lines: graded, failed (why), flagged for review, missing (by assignment)."""
    graded = [e for e in report if e.get("success")]
    failed = [e for e in report if not e.get("success")]
    review = [e for e in report if e.get("review")]
    lines = [f"summary: {len(graded)} graded, {len(failed)} failed to grade, {len(review)} flagged for review, "
             f"{sum(len(v) for v in missing.values())} missing"]
    for e in failed:
        lines.append(f"  failed: {e['student']} / {e['assignment']}: {e.get('error') or 'no reason recorded'}")
    for e in review:
        lines.append(f"  review: {e['student']} / {e['assignment']}")
    for assignment, students in sorted(missing.items()):
        if students:
            lines.append(f"  missing: {assignment}: {', '.join(students)}")
    return lines
