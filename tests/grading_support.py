"""Test support for the grading pipeline: a toy assignment and hostile submissions.

Hostile submissions are derived from an assignment's *source* and *release* notebooks, so
they follow the real notebooks as those change. Each builder returns the notebook a
student would hand in (an nbformat node) and the score it must get.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import nbgrader_meta  # noqa: E402

# ----------------------------------------------------------------------------- toy course
TOY_CHECK = '''"""A graded check for the toy assignment (registered in the kernel and in the grader)."""
import numpy as np

from helpers.checks import core

core.register(core.Check(
    name="toy.square",
    make_inputs=lambda case: {"x": np.random.default_rng(case["seed"]).normal(size=(case["n"], 1))},
    run=lambda sol, inputs: sol[0](inputs["x"]),
    encode=lambda out: core.encode_array(out, name="the result", shape=(None, 1)),
    expected=lambda inputs: inputs["x"] ** 2,
    compare=lambda ans, exp, inputs: core.compare_arrays(ans, exp, name="the result"),
    decode=core.decode_array,
    vary={"n": (2, 6)},  # what a per-student variant may change (besides the seed)
))
'''


def set_environ(values: dict):
    """Set environment variables for a module-scoped fixture (``None`` unsets one).

    Returns the function that puts the previous values back (pytest's ``monkeypatch`` is
    function-scoped).
    """
    saved = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v

    def restore() -> None:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    return restore


def register_toy_check() -> None:
    """Register ``toy.square`` in this process, as the module ``toycheck``.

    Under that name the grader's ``VerifyHiddenTests`` (which loads ``toycheck.py`` of a toy
    course unless ``toycheck`` is already imported) does not register the check a second time
    when a test grades in-process after another test registered it.
    """
    import importlib.util
    import types

    from helpers.checks import core

    if "toycheck" in sys.modules or "toy.square" in core._REGISTRY:
        return
    module = types.ModuleType("toycheck")
    module.__spec__ = importlib.util.spec_from_loader("toycheck", loader=None)
    exec(compile(TOY_CHECK, "toycheck.py", "exec"), module.__dict__)
    sys.modules["toycheck"] = module


def _toy_cells(fn: str, check: str, points: int, k: int):
    return [
        new_markdown_cell(f"## Exercise {k}: square it (k={k}) ({points} points)"),
        new_code_cell(f"def {fn}(x):\n    \"\"\"x squared.\"\"\"\n    ### BEGIN SOLUTION\n    return x ** 2\n"
                      "    ### END SOLUTION\n", metadata={"tags": ["solution"]}),
        new_code_cell(f"print({fn}(np.array([[2.0]])))"),
        new_code_cell(
            f'"""Exercise {k}: squares (visible), then unseen inputs (hidden)."""\n'
            f"got = expect_array(call_student({fn}, np.array([[3.0], [-1.0]])), 'the result', shape=(2, 1))\n"
            "assert np.array_equal(got, np.array([[9.0], [1.0]])), f'expected [[9], [1]], got {got.ravel()}'\n"
            "### BEGIN HIDDEN TESTS\n"
            f'grade_hidden("{check}", {fn}, cases=[{{"seed": {10 + k}, "n": 4}}, {{"seed": {20 + k}, "n": 3}}])\n'
            "### END HIDDEN TESTS\n",
            metadata={"tags": ["tests"]}),
    ]


def make_toy_source(source: Path, name: str = "00_toy") -> Path:
    """A two-exercise assignment following the course conventions, with its own check module."""
    folder = source / name
    folder.mkdir(parents=True)
    (folder / "toycheck.py").write_text(TOY_CHECK)
    nb = new_notebook(cells=[
        new_markdown_cell("# Toy"),
        new_code_cell("import numpy as np\nimport toycheck  # registers toy.square\n"
                      "from helpers.checks import call_student, expect_array, grade_hidden",
                      metadata={"tags": ["setup"]}),
        *_toy_cells("square", "toy.square", 3, 1),
        *_toy_cells("square_again", "toy.square", 2, 2),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "toy.ipynb"
    nbformat.write(nb, path)
    nbgrader_meta.apply(path, check=False)
    return path


# ----------------------------------------------------------------------------- notebook anatomy
def gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def exercise_of(grade_id: str | None) -> int | None:
    m = re.match(r"ex(\d+)-", grade_id or "")
    return int(m.group(1)) if m else None


def points_by_exercise(release) -> dict[int, float]:
    out: dict[int, float] = {}
    for cell in release.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            ex = exercise_of(meta["grade_id"])
            out[ex] = out.get(ex, 0.0) + float(meta["points"])
    return out


def solutions(source) -> dict[str, str]:
    """Solution cell sources of the source notebook, markers removed, by grade_id."""
    out = {}
    for cell in source.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in ("### BEGIN SOLUTION",
                                                                                 "### END SOLUTION")]
            out[gid(cell)] = "\n".join(lines) + "\n"
    return out


def functions(code: str) -> list[tuple[str, str]]:
    """``(name, signature args source)`` of top-level functions of a solution cell."""
    tree = ast.parse(code)
    return [(n.name, ast.unparse(n.args)) for n in tree.body if isinstance(n, ast.FunctionDef)]


def with_solutions(release, source, replace=None):
    """The release with every solution cell answered: the source's code, or ``replace(grade_id, code)``."""
    nb = copy.deepcopy(release)
    sols = solutions(source)
    for cell in nb.cells:
        g = gid(cell)
        if g in sols:
            cell.source = replace(g, sols[g]) if replace else sols[g]
    return nb


