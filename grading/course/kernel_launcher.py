"""Start an IPython kernel for grading: resource limits, student edition of ``helpers``.

Run as a plain script (``python kernel_launcher.py <student_helpers_dir> -f <connection file>``)
by :class:`grading.course.sandbox.SandboxKernelManager`. It imports nothing from the course so
that the student's kernel never has the instructor's packages on its path.

Why each step:

* ``RLIMIT_AS`` turns a memory-exhausting cell into a ``MemoryError`` (or, at worst, a dead
  kernel) instead of the machine swapping; ``RLIMIT_FSIZE`` stops a cell from filling the
  disk; ``RLIMIT_CORE`` = 0 avoids core dumps of crashed kernels.
* The editable install of the course (``__editable__`` finder) maps ``helpers._reference`` to
  the instructor's source tree; dropping it and putting the student edition first on
  ``sys.path`` means ``import helpers._reference`` fails exactly as on a student's machine.
* Figures are not graded, and rendering them to PNG (``%matplotlib inline``'s default; the
  notebooks' ``apply_style()`` already drops its second, measuring draw) is still a large
  share of a notebook's run time. With ``COURSE_KERNEL_FIGURES=none`` (the default) the inline backend registers
  no image format: a figure's output is its text repr (``<Figure size 1000x380 with 3
  Axes>``), so the feedback shows no images. ``png`` restores nbgrader's usual rendering.
* ``audit.install`` (an audit hook, irremovable): the kernel cannot read the instructor's
  files by path (repository, course root, sources, other students), start processes or use
  ctypes. What the kernel itself loads at start-up is imported first, since that opens
  files in the Python installation and loads native libraries.
"""

import os
import sys


def _limit(name, value):
    import resource

    which = getattr(resource, name, None)
    if which is None or value <= 0:
        return
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard))


def main():
    student_helpers = sys.argv[1]
    del sys.argv[1]
    mib = 1024 * 1024
    _limit("RLIMIT_AS", int(os.environ.get("COURSE_KERNEL_MEMORY_MB", "3072")) * mib)
    _limit("RLIMIT_FSIZE", int(os.environ.get("COURSE_KERNEL_FILE_MB", "64")) * mib)
    _limit("RLIMIT_CORE", 0)
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p and p != os.path.dirname(__file__)]
    sys.path.insert(0, student_helpers)
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
        del sys.modules[name]
    from ipykernel import kernelapp
    from traitlets.config import Config

    config = Config()
    figures = os.environ.get("COURSE_KERNEL_FIGURES", "none").strip().lower()
    if figures == "none":
        config.InlineBackend.figure_formats = set()
    elif figures != "png":
        raise SystemExit(f"COURSE_KERNEL_FIGURES must be 'none' or 'png', not {figures!r}")
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
