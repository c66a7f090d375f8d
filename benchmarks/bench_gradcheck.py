"""Gradient checking: the reference's full and fast modes vs the public assignment's loop.

Baseline (written here, independently of helpers.gradcheck): flatten to ``theta``, then for
each of the ``n`` entries copy ``theta``, move entry ``i`` by ``+eps`` and ``-eps``, rebuild
the parameter dict and evaluate ``J`` (two full forward passes), and compute the slide's
``difference``. Full and fast modes run on the same networks, data, gradients and ``eps``.

Targets (issue: gradient checking speed): full >= 10x the baseline on the course's small
network (4-5-3-1), >= 1.5x at about 10k parameters (20-64-64-64-1, m = 64); fast >= 100x
at about 10k parameters; verdicts identical and differences agreeing to a few digits.

Timings alternate between the three methods within each repeat, so drifting machine load
hits them alike. Ratios are of medians; ``min / median / max`` are printed.

Usage: ``python benchmarks/bench_gradcheck.py [--repeats 5] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ratio, summary

from helpers.gradcheck import gradient_check, verdict_for
from helpers.initialization import initialize_parameters
from helpers.network import make_cost_fn

EPS = 1e-7


def baseline_check(cost_fn, params: dict, grads: dict, eps: float) -> float:
    """The assignment's way: rebuild the dict and run two forward passes per entry."""
    L = len(params) // 2
    names = [k for l in range(1, L + 1) for k in (f"W{l}", f"b{l}")]
    shapes = [params[k].shape for k in names]
    theta = np.concatenate([params[k].reshape(-1) for k in names])
    dtheta = np.concatenate([grads["d" + k].reshape(-1) for k in names])

    def to_dict(vec):
        out, start = {}, 0
        for k, shape in zip(names, shapes, strict=True):
            size = shape[0] * shape[1]
            out[k] = vec[start : start + size].reshape(shape)
            start += size
        return out

    n = theta.shape[0]
    dtheta_approx = np.zeros(n)
    for i in range(n):
        theta_plus = np.copy(theta)
        theta_plus[i] += eps
        j_plus = cost_fn(to_dict(theta_plus))
        theta_minus = np.copy(theta)
        theta_minus[i] -= eps
        j_minus = cost_fn(to_dict(theta_minus))
        dtheta_approx[i] = (j_plus - j_minus) / (2 * eps)
    return float(np.linalg.norm(dtheta_approx - dtheta) / (np.linalg.norm(dtheta_approx) + np.linalg.norm(dtheta)))


