"""The grading kernel's system-call filter (seccomp BPF, built with libseccomp, loaded by bubblewrap).

Why: the sandbox's namespaces, read-only binds and unprivileged uid decide what the kernel can
reach; this filter removes kernel interfaces a notebook never needs and that widen what a hostile
one can try: nested user namespaces (inside one, an unprivileged process is "root" and can mount),
mounts, ``io_uring`` (a second, unaudited path to most system calls), the kernel keyrings (shared
by every kernel of a grader, which run as one uid), ``bpf``, ``perf_event_open``, debugging other
processes, kernel modules, reboot/kexec, swap, process accounting, ``userfaultfd`` and file
handles. Each is refused with ``EPERM`` (a clean ``OSError`` in the notebook, not a dead kernel);
``clone3`` answers ``ENOSYS``, so glibc falls back to ``clone``, whose flags a filter can see (the
namespace flags are refused there). System calls of another architecture (32-bit ``int 0x80``)
get ``ENOSYS`` too: the filter is written for the machine's own.

The program is built once per grader process (:func:`program`, a few milliseconds) and handed to
every ``bwrap`` on a pipe (:func:`pipe_for_bwrap`, ``--seccomp FD``); bubblewrap loads it as the
last step before it starts the kernel, so the launcher and everything the kernel starts run under it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

#: What is refused, by family (the names the report and the tests use). Names this libseccomp does
#: not know (an older version, another architecture) are skipped: the kernel does not have them either.
DENIED: dict[str, tuple[str, ...]] = {
    "namespaces": ("unshare", "setns"),  # + clone with a namespace flag, clone3 (ENOSYS): see program()
    "mount": ("mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
              "fsmount", "fspick", "mount_setattr"),
    "io_uring": ("io_uring_setup", "io_uring_enter", "io_uring_register"),
    "keyring": ("keyctl", "add_key", "request_key"),
    "bpf": ("bpf",),
    "perf": ("perf_event_open",),
    "other_processes": ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"),
    "modules": ("init_module", "finit_module", "delete_module"),
    "reboot": ("reboot", "kexec_load", "kexec_file_load"),
    "swap": ("swapon", "swapoff"),
    "accounting": ("acct",),
    "userfaultfd": ("userfaultfd",),
    "file_handles": ("open_by_handle_at", "name_to_handle_at"),
    "administration": ("quotactl", "quotactl_fd", "syslog", "fanotify_init", "settimeofday", "clock_settime",
                       "clock_adjtime", "adjtimex"),
}
#: clone flags that make a new namespace (linux/sched.h)
NAMESPACE_FLAGS = {"CLONE_NEWTIME": 0x80, "CLONE_NEWNS": 0x20000, "CLONE_NEWCGROUP": 0x2000000,
                   "CLONE_NEWUTS": 0x4000000, "CLONE_NEWIPC": 0x8000000, "CLONE_NEWUSER": 0x10000000,
                   "CLONE_NEWPID": 0x20000000, "CLONE_NEWNET": 0x40000000}

_ACT_ALLOW = 0x7FFF0000
_FLTATR_ACT_BADARCH = 2
_CMP_MASKED_EQ = 7


def _act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class SeccompUnavailable(RuntimeError):
    """libseccomp is missing or refused to build the filter."""


@functools.lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    try:  # the soname first: find_library runs ldconfig (tens of milliseconds)
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so", use_errno=True)
        except OSError as exc:
            raise SeccompUnavailable(f"libseccomp not found ({exc}): sudo apt-get install libseccomp2") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise SeccompUnavailable(f"libseccomp: {what} failed ({os.strerror(-rc)})")


@functools.lru_cache(maxsize=1)
def program() -> bytes:
    """The filter as classic BPF (``struct sock_filter[]``, 8 bytes each), built once per process."""
    lib = _lib()
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise SeccompUnavailable("libseccomp: seccomp_init failed")
    try:
        _check(lib.seccomp_attr_set(ctx, _FLTATR_ACT_BADARCH, _act_errno(errno.ENOSYS)), "bad-arch action")

        def deny(name: str, code: int = errno.EPERM, *args: _ArgCmp) -> None:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:  # not a system call of this kernel/architecture
                return
            array = (_ArgCmp * len(args))(*args) if args else None
            _check(lib.seccomp_rule_add_array(ctx, _act_errno(code), nr, len(args), array), f"rule for {name}")

        for names in DENIED.values():
            for name in names:
                deny(name)
        deny("clone3", errno.ENOSYS)  # its flags sit in memory a filter cannot read: glibc falls back to clone
        for flag in NAMESPACE_FLAGS.values():  # clone(flags, ...): flags is argument 0 on every Linux ABI
            deny("clone", errno.EPERM, _ArgCmp(0, _CMP_MASKED_EQ, flag, flag))
        fd = os.memfd_create("course-seccomp", os.MFD_CLOEXEC)
        try:
            _check(lib.seccomp_export_bpf(ctx, fd), "export")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
    return b"".join(chunks)


def pipe_for_bwrap() -> int:
    """A descriptor holding :func:`program` for one ``bwrap --seccomp FD`` (bwrap reads it to the end).

    A fresh pipe per kernel: a shared file's offset would be at its end for the second reader.
    The caller passes it to the child (``pass_fds``) and closes it once the child has started.
    """
    data = program()
    read, write = os.pipe()
    try:
        if len(data) > 65536:  # larger than a pipe's buffer: the write would block
            raise SeccompUnavailable(f"seccomp program of {len(data)} bytes does not fit a pipe")
        os.write(write, data)
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return read
