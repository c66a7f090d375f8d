"""What a student sees when a test cell runs (helpers.checks.feedback), in a real IPython kernel.

One small notebook (notebook 1's set-up and exercise 1 test cell, after typical wrong
answers) is executed once by nbclient, as JupyterLab or nbgrader would run it; the outputs
are then checked line by line: the error is still an error (nbgrader and validate must see
it), but it reads as a few lines with the hint and no library source or paths.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from helpers.checks import core, feedback

REPO = Path(__file__).resolve().parent.parent
NB1 = REPO / "notebooks" / "01_normalizing_inputs" / "normalizing_inputs.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

FIT = {
    "no_keepdims": "def fit_normalization(X):\n    mu = np.mean(X, axis=1)\n"
                   "    sigma2 = np.mean((X - mu) ** 2, axis=1)\n    return mu, sigma2\n",
    "wrong_axis": "def fit_normalization(X):\n    mu = np.mean(X, axis=0, keepdims=True)\n"
                  "    sigma2 = np.mean((X - mu) ** 2, axis=0, keepdims=True)\n    return mu, sigma2\n",
    "ddof1": "def fit_normalization(X):\n    mu = np.mean(X, axis=1, keepdims=True)\n"
             "    sigma2 = np.var(X, axis=1, keepdims=True, ddof=1)\n    return mu, sigma2\n",
    "untouched": "def fit_normalization(X):\n    raise NotImplementedError()\n",
    "right": "def fit_normalization(X):\n    mu = np.mean(X, axis=1, keepdims=True)\n"
             "    return mu, np.mean((X - mu) ** 2, axis=1, keepdims=True)\n",
    # four frames deep: the block keeps the student's outermost line and the two innermost
    "deep": "def _center(X):\n    return X - np.mean(X, axis=1)\n"
            "def _spread(X):\n    return np.mean(_center(X) ** 2, axis=1, keepdims=True)\n"
            "def _var(X):\n    return _spread(X)\n"
            "def fit_normalization(X):\n    mu = np.mean(X, axis=1, keepdims=True)\n    sigma2 = _var(X)\n"
            "    return mu, sigma2\n",
    # the function handed over where its result was meant (notebook 4's backprop vs backprop(params))
    "wrong_object": "def stats(X):\n    mu = np.mean(X, axis=1, keepdims=True)\n"
                    "    return {'mu': mu, 'sigma2': np.mean((X - mu) ** 2, axis=1, keepdims=True)}\n"
                    "def fit_normalization(X):\n    s = stats\n    return s['mu'], s['sigma2']\n",
}
#: Text of library code that must never reach the student (sources of helpers/checks, paths).
LIBRARY = ("helpers/checks", "site-packages", "raise CheckFailure", "def check_fit_visible", "hints = {",
           "Traceback (most recent call last)", ".py\", line", "/usr/", "ipykernel_")


def _notebook_one():
    src = nbformat.read(NB1, as_version=4)
    setup = next(c.source for c in src.cells if "setup" in c.metadata.get("tags", []))
    test = next(c.source for c in src.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1-tests")
    return setup, test.split("### BEGIN HIDDEN TESTS")[0]


def _text(output) -> str:
    if output.output_type == "error":
        return ANSI.sub("", "\n".join(output.traceback))
    return output.get("text") or output.get("data", {}).get("text/plain", "")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Cell outputs by label, from one kernel."""
    setup, test = _notebook_one()
    labels, cells = ["setup"], [setup]
    for name, code in FIT.items():
        labels += [f"{name}:solution", name]
        cells += [code, test]
    labels += ["assert_in_test", "assert_elsewhere", "call_cell_crash", "cascade", "warning"]
    cells += ['"""Exercise 2: a plain assert."""\nx = 3\nassert x == 2, f"x is {x}, expected 2"\n',
              'assert 1 == 2, "outside a test cell"\n',
              "mu, sigma2 = call_student(fit_normalization, np.ones((3, 5)))\n",
              "X_norm = (X_small - mu_never_made) / np.sqrt(sigma2)\n",
              "import warnings\nwarnings.simplefilter('always')\nzero = np.zeros((2, 1))\n"
              "scaled = np.ones((2, 1)) / zero\n"]
    cells[labels.index("call_cell_crash") - 1] = FIT["no_keepdims"] + cells[labels.index("call_cell_crash") - 1]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60,
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}}).execute()
    return {label: cell.outputs for label, cell in zip(labels, nb.cells, strict=True)}


def _error(outputs):
    errors = [o for o in outputs if o.output_type == "error"]
    assert len(errors) == 1, outputs
    return errors[0], _text(errors[0]).splitlines()


