"""Test set-up for the student's side: the bundle, its own environment, JupyterLab, Chromium.

* :func:`ensure_chromium` finds Debian's ``chromium``; as root with apt it installs the
  package (as ``postgres_server.py`` does for PostgreSQL), otherwise it fails, naming the
  command (never a silent skip). Playwright's own browser download is not used.
* :func:`student_environment` builds the environment exactly as the bundle's README says
  (``python -m venv``, ``pip install -r requirements.txt``), cached in ``tests/artifacts/student-venv/``
  and rebuilt only when the bundle's pins change.
* :func:`jupyterlab` starts JupyterLab from that environment on the bundle, with its own
  home and Jupyter folders (nothing of the instructor's set-up leaks in), and stops it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STUDENT_VENV = REPO / "tests" / "artifacts" / "student-venv"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class SetupFailed(RuntimeError):
    """A component of the student's side could not be set up."""


def ensure_chromium() -> str:
    """Path of Debian's Chromium, installing the package when missing (as root with apt)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupFailed(f"{CHROMIUM} is missing: sudo apt-get install chromium (the browser test needs it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, text=True)
    if not Path(CHROMIUM).exists():
        raise SetupFailed(f"apt-get install chromium failed: {done.stderr[-800:]}")
    return CHROMIUM


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def student_environment(bundle: Path, venv: Path = STUDENT_VENV) -> Path:
    """The bundle's environment, installed by its README's pip route; returns its Python."""
    stamp_text = hashlib.sha256(b"".join((bundle / f).read_bytes() for f in ("requirements.txt", "constraints.txt"))
                                + str(bundle.resolve()).encode() + sys.version.encode()).hexdigest()
    stamp = venv / ".student-stamp"
    python = _bin(venv, "python")
    if stamp.exists() and stamp.read_text() == stamp_text and python.exists():
        return python
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "-r", "requirements.txt"], cwd=bundle, capture_output=True, text=True)
    if done.returncode:
        raise SetupFailed(f"pip install -r requirements.txt failed in {bundle}:\n{done.stderr[-2000:]}")
    stamp.write_text(stamp_text)
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: JupyterLab user settings for a test run: every cell in the page (no windowing, so the
#: test can find cells by their text), and no news/update toasts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        '{"fetchNews": "false", "checkForUpdates": false}',
}


def wait_until_up(url: str, token: str, proc, log, what: str, seconds: float = 90) -> None:
    """Wait for a Jupyter server's API at ``url``; ``SetupFailed`` with its log if it stops or never answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SetupFailed(f"{what} did not start:\n{log.read()[-2000:]}") from None
            time.sleep(0.5)


@contextlib.contextmanager
def jupyterlab(python: Path, bundle: Path):
    """Start JupyterLab of the student environment on ``bundle``; yields ``(base url, token, home)``."""
    home = Path(tempfile.mkdtemp(prefix="student-home-"))
    settings = home / "lab-settings"
    for rel, text in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), PATH=f"{python.parent}{os.pathsep}{env['PATH']}",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [str(python), "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={bundle}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "jupyterlab.log", "w+")
    proc = subprocess.Popen(cmd, cwd=bundle, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, token, proc, log, "JupyterLab")
        yield url, token, home, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)
