"""A memory and process budget for one whole sandbox (control groups), when the machine allows it.

Why: ``RLIMIT_AS`` bounds one process and ``RLIMIT_NPROC`` the number of processes, so without
a group limit a fork bomb whose every process fills its own address space could still take
``processes x memory`` of the machine. A control group charges the kernel and every process it
starts (and what they write to the sandbox's tmpfs) against one budget.

Only the grader running as root can create groups. Both cgroup versions are handled:

* **v1** (separate ``memory`` and ``pids`` hierarchies): a child of the grader's own group in each;
* **v2** (unified): a child of the grader's own group, when that group delegates the ``memory``
  and ``pids`` controllers (``cgroup.subtree_control``), e.g. a systemd service with
  ``Delegate=yes``.

Elsewhere :func:`available` says why not, and the per-process rlimits are the only bound (the
autograde log says so). The kernel joins its group before ``bwrap`` starts (:func:`wrap`), so
nothing it runs escapes the budget.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """``{controller or '': path}`` of this process's groups (``/proc/self/cgroup``)."""
    out = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def parents() -> tuple[list[Path], str | None]:
    """The folders under which kernel groups are made, or ``([], reason)``."""
    if os.geteuid() != 0:
        return [], "the grader is not root"
    try:
        own = _own_paths()
    except OSError as exc:
        return [], f"/proc/self/cgroup unreadable ({exc})"
    if (ROOT / "cgroup.controllers").exists():  # v2 only
        base = ROOT / own.get("", "/").lstrip("/")
        enabled = (base / "cgroup.subtree_control").read_text().split() if base.exists() else []
        if {"memory", "pids"} <= set(enabled):
            return [base], None
        return [], f"cgroup v2 group {base} does not delegate the memory and pids controllers"
    found = []
    for controller in ("memory", "pids"):
        base = ROOT / controller / own.get(controller, "/").lstrip("/")
        if not os.access(base, os.W_OK):
            return [], f"cgroup v1 {controller} hierarchy not writable at {base}"
        found.append(base)
    return found, None


class KernelGroup:
    """The groups of one kernel: ``memory_mb`` of memory (tmpfs included), ``processes`` tasks."""

    def __init__(self, name: str, memory_mb: int, processes: int):
        bases, self.reason = parents()
        self.dirs: list[Path] = []
        for base in bases:
            folder = base / name
            folder.mkdir()
            self.dirs.append(folder)
            files = {p.name for p in folder.iterdir()}
            if "memory.max" in files:  # v2
                (folder / "memory.max").write_text(str(memory_mb << 20))
                if "memory.swap.max" in files:
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(processes))
            elif "memory.limit_in_bytes" in files:
                (folder / "memory.limit_in_bytes").write_text(str(memory_mb << 20))
            elif "pids.max" in files:
                (folder / "pids.max").write_text(str(processes))

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started by a shell that first moves itself into the groups (fails if it cannot)."""
        if not self.dirs:
            return cmd
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; '
                  'n=$((n-1)); done; exec "$@"')
        return ["/bin/sh", "-c", script, "sh", str(len(self.dirs)), *map(str, self.dirs), *cmd]

    def remove(self) -> None:
        """Remove the groups once their processes are gone (a few tries: the exit is asynchronous)."""
        for folder in self.dirs:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    _kill_all(folder)
                    time.sleep(0.02)
        self.dirs = []


def _kill_all(folder: Path) -> None:
    import signal

    try:
        pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
