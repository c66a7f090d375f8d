"""The operating-system sandbox of a grading kernel (bubblewrap) and the kernel manager nbgrader uses.

Every grading kernel runs under Debian's ``bwrap`` (bubblewrap, the sandbox Flatpak uses):

* **identity and namespaces**: new pid, network, ipc, uts (and cgroup) namespaces; when the
  grader runs as root the kernel runs as a fresh unprivileged uid/gid (``uid_base + grader
  pid``: unique among running graders, owning no file of the machine), with no capabilities
  and ``no_new_privs``; as an ordinary user, a user namespace maps it to ``nobody``. The
  kernel's only way out is its Jupyter connection: unix sockets (zmq ``ipc``) in a private
  folder. With no network there is no TCP at all, so no database or other local service.
* **file system**: an empty root, read-only, with read-only binds of the system (``/usr``,
  ``/etc``), the Python installation and environment, the student edition of ``helpers``,
  the kernel launcher and this submission's folder; writable only ``/tmp`` and ``$HOME``
  (size-limited tmpfs, private to this kernel and gone when it stops), where the launcher
  copies the submission's files. The repository, the course root, the gradebook, other
  students and other processes are not there at all.
* **the one host folder it can write**: the socket folder (``/run/kernel`` inside), a tmpfs of
  ``run_kb`` mounted on the host for this kernel (as root), so whatever the kernel writes there is
  bounded and charged to its control group; once the kernel listens it is *sealed* (root's, mode
  0700: no new file), on every path that runs a cell (``GuardedExecute``).
* **system calls**: a seccomp filter (``seccomp.py``, built once per grader process, loaded by
  bubblewrap) refuses nested namespaces, mounts, ``io_uring``, the keyrings, ``bpf``, ``perf``,
  ``ptrace``, kernel modules, reboot and the like; as an ordinary user ``--disable-userns`` too.
* **limits** (hard rlimits, set by the launcher): memory, processes/threads, file size, open
  files, no core dumps; a control group per kernel (``cgroups.py``, as root) for memory, tasks
  and its own CPU quota (``cpus``), read-only at ``/sys/fs/cgroup`` inside. Time is budgeted per
  cell and per notebook by ``GuardedExecute``.

If ``bwrap`` is missing or cannot create the namespaces, grading stops (``SandboxUnavailable``)
with the install command; ``--no-sandbox`` is the only way around it (``COURSE_NO_SANDBOX=1``).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager

from . import cgroups, seccomp

LAUNCHER = Path(__file__).with_name("kernel_launcher.py")
#: Set by ``nbgrader_config.py``: the folder holding the student edition ``helpers/``.
STUDENT_HELPERS_ENV = "COURSE_STUDENT_HELPERS"
#: ``1``: run kernels without the sandbox (unsafe; trusted tests only).
NO_SANDBOX_ENV = "COURSE_NO_SANDBOX"
#: The grader's variant setting for the submission being executed (``execute._kernel_variant``);
#: the kernel sees it as ``COURSE_VARIANT`` (``helpers.variants``).
KERNEL_VARIANT_ENV = "COURSE_GRADER_VARIANT"
#: Path of the ``bwrap`` executable (default: found on ``PATH``).
BWRAP_ENV = "COURSE_BWRAP"
INSTALL = "sudo apt-get install bubblewrap"
HINT = (f"install it with `{INSTALL}` (Debian/Ubuntu; `dnf install bubblewrap` on Fedora); on macOS or "
        "Windows grade inside a Linux VM, WSL 2 or a container. `--no-sandbox` grades without it, unsafely "
        "(trusted submissions only)")

# where things appear inside the sandbox
INSIDE_HELPERS = "/opt/course/student_helpers"
INSIDE_LAUNCHER = "/opt/course/kernel_launcher.py"
INSIDE_SUBMISSION = "/opt/course/submission"
INSIDE_RUN = "/run/kernel"
INSIDE_MPL_CACHE = "/opt/course/matplotlib"
HOME = "/home/student"
WORKDIR = f"{HOME}/work"


class SandboxUnavailable(RuntimeError):
    """The grading sandbox cannot run on this machine."""


def sandboxed() -> bool:
    return os.environ.get(NO_SANDBOX_ENV, "") not in ("1", "true", "yes")


def _int_env(name: str, default: int, kind=int):
    """A positive number from the environment (``kind``: int, or float for fractions such as CPUs)."""
    text = os.environ.get(name, str(default))
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, not {text!r}") from None
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be positive, not {text}")
    return value


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits (environment variables ``COURSE_KERNEL_*``)."""

    memory_mb: int = 3072  # RLIMIT_AS
    processes: int = 256  # RLIMIT_NPROC, per uid (threads count): one uid per kernel
    open_files: int = 1024  # RLIMIT_NOFILE
    file_mb: int = 64  # RLIMIT_FSIZE
    home_mb: int = 256  # tmpfs: $HOME, holding the copy of the submission
    tmp_mb: int = 64  # tmpfs: /tmp
    shm_mb: int = 16  # tmpfs: /dev/shm (POSIX shared memory, multiprocessing's semaphores)
    run_kb: int = 512  # tmpfs on the host: the socket folder (sockets and kernel.json need a few kB)
    group_mb: int = 0  # control group (all processes + tmpfs); 0: memory + home + tmp + shm + run
    cpus: float = 1.0  # control group: CPU time per wall-clock second (cpu.max / cfs quota)

    @property
    def group_memory_mb(self) -> int:
        return self.group_mb or self.memory_mb + self.home_mb + self.tmp_mb + self.shm_mb + math.ceil(
            self.run_kb / 1024)

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            memory_mb=_int_env("COURSE_KERNEL_MEMORY_MB", cls.memory_mb),
            processes=_int_env("COURSE_KERNEL_PROCESSES", cls.processes),
            open_files=_int_env("COURSE_KERNEL_OPEN_FILES", cls.open_files),
            file_mb=_int_env("COURSE_KERNEL_FILE_MB", cls.file_mb),
            home_mb=_int_env("COURSE_KERNEL_HOME_MB", cls.home_mb),
            tmp_mb=_int_env("COURSE_KERNEL_TMP_MB", cls.tmp_mb),
            shm_mb=_int_env("COURSE_KERNEL_SHM_MB", cls.shm_mb),
            run_kb=_int_env("COURSE_KERNEL_RUN_KB", cls.run_kb),
            cpus=_int_env("COURSE_KERNEL_CPUS", cls.cpus, float),
            group_mb=_int_env("COURSE_KERNEL_GROUP_MB", 1) if "COURSE_KERNEL_GROUP_MB" in os.environ else 0,
        )

    def launcher_args(self) -> list[str]:
        return [f"--memory-mb={self.memory_mb}", f"--processes={self.processes}",
                f"--open-files={self.open_files}", f"--file-mb={self.file_mb}"]


