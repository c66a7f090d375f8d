"""Every committed notebook output is reproduced under other processors' BLAS kernels and thread counts.

A course runs on students' laptops, Binder, JupyterHub servers and CI runners. numpy's bundled
OpenBLAS picks a matrix-product kernel for each processor family (and splits products between
threads), and numpy itself picks SIMD loops (``np.tanh``, ``np.exp``, ...) for the processor's
features. Each choice may round the last bit of a result differently, and a deep network can
amplify one bit into printed digits. So strict nbval of the four source notebooks runs here again
as if on other processors:

* ``OPENBLAS_CORETYPE`` forces the kernel of another processor family (checked with
  threadpoolctl: OpenBLAS silently keeps its own choice when it does not know a name);
* ``NPY_DISABLE_CPU_FEATURES`` turns off numpy's loops for the features that processor lacks
  (Haswell: no AVX-512; Sandy Bridge: no AVX2 either). numpy's baseline (x86-64-v2 for numpy 2.4)
  cannot be turned off, so the "Prescott" run pairs that old kernel with numpy's baseline loops;
* ``OPENBLAS_NUM_THREADS`` = 1 and 2.

A new cell that prints digits a processor can change fails here, with the diff, and not on a
student's laptop. Run it alone with::

    .venv/bin/python -m pytest tests/test_notebooks_portable.py -n 2 --dist load
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "notebooks" / "nbval_sanitize.cfg")]

# Per architecture: OPENBLAS_CORETYPE -> (the names OpenBLAS may then report, numpy's CPU features
# that processor has). numpy only lets us turn off what it dispatches at run time; feature names of
# both numpy 2.4 (X86_V3, ...) and older releases (AVX2, ...) are listed.
_SSE = {"SSE", "SSE2", "SSE3"}
_NEHALEM = _SSE | {"SSSE3", "SSE41", "POPCNT", "SSE42", "X86_V2"}
_SANDYBRIDGE = _NEHALEM | {"AVX"}
_HASWELL = _SANDYBRIDGE | {"F16C", "FMA3", "AVX2", "X86_V3"}
_SKYLAKEX = _HASWELL | {"AVX512F", "AVX512CD", "AVX512_SKX", "X86_V4"}
KERNELS = {
    "x86_64": {
        "Haswell": ({"Haswell"}, _HASWELL),
        "SkylakeX": ({"SkylakeX"}, _SKYLAKEX),
        "Sandybridge": ({"Sandybridge"}, _SANDYBRIDGE),
        # numpy's OpenBLAS (DYNAMIC_ARCH) aliases the oldest cores to one kernel and names it "Katmai"
        "Prescott": ({"Prescott", "Katmai"}, _SSE),
    },
    # arm64 (Linux wheels; macOS wheels use Apple's Accelerate, not OpenBLAS): the generic ARMv8
    # kernel and Neoverse N1's (both NEON only, so safe on any 64-bit ARM processor)
    "aarch64": {
        "ARMV8": ({"armv8"}, {"NEON", "NEON_FP16", "NEON_VFPV4", "ASIMD"}),
        "NEOVERSEN1": ({"neoversen1"}, {"NEON", "NEON_FP16", "NEON_VFPV4", "ASIMD", "ASIMDHP", "ASIMDDP"}),
    },
}
KERNELS["amd64"] = KERNELS["x86_64"]
KERNELS["arm64"] = KERNELS["aarch64"]
ARCH = platform.machine().lower()
THREADS = (1, 2)

# Run in the environment under test: what numpy and OpenBLAS really chose.
PROBE = """
import json
import numpy as np
from numpy._core import _multiarray_umath as umath
import threadpoolctl
blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({
    "blas": [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in blas],
    "dispatched": sorted(f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)),
    "targets": sorted(umath.__cpu_dispatch__),
}))
"""


def _probe(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"numpy does not start with this environment:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.splitlines()[-1])


def _clean_env() -> dict:
    """This process's environment without what pytest and the suite's own BLAS settings put there."""
    drop = ("PYTEST_", "OPENBLAS_", "GOTOBLAS_", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # nbval colours its report


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _params():
    kernels = KERNELS.get(ARCH)
    if kernels is None:
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"no OpenBLAS kernel set chosen for {ARCH}: add one to KERNELS"))]
    return [pytest.param(k, t, id=f"{k}-{t}thread{'s' if t > 1 else ''}") for k in kernels for t in THREADS]


@pytest.mark.slow
@pytest.mark.parametrize(("coretype", "threads"), _params())
def test_notebook_outputs_do_not_depend_on_the_processor(coretype, threads):
    native = _probe(_clean_env())
    if not native["blas"] or native["blas"][0][0] != "openblas":
        pytest.skip(f"numpy's BLAS here is {native['blas']}, not OpenBLAS: its kernel cannot be forced")
    if threads > _cpus():
        pytest.skip(f"{_cpus()} CPU: OpenBLAS caps its threads at the number of CPUs")
    reported, has = KERNELS[ARCH][coretype]
    # a kernel can only be simulated on a processor that has its instructions: OpenBLAS's SkylakeX
    # kernel on a processor without AVX-512 stops at the first product (SIGILL), it does not slow down
    lacking = sorted(f for f in has if f in native.get("targets", []) and f not in native["dispatched"])
    if lacking:
        pytest.skip(f"this processor lacks {lacking}: the {coretype} kernel cannot run here (illegal "
                    "instruction); run this configuration on a processor that has them")
    disable = [f for f in native["dispatched"] if f not in has]
    env = {**_clean_env(), "OPENBLAS_CORETYPE": coretype, "OPENBLAS_NUM_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads)}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)

    got = _probe(env)
    assert len(got["blas"]) == 1 and (got["blas"][0][1] or "").lower() in {r.lower() for r in reported}, (
        f"OPENBLAS_CORETYPE={coretype} was not applied: OpenBLAS reports {got['blas']}, expected {reported}"
    )
    assert [b[2] for b in got["blas"]] == [threads], f"OPENBLAS_NUM_THREADS={threads}: OpenBLAS reports {got['blas']}"
    expected_features = sorted(f for f in native["dispatched"] if f in has)
    assert got["dispatched"] == expected_features, (
        f"NPY_DISABLE_CPU_FEATURES={disable}: numpy dispatches {got['dispatched']}, expected {expected_features}"
    )

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-vv", "-o", "addopts=",
         *NBVAL, str(ROOT / "notebooks")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, (
        f"strict nbval fails as if on a {coretype} processor with {threads} BLAS thread(s) "
        f"(OPENBLAS_CORETYPE={coretype} OPENBLAS_NUM_THREADS={threads} NPY_DISABLE_CPU_FEATURES="
        f"'{env.get('NPY_DISABLE_CPU_FEATURES', '')}'): print only digits every processor reproduces "
        f"(README, For maintainers)\n{_plain(run.stdout)[-12000:]}\n{_plain(run.stderr)[-2000:]}"
    )