def stub(code: str, body: str, prelude: str = "") -> str:
    """Every function of ``code`` with the same signature and ``body``."""
    parts = [prelude] if prelude else []
    for name, args in functions(code):
        parts.append(f"def {name}({args}):\n" + "".join(f"    {ln}\n" for ln in body.format(name=name).splitlines()))
    return "\n".join(parts)


# ----------------------------------------------------------------------------- hostile submissions
RIGGED = '''
class _Rigged(float):
    """Claims to equal, and be close to, everything."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __abs__(self): return 0.0
    def __sub__(self, other): return self
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __sub__
    def __float__(self): return 0.0
    def __hash__(self): return 0
    def __len__(self): return 1
    def __getitem__(self, i): return self
    def __iter__(self): return iter([self, self])
    def __array__(self, dtype=None, copy=None):
        raise TypeError("I am everything")

class _RiggedArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __abs__(self): return np.zeros(self.shape)
    def __array_finalize__(self, obj): pass
'''

PATCHES = '''import builtins, math
import numpy as np
import numpy.testing
import helpers, helpers.checks, helpers.checks.core as _core
_yes = lambda *a, **k: True
_none = lambda *a, **k: None
np.allclose = np.array_equal = _yes
np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(np.asarray(a, float), np.asarray(b, float)).shape, bool)
for _n in dir(np.testing):
    if _n.startswith("assert"):
        setattr(np.testing, _n, _none)
math.isclose = _yes
builtins.all = builtins.any = _yes
builtins.isinstance = _yes
_core.verify_payload = lambda *a, **k: _core.CellVerdict(True, "patched", 1, 1)
_core.compare_arrays = _none
_core.expect_array = lambda value, *a, **k: np.asarray(value, dtype=float)
_core.call_student = lambda f, *a, name=None, **k: f(*a, **k)
helpers.checks.call_student, helpers.checks.expect_array = _core.call_student, _core.expect_array
'''

WRONG = "import numpy as np\nfor _a in list(locals().values()):\n    pass\nreturn np.zeros((2, 1))"


def reference_modules() -> list[str]:
    return sorted(f"helpers._reference.{p.stem}" for p in (REPO / "helpers" / "_reference").glob("*.py")
                  if p.stem != "__init__")


