"""The multi-machine path: shards autograding into one PostgreSQL gradebook give SQLite's grades.

A real PostgreSQL server (Debian's package, installed by ``tests/postgres_server.py`` when
missing) runs on 127.0.0.1 for this module. One small class (right, wrong, hostile,
untouched and unreadable submissions of the toy assignment and of notebook 1) is graded
three ways, each through the CLI an instructor runs, and each on its own course root:

* SQLite, ``--jobs 2`` (sharded copies merged: the single-machine default);
* PostgreSQL, two concurrent processes ``autograde --shard 1/2`` and ``--shard 2/2``
  (two machines of a job array, or two graders);
* PostgreSQL, one process ``--jobs 2`` (shard workers writing straight to the server).

Every gradebook row and the exported grades must be identical.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys

import grading_support as gs
import nbformat
import pytest
from postgres_server import PostgresUnavailable, ensure_installed, postgres_server

from grading.course import gradebook
from grading.course.autograde import in_shard

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = gs.REPO
TOY = "00_toy"
NB1 = "01_normalizing_inputs"
TIMESTAMP = "2024-03-01 12:00:00.000000 UTC"
#: student -> (case of gs.hostile_notebooks, or "invalid_json"), for the toy and for notebook 1
CLASS = {
    "correct": "correct",
    "wrong": "wrong",
    "rigged": "rigged_eq",
    "importer": "import_reference",
    "untouched": "untouched",
    "broken": "invalid_json",
}
ON_NB1 = ("correct", "wrong", "rigged")


def _pg_url():
    try:
        ensure_installed()
    except PostgresUnavailable as exc:
        if os.geteuid() != 0:  # cannot install it here; CI runs as root and installs it
            pytest.skip(f"PostgreSQL gradebook tests need PostgreSQL: {exc}")
        pytest.fail(f"PostgreSQL could not be installed: {exc}")
    return postgres_server()


def _create_database(url: str, name: str) -> str:
    """Another empty database on the same server; returns its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def _cli(root, source, *args, db_url=None, env=None, wait=True):
    cmd = [sys.executable, "-m", "grading.course", "--root", str(root), "--source", str(source)]
    if db_url:
        cmd += ["--db-url", db_url]
    full_env = {**os.environ, **(env or {})}
    if db_url is None:
        full_env.setdefault("COURSE_DB_URL", "")
    proc = subprocess.Popen([*cmd, *args], cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc.communicate()[0] if wait else proc


def _submissions(source, release_root):
    """``{(student, assignment): notebook or bytes}``: the class, built from the source and the release."""
    out = {}
    for a in (TOY, NB1):
        name = next((source / a).glob("*.ipynb")).name
        rel = nbformat.read(release_root / "release" / a / name, as_version=4)
        src = nbformat.read(source / a / name, as_version=4)
        cases = gs.hostile_notebooks(rel, src, kernel_classes=False)
        cases["wrong"] = (gs.with_solutions(rel, src, lambda g, code: gs.stub(code, gs.WRONG)), 0.0, None)
        for student, case in CLASS.items():
            if a == NB1 and student not in ON_NB1:
                continue
            out[(student, a)] = (name, b'{"cells": [ not json' if case == "invalid_json" else cases[case][0])
    return out


def _submit(root, subs):
    for (student, a), (name, data) in subs.items():
        folder = root / "submitted" / student / a
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text(TIMESTAMP)
        if isinstance(data, bytes):
            (folder / name).write_bytes(data)
        else:
            nbformat.write(data, folder / name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pg")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    shutil.copytree(REPO / "notebooks" / NB1, source / NB1, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {"COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py"), "COURSE_CELL_TIMEOUT": "30"}
    assert {in_shard(s, (1, 2)) for s in CLASS} == {True, False}, "both shards must hold students"
    with _pg_url() as url:
        urls = {"sqlite": None, "pg-shards": url, "pg-jobs": _create_database(url, "gradebook_jobs")}
        roots = {kind: tmp / kind for kind in urls}
        logs = {}
        for kind, root in roots.items():
            logs[f"{kind} release"] = _cli(root, source, "release", db_url=urls[kind], env=env)
            assert (root / ".student_helpers" / "helpers").is_dir(), logs[f"{kind} release"]
        subs = _submissions(source, roots["sqlite"])
        for root in roots.values():
            _submit(root, subs)

        logs["sqlite"] = _cli(roots["sqlite"], source, "autograde", "--jobs", "2", env=env)
        # two graders at once: one names the server with --db-url, the other through COURSE_DB_URL
        first = _cli(roots["pg-shards"], source, "autograde", "--shard", "1/2", "--jobs", "1", db_url=url, env=env,
                     wait=False)
        second = _cli(roots["pg-shards"], source, "autograde", "--shard", "2/2", "--jobs", "1",
                      env={**env, "COURSE_DB_URL": url}, wait=False)
        logs["pg shard 1"], logs["pg shard 2"] = first.communicate()[0], second.communicate()[0]
        logs["pg-jobs"] = _cli(roots["pg-jobs"], source, "autograde", "--jobs", "2", db_url=urls["pg-jobs"], env=env)

        grades, snapshots = {}, {}
        for kind, root in roots.items():
            out = root / "grades.csv"
            logs[f"{kind} grades"] = _cli(root, source, "grades", "--out", str(out), db_url=urls[kind], env=env)
            grades[kind] = out.read_text()
            snapshots[kind] = gradebook.snapshot(urls[kind] or f"sqlite:///{root / 'gradebook.db'}")
        yield {"grades": grades, "snapshots": snapshots, "logs": logs, "roots": roots}


def _log(graded) -> str:
    return "\n".join(f"--- {k}\n{v[-3000:]}" for k, v in graded["logs"].items())


def test_sqlite_grades_are_the_expected_ones(graded):
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(graded["grades"]["sqlite"]))}
    totals = {s: float(r["total"]) for s, r in rows.items()}
    assert totals["correct"] > 0, _log(graded)
    assert all(totals[s] == 0 for s in CLASS if s != "correct"), (totals, _log(graded))
    assert rows["broken"]["needs_review"].split() == [TOY], "an unreadable notebook is flagged for review"


def test_two_shards_on_postgresql_give_the_sqlite_gradebook(graded):
    sqlite, pg = graded["snapshots"]["sqlite"], graded["snapshots"]["pg-shards"]
    assert sum(1 for k in sqlite if k[0] == "grade") >= 10
    assert pg == sqlite, _log(graded)
    assert graded["grades"]["pg-shards"] == graded["grades"]["sqlite"]


def test_each_shard_graded_only_its_students(graded):
    for k, log in ((1, graded["logs"]["pg shard 1"]), (2, graded["logs"]["pg shard 2"])):
        mine = {s for s in CLASS if in_shard(s, (k, 2))}
        seen = {m.group(1) for m in re.finditer(r"^(\w+) / \w+: ", log, re.MULTILINE)}
        assert seen == mine, log
    reports = sorted(p.name for p in (graded["roots"]["pg-shards"] / "logs").glob("autograde-report*.json"))
    assert reports == ["autograde-report-shard-1-of-2.json", "autograde-report-shard-2-of-2.json"]


def test_parallel_workers_on_postgresql_give_the_sqlite_gradebook(graded):
    assert graded["snapshots"]["pg-jobs"] == graded["snapshots"]["sqlite"], _log(graded)
    assert graded["grades"]["pg-jobs"] == graded["grades"]["sqlite"]
