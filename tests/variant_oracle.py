"""Run a source notebook's solutions and hidden tests on many variants (a subprocess script).

``python tests/variant_oracle.py NOTEBOOK VARIANT...``: executes the setup cell and the solution
cells once, then, for every variant, the hidden part of every test cell with ``COURSE_VARIANT``
set. With the reference importable, ``grade_hidden`` judges in the process and raises on a wrong
answer, so a case that a variant draws and the reference solution cannot pass fails here. Prints
one line per (variant, check) and exits 1 at the first failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def _code(cell) -> str:
    return "\n".join(ln for ln in "".join(cell["source"]).splitlines() if not ln.lstrip().startswith(("%", "!")))


def main(path: str, variants: list[int]) -> int:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    os.chdir(Path(path).parent)
    os.environ.pop("COURSE_VARIANTS", None)
    scope: dict = {"__name__": "__notebook__"}
    hidden = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code":
            continue
        if "setup" in tags or "solution" in tags:
            exec(compile(_code(cell), f"<{'/'.join(tags)} cell>", "exec"), scope)
        elif "tests" in tags and "### BEGIN HIDDEN TESTS" in (src := _code(cell)):
            hidden.append(src.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0])
    for variant in variants:
        os.environ["COURSE_VARIANT"] = str(variant)
        for src in hidden:
            start = time.perf_counter()
            exec(compile(src, "<hidden tests>", "exec"), scope)
            print(f"variant {variant}: {src.split(chr(34))[1]} passed in {time.perf_counter() - start:.2f} s",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], [int(v) for v in sys.argv[2:]]))