def bwrap_path() -> str:
    """The ``bwrap`` executable, or ``SandboxUnavailable`` naming the package to install."""
    explicit = os.environ.get(BWRAP_ENV)
    found = explicit if explicit and os.access(explicit, os.X_OK) else (None if explicit else shutil.which("bwrap"))
    if not found:
        where = f"{BWRAP_ENV}={explicit!r} is not an executable" if explicit else "`bwrap` is not on PATH"
        raise SandboxUnavailable(f"the grading sandbox needs bubblewrap, and {where}: {HINT}")
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        raise SandboxUnavailable("the grading sandbox needs `setpriv` (util-linux) to drop root: "
                                 "sudo apt-get install util-linux")
    return found


@functools.lru_cache(maxsize=8)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    """Whether this ``bwrap`` knows ``option`` (``--disable-userns`` came with 0.8.0); the filter refuses
    nested namespaces either way."""
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in done.stdout + done.stderr


def kernel_identity() -> tuple[int, int] | None:
    """The kernel's uid/gid when the grader is root (a fresh one per grader process), else None."""
    if os.geteuid() != 0:
        return None
    uid = _int_env("COURSE_KERNEL_UID_BASE", 1_600_000_000) + os.getpid()
    return uid, uid


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _python_dirs() -> list[str]:
    """The Python installation and environment the kernel runs (real paths, deduplicated)."""
    dirs = []
    for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix):
        real = os.path.realpath(p)
        if real.startswith("/usr/") or real == "/usr":
            continue
        if not any(real == d or real.startswith(d + "/") for d in dirs):
            dirs = [d for d in dirs if not d.startswith(real + "/")] + [real]
    exe = os.path.realpath(sys.executable)
    if not exe.startswith("/usr/") and not any(exe.startswith(d + "/") for d in dirs):
        dirs.append(os.path.dirname(exe))
    return dirs


