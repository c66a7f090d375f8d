"""Reference: which gradient blocks a planted bug makes wrong (the bug hunt's answer key).

Withheld from students: notebook 4's exercise 4 asks for exactly these blocks, found with a
gradient check. The student edition can still plant bugs (:mod:`helpers.planted_bugs`), but
nothing in it maps a bug spec to the blocks it spoils.
"""

from __future__ import annotations

from helpers._validation import check_choice, check_nonnegative_float


def bug_blocks(kind: str, layer: int, n_layers: int) -> set[str]:
    """Gradient blocks the bug ``kind`` makes wrong when planted in ``layer`` of an L-layer net."""
    if kind == "act_deriv":
        # dZ[layer] is wrong, and backprop carries it down to every earlier layer
        return {f"{p}{k}" for k in range(1, layer + 1) for p in ("dW", "db")}
    if kind in ("db_no_m", "l2_on_b"):
        return {f"db{layer}"}
    return {f"dW{layer}"}


def affected_blocks(bugs, n_layers: int, *, hidden: str = "relu", lambd: float = 0.0) -> frozenset[str]:
    """The gradient blocks (``"dW1"``, ``"db2"``, ...) that ``bugs`` make wrong.

    A block counts when its formula is wrong for this network; whether a check sees it at
    particular parameters is another matter (``l2_on_b`` is exact while ``b = 0``).

    Parameters
    ----------
    bugs : list of [str, int]
    n_layers : int
        ``L``.
    hidden : str
        Hidden activation (``dW_uses_Z`` is harmless with ``"linear"``).
    lambd : float
        L2 strength (the L2 bugs are harmless when it is 0).

    Returns
    -------
    frozenset of str
    """
    from helpers.network import ACTIVATIONS
    from helpers.planted_bugs import check_bugs, harmful

    spec = check_bugs(bugs, n_layers)
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    lambd = check_nonnegative_float(lambd, "lambd")
    out: set[str] = set()
    for kind, layer in spec:
        if harmful(kind, hidden=hidden, lambd=lambd):
            out |= bug_blocks(kind, layer, n_layers)
    return frozenset(out)
