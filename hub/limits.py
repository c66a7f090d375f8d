"""Memory and CPU limits per user server on one machine: a control group per server.

JupyterHub's local process spawner ignores ``Spawner.mem_limit`` and ``Spawner.cpu_limit``
(JupyterHub's documentation: "these are not enforced by the local process spawner"), so one
student's runaway kernel could take every classmate's memory. :class:`LimitedSpawner` puts each
user's server, and so every kernel and terminal it starts, into its own group before it drops
to the user's account: the group's memory limit makes the kernel's out-of-memory killer pick a
process *of that group* (the largest: the runaway kernel, not its server nor a classmate's), and
its CPU quota caps the group at ``cpu_limit`` CPUs. ``jupyterhub-systemdspawner`` does the same
through systemd, which a container or a machine without systemd as PID 1 does not have; this
module needs only the cgroup file system (root, as the Hub already is).

Both cgroup versions: **v1** (a ``memory`` and a ``cpu`` hierarchy; Debian 10, many containers)
and **v2** (unified; the Hub's own group must delegate the ``memory`` and ``cpu`` controllers in
``cgroup.subtree_control``, e.g. a systemd unit with ``Delegate=yes``). Where neither works,
:func:`unavailable` says why and the Hub refuses to start with limits on (grading/HUB.md).
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

# the grading sandbox's reading of this process's groups (also in the Hub's <prefix>/lib)
from grading.course.cgroups import ROOT, _own_paths

#: v1 hierarchies a server's group is made in (memory: the limit; cpu: the CFS quota)
V1 = ("memory", "cpu")
#: the CFS period of a v1 or v2 CPU quota (microseconds; the kernel's default)
PERIOD_US = 100_000


def bases() -> tuple[list[Path], str | None]:
    """The folders under which the servers' groups are made, or ``([], why not)``."""
    if os.geteuid() != 0:
        return [], "the Hub is not root"
    own = _own_paths()
    if (ROOT / "cgroup.controllers").exists():  # v2 only
        base = ROOT / own.get("", "/").lstrip("/")
        delegated = set((base / "cgroup.subtree_control").read_text().split()) if base.is_dir() else set()
        if {"memory", "cpu"} <= delegated:
            return [base], None
        return [], (f"cgroup v2 group {base} does not delegate the memory and cpu controllers "
                    "(cgroup.subtree_control); run the Hub as a systemd service with Delegate=yes")
    found = []
    for controller in V1:
        base = ROOT / controller / own.get(controller, "/").lstrip("/")
        if not os.access(base, os.W_OK):
            return [], f"cgroup v1 {controller} hierarchy not writable at {base}"
        found.append(base)
    return found, None


def unavailable() -> str | None:
    """Why per-server limits cannot be enforced here, or None when they can."""
    return bases()[1]


class ServerGroup:
    """One user server's control groups: ``memory`` bytes (no swap) and ``cpus`` CPUs (0: no quota)."""

    def __init__(self, name: str, memory: int | None, cpus: float):
        found, why = bases()
        if why:
            raise RuntimeError(f"per-user limits cannot be enforced: {why}")
        self.dirs = [base / name for base in found]
        for folder in self.dirs:
            folder.mkdir(parents=True, exist_ok=True)
            files = {p.name for p in folder.iterdir()}
            if "memory.max" in files:  # v2: both limits in the one group
                (folder / "memory.max").write_text(str(memory) if memory else "max")
                if "memory.swap.max" in files:
                    (folder / "memory.swap.max").write_text("0")
                (folder / "cpu.max").write_text(f"{int(cpus * PERIOD_US)} {PERIOD_US}" if cpus else "max")
            elif "memory.limit_in_bytes" in files:
                (folder / "memory.limit_in_bytes").write_text(str(memory) if memory else "-1")
                if "memory.memsw.limit_in_bytes" in files and memory:  # memory + swap: no escape into swap
                    (folder / "memory.memsw.limit_in_bytes").write_text(str(memory))
            elif "cpu.cfs_quota_us" in files:
                (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (folder / "cpu.cfs_quota_us").write_text(str(int(cpus * PERIOD_US)) if cpus else "-1")

    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.dirs]

    def pids(self) -> set[int]:
        found = set()
        for name in self.procs_files():
            try:
                found |= {int(p) for p in Path(name).read_text().split()}
            except OSError:
                continue
        return found

    def remove(self) -> None:
        """Kill what is left in the groups (orphaned kernels), then remove them."""
        for _ in range(100):
            left = self.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                for folder in self.dirs:
                    if folder.exists():
                        folder.rmdir()
                return
            except OSError:
                time.sleep(0.05)


def group_name(hub: str, user: str) -> str:
    """A folder name for ``user``'s server of the Hub ``hub`` (two Hubs on one machine never share one)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"course-hub-{hub}") + "/" + re.sub(r"[^A-Za-z0-9_.-]", "_", user)


class LimitedSpawner(LocalProcessSpawner):
    """The local process spawner with ``mem_limit`` and ``cpu_limit`` enforced by a control group."""

    hub_name = Unicode("course", config=True, help="Names this Hub's groups (one folder per Hub)")

    def make_preexec_fn(self, name):
        drop = super().make_preexec_fn(name)
        procs = self._group.procs_files()

        def preexec():
            # still root here: join the groups, then become the user (who cannot leave them)
            for path in procs:
                with open(path, "w") as fh:
                    fh.write(str(os.getpid()))
            drop()

        return preexec

    async def start(self):
        memory = int(self.mem_limit) if self.mem_limit else None
        self._group = ServerGroup(group_name(self.hub_name, self.user.name), memory, float(self.cpu_limit or 0))
        self.log.info("limits: %s's server in %s (memory %s, %s CPU)", self.user.name,
                      ", ".join(map(str, self._group.dirs)), self.mem_limit or "unlimited", self.cpu_limit or "no")
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        group = getattr(self, "_group", None) or ServerGroup(
            group_name(self.hub_name, self.user.name), None, 0)  # a Hub restarted since the start
        group.remove()
