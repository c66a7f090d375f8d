"""Make the file you hand in: ``python handin.py YOUR_STUDENT_ID`` writes ``YOUR_STUDENT_ID.zip``.

Shipped to students in their bundle, next to ``notebooks/``. The zip holds every notebook
of ``notebooks/`` (``.ipynb`` files only, their names unchanged, in one folder per
assignment; with per-student variants, each folder's ``variant-token.json`` too), which is
what the instructor's ``collect`` step reads: one zip per student, named by the student id.
Save your notebooks in JupyterLab first.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

#: The student ids ``collect`` accepts (tests/test_student_bundle.py checks it against collect).
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HERE = Path(__file__).resolve().parent
TOKEN_FILE = "variant-token.json"


def notebooks(folder: Path) -> list[Path]:
    """The notebooks under ``folder/notebooks/`` (checkpoints left out)."""
    return sorted(p for p in (folder / "notebooks").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def make_zip(folder: Path, student_id: str, out: Path) -> tuple[Path, list[Path], list[Path]]:
    """Write ``out/<student_id>.zip`` with the notebooks of ``folder``; returns it, its notebooks and
    its variant tokens."""
    found = notebooks(folder)
    tokens = [t for t in sorted({nb.parent / TOKEN_FILE for nb in found}) if t.is_file()]
    target = out / f"{student_id}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for nb in found:
            zf.write(nb, f"{student_id}/{nb.parent.name}/{nb.name}")
        for token in tokens:  # per-student variants: the variant this hand-in was made on
            zf.write(token, f"{student_id}/{token.parent.name}/{TOKEN_FILE}")
    return target, found, tokens


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("student_id", help="the id your instructor gave you (letters, digits, _ . -)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write the zip in (default: this folder)")
    args = parser.parse_args(argv)
    sid = args.student_id.strip()
    if not STUDENT_ID.match(sid):
        print(f"{sid!r} is not a valid student id: letters, digits, _ . - only, no spaces, at most 64 characters")
        return 2
    if not notebooks(HERE):
        print(f"no notebooks found in {HERE / 'notebooks'}: keep handin.py in your course folder")
        return 2
    target, found, tokens = make_zip(HERE, sid, args.out)
    with_tokens = f" and {len(tokens)} variant token{'s' if len(tokens) != 1 else ''}" if tokens else ""
    print(f"wrote {target} with {len(found)} notebook{'s' if len(found) != 1 else ''}{with_tokens} "
          f"({len(found) + len(tokens)} files):")
    for path in [*found, *tokens]:
        print(f"  {path.relative_to(HERE).as_posix()}")
    print("Hand in this one file, as your instructor tells you.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
