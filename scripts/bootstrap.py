"""Create (or reuse) the course environment and install the pinned dependencies.

Run with any Python >= 3.10: ``python3 scripts/bootstrap.py``. It prints the path of
the Python interpreter to use, and is what ``make lab`` and ``make test`` call first.

* Default: a virtual environment in ``.venv/`` next to this repository.
* Inside an activated conda environment (``CONDA_PREFIX`` set, e.g. after
  ``conda env create -f environment.yml``), or with ``COURSE_USE_CURRENT_ENV=1``, it
  installs into the running interpreter instead.

The install is skipped when nothing it depends on changed since the last run (a stamp
file records a hash of ``constraints.txt`` and ``pyproject.toml``), so repeated
``make test`` calls cost nothing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL_NAME = "dl-opt-setup"
KERNEL_DISPLAY = "Python (optimization setup course)"


def _log(msg: str) -> None:
    print(f"[bootstrap] {msg}", file=sys.stderr, flush=True)


def _target_python() -> Path:
    if os.environ.get("COURSE_USE_CURRENT_ENV") == "1" or (
        os.environ.get("CONDA_PREFIX") and not os.environ.get("VIRTUAL_ENV")
    ):
        return Path(sys.executable)
    env_dir = ROOT / ".venv"
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        _log(f"creating virtual environment in {env_dir}")
        venv.EnvBuilder(with_pip=True, clear=False).create(env_dir)
    return python


def _fingerprint(python: Path) -> str:
    digest = hashlib.sha256(str(python).encode())
    for name in ("constraints.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def main() -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 (run by whatever python3 the machine has)
        sys.exit("Python >= 3.10 is required to create the course environment.")
    python = _target_python()
    stamp = python.parent.parent / ".bootstrap-stamp"
    if os.environ.get("COURSE_USE_CURRENT_ENV") == "1" or python == Path(sys.executable):
        stamp = ROOT / ".bootstrap-stamp"
    fingerprint = _fingerprint(python)
    if stamp.exists() and stamp.read_text() == fingerprint:
        print(python)
        return 0
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    _log("installing pinned dependencies (constraints.txt) and helpers")
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip>=24", "setuptools>=69"], check=True)
    subprocess.run(
        [*pip, "install", "-q", "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[test]"],
        check=True,
    )
    _log(f"registering the Jupyter kernel '{KERNEL_NAME}'")
    for name, display in (("python3", "Python 3 (ipykernel)"), (KERNEL_NAME, KERNEL_DISPLAY)):
        subprocess.run(
            [str(python), "-m", "ipykernel", "install", "--sys-prefix",
             "--name", name, "--display-name", display],
            check=True, stdout=subprocess.DEVNULL,
        )
    stamp.write_text(fingerprint)
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
