"""The student bundle: what it installs, what its README says, what validate.py prints, what handin.py makes.

Oracles: the course's ``constraints.txt`` (the pins), nbgrader's own ``compute_checksum``
(validate.py recomputes it without nbgrader), and the instructor's ``collect`` (it must file
the zip that ``handin.py`` makes).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from grading.course import collect, handin, release, validate
from grading.course.paths import Course

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
NB1 = "notebooks/01_normalizing_inputs/normalizing_inputs.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course") / "root", REPO / "notebooks")
    release.release(course, log=lambda *a: None)
    return course


@pytest.fixture(scope="module")
def bundle(course):
    return course.dir("bundle") / release.BUNDLE_NAME


def _pins(text: str) -> dict[str, str]:
    return {release._canonical(ln.split("==")[0]): ln.split("==")[1] for ln in text.splitlines()
            if "==" in ln and not ln.startswith("#")}


def test_both_routes_install_the_course_pins_and_no_instructor_tools(bundle):
    repo = _pins((REPO / "constraints.txt").read_text())
    constraints = _pins((bundle / "constraints.txt").read_text())
    requirements = (bundle / "requirements.txt").read_text()
    direct = _pins(requirements)
    assert set(direct) == {"numpy", "matplotlib", "jupyterlab", "ipykernel"}
    assert all(repo[n] == v for n, v in {**constraints, **direct}.items()), "a bundle pin differs from the course's"
    for needed in ("jupyterlab", "jupyter-server", "ipykernel", "ipython", "nbclient", "nbformat", "pyzmq", "numpy"):
        assert needed in constraints, needed
    for instructor in ("nbgrader", "pytest", "nbval", "ruff", "hypothesis", "psycopg", "playwright", "sqlalchemy"):
        assert instructor not in constraints and instructor not in requirements.lower(), instructor
    assert "-c constraints.txt" in requirements.splitlines() and "-e ." in requirements.splitlines()
    env = (bundle / "environment.yml").read_text()
    assert "- -r requirements.txt" in env and "nbgrader" not in env  # conda installs the same files
    assert "nbgrader" not in (bundle / "pyproject.toml").read_text()


def test_readme_gives_every_command_for_both_systems(bundle):
    readme = (bundle / "README.md").read_text(encoding="utf-8")
    for command in ("conda env create -f environment.yml", "conda activate dl-opt-setup", "python3 -m venv .venv",
                    "py -m venv .venv", "source .venv/bin/activate", ".venv\\Scripts\\activate",
                    "python -m pip install -r requirements.txt", "jupyter lab", f"python validate.py {NB1}",
                    "python handin.py YOUR_STUDENT_ID", "YOUR_STUDENT_ID.zip", "call_student"):
        assert command in readme, command
    for name in sorted(p.relative_to(bundle).as_posix() for p in (bundle / "notebooks").glob("*/*.ipynb")):
        assert f"`{name}`" in readme, name
    assert "{table}" not in readme and "{python}" not in readme
    assert "nbgrader" not in readme.lower() and "course README" not in readme


def test_handin_zip_is_what_collect_files(course, bundle, tmp_path):
    assert handin.STUDENT_ID.pattern == r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    done = subprocess.run([sys.executable, "handin.py", "s1234", "--out", str(inbox)], cwd=bundle,
                          capture_output=True, text=True, check=True)
    assert "wrote" in done.stdout and "s1234.zip" in done.stdout
    with zipfile.ZipFile(inbox / "s1234.zip") as zf:
        names = zf.namelist()
    assert len(names) == 4 and all(n.endswith(".ipynb") for n in names)
    assert subprocess.run([sys.executable, "handin.py", "not an id"], cwd=bundle, capture_output=True).returncode == 2
    result = collect.collect(course, inbox, log=lambda *a: None)
    assert sorted(a for s, a in result["placed"] if s == "s1234") == course.assignments(), result


def test_checksum_is_nbgraders(bundle):
    for path in (bundle / "notebooks").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id"):
                assert validate.checksum(cell) == compute_checksum(cell)


def _student_run(bundle, *args):
    """The bundle's validate.py with the student edition of helpers first on the path."""
    code = ("import sys, runpy\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
            "sys.argv = ['validate.py', *sys.argv[1:]]\nrunpy.run_path('validate.py', run_name='__main__')\n")
    env = {"PYTHONPATH": str(bundle), "PATH": "/usr/bin:/bin", "HOME": str(bundle.parent)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=bundle, capture_output=True, text=True, env=env,
                          timeout=300)


def test_validate_prints_plain_text_per_exercise(bundle, tmp_path):
    done = _student_run(bundle, NB1)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    lines = out.splitlines()
    assert lines[1] == NB1
    assert lines[2] == "  Exercise 1 (4 points): FAILED - fit_normalization is not written yet (test cell, line 4)"
    assert lines[-1].startswith("  0 of 3 exercises pass their visible tests. Next: fix Exercise 1")
    assert not re.search(r"<span|&#39;|\x1b\[|WARNING|Traceback|[✓✗]", out), out


def test_validate_reports_an_edited_read_only_cell(bundle, tmp_path):
    nb = nbformat.read(bundle / NB1, as_version=4)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1-tests")
    test_cell.source += "\npass  # a student's edit"
    edited = tmp_path / "edited.ipynb"
    nbformat.write(nb, edited)
    status, report = validate.validate(str(edited))
    assert status == 1 and "Changed: read-only cell" in report and "was edited" in report, report
    assert validate.main([str(tmp_path / "missing.ipynb")]) == 2
