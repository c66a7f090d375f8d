"""The kernel manager nbgrader uses to execute submissions (see ``kernel_launcher.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

LAUNCHER = Path(__file__).with_name("kernel_launcher.py")
#: Set by ``nbgrader_config.py``: the folder holding the student edition ``helpers/``.
STUDENT_HELPERS_ENV = "COURSE_STUDENT_HELPERS"


class SandboxKernelManager(AsyncKernelManager):
    """Launch every kernel through the launcher, whatever kernelspec the notebook names.

    The kernel runs the grader's own interpreter (so it has the course's pinned packages),
    with one BLAS thread: parallel autograding already uses every core.
    """

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        student_helpers = os.environ.get(STUDENT_HELPERS_ENV)
        if not student_helpers or not (Path(student_helpers) / "helpers" / "__init__.py").is_file():
            raise RuntimeError(
                f"{STUDENT_HELPERS_ENV} must name a folder with the student edition of helpers "
                f"(got {student_helpers!r}); run the release step first"
            )
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
        kw["env"] = env
        return [sys.executable, str(LAUNCHER), student_helpers, *rest], kw