@pytest.mark.parametrize("case", ["no_keepdims", "wrong_axis", "ddof1", "untouched"])
def test_a_failing_test_cell_is_a_short_error_without_library_source(ran, case):
    error, lines = _error(ran[case])
    assert error.ename == "CheckFailure"  # nbgrader scores an error output 0; validate reports it
    assert len(lines) <= feedback.MAX_LINES, lines
    assert lines[0].startswith("✗ Exercise 1: ") and "(test cell, line 4)" in lines[0], lines
    text = "\n".join(lines)
    assert not [s for s in LIBRARY if s in text], text


def test_the_keepdims_crash_keeps_the_students_line_and_adds_the_hint(ran):
    _, lines = _error(ran["no_keepdims"])
    assert lines[0] == "✗ Exercise 1: fit_normalization crashed (test cell, line 4)"
    assert re.fullmatch(r"  Cell In\[\d+\], line 3, in fit_normalization", lines[1]), lines
    assert lines[2].strip() == "sigma2 = np.mean((X - mu) ** 2, axis=1)"
    assert lines[3] == "ValueError: operands could not be broadcast together with shapes (2,4) (2,)"
    assert lines[4].startswith("Hint: ") and "keepdims=True" in lines[4] and "(2, 1)" in lines[4]


def test_a_deep_crash_shows_the_students_first_and_failing_lines(ran):
    _, lines = _error(ran["deep"])
    assert lines[0] == "✗ Exercise 1: fit_normalization crashed (test cell, line 4)"
    frames = [ln for ln in lines if ln.startswith("  Cell In[")]
    assert [f.rsplit(" in ", 1)[1] for f in frames] == ["fit_normalization", "_spread", "_center"], lines
    assert "sigma2 = _var(X)" in lines[2] and lines[3] == "  …"
    assert lines[lines.index(frames[-1]) + 1].strip() == "return X - np.mean(X, axis=1)"
    assert sum(1 for ln in lines if ln.startswith("  ")) <= feedback.MAX_FRAME_LINES + 1  # + the ellipsis
    assert lines[-1].startswith("Hint: ") and "keepdims=True" in lines[-1]


def test_a_function_passed_for_its_result_gets_a_hint(ran):
    _, lines = _error(ran["wrong_object"])
    assert "return s['mu'], s['sigma2']" in "\n".join(lines)
    assert "TypeError: 'function' object is not subscriptable" in lines
    assert lines[-1].startswith("Hint: ") and "backprop(params)" in lines[-1]
    params = {"W1": np.ones((2, 2))}
    assert "called like a function" in feedback.crash_hint(_raised(lambda: params(2)))


def test_a_name_error_after_a_failure_says_which_exercise_to_fix_first(ran):
    error, lines = _error(ran["cascade"])
    assert error.ename == "NameError" and len(lines) == 3, lines
    assert lines[0] == "✗ NameError: name 'mu_never_made' is not defined"
    said = r"  An earlier cell failed \(exercise 1, cell In \[\d+\]\), so what it defines was never made\."
    assert re.fullmatch(said, lines[1]), lines
    assert lines[2].startswith("Hint: fix exercise 1 first")


def test_a_warning_names_the_cell_not_the_kernels_file(ran):
    text = "".join(o.get("text", "") for o in ran["warning"] if o.output_type == "stream")
    said = r"RuntimeWarning \(Cell In\[\d+\], line 4\): divide by zero encountered in divide\n"
    assert re.fullmatch(said, text), text


def test_a_wrong_shape_names_the_case_and_the_hint(ran):
    _, lines = _error(ran["wrong_axis"])
    assert lines[1].strip().startswith("check_fit_visible(X_small, call_student(fit_normalization, X_small)")
    assert lines[2] == "mu has shape (1, 4), expected (2, 1)"
    assert lines[3] == "Hint: averaged over the wrong axis: the examples are the columns, use axis=1"


def test_a_known_wrong_formula_says_which(ran):
    _, lines = _error(ran["ddof1"])
    assert "divided by m - 1" in lines[-1]


def test_an_untouched_exercise_says_what_to_do(ran):
    error, lines = _error(ran["untouched"])
    assert "not written yet" in error.evalue  # the grader's feedback reads evalue
    assert lines[0] == "✗ Exercise 1: fit_normalization is not written yet (test cell, line 4)"
    assert "raise NotImplementedError()" in lines[1]


def test_a_passing_test_cell_says_what_passed_the_points_and_the_hidden_tests(ran):
    outputs = ran["right"]
    assert not [o for o in outputs if o.output_type == "error"]
    block = outputs[-1]
    assert block.output_type == "display_data"
    assert block.data["text/plain"] == feedback.pass_text(1, 4)
    assert block.data["text/plain"].startswith("✓ Exercise 1: visible tests passed.")
    assert "4 points" in block.data["text/plain"] and "hidden tests" in block.data["text/plain"]
    assert "4 points" in block.data["text/html"]