@functools.lru_cache(maxsize=1)
def matplotlib_cache() -> str | None:
    """The grader's matplotlib font list, shared read-only with the kernels (else each rebuilds it, ~1 s)."""
    try:
        import matplotlib
        from matplotlib import font_manager

        path = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    except Exception:  # no matplotlib here: the kernel builds its own
        return None
    return str(path) if path.is_file() else None


def bwrap_command(*, private_dir: Path, submission_dir: Path, student_helpers: Path, limits: Limits,
                  identity: tuple[int, int] | None, figures: str, seccomp_fd: int | None = None,
                  groups: list[tuple[Path, str]] = ()) -> list[str]:
    """The full command that starts the launcher in the sandbox (see the module docstring).

    ``seccomp_fd``: a descriptor holding the filter (``seccomp.pipe_for_bwrap``), passed to the child.
    ``groups``: ``(host folder, inside path)`` of the kernel's control groups, shown read-only.
    """
    cmd = [bwrap_path(), "--die-with-parent", "--new-session",
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--hostname", "grading-kernel"]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    if identity is None:  # not root: a user namespace, nobody inside (and none nested, where bwrap can say so)
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
        cmd += ["--disable-userns"] if _bwrap_supports(cmd[0], "--disable-userns") else []
    for top in ("usr", "etc"):
        cmd += ["--ro-bind", f"/{top}", f"/{top}"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / link
        if host.is_symlink():
            cmd += ["--symlink", os.readlink(host), f"/{link}"]
        elif host.is_dir():
            cmd += ["--ro-bind", str(host), f"/{link}"]
    binds = [(d, d) for d in _python_dirs()]
    binds += [(str(student_helpers), INSIDE_HELPERS), (str(LAUNCHER), INSIDE_LAUNCHER),
              (str(submission_dir), INSIDE_SUBMISSION)]
    fonts = matplotlib_cache()
    if fonts:
        binds.append((fonts, f"{INSIDE_MPL_CACHE}/{Path(fonts).name}"))
    # its own budgets, where libraries that size thread pools (loky, ...) look for them
    binds += [(str(host), inside) for host, inside in groups]
    # scratch space first: a Python environment or course under /tmp (a clone in a temporary
    # folder, CI) is then bound on top of the private /tmp instead of being hidden by it
    cmd += ["--perms", "01777", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
            "--perms", "0755", "--dir", "/home",
            "--perms", "01777", "--size", str(limits.home_mb << 20), "--tmpfs", HOME,
            "--perms", "01777", "--dir", WORKDIR]
    made = {"/", "/usr", "/etc", "/tmp", "/home", HOME}
    for dest in [d for _s, d in binds] + [INSIDE_RUN]:
        for parent in _ancestors(dest):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", parent]
    for src, dest in binds:
        cmd += ["--ro-bind", src, dest]
    cmd += ["--bind", str(private_dir), INSIDE_RUN, "--proc", "/proc", "--dev", "/dev",
            "--perms", "01777", "--size", str(limits.shm_mb << 20), "--tmpfs", "/dev/shm",
            "--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    env = {"HOME": HOME, "USER": "student", "LANG": "C.UTF-8", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
           "JUPYTER_RUNTIME_DIR": "/tmp/jupyter", "PYTHONDONTWRITEBYTECODE": "1",
           "COURSE_KERNEL_FIGURES": figures}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    if os.environ.get(KERNEL_VARIANT_ENV):  # per-student variants: the grader's setting for this submission
        env["COURSE_VARIANT"] = os.environ[KERNEL_VARIANT_ENV]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if identity is not None:  # root: drop to the fresh uid, no capabilities left
        uid, gid = identity
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        cmd += ["--"]
    cmd += [sys.executable, "-I", INSIDE_LAUNCHER, "--sandbox", f"--helpers={INSIDE_HELPERS}",
            f"--copy-from={INSIDE_SUBMISSION}", *limits.launcher_args()]
    if fonts:
        cmd.append(f"--mpl-cache={INSIDE_MPL_CACHE}")
    return cmd


def check() -> str:
    """Start one sandboxed Python (once per process and ``bwrap``); ``SandboxUnavailable`` says why it cannot.

    Returns the uid the kernel runs as (as the sandbox reports it).
    """
    return _probe(bwrap_path(), kernel_identity() is None)


@functools.lru_cache(maxsize=4)
def _probe(_bwrap: str, _as_user: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
        base = Path(tmp)
        for name in ("run", "helpers", "submission"):
            (base / name).mkdir()
        cmd = bwrap_command(private_dir=base / "run", submission_dir=base / "submission",
                            student_helpers=base / "helpers", limits=Limits(), identity=kernel_identity(),
                            figures="none")
        cmd = [*cmd[:cmd.index(sys.executable)], sys.executable, "-I", "-c", "import os; print(os.getuid())"]
        fd = _seccomp_fd()
        cmd[1:1] = ["--seccomp", str(fd)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, pass_fds=(fd,))
        except OSError as exc:
            raise SandboxUnavailable(f"bubblewrap could not be started ({exc}): {HINT}") from None
        finally:
            os.close(fd)
        if done.returncode != 0:
            raise SandboxUnavailable(
                f"bubblewrap is installed but cannot create the sandbox (exit {done.returncode}: "
                f"{done.stderr.strip()[-300:]}). It needs user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
                f"or root; inside a container, run it with --privileged or --security-opt seccomp=unconfined. {HINT}")
        return done.stdout.strip()


def _seccomp_fd() -> int:
    try:
        return seccomp.pipe_for_bwrap()
    except seccomp.SeccompUnavailable as exc:
        raise SandboxUnavailable(f"the grading sandbox's system-call filter cannot be built: {exc}") from None


_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MNT_DETACH = 2, 4, 8, 2


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def private_folder(identity: tuple[int, int] | None, run_kb: int) -> tuple[Path, bool]:
    """The kernel's socket folder on the host, and whether it is a tmpfs of ``run_kb`` (as root).

    Why a tmpfs: the kernel owns the folder until it listens (its sockets are made there), and a
    file made in that window stays writable through a descriptor after the seal. On a tmpfs of
    its own it can never hold more than ``run_kb``, charged to the kernel's control group, and
    nothing of it lands on the grader's disk. As an ordinary user the folder is a plain one: the
    kernel's writes there are the user's own (no seal, no bound; the README says so).
    """
    path = Path(tempfile.mkdtemp(prefix="course-kernel-"))
    if identity is None:
        return path, False
    options = f"size={run_kb}k,nr_inodes=64,mode=0700".encode()
    if _libc().mount(b"course-kernel", str(path).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
                     options) != 0:
        err = ctypes.get_errno()
        path.rmdir()
        raise SandboxUnavailable(f"cannot mount the kernel's socket folder (tmpfs on {path}): {os.strerror(err)}")
    os.chown(path, *identity)
    return path, True


class SandboxKernelManager(AsyncKernelManager):
    """Launch every kernel through the launcher (in the sandbox), whatever kernelspec the notebook names.

    The folder nbgrader executes in (``cwd``: this submission's copy in ``autograded/``) is bound
    read-only; the launcher copies its files into the kernel's private working directory.
    """

    _private: Path | None = None
    _mounted = False
    _seccomp: int | None = None
    _group: cgroups.KernelGroup | None = None
    #: the socket folder is the grader's (see :meth:`seal`); False until then, and without the sandbox
    sealed = False
    _names = itertools.count()

    async def _async_pre_start_kernel(self, **kw):
        student_helpers = os.environ.get(STUDENT_HELPERS_ENV)
        if not student_helpers or not (Path(student_helpers) / "helpers" / "__init__.py").is_file():
            raise RuntimeError(
                f"{STUDENT_HELPERS_ENV} must name a folder with the student edition of helpers "
                f"(got {student_helpers!r}); run the release step first"
            )
        figures = os.environ.get("COURSE_KERNEL_FIGURES", "none").strip().lower()
        if not sandboxed():
            return await self._unsandboxed(student_helpers, figures, **kw)
        # a message larger than this ends the connection (the kernel is then treated as dead)
        # instead of filling the grader's memory
        self.context.setsockopt(zmq.MAXMSGSIZE, _int_env("COURSE_KERNEL_MESSAGE_MB", 64) << 20)
        self.transport = "ipc"
        self.sealed = False
        identity = kernel_identity()
        limits = Limits.from_env()
        self._private, self._mounted = private_folder(identity, limits.run_kb)
        try:
            self.ip = str(self._private / "k")
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            # messages, not SIGINT: the kernel is in another session and pid namespace
            self.kernel_spec.interrupt_mode = "message"
            info = json.loads(Path(self.connection_file).read_text())
            info["ip"] = f"{INSIDE_RUN}/k"
            inside = self._private / "kernel.json"
            inside.write_text(json.dumps(info))
            inside.chmod(0o444)
            submission = Path(kw.get("cwd") or os.getcwd())
            self._group = cgroups.KernelGroup(f"course-kernel-{os.getpid()}-{next(self._names)}",
                                              limits.group_memory_mb, limits.processes, limits.cpus)
            self._seccomp = _seccomp_fd()
            cmd = bwrap_command(private_dir=self._private, submission_dir=submission,
                                student_helpers=Path(student_helpers), limits=limits, identity=identity,
                                figures=figures, seccomp_fd=self._seccomp, groups=self._group.inside())
            cmd = self._group.wrap(cmd)
            kw["pass_fds"] = (self._seccomp,)
        except BaseException:  # nothing half-made is left behind: mount, group, descriptor
            self._remove_private()
            raise
        # the kernel's own stdout/stderr would land, unbounded, in the grader's log: not kept
        # (COURSE_KERNEL_DEBUG=1 keeps them, for an instructor debugging a kernel that will not start)
        if os.environ.get("COURSE_KERNEL_DEBUG") != "1":
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        kw["env"] = {}
        kw.pop("cwd", None)
        return [*cmd, "-f", f"{INSIDE_RUN}/kernel.json"], kw

    async def _unsandboxed(self, student_helpers: str, figures: str, **kw):
        """The old launch (audit-hook guard only): ``--no-sandbox``, trusted submissions."""
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        try:
            rest = cmd[cmd.index("-f"):]
        except ValueError:
            raise RuntimeError(f"unexpected kernel command {cmd!r}: expected an ipykernel with -f") from None
        env = dict(kw.get("env") or os.environ)
        env.pop("PYTHONPATH", None)
        env.pop("COVERAGE_PROCESS_START", None)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        env["MPLBACKEND"] = "Agg"
        env["COURSE_KERNEL_FIGURES"] = figures
        env.pop("COURSE_VARIANT", None)
        env.pop("COURSE_VARIANTS", None)
        if os.environ.get(KERNEL_VARIANT_ENV):
            env["COURSE_VARIANT"] = os.environ[KERNEL_VARIANT_ENV]
        kw["env"] = env
        return [sys.executable, str(LAUNCHER), f"--helpers={student_helpers}", *Limits.from_env().launcher_args(),
                *rest], kw

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:  # the child has its copy (or failed to start): the grader's end is not needed
            if self._seccomp is not None:
                os.close(self._seccomp)
                self._seccomp = None

    def seal(self) -> None:
        """Once the kernel listens: its socket folder becomes the grader's (no more files in it).

        Called by ``GuardedExecute`` before the first cell runs (idempotent). Only as root (an
        ordinary user cannot take the folder back from the kernel's namespace).
        """
        if self._private is not None and os.geteuid() == 0 and not self.sealed:
            os.chown(self._private, 0, 0)
            self._private.chmod(0o700)
            self.sealed = True

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        self._remove_private()

    cleanup_resources = _async_cleanup_resources  # as in AsyncKernelManager: one coroutine, two names

    def _remove_private(self) -> None:
        if self._seccomp is not None:
            os.close(self._seccomp)
            self._seccomp = None
        if self._group is not None:
            self._group.remove()
            self._group = None
        if self._private is not None:
            if self._mounted and _libc().umount2(str(self._private).encode(), _MNT_DETACH) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"cannot unmount the kernel's socket folder {self._private}: {os.strerror(err)}")
            self._mounted = False
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