def hostile_notebooks(release, source, *, kernel_classes: bool = True):
    """``{case: (notebook, expected score, expected text in the report or None)}``.

    Covers every class of the hardening list that a notebook can carry.
    """
    pts = points_by_exercise(release)
    total = sum(pts.values())
    last = max(pts)
    sols = solutions(source)
    correct = with_solutions(release, source)
    wrong = lambda g, code: stub(code, WRONG)  # noqa: E731
    cases = {}
    cases["correct"] = (correct, total, None)
    cases["untouched"] = (copy.deepcopy(release), 0.0, None)
    cases["rigged_eq"] = (with_solutions(release, source, lambda g, c: stub(c, "return _Rigged()", RIGGED)),
                          0.0, None)
    cases["rigged_array"] = (with_solutions(release, source, lambda g, c: stub(
        c, "return np.zeros((2, 1)).view(_RiggedArray)", RIGGED)), 0.0, None)
    patched = with_solutions(release, source, wrong)
    patched.cells.insert(_after_setup(patched), new_code_cell(PATCHES))
    cases["patched_library"] = (patched, 0.0, None)
    mods = reference_modules() + ["helpers"] + [f"helpers.{p.stem}" for p in (REPO / "helpers").glob("*.py")]
    body = ("import importlib\nfor _m in " + repr(mods) + ":\n    try:\n        _mod = importlib.import_module(_m)\n"
            "    except Exception:\n        continue\n    if hasattr(_mod, '{name}'):\n"
            "        return getattr(_mod, '{name}')(*_a, **_k)\nraise RuntimeError('no reference found')")
    cases["import_reference"] = (with_solutions(release, source, lambda g, c: "\n".join(
        f"def {n}(*_a, **_k):\n" + "".join(f"    {ln}\n" for ln in body.format(name=n).splitlines())
        for n, _ in functions(c))), 0.0, None)
    # the reference read straight from the instructor's files: found next to the Python
    # installation or above the working folder, loaded by path (blocked by the kernel's guard)
    by_path = ("import glob, importlib.util, os, sys\n_seen = []\n"
               "for _base in [os.getcwd(), sys.prefix, *sys.path]:\n"
               "    for _up in range(7):\n"
               "        _base = os.path.dirname(_base)\n"
               "        try:\n"
               "            _seen += glob.glob(os.path.join(_base, 'helpers', '_reference', '*.py'))\n"
               "        except Exception:\n"
               "            pass\n"
               "for _path in _seen:\n"
               "    try:\n"
               "        _spec = importlib.util.spec_from_file_location('_ref', _path)\n"
               "        _mod = importlib.util.module_from_spec(_spec)\n"
               "        _spec.loader.exec_module(_mod)\n"
               "    except Exception:\n"
               "        continue\n"
               "    if hasattr(_mod, '{name}'):\n"
               "        return getattr(_mod, '{name}')(*_a, **_k)\n"
               "raise RuntimeError('no reference file found')")
    cases["reference_by_path"] = (with_solutions(release, source, lambda g, c: "\n".join(
        f"def {n}(*_a, **_k):\n" + "".join(f"    {ln}\n" for ln in by_path.format(name=n).splitlines())
        for n, _ in functions(c))), 0.0, None)
    # ... or computed by a child interpreter, which has the instructor's full helpers
    child = ("import importlib, pickle, sys\n_a, _k = pickle.loads(sys.stdin.buffer.read())\n"
             "for _m in " + repr(mods) + ":\n    try:\n        _mod = importlib.import_module(_m)\n"
             "    except Exception:\n        continue\n    if hasattr(_mod, '{name}'):\n"
             "        sys.stdout.buffer.write(pickle.dumps(getattr(_mod, '{name}')(*_a, **_k)))\n        break\n")
    shell = ("import pickle, subprocess, sys\n_out = subprocess.run([sys.executable, '-c', {child!r}], "
             "input=pickle.dumps((_a, _k)), capture_output=True, check=True)\nreturn pickle.loads(_out.stdout)")
    cases["child_process"] = (with_solutions(release, source, lambda g, c: "\n".join(
        f"def {n}(*_a, **_k):\n" + "".join(
            f"    {ln}\n" for ln in shell.format(child=child.format(name=n)).splitlines())
        for n, _ in functions(c))), 0.0, None)
    memo = ("{code}\n_first = {{}}\n" + "{wraps}")
    cases["copied_visible"] = (with_solutions(release, source, lambda g, c: memo.format(code=c, wraps="".join(
        f"_real_{n} = {n}\ndef {n}(*a, **k):\n    if '{n}' not in _first:\n        _first['{n}'] = _real_{n}(*a, **k)\n"
        f"    return _first['{n}']\n" for n, _ in functions(c)))), 0.0, None)
    edited = with_solutions(release, source, wrong)
    for cell in edited.cells:
        if _is_test(cell):
            cell.source = '"""edited"""\nprint("all good")\n'
    cases["edited_tests"] = (edited, 0.0, None)
    deleted = with_solutions(release, source)
    deleted.cells = [c for c in deleted.cells if not _is_test(c)]
    cases["deleted_tests"] = (deleted, total, "was missing from the submission")
    meta = with_solutions(release, source)
    for cell in meta.cells:
        if _is_test(cell):
            cell.metadata.nbgrader.update(points=100, locked=False, solution=True, grade=False)
    meta.cells.append(new_code_cell("print('bonus')", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "locked": False, "points": 50, "schema_version": 3,
        "solution": False, "task": False}}))
    cases["edited_metadata"] = (meta, total, "nbgrader metadata was edited")
    moved = with_solutions(release, source)
    tests = [c for c in moved.cells if _is_test(c)]
    rest = [c for c in moved.cells if not _is_test(c)]
    at = _after_setup(nbformat.v4.new_notebook(cells=rest))
    moved.cells = rest[:at] + tests + rest[at:]
    cases["moved_cells"] = (moved, 0.0, None)
    if kernel_classes:
        last_sol = [g for g in sols if exercise_of(g) == last]
        spin = "import time\nwhile True:\n    time.sleep(0.01)\n"
        cases["infinite_loop"] = (with_solutions(release, source, lambda g, c: _prepend_body(c, spin)
                                                 if g in last_sol else c), total - pts[last], "CellTimeoutError")
        cases["kernel_exit"] = (with_solutions(release, source, lambda g, c: c + "\nimport os\nos._exit(3)\n"
                                               if g in last_sol else c), total - pts[last], "KernelDied")
        cases["sys_exit"] = (with_solutions(release, source, lambda g, c: _prepend_body(
            c, "import sys\nsys.exit(1)\n") if g in last_sol else c), total - pts[last], None)
        cases["memory_hog"] = (with_solutions(release, source, lambda g, c: _prepend_body(
            c, "_hog = bytearray(64 * 1024 ** 3)\n") if g in last_sol else c), total - pts[last], "MemoryError")
        cases["output_flood"] = (with_solutions(release, source, lambda g, c: c + "\nprint('x' * 5_000_000)\n"
                                                + "for _i in range(20000):\n    print(_i, 'spam' * 20)\n"),
                                 total, None)
    return cases


def _prepend_body(code: str, stmts: str) -> str:
    """Insert ``stmts`` at the start of every function body of ``code``."""
    tree = ast.parse(code)
    lines = code.splitlines()
    for node in sorted((n for n in tree.body if isinstance(n, ast.FunctionDef)), key=lambda n: -n.lineno):
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
            first = node.body[1] if len(node.body) > 1 else first
        indent = " " * first.col_offset
        lines[first.lineno - 1:first.lineno - 1] = [indent + ln for ln in stmts.splitlines()]
    return "\n".join(lines) + "\n"


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _after_setup(nb) -> int:
    return 1 + next(i for i, c in enumerate(nb.cells) if gid(c) == "setup")