def test_a_plain_assert_in_a_test_cell_is_compact_elsewhere_untouched(ran):
    error, lines = _error(ran["assert_in_test"])
    assert error.ename == "AssertionError"
    assert lines == ["✗ Exercise 2: visible test failed (test cell, line 3)",
                     '    assert x == 2, f"x is {x}, expected 2"', "x is 3, expected 2"]
    _, lines = _error(ran["assert_elsewhere"])
    assert len(lines) > 3 and lines[-1] == "AssertionError: outside a test cell"  # IPython's own traceback


def test_a_crash_outside_a_test_cell_has_no_exercise(ran):
    _, lines = _error(ran["call_cell_crash"])
    assert lines[0] == "✗ fit_normalization crashed"
    assert "shapes (3,5) (3,)" in "\n".join(lines) and lines[-1].startswith("Hint:")


def test_full_tracebacks_for_maintainers(tmp_path):
    setup, test = _notebook_one()
    nb = new_notebook(cells=[new_code_cell(setup), new_code_cell(FIT["wrong_axis"]), new_code_cell(test)])
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env={**os.environ, "HELPERS_FULL_TRACEBACK": "1"})
    _, lines = _error(nb.cells[2].outputs)
    assert len(lines) > feedback.MAX_LINES and "check_fit_visible" in "\n".join(lines)


# ----------------------------------------------------------------------------- without a kernel
def test_check_failure_text_is_unchanged_for_the_grader():
    exc = core.CheckFailure("mu has shape (2,), expected (2, 1)", hint="keepdims=True?")
    assert str(exc) == "mu has shape (2,), expected (2, 1): keepdims=True?"
    assert str(core.CheckFailure("plain")) == "plain"
    again = pickle.loads(pickle.dumps(exc))
    assert str(again) == str(exc) and again.hint == "keepdims=True?"
    with pytest.raises(core.CheckFailure) as info:
        core.expect_array(np.zeros(2), "mu", shape=(2, 1), hints={(2,): "keepdims=True?"})
    assert str(info.value) == "mu has shape (2,), expected (2, 1): keepdims=True?"
    assert info.value.hint == "keepdims=True?"


def _raised(fn) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def test_crash_hints_match_real_numpy_errors():
    X = np.ones((3, 7))
    keepdims = feedback.crash_hint(_raised(lambda: X - X.mean(axis=1)))
    assert "keepdims=True" in keepdims and "(3, 1)" in keepdims
    assert "keepdims=True" in feedback.crash_hint(_raised(lambda: X.mean(axis=1) - X))
    other = feedback.crash_hint(_raised(lambda: X - np.ones((2, 1))))
    assert "(3, 7)" in other and "(2, 1)" in other
    assert "axis=1" in feedback.crash_hint(_raised(lambda: X.mean(axis=2)))
    assert "@" in feedback.crash_hint(_raised(lambda: X @ X))
    assert "return" in feedback.crash_hint(_raised(lambda: len(None)))
    assert feedback.crash_hint(_raised(lambda: 1 / 0)) is None


def test_call_student_keeps_the_students_exception():
    def fit_normalization(X):
        return X - X.mean(axis=1)

    with pytest.raises(core.CheckFailure) as info:
        core.call_student(fit_normalization, np.ones((2, 4)))
    exc = info.value
    assert isinstance(exc.student_error, ValueError) and exc.__cause__ is exc.student_error
    assert exc.function == "fit_normalization" and "keepdims=True" in exc.hint
    assert str(exc).startswith("fit_normalization(...) raised ValueError: operands could not be broadcast")


def test_exercise_points_agree_with_the_notebooks():
    """The points the pass block shows are the test cells' nbgrader points (the graded truth)."""
    for path in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        setup = next(c.source for c in nb.cells if "setup" in c.metadata.get("tags", []))
        topics = set(re.findall(r"helpers\.checks\.(\w+)|from helpers\.checks import (\w+) as", setup))
        topic = ({a or b for a, b in topics} & set(feedback.EXERCISE_POINTS)).pop()
        points: dict[int, int] = {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                n = feedback.test_cell_exercise(cell.source)
                assert n is not None, f"{path.name}: test cell {meta['grade_id']} does not start with 'Exercise N:'"
                points[n] = points.get(n, 0) + meta["points"]
        assert feedback.EXERCISE_POINTS[topic] == points, path.name


def test_the_pass_block_names_the_students_variant():
    assert feedback.pass_text(1, 4).endswith("on inputs you have not seen, when your work is graded.")
    with_variant = feedback.pass_text(1, 4, 123456789)
    assert with_variant.endswith("on inputs you have not seen, drawn for your variant (123456789), when your work "
                                 "is graded.")
    assert with_variant.splitlines()[0] == feedback.pass_text(1, 4).splitlines()[0]
