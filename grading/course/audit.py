"""A file and process guard for the grading kernel, built on Python's audit hooks (PEP 578).

Why: the grading kernel runs as the instructor's user, inside the course tree. Without a
guard, student code could read the instructor's reference implementations, the source
notebooks (with solutions), the gradebook or other students' submissions by path, or run
``cat`` in a subprocess. An audit hook cannot be removed once installed, so after
:func:`install` the kernel:

* cannot open, list or stat-walk a *protected* folder unless the path lies in a more
  specific *allowed* folder (its own working folder, the student edition of ``helpers``,
  the Python installation);
* cannot start processes (``subprocess``, ``os.system``, ``os.exec*``, ``os.posix_spawn``,
  ``os.fork``) — nothing a notebook of this course needs;
* cannot load native libraries or look up symbols with ``ctypes`` (which would bypass the
  open check through libc), nor read raw memory through it.

Import everything the kernel needs (numpy, matplotlib, ipykernel, ctypes) *before*
installing: their start-up legitimately loads libraries.

This raises the bar; it is not an OS sandbox (see grading/README.md, residual risks).
"""

from __future__ import annotations

import os
import sys

__all__ = ["decide", "install"]

_PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.startfile", "pty.spawn",
})
_CTYPES_EVENTS = frozenset({
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
    "ctypes.call_function",
})
_PATH_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "os.chdir": 0, "glob.glob": 0, "shutil.copyfile": 0,
                "os.remove": 0, "os.rename": 0, "os.truncate": 0, "os.symlink": 0, "os.link": 0}


def _norm(path) -> str | None:
    if isinstance(path, int) or path is None:
        return None  # an already-open descriptor: its open was checked
    try:
        return os.path.realpath(os.fsdecode(path))
    except Exception:
        return None


def decide(path: str, protected: list[str], allowed: list[str]) -> bool:
    """True when ``path`` may be used: the most specific folder containing it decides."""
    best_len, verdict = -1, True
    for folders, ok in ((protected, False), (allowed, True)):
        for folder in folders:
            if (path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)) and len(folder) > best_len:
                best_len, verdict = len(folder), ok
    return verdict


def install(protected: list[str], allowed: list[str]) -> None:
    """Install the guard in this process (irreversibly)."""
    protected = [os.path.realpath(p) for p in protected if p]
    allowed = [os.path.realpath(p) for p in allowed if p]
    blocked = PermissionError  # bound now: later rebinding of the builtin cannot reach the hook

    def hook(event: str, args: tuple) -> None:
        if event in _PROCESS_EVENTS:
            raise blocked(f"starting processes is disabled while grading ({event})")
        if event in _CTYPES_EVENTS:
            raise blocked(f"ctypes is disabled while grading ({event})")
        index = _PATH_EVENTS.get(event)
        if index is not None and args:
            path = _norm(args[index])
            if path is not None and not decide(path, protected, allowed):
                raise blocked(f"access to {path} is not allowed while grading")

    sys.addaudithook(hook)
