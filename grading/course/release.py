"""Release: nbgrader's student versions of every assignment, and the student bundle.

The bundle (``<root>/bundle/<name>/`` and ``<name>.zip``) holds the release notebooks,
the student edition of ``helpers`` (the package without ``_reference/``), the install files
of a student's environment (``requirements.txt`` + ``constraints.txt``: JupyterLab, the
kernel, numpy, matplotlib and their dependencies at the course's exact pins, and no
nbgrader, whose JupyterLab extensions are the instructor's UI; ``environment.yml`` installs
the same through conda; ``pyproject.toml`` makes ``helpers`` importable), ``validate.py``
(check before handing in), ``handin.py`` (the zip to hand in) and a README
(``student_readme.md``) with every command for Linux/macOS and Windows.
"""

from __future__ import annotations

import compileall
import json
import re
import shutil
from pathlib import Path

from . import gradebook
from .nbapi import api, last_line
from .paths import REPO, Course

BUNDLE_NAME = "dl-opt-setup-student"
#: Parts of helpers that hold reference logic and never leave the instructor's machine.
WITHHELD = ("_reference",)

#: What a student's environment installs directly (exact pins from constraints.txt). Not nbgrader:
#: its JupyterLab extensions are the instructor's UI (Formgrader, Create Assignment, an Assignment
#: List that needs the instructor's exchange), and the bundle's validate.py does without it.
STUDENT_PACKAGES = ("numpy", "matplotlib", "jupyterlab", "ipykernel")
STUDENT_PYTHON = "3.11"
_HERE = Path(__file__).resolve().parent

#: flit's PEP 660 editable install writes nothing into the student's folder (setuptools leaves a
#: ``*.egg-info`` folder beside the notebooks).
PYPROJECT = """[build-system]
requires = ["flit_core==4.2.0"]
build-backend = "flit_core.buildapi"

[project]
name = "dl-optimization-setup-student"
version = "0.1.0"
description = "The course's helpers package, as students get it"
requires-python = ">=3.10"
# the exact versions are in requirements.txt and constraints.txt
dependencies = ["numpy>=2.0,<3", "matplotlib>=3.9,<4", "jupyterlab>=4.2,<5", "ipykernel>=6.29,<8"]

[tool.flit.module]
name = "helpers"
"""


def build_student_helpers(dest: Path) -> Path:
    """Copy ``helpers`` without the withheld parts into ``dest/helpers``; returns that path."""
    target = dest / "helpers"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "helpers", target,
                    ignore=shutil.ignore_patterns(*WITHHELD, "__pycache__", "*.pyc", ".*"))
    return target


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _repo_pins() -> dict[str, str]:
    """``{canonical name: "Name==version"}`` of the repository's constraints.txt."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            pins[_canonical(line.split("==")[0].split("[")[0])] = line
    return pins


def student_closure(roots=STUDENT_PACKAGES) -> set[str]:
    """Canonical names of ``roots`` and of everything they need, from installed metadata.

    A dependency asked for with extras (``jsonschema[format-nongpl]``) brings the packages of
    those extras too: pip installs them, so they need pins. A requirement for other systems or
    Pythons (``sys_platform == "win32"``, ...) that is not installed here is not followed: pip
    chooses it on the student's machine, within the ranges of the packages that need it.
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    todo = [(_canonical(r), "") for r in roots]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        names.add(name)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and "extra" in str(req.marker):
                if not extra or not req.marker.evaluate({"extra": extra}):
                    continue
            elif extra:
                continue  # the package's own requirements were followed without the extra
            todo.append((_canonical(req.name), ""))
            todo.extend((_canonical(req.name), e) for e in req.extras)
    return names


def student_constraints() -> str:
    """The bundle's constraints.txt: the course's exact pins of everything a student's environment holds."""
    pins = _repo_pins()
    missing = sorted({_canonical(p) for p in STUDENT_PACKAGES} - set(pins))
    if missing:
        raise RuntimeError(f"constraints.txt has no pin for {missing}")
    lines = [pins[n] for n in sorted(student_closure()) if n in pins]
    return ("# Exact versions of everything the course environment installs (the course's own pins).\n"
            "# Read by requirements.txt. A package only some systems need (pywinpty on Windows, ...) is\n"
            "# chosen by pip within the ranges of the packages that need it.\n" + "\n".join(lines) + "\n")


