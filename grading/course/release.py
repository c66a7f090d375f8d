"""Release: nbgrader's student versions of every assignment, and the student bundle.

The bundle (``<root>/bundle/<name>/`` and ``<name>.zip``) holds the release notebooks,
the student edition of ``helpers`` (the package without ``_reference/``), a student
``environment.yml`` and ``pyproject.toml`` (so ``pip install -e .`` makes ``helpers``
importable), ``validate.py`` and a short README.
"""

from __future__ import annotations

import compileall
import shutil
from pathlib import Path

from . import gradebook
from .nbapi import api, last_line
from .paths import REPO, Course

BUNDLE_NAME = "dl-opt-setup-student"
#: Parts of helpers that hold reference logic and never leave the instructor's machine.
WITHHELD = ("_reference",)
_DEV_ONLY = ("pytest", "hypothesis", "nbval", "scikit-learn", "ruff", "psycopg")

STUDENT_README = """# Setting up your optimization problem: student bundle

Four graded notebooks, one folder each under `notebooks/`.

1. Create the environment once: `conda env create -f environment.yml` then
   `conda activate dl-opt-setup` (or, with plain Python >= 3.10: `python -m venv .venv`,
   activate it, `pip install -e .` and `pip install nbgrader jupyterlab`).
2. `jupyter lab`, open a notebook, and work top to bottom. Replace each
   `raise NotImplementedError()` with your code and run the test cell below it.
3. Before you hand a notebook in, check it (exit code 0 means every test cell passed):
   `python validate.py notebooks/01_normalizing_inputs/normalizing_inputs.ipynb`
4. Hand in the `.ipynb` files, unchanged in name. Do not edit or delete the read-only
   cells: they are restored from the instructor's copy when grading.

The `helpers` package here is the student edition: the functions you write in the
notebooks are not in it (calling them raises `WithheldError` that says which exercise
asks for them). Hidden tests run on inputs you have not seen.
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=69", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "dl-optimization-setup-student"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["numpy>=2.0,<3", "matplotlib>=3.9,<4", "jupyterlab>=4.2,<5", "ipykernel>=6.29,<8",
                "nbgrader>=0.9.5,<0.10"]

[tool.setuptools.packages.find]
include = ["helpers*"]
"""


def build_student_helpers(dest: Path) -> Path:
    """Copy ``helpers`` without the withheld parts into ``dest/helpers``; returns that path."""
    target = dest / "helpers"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "helpers", target,
                    ignore=shutil.ignore_patterns(*WITHHELD, "__pycache__", "*.pyc", ".*"))
    return target


def student_environment(text: str) -> str:
    """The repository's environment.yml without developer tools, installing the bundle's helpers."""
    lines = [ln for ln in text.splitlines() if not any(f"- {d}" in ln for d in _DEV_ONLY)]
    lines = [ln for ln in lines if not ln.lstrip().startswith("#")]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def release(course: Course, assignments: list[str] | None = None, *, log=print) -> Path:
    """Generate the release of ``assignments`` (default: all) and the bundle; returns the bundle folder."""
    known = course.assignments()
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; the source folder {course.source} has {known}")
    course.root.mkdir(parents=True, exist_ok=True)
    build_student_helpers(course.student_helpers)
    # the grading kernels import this edition from a read-only mount: compiled once here, not per kernel
    compileall.compile_dir(course.student_helpers / "helpers", quiet=1)
    nb = api(course)
    for name in chosen:
        result = nb.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed: {last_line(result.get('error'))}\n"
                               f"{result.get('log', '')}")
        log(f"released {name}")
    gradebook.ensure_course_row(course.db_url)
    return build_bundle(course, known)


def build_bundle(course: Course, assignments: list[str]) -> Path:
    out = course.dir("bundle") / BUNDLE_NAME
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in assignments:
        released = course.dir("release") / name
        if released.is_dir():
            shutil.copytree(released, out / "notebooks" / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    build_student_helpers(out)
    (out / "environment.yml").write_text(student_environment((REPO / "environment.yml").read_text()))
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "README.md").write_text(STUDENT_README)
    shutil.copy(Path(__file__).with_name("validate.py"), out / "validate.py")
    shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return out
