"""Start an IPython kernel for grading: hard resource limits, the student edition of ``helpers``.

Run as a plain script by :class:`grading.course.sandbox.SandboxKernelManager`, normally inside
the bubblewrap sandbox (``--sandbox``), where it is the first thing that runs as the kernel's
unprivileged user::

    python -I kernel_launcher.py --sandbox --helpers=DIR --copy-from=DIR [--memory-mb=N ...] -f CONNECTION

It imports nothing from the course, so the kernel never has the instructor's packages on its path.

Why each step:

* **Hard** rlimits (soft = hard, which an unprivileged process cannot raise again):
  ``RLIMIT_AS`` turns a memory-exhausting cell into a ``MemoryError`` (or a dead kernel)
  instead of the machine swapping; ``RLIMIT_NPROC`` (per uid; the sandbox gives each kernel
  its own uid) stops fork and thread bombs; ``RLIMIT_FSIZE`` and ``RLIMIT_NOFILE`` bound files;
  ``RLIMIT_CORE`` = 0 avoids core dumps.
* ``--mpl-cache``: matplotlib's font list, copied from the grader's (read-only) into the
  private config folder, so that the first ``import matplotlib.pyplot`` does not rescan fonts.
* ``--copy-from``: the submission's folder is mounted read-only; its files (data, modules the
  notebook imports) are copied into the private, size-limited working directory.
* The editable install of the course (``__editable__`` finder) maps ``helpers`` to the
  instructor's source tree (invisible in the sandbox anyway); dropping it and putting the
  student edition first on ``sys.path`` makes ``import helpers`` the student's edition and
  ``import helpers._reference`` fail exactly as on a student's machine.
* Figures are not graded: with ``COURSE_KERNEL_FIGURES=none`` (the default) the inline backend
  registers no image format, so a figure's output is its text repr; ``png`` renders them.
* Without the sandbox only (``--no-sandbox``, trusted submissions), the audit-hook guard of
  ``audit.py`` is the one layer left between the kernel and the instructor's files.
"""

import os
import shutil
import sys


def _hard_limit(name, value):
    import resource

    which = getattr(resource, name, None)
    if which is None or value < 0:
        return
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _options(argv):
    opts, rest = {}, []
    for i, arg in enumerate(argv):
        if arg == "-f":
            rest = argv[i:]
            break
        key, _, value = arg.lstrip("-").partition("=")
        opts[key] = value or True
    return opts, rest


def _copy_submission(src: str) -> None:
    """The submission's files into the working directory (the notebooks themselves are not needed)."""
    for entry in os.scandir(src):
        if entry.name.endswith(".ipynb"):
            continue
        target = os.path.join(os.getcwd(), entry.name)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target, symlinks=True)
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, target)
        except OSError as exc:  # e.g. over the working directory's size: the kernel still starts
            print(f"[grader] could not copy {entry.name}: {exc}", file=sys.stderr)


def main():
    opts, rest = _options(sys.argv[1:])
    student_helpers = opts["helpers"]
    mib = 1024 * 1024
    if opts.get("copy-from"):
        _copy_submission(opts["copy-from"])
    if opts.get("mpl-cache") and os.environ.get("MPLCONFIGDIR"):
        # the grader's font list: without it matplotlib rescans every font at its first import
        os.makedirs(os.environ["MPLCONFIGDIR"], exist_ok=True)
        for entry in os.scandir(opts["mpl-cache"]):
            shutil.copyfile(entry.path, os.path.join(os.environ["MPLCONFIGDIR"], entry.name))
    _hard_limit("RLIMIT_AS", int(opts.get("memory-mb", 3072)) * mib)
    _hard_limit("RLIMIT_FSIZE", int(opts.get("file-mb", 64)) * mib)
    _hard_limit("RLIMIT_NOFILE", int(opts.get("open-files", 1024)))
    if opts.get("sandbox"):  # per uid: only meaningful with the sandbox's own uid
        _hard_limit("RLIMIT_NPROC", int(opts.get("processes", 256)))
    _hard_limit("RLIMIT_CORE", 0)
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p and p != os.path.dirname(__file__)]
    sys.path.insert(0, student_helpers)
    sys.path.insert(0, os.getcwd())  # modules shipped with the assignment, as in a normal kernel
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
        del sys.modules[name]
    sys.argv = [sys.argv[0], *rest]
    from ipykernel import kernelapp
    from traitlets.config import Config

    config = Config()
    figures = os.environ.get("COURSE_KERNEL_FIGURES", "none").strip().lower()
    if figures == "none":
        config.InlineBackend.figure_formats = set()
    elif figures != "png":
        raise SystemExit(f"COURSE_KERNEL_FIGURES must be 'none' or 'png', not {figures!r}")
    if not opts.get("sandbox"):
        _guard(student_helpers)
    kernelapp.launch_new_instance(config=config)


def _guard(student_helpers: str) -> None:
    # what the kernel and the notebooks load at start-up, imported before the guard goes up
    import ctypes  # noqa: F401

    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import audit

    del sys.path[0]
    protected = [p for p in os.environ.get("COURSE_PROTECTED_DIRS", "").split(os.pathsep) if p]
    allowed = [os.getcwd(), student_helpers, sys.prefix, sys.base_prefix, sys.exec_prefix]
    allowed += [p for p in os.environ.get("COURSE_ALLOWED_DIRS", "").split(os.pathsep) if p]
    audit.install(protected, allowed)


if __name__ == "__main__":
    main()