def student_requirements() -> str:
    """The bundle's requirements.txt: the packages a student uses, pinned, and the bundle's helpers."""
    pins = _repo_pins()
    direct = "\n".join(pins[_canonical(p)] for p in STUDENT_PACKAGES)
    return ("# python -m pip install -r requirements.txt   (in this folder, see README.md)\n"
            f"-c constraints.txt\n{direct}\n-e .\n")


def student_environment() -> str:
    """The bundle's environment.yml: Python and pip from conda-forge, then requirements.txt (the same pins)."""
    return ("# conda env create -f environment.yml, then: conda activate dl-opt-setup   (see README.md)\n"
            "# Packages and exact versions: requirements.txt and constraints.txt (the pip route's own files).\n"
            "name: dl-opt-setup\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={STUDENT_PYTHON}\n  - pip\n  - pip:\n      - -r requirements.txt\n")


def _notebook_table(out: Path, assignments: list[str]) -> str:
    rows = []
    for i, name in enumerate(assignments, 1):
        for path in sorted((out / "notebooks" / name).glob("*.ipynb")):
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            points = sum(float(c.get("metadata", {}).get("nbgrader", {}).get("points", 0) or 0) for c in cells
                         if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
            # every "## Exercise N" heading, wherever it sits in its cell
            exercises = len({m for c in cells if c.get("cell_type") == "markdown"
                             for m in re.findall(r"^##\s+Exercise\s+(\d+)", "".join(c.get("source", "")),
                                                 flags=re.MULTILINE)})
            rows.append(f"| {i} | `notebooks/{name}/{path.name}` | {exercises} exercises, {points:g} points |")
    return "\n".join(rows)


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
    _measure(course, chosen, log)
    bundle = build_bundle(course, known)
    from .variants import write_tokens

    tokens = write_tokens(course)  # per-student variants: one token zip per student (never in the bundle)
    if tokens is not None:
        log(f"variant tokens: {tokens}/<student>.zip (hand each student their own)")
    return bundle


def _measure(course: Course, assignments: list[str], log) -> None:
    """Each source notebook's run time on this machine: autograde's time budget is a multiple of it (budget.py)."""
    from . import budget
    from .sandbox import SandboxUnavailable

    for name in assignments:
        try:
            times = budget.measure(course, name, log=log)
        except SandboxUnavailable as exc:
            log(f"note: run times not measured ({exc}); autograde gives each notebook {budget.UNMEASURED} s. "
                "Release again on the grading machine")
            return
        except Exception as exc:  # a measurement is no reason to stop a release: that notebook keeps the default
            log(f"note: {name}'s run time not measured ({type(exc).__name__}: {exc}); autograde gives it "
                f"{budget.UNMEASURED} s")
            continue
        log(f"measured {name}: " + ", ".join(f"{nb} {t:.1f} s" for nb, t in times.items()))


def build_bundle(course: Course, assignments: list[str]) -> Path:
    """The student bundle, folder and zip (see the module docstring); returns the folder."""
    out = course.dir("bundle") / BUNDLE_NAME
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    present = []
    for name in assignments:
        released = course.dir("release") / name
        if released.is_dir():
            shutil.copytree(released, out / "notebooks" / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
            present.append(name)
    build_student_helpers(out)
    (out / "constraints.txt").write_text(student_constraints())
    (out / "requirements.txt").write_text(student_requirements())
    (out / "environment.yml").write_text(student_environment())
    (out / "pyproject.toml").write_text(PYPROJECT)
    readme = (_HERE / "student_readme.md").read_text(encoding="utf-8")
    readme = readme.replace("{table}", _notebook_table(out, present)).replace("{python}", STUDENT_PYTHON)
    (out / "README.md").write_text(readme, encoding="utf-8")
    shutil.copy(_HERE / "validate.py", out / "validate.py")
    shutil.copy(_HERE / "handin.py", out / "handin.py")
    shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return out
