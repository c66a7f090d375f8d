"""A throwaway PostgreSQL server on 127.0.0.1 for tests of the PostgreSQL gradebook path.

Uses Debian's ``postgresql`` package; when its binaries are missing and we are root with
apt available, the set-up installs it (no mock: nbgrader talks to a real server). The
server runs as the ``postgres`` user when we are root (PostgreSQL refuses to run as root),
with its data directory and socket in a private temporary folder, ``fsync`` off (a test
database), and is stopped and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be found or installed here."""


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for path in reversed(candidates):
        if (Path(path) / "initdb").exists():
            return Path(path)
    return None


def ensure_installed() -> Path:
    """Return PostgreSQL's bin directory, installing Debian's package if needed."""
    bindir = _bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL is not installed and this user cannot apt-get install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, capture_output=True, text=True)
    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailable(f"apt-get install postgresql failed: {done.stderr[-500:]}")
    return bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(database: str = "gradebook"):
    """Start a server, create ``database`` and yield its SQLAlchemy URL (psycopg 3 driver)."""
    bindir = ensure_installed()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="course-pg-"))
    os.chmod(base, 0o755)
    data, sock, logs = base / "data", base / "sock", base / "log"
    for folder in (data, sock, logs):
        folder.mkdir()
        if as_root:
            shutil.chown(folder, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader", "--no-sync", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(logs / "server.log"),
            "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        log = (logs / "server.log").read_text() if (logs / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"could not start PostgreSQL: {exc.stderr or exc}\n{log[-1000:]}") from exc
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader", database)
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
