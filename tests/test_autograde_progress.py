"""Autograde shows progress and ends with a summary (issue 26), through the CLI.

A toy class: two students hand in (one right, one with a notebook that cannot be read), a
third on the roster hands nothing in. Graded once with its output in a pipe (``--jobs 2``:
the shards' progress files) and once in a pseudo-terminal (``--jobs 1``: a tqdm bar).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios

import grading_support as gs
import nbformat
import pytest

from grading.course.paths import Course

pytestmark = pytest.mark.slow

TOY = "00_toy"
ROSTER = "\n".join(f'[[students]]\nid = "{s}"\nfirst_name = "{s.title()}"\nlast_name = "X"\n'
                   for s in ("alice", "bruno", "carol"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    course = Course(tmp / "course", source)
    course.root.mkdir(parents=True)
    (course.root / "course.toml").write_text(f'[course]\nname = "Toy"\n\n{ROSTER}')
    env = {**os.environ, "COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py"), "PYTHONPATH": str(gs.REPO)}
    _cli(course, env, "release")
    release = nbformat.read(course.root / "release" / TOY / "toy.ipynb", as_version=4)
    right = gs.with_solutions(release, nbformat.read(source / TOY / "toy.ipynb", as_version=4))
    for student, data in (("alice", nbformat.writes(right)), ("bruno", '{"cells": [ not json')):
        folder = course.root / "submitted" / student / TOY
        folder.mkdir(parents=True)
        (folder / "toy.ipynb").write_text(data)
    return course, env


def _argv(course, *argv):
    return [sys.executable, "-m", "grading.course", "--root", str(course.root), "--source", str(course.source),
            *argv]


def _cli(course, env, *argv):
    done = subprocess.run(_argv(course, *argv), cwd=gs.REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _summary_checks(text: str):
    assert "summary: 1 graded, 1 failed to grade, 0 flagged for review, 1 missing" in text, text
    assert re.search(r"  failed: bruno / 00_toy: .+", text), text
    assert "  missing: 00_toy: carol" in text, text


def test_progress_in_a_pipe(course):
    root, env = course
    done = subprocess.run(_argv(root, "autograde", "--jobs", "2"), cwd=gs.REPO, env=env, capture_output=True,
                          text=True)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # a submission failed to grade
    lines = [ln for ln in out.splitlines() if ln.startswith("[")]
    assert len(lines) == 2, out  # one plain line per submission, as it finishes, no bar
    assert {ln.split("]")[0] for ln in lines} == {"[1/2", "[2/2"}
    assert all(re.search(r"\(\d+\.\d\d submissions/s, about .+ left\)$", ln) for ln in lines), lines
    assert "\r" not in out and "it/s" not in out
    _summary_checks(out)


def test_progress_in_a_terminal(course):
    root, env = course
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # a terminal window's size
    proc = subprocess.Popen(_argv(root, "autograde", "--jobs", "1"), cwd=gs.REPO, env=env,
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 1, screen[-2000:]  # a submission failed to grade: the CLI says so by its code
    assert "autograde:" in screen and "2/2" in screen and "\r" in screen, screen[-2000:]  # tqdm's bar, redrawn
    assert not re.search(r"^\[1/2\]", screen, flags=re.MULTILINE), screen[-2000:]
    _summary_checks(screen.replace("\r\n", "\n"))