def make_case(dims, m, seed, *, hidden="relu", lambd=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    params = initialize_parameters(dims, "he", seed=seed)
    for l in range(1, len(dims)):
        # nonzero biases so that every block has a gradient worth checking
        params[f"b{l}"] = 0.1 * rng.standard_normal((dims[l], 1))
    cost_fn = make_cost_fn(X, Y, hidden=hidden, lambd=lambd)
    return cost_fn, params, cost_fn.gradients(params)


def peak_bytes(fn) -> int:
    """Peak memory allocated while ``fn`` runs (tracemalloc also traces numpy's buffers)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def planted_bug(grads: dict) -> dict:
    """dW1[0, 0] off by 10% of ||dW1||: a bug every method must report the same way."""
    bad = {k: v.copy() for k, v in grads.items()}
    bad["dW1"][0, 0] += 0.1 * np.linalg.norm(grads["dW1"])
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 10k-parameter network")
    args = parser.parse_args(argv)

    cases = [
        ("course 4-5-3-1, m=3", [4, 5, 3, 1], 3, {}),
        ("4-5-3-1 tanh, L2, m=3", [4, 5, 3, 1], 3, {"hidden": "tanh", "lambd": 0.7}),
        ("10-32-32-1, m=32", [10, 32, 32, 1], 32, {}),
        ("20-64-64-64-1, m=64", [20, 64, 64, 64, 1], 64, {}),
    ]
    if args.quick:
        cases = cases[:-1]
    targets = {"course 4-5-3-1, m=3": (10.0, None), "20-64-64-64-1, m=64": (1.5, 100.0)}
    print(f"gradient check, eps = {EPS:g}; min / median / max; speedup = median baseline / median method")
    print(
        f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} "
        "(on a loaded machine, threaded BLAS calls of the batched path can stall; try =1)"
    )
    all_ok = True
    for name, dims, m, kw in cases:
        cost_fn, params, grads = make_case(dims, m, seed=1, **kw)
        n = sum(v.size for v in params.values())
        runs = {
            "baseline": partial(baseline_check, cost_fn, params, grads, EPS),
            "full": partial(gradient_check, cost_fn, params, grads, EPS),
            "fast": partial(gradient_check, cost_fn, params, grads, EPS, mode="fast", seed=0),
        }
        inner = {}
        for key, fn in runs.items():  # warm-up (imports, BLAS threads, caches), and calls per timing
            fn()
            start = time.perf_counter()
            fn()
            # sub-millisecond checks are timed over a loop of ~20 ms, not one call
            inner[key] = max(1, int(0.02 / max(time.perf_counter() - start, 1e-6)))
        repeats = min(args.repeats, 3) if n > 5000 else args.repeats
        times = {k: [] for k in runs}
        results = {}
        for _ in range(repeats):
            for key, fn in runs.items():
                start = time.perf_counter()
                for _call in range(inner[key]):
                    results[key] = fn()
                times[key].append((time.perf_counter() - start) / inner[key])
        base_diff, full, fast = results["baseline"], results["full"], results["fast"]
        bad = planted_bug(grads)
        bug_base = baseline_check(cost_fn, params, bad, EPS)
        bug_full = gradient_check(cost_fn, params, bad, EPS)
        bug_fast = gradient_check(cost_fn, params, bad, EPS, mode="fast", seed=0)
        peak = peak_bytes(runs["full"])

        s_full, s_fast = ratio(times["baseline"], times["full"]), ratio(times["baseline"], times["fast"])
        want_full, want_fast = targets.get(name, (None, None))
        verdicts_agree = (
            verdict_for(base_diff) == full.verdict == fast.verdict
            and verdict_for(bug_base) == bug_full.verdict == bug_fast.verdict
        )
        # a real bug's difference is a signal, not rounding noise: it must agree to several digits
        bug_digits = -np.log10(abs(bug_full.difference - bug_base) / bug_base)
        ok = (want_full is None or s_full >= want_full) and (want_fast is None or s_fast >= want_fast)
        ok = ok and verdicts_agree and bug_digits >= 4 and bug_full.suspicious_blocks == ["dW1"]
        all_ok &= ok

        print(f"\n{name}: n_params = {n}, repeats = {repeats}, path = {full.path}")
        print(f"  baseline (2n dict rebuilds) {summary(times['baseline'], 'ms')}")
        for key, speed, want in (("full", s_full, want_full), ("fast", s_fast, want_fast)):
            per_run = [b / t for b, t in zip(times["baseline"], times[key], strict=True)]
            print(
                f"  {key:<4} ({'every entry' if key == 'full' else '3 directions/block'}) "
                f"{summary(times[key], 'ms')}   speedup {speed:7.1f}x "
                f"(per repeat min / median / max {min(per_run):.1f} / {statistics.median(per_run):.1f} / "
                f"{max(per_run):.1f})" + (f"  target >= {want:g}x" if want else "")
            )
        print(f"  peak memory of the full check (tracemalloc): {peak / 2**20:.2f} MiB")
        print(
            f"  correct grads: difference baseline {base_diff:.3e}, full {full.difference:.3e}, "
            f"fast {fast.difference:.3e} (rounding noise; verdicts {verdict_for(base_diff)}/{full.verdict}/"
            f"{fast.verdict})"
        )
        print(
            f"  planted bug:   difference baseline {bug_base:.8e}, full {bug_full.difference:.8e} "
            f"({bug_digits:.1f} digits), fast {bug_fast.difference:.3e}; verdicts "
            f"{verdict_for(bug_base)}/{bug_full.verdict}/{bug_fast.verdict}; suspicious "
            f"full {bug_full.suspicious_blocks} fast {bug_fast.suspicious_blocks}  -> {'OK' if ok else 'MISSED'}"
        )
    print(f"\n{'all targets met' if all_ok else 'some target missed'} (noisy on a shared machine; re-run to confirm)")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
