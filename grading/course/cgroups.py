"""A memory, process and CPU budget for one whole sandbox (control groups), when the machine allows it.

Why: ``RLIMIT_AS`` bounds one process and ``RLIMIT_NPROC`` the number of processes, so without
a group limit a fork bomb whose every process fills its own address space could still take
``processes x memory`` of the machine. A control group charges the kernel and every process it
starts (and what they write to the sandbox's tmpfs) against one budget. Its CPU quota
(``cpu.max``, v1 ``cpu.cfs_quota_us``) and a weight equal to every other kernel's make a hog of
a few hundred processes share one kernel's CPU time, not the machine's: it slows only itself.

Only the grader running as root can create groups. Both cgroup versions are handled:

* **v1** (separate ``memory``, ``pids`` and ``cpu`` hierarchies): a child of the grader's own group in each;
* **v2** (unified): a child of the grader's own group, when that group delegates the ``memory``
  and ``pids`` (and ``cpu``) controllers (``cgroup.subtree_control``), e.g. a systemd service with
  ``Delegate=yes``.

Elsewhere :func:`parents` (and :func:`cpu_missing` for the CPU) says why not, and the per-process
rlimits are the only bound (the autograde log says so). The kernel joins its groups before
``bwrap`` starts (:meth:`KernelGroup.wrap`), so nothing it runs escapes the budget; the groups are
shown read-only inside the sandbox (:meth:`KernelGroup.inside`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
#: the CFS period (microseconds) of the CPU quota: ``cpus`` x this much CPU time per period
PERIOD_US = 100_000


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
        base = _v1_base(own, controller)
        if not os.access(base, os.W_OK):
            return [], f"cgroup v1 {controller} hierarchy not writable at {base}"
        found.append(base)
    cpu = _v1_base(own, "cpu")
    if os.access(cpu, os.W_OK) and (cpu / "cpu.cfs_quota_us").exists():
        found.append(cpu)
    return found, None


def _v1_base(own: dict[str, str], controller: str) -> Path:
    return ROOT / controller / own.get(controller, "/").lstrip("/")


def cpu_missing() -> str | None:
    """Why kernels get no CPU quota of their own (None: they do)."""
    bases, why = parents()
    if why:
        return why
    if (ROOT / "cgroup.controllers").exists():
        if "cpu" not in (bases[0] / "cgroup.subtree_control").read_text().split():
            return f"cgroup v2 group {bases[0]} does not delegate the cpu controller"
        return None
    if not any((b / "cpu.cfs_quota_us").exists() for b in bases):
        return f"cgroup v1 cpu hierarchy not writable at {_v1_base(_own_paths(), 'cpu')}"
    return None


class KernelGroup:
    """The groups of one kernel: ``memory_mb`` of memory (tmpfs included), ``processes`` tasks,
    ``cpus`` CPUs' worth of time (a quota; the weight is the default, the same for every kernel)."""

    def __init__(self, name: str, memory_mb: int, processes: int, cpus: float = 1.0):
        quota = max(1000, round(cpus * PERIOD_US))  # the kernel refuses quotas under 1 ms
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
                if "cpu.max" in files:
                    (folder / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            elif "memory.limit_in_bytes" in files:
                (folder / "memory.limit_in_bytes").write_text(str(memory_mb << 20))
            elif "pids.max" in files:
                (folder / "pids.max").write_text(str(processes))
            elif "cpu.cfs_quota_us" in files:
                (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (folder / "cpu.cfs_quota_us").write_text(str(quota))

    def inside(self) -> list[tuple[Path, str]]:
        """``(group folder, where the sandbox shows it)``: the standard places, read-only."""
        if (ROOT / "cgroup.controllers").exists():
            return [(d, str(ROOT)) for d in self.dirs]
        return [(d, str(ROOT / d.relative_to(ROOT).parts[0])) for d in self.dirs]

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
