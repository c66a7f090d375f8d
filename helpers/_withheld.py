"""Load the reference implementations, or stand-ins when they are withheld.

The reference implementations of what students write live in :mod:`helpers._reference`.
The student edition of the package (made by ``grading`` at release time) ships without
that sub-package; every public module still imports, and calling a withheld function
raises :class:`WithheldError` that says which exercise asks for it.
"""

from __future__ import annotations

import functools
import importlib


class WithheldError(RuntimeError):
    """Raised by a reference function that the student edition does not include."""


def reference_available() -> bool:
    """True when :mod:`helpers._reference` (the instructor edition) is importable."""
    try:
        importlib.import_module("helpers._reference")
    except ModuleNotFoundError:
        return False
    return True


def load(module: str, names: list[str], exercise: str) -> list:
    """Return the named functions of ``helpers._reference.<module>``, or withheld stand-ins.

    Parameters
    ----------
    module : str
        Module inside :mod:`helpers._reference`.
    names : list of str
        Functions to fetch.
    exercise : str
        Where the student writes them (shown in the stand-in's error).
    """
    try:
        mod = importlib.import_module(f"helpers._reference.{module}")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("helpers._reference"):
            raise
        return [_standin(name, exercise) for name in names]
    return [getattr(mod, name) for name in names]


def _standin(name: str, exercise: str):
    def withheld(*args, **kwargs):
        raise WithheldError(
            f"helpers.{name} is not part of the student edition: writing it is {exercise}. "
            f"Use the function you defined in the notebook."
        )

    functools.update_wrapper(withheld, withheld)
    withheld.__name__ = withheld.__qualname__ = name
    withheld.__doc__ = f"Withheld in the student edition ({exercise})."
    return withheld
