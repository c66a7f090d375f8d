"""Validate notebooks like ``nbgrader validate``, but exit non-zero when one fails (nbgrader #1908).

Usable alone (it is shipped to students as ``validate.py``; it needs only nbgrader)::

    python validate.py notebooks/01_normalizing_inputs/normalizing_inputs.ipynb [...]

Exit status: 0 when every notebook ran and every test cell passed, 1 when a test cell
failed or a read-only cell was changed, 2 when a file could not be validated at all.
"""

from __future__ import annotations

import argparse
import sys

from traitlets.config import Config


def validate(path: str, *, timeout: int = 120) -> tuple[int, str]:
    """Validate one notebook; returns ``(status, message)`` with the status described above."""
    from nbgrader.validator import Validator

    config = Config()
    config.Execute.timeout = timeout
    config.Execute.kernel_name = "python3"  # the interpreter running this, whatever kernels are installed
    try:
        results = Validator(config=config).validate(path)
    except Exception as exc:
        return 2, f"{path}: could not be validated ({type(exc).__name__}: {exc})"
    problems = []
    for key, label in (("type_changed", "cell type changed"), ("changed", "read-only cell changed"),
                       ("failed", "test failed")):
        for item in results.get(key, []):
            detail = item.get("error") or item.get("source", "")
            problems.append(f"  {label}: {detail.strip().splitlines()[-1] if detail.strip() else ''}")
    if problems:
        return 1, f"{path}: FAILED\n" + "\n".join(problems)
    return 0, f"{path}: passed"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    worst = 0
    for path in args.notebooks:
        status, message = validate(path, timeout=args.timeout)
        print(message)
        worst = max(worst, status)
    return worst


if __name__ == "__main__":
    sys.exit(main())
