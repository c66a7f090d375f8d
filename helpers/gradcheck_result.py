"""What a gradient check returns: the parameter layout, the verdict thresholds and the result.

This module is *not* withheld: the student edition needs :class:`ParamLayout` and
:class:`GradCheckResult` to read results, while the algorithms that produce them
(flattening and the check itself) live in :mod:`helpers._reference.gradcheck`.

Verdict thresholds (slide "Gradient checking", ``eps = 1e-7``: about 1e-7 great, 1e-5
look closer, 1e-3 worry), as cut-offs on ``difference``:

=====================  ==============
``difference < 1e-6``   ``"great"``
``< 1e-4``              ``"look closer"``
otherwise               ``"worry"``
=====================  ==============

Why these cut-offs: each sits one decade from the slide's typical values, halfway (on a
log scale) between neighbours. A correct backprop with ``eps = 1e-7`` in float64 lands
around 1e-9 to 1e-7 (rounding noise of ``J`` divided by ``2 eps``, plus the occasional
ReLU kink), so "great" keeps one decade of slack above 1e-7; a real bug sits at 1e-3 or
above (usually 1e-2 to 1), so "worry" starts one decade below it, and 1e-5 ("look
closer") sits in the middle of the band between them.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FLOOR_GREAT",
    "FLOOR_WORRY",
    "GREAT_BELOW",
    "VERDICTS",
    "WORRY_FROM",
    "GradCheckResult",
    "ParamLayout",
    "roundoff_floor",
    "thresholds_for",
    "verdict_for",
]

#: ``difference`` below this is "great" (the slide's ~1e-7, one decade of slack).
GREAT_BELOW = 1e-6
#: ``difference`` at or above this is "worry" (the slide's 1e-3, one decade of margin);
#: it is also the default ``threshold`` of :func:`helpers.gradcheck.gradient_check`.
WORRY_FROM = 1e-4
VERDICTS = ("great", "look closer", "worry")
#: With a round-off floor: a difference below this many floors is rounding only ("great")...
FLOOR_GREAT = 10.0
#: ... and one at or above this many floors cannot be rounding ("worry").
FLOOR_WORRY = 1000.0


def roundoff_floor(J: float, dtheta, eps: float, dtheta_approx=None) -> float:
    """The relative difference that round-off alone gives a centered-difference check.

    Each value of ``J`` is off by about ``u |J|`` (``u`` the float64 machine epsilon), so
    each entry of ``dtheta_approx = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)`` is off
    by about ``u |J| / eps`` (notebook 3's round-off model); over ``n`` entries the error
    has norm about ``sqrt(n) u |J| / eps``. Divided by the slide's denominator:

        floor = sqrt(n) * u * |J| / (eps * (||dtheta_approx||_2 + ||dtheta||_2))

    (``2 ||dtheta||_2`` when ``dtheta_approx`` is not given). A correct backprop's
    ``difference`` is of this size (the truncation error, ``O(eps^2)``, is far smaller at
    ``eps = 1e-7``); it grows when the gradient is small compared with ``J`` (after training)
    and shrinks with a larger ``eps``.

    Parameters
    ----------
    J : float
        The cost at the point of the check, ``J(theta)``.
    dtheta : array_like of shape (n,)
        The gradient under test (of the whole ``theta``, or of one block).
    eps : float > 0
        Step of the centered difference.
    dtheta_approx : array_like of shape (n,), optional

    Returns
    -------
    float
        The predicted floor; ``inf`` when both gradients are exactly 0 (no relative
        difference can be judged then).
    """
    dtheta = np.asarray(dtheta, dtype=np.float64).ravel()
    J = float(J)
    eps = float(eps)
    if not math.isfinite(J):
        raise ValueError(f"J must be a finite number, got {J!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    norm = 2 * float(np.linalg.norm(dtheta))
    if dtheta_approx is not None:
        approx = np.asarray(dtheta_approx, dtype=np.float64).ravel()
        if approx.shape != dtheta.shape:
            raise ValueError(f"dtheta_approx has shape {approx.shape}, expected dtheta's {dtheta.shape}")
        norm = float(np.linalg.norm(approx) + np.linalg.norm(dtheta))
    if norm == 0.0:
        return math.inf
    return math.sqrt(dtheta.size) * float(np.finfo(np.float64).eps) * abs(J) / (eps * norm)


def thresholds_for(floor: float | None = None) -> tuple:
    """The cut-offs ``(great_below, worry_from)`` for a check whose round-off floor is ``floor``.

    Without a floor, the slide's (:data:`GREAT_BELOW`, :data:`WORRY_FROM`). With one, each
    is raised to a fixed multiple of the floor when that is larger (:data:`FLOOR_GREAT`,
    :data:`FLOOR_WORRY`): "great" then means "within 10x of what rounding alone gives" and
    "worry" "1000x above it", at initialization as after training.
    """
    if floor is None:
        return GREAT_BELOW, WORRY_FROM
    floor = float(floor)
    if not floor >= 0:
        raise ValueError(f"floor must be >= 0, got {floor!r}")
    return max(GREAT_BELOW, FLOOR_GREAT * floor), max(WORRY_FROM, FLOOR_WORRY * floor)


def verdict_for(difference: float, floor: float | None = None) -> str:
    """The slide's verdict for a relative difference, optionally relative to its round-off floor.

    Parameters
    ----------
    difference : float
        ``||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)``, in [0, 1].
    floor : float, optional
        The check's predicted round-off floor (:func:`roundoff_floor`); see :func:`thresholds_for`.

    Returns
    -------
    {"great", "look closer", "worry"}
        ``< GREAT_BELOW`` (1e-6): great; ``< WORRY_FROM`` (1e-4): look closer; else worry
        (NaN, which no function of this package returns, counts as worry); with a floor,
        the cut-offs of :func:`thresholds_for`.
    """
    d = float(difference)
    great_below, worry_from = thresholds_for(floor)
    if d < great_below:
        return "great"
    if d < worry_from:
        return "look closer"
    return "worry"


@dataclass(frozen=True)
class ParamLayout:
    """Where each parameter array sits inside ``theta``.

    ``theta`` is 1-D, of shape ``(n_params,)``: ``W1.ravel(), b1.ravel(), W2.ravel(), ...``
    concatenated in that order (row-major, as ``ndarray.ravel`` reads).

    Attributes
    ----------
    names : tuple of str
        ``("W1", "b1", ..., "WL", "bL")``.
    shapes : tuple of tuple of int
        Shape of each array, e.g. ``(n[l], n[l-1])`` for ``W{l}``.
    """

    names: tuple
    shapes: tuple
    offsets: tuple = field(init=False, repr=False)
    sizes: tuple = field(init=False, repr=False)

    def __post_init__(self):
        names = tuple(str(n) for n in self.names)
        shapes = tuple(tuple(int(s) for s in shape) for shape in self.shapes)
        if len(names) != len(shapes):
            raise ValueError(f"ParamLayout needs one shape per name, got {len(names)} names and {len(shapes)} shapes")
        sizes = tuple(math.prod(s) for s in shapes)
        offsets = tuple(itertools.accumulate(sizes, initial=0))[:-1]
        # frozen dataclass: the derived fields are set once, here
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "offsets", offsets)

    @property
    def n_params(self) -> int:
        """Length of ``theta``."""
        return int(sum(self.sizes))

    @property
    def grad_names(self) -> tuple:
        """``("dW1", "db1", ...)``, the keys of the matching gradient dict."""
        return tuple("d" + n for n in self.names)

    def slice(self, name: str) -> slice:
        """The slice of ``theta`` (or ``dtheta``) holding ``name`` ("W1" or "dW1")."""
        key = name[1:] if name.startswith("d") and name[1:] in self.names else name
        if key not in self.names:
            raise KeyError(f"{name!r} is not in this layout; blocks are {', '.join(self.names)}")
        i = self.names.index(key)
        return slice(self.offsets[i], self.offsets[i] + self.sizes[i])

    def locate(self, index: int) -> str:
        """Name the parameter entry at position ``index`` of ``theta``, e.g. ``"W2[0, 3]"``."""
        index = int(index)
        if not 0 <= index < self.n_params:
            raise IndexError(f"index {index} is outside theta (n_params={self.n_params})")
        i = int(np.searchsorted(np.asarray(self.offsets), index, side="right")) - 1
        multi = np.unravel_index(index - self.offsets[i], self.shapes[i])
        return f"{self.names[i]}[{', '.join(str(int(k)) for k in multi)}]"

    def __len__(self) -> int:
        return self.n_params

    def __repr__(self) -> str:
        blocks = ", ".join(
            f"{n} {s} -> [{o}:{o + k}]"
            for n, s, o, k in zip(self.names, self.shapes, self.offsets, self.sizes, strict=True)
        )
        return f"ParamLayout(n_params={self.n_params}: {blocks})"


@dataclass(frozen=True, repr=False, eq=False)
class GradCheckResult:
    """Outcome of :func:`helpers.gradcheck.gradient_check`.

    Attributes
    ----------
    difference : float
        ``||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)`` over all of
        ``theta`` (mode "full"), or the same formula over the directional derivatives of
        all blocks (mode "fast", see ``directional``).
    per_block : dict of str to float
        The same formula restricted to each block, keyed ``"dW1", "db1", ...`` in layout order.
        Being relative, it reads ~1 for a block whose true gradient is exactly 0 (only
        rounding noise left, ~1e-9); the report prints both norms so that case is visible.
    dtheta : ndarray of shape (n_params,)
        The gradient under test, flattened like ``theta``.
    dtheta_approx : ndarray of shape (n_params,) or None
        Two-sided differences for every entry (mode "full"); ``None`` in mode "fast".
    layout : ParamLayout
    eps : float
    mode : {"full", "fast"}
    n_evaluations : int
        Number of evaluations of ``J`` (``2 n_params`` in mode "full").
    threshold : float
        ``passed`` means ``difference < threshold``; a block is suspicious when its
        per-block difference is ``>= threshold``. Default :data:`WORRY_FROM`.
    path : str
        How ``J`` was evaluated: ``"black box"`` or ``"network (batched)"``.
    directional : dict or None
        Mode "fast": ``{"dW1": (approx, exact), ...}``, each an ndarray of shape
        ``(n_directions,)``: ``(J(theta + eps u) - J(theta - eps u)) / (2 eps)`` and ``dtheta . u``.
    n_directions : int or None
    seed : int or None
        Seed of the random directions (mode "fast"), if an int was given.
    cost : float or None
        ``J(params)`` at the point of the check, for the round-off floor (mode "full").
    """

    difference: float
    per_block: dict
    dtheta: np.ndarray
    dtheta_approx: np.ndarray | None
    layout: ParamLayout
    eps: float
    mode: str
    n_evaluations: int
    threshold: float = WORRY_FROM
    path: str = "black box"
    directional: dict | None = None
    n_directions: int | None = None
    seed: int | None = None
    cost: float | None = None

    @property
    def floor(self) -> float | None:
        """Predicted round-off floor of ``difference`` (:func:`roundoff_floor`); None without ``cost``."""
        if self.cost is None or self.dtheta_approx is None:
            return None
        return roundoff_floor(self.cost, self.dtheta, self.eps, self.dtheta_approx)

    @property
    def per_block_floor(self) -> dict | None:
        """The floor of each block's difference, keyed like ``per_block``; None without ``cost``."""
        if self.cost is None or self.dtheta_approx is None:
            return None
        return {
            g: roundoff_floor(self.cost, self.dtheta[self.layout.slice(n)], self.eps,
                              self.dtheta_approx[self.layout.slice(n)])
            for n, g in zip(self.layout.names, self.layout.grad_names, strict=True)
        }

    @property
    def verdict_vs_floor(self) -> str:
        """The verdict with the cut-offs raised to the floor (:func:`thresholds_for`)."""
        return verdict_for(self.difference, self.floor)

    @property
    def verdict(self) -> str:
        """``"great"``, ``"look closer"`` or ``"worry"`` (see :func:`verdict_for`)."""
        return verdict_for(self.difference)

    @property
    def passed(self) -> bool:
        """``difference < threshold`` (with the default threshold: the verdict is not "worry")."""
        return bool(self.difference < self.threshold)

    @property
    def suspicious_blocks(self) -> list:
        """Gradient blocks whose per-block difference is ``>= threshold``, largest first."""
        return [name for name, d in self._ranked() if not d < self.threshold]

    def _ranked(self) -> list:
        order = {name: i for i, name in enumerate(self.per_block)}
        # largest difference first; NaN-free by construction, ties keep the layout order
        return sorted(self.per_block.items(), key=lambda kv: (-kv[1], order[kv[0]]))

    def _block_norms(self, name: str) -> tuple:
        if self.mode == "full":
            sl = self.layout.slice(name)
            return float(np.linalg.norm(self.dtheta[sl])), float(np.linalg.norm(self.dtheta_approx[sl]))
        approx, exact = self.directional[name]
        return float(np.linalg.norm(exact)), float(np.linalg.norm(approx))

    def _rows(self) -> list:
        rows = []
        for name, d in self._ranked():
            n_dtheta, n_approx = self._block_norms(name)
            i = self.layout.grad_names.index(name)
            flag = "suspicious" if not d < self.threshold else ""
            rows.append((name, self.layout.shapes[i], d, verdict_for(d), n_dtheta, n_approx, flag))
        return rows

    def _worst_entry(self) -> str | None:
        if self.mode != "full" or self.layout.n_params == 0:
            return None
        err = np.abs(self.dtheta_approx - self.dtheta)
        i = int(np.argmax(err))
        return (
            f"largest entry error at d{self.layout.locate(i)}: dtheta = {self.dtheta[i]:.6e}, "
            f"dtheta_approx = {self.dtheta_approx[i]:.6e}"
        )

    def _summary_lines(self) -> list:
        how = "every entry" if self.mode == "full" else f"{self.n_directions} random direction(s) per block"
        lines = [
            f"gradient check ({self.mode}: {how}): difference = {self.difference:.3e} -> {self.verdict}, "
            f"{'passed' if self.passed else 'FAILED'} (threshold {self.threshold:.0e})",
            f"eps = {self.eps:.0e}, {self.n_evaluations} evaluations of J ({self.path}), "
            f"{self.layout.n_params} parameters",
        ]
        if self.floor is not None:
            lines.append(
                f"round-off floor {self.floor:.1e} (sqrt(n) u |J| / (eps (||dtheta_approx|| + ||dtheta||))): "
                f"difference = {self.difference / self.floor:.2g} floors -> {self.verdict_vs_floor}"
            )
        if self.suspicious_blocks:
            lines.append("look at these blocks first: " + ", ".join(self.suspicious_blocks))
        worst = self._worst_entry()
        if worst and not self.passed:
            lines.append(worst)
        return lines

    def report(self) -> str:
        """A plain-text report: summary, then one row per block, largest difference first."""
        lines = self._summary_lines()
        norm_head = "||dtheta.u||" if self.mode == "fast" else "||dtheta||"
        approx_head = "||approx.u||" if self.mode == "fast" else "||dtheta_approx||"
        lines.append(
            f"{'block':<7} {'shape':<11} {'difference':>11}  {'verdict':<12} {norm_head:>12} {approx_head:>17}"
        )
        for name, shape, d, verdict, n_dtheta, n_approx, flag in self._rows():
            lines.append(
                f"{name:<7} {shape!s:<11} {d:>11.3e}  {verdict:<12} {n_dtheta:>12.4e} {n_approx:>17.4e}"
                + (f"  <- {flag}" if flag else "")
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        summary = "<br>".join(html.escape(s) for s in self._summary_lines())
        heads = ["block", "shape", "difference", "verdict", "norm of dtheta", "norm of approx", ""]
        head = "".join(f"<th>{h}</th>" for h in heads)
        body = []
        for name, shape, d, verdict, n_dtheta, n_approx, flag in self._rows():
            style = ' style="font-weight:bold"' if flag else ""
            body.append(
                f"<tr{style}><td>{html.escape(name)}</td><td>{shape}</td><td>{d:.3e}</td>"
                f"<td>{verdict}</td><td>{n_dtheta:.4e}</td><td>{n_approx:.4e}</td><td>{flag}</td></tr>"
            )
        return f"<p>{summary}</p><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
