"""Backprops with planted bugs, for the gradient-checking bug hunt (notebook 4).

A *bug spec* is a list of ``[kind, layer]`` pairs (plain JSON, so a graded check can
write it in a test cell and the grader can rebuild the same backprop), for example
``[["db_no_m", 2], ["act_deriv", 1]]``. :data:`CATALOG` describes every kind and which
gradient blocks it makes wrong; :func:`make_buggy_backprop` builds ``backprop(params) ->
grads`` for data ``(X, Y)``. The returned object does not reveal its bugs (no attribute
lists them and its ``repr`` shows only the network's settings): finding them is the
student's job, with a gradient check.

:func:`random_params` makes the small random networks these exercises perturb
(``standard_normal * scale``; the course's initialization methods are notebook 2's).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers._validation import (
    as_float_matrix,
    check_choice,
    check_count,
    check_layer_dims,
    check_nonnegative_float,
    check_params,
    param_names,
)
from helpers.network import ACTIVATIONS, _check_labels, activation, activation_derivative, forward

__all__ = [
    "CATALOG",
    "Backprop",
    "PlantedBug",
    "affected_blocks",
    "as_backprop",
    "buggy_backward",
    "check_bugs",
    "make_buggy_backprop",
    "random_bugs",
    "random_params",
]


@dataclass(frozen=True)
class PlantedBug:
    """One kind of backprop mistake.

    Attributes
    ----------
    kind : str
        Its name in a bug spec.
    description : str
        What the wrong code does, with ``{l}`` for the layer.
    first_layer : int
        Smallest layer it can be planted in.
    hidden_only : bool
        Only in hidden layers (``layer < L``).
    needs_lambd : bool
        Only wrong when ``lambd > 0`` (a bug in the L2 gradient).
    hides_when : str
        When a gradient check cannot see it ("" if always visible).
    """

    kind: str
    description: str
    first_layer: int = 1
    hidden_only: bool = False
    needs_lambd: bool = False
    hides_when: str = ""

    def blocks(self, layer: int, n_layers: int) -> set[str]:
        """Gradient blocks this bug makes wrong when planted in ``layer`` of an L-layer net."""
        if self.kind == "act_deriv":
            # dZ[layer] is wrong, and backprop carries it down to every earlier layer
            return {f"{p}{k}" for k in range(1, layer + 1) for p in ("dW", "db")}
        if self.kind in ("db_no_m", "l2_on_b"):
            return {f"db{layer}"}
        return {f"dW{layer}"}


CATALOG: dict[str, PlantedBug] = {
    bug.kind: bug
    for bug in (
        PlantedBug("db_no_m", "db{l} = sum of dZ{l} over the examples, not divided by m"),
        PlantedBug("dW_no_m", "dW{l} = dZ{l} A{l-1}^T, not divided by m"),
        PlantedBug(
            "dW_uses_Z", "dW{l} uses Z{l-1} (before the activation) instead of A{l-1}", first_layer=2,
            hides_when="the hidden activation is linear (then Z = A)",
        ),
        PlantedBug(
            "act_deriv", "dZ{l} = dA{l} * g(Z{l}): the activation instead of its derivative", hidden_only=True,
        ),
        PlantedBug(
            "l2_missing", "dW{l} lacks the L2 term lambd/m W{l}", needs_lambd=True,
            hides_when="lambd = 0, or the cost J forgets the L2 term too",
        ),
        PlantedBug(
            "l2_half", "dW{l} gets lambd/(2m) W{l} instead of lambd/m W{l}", needs_lambd=True,
            hides_when="W is close to 0 while other gradients are not (the error is lambd/(2m) W)",
        ),
        PlantedBug(
            "l2_on_b", "db{l} gets lambd/m b{l} although J does not regularize b", needs_lambd=True,
            hides_when="b = 0, as right after initialization",
        ),
    )
}


def _describe(value) -> str:
    return f"{type(value).__name__} {value!r}"[:120]


def check_bugs(bugs, n_layers: int | None = None) -> list[tuple[str, int]]:
    """Validate a bug spec and return it as ``[(kind, layer), ...]``.

    Parameters
    ----------
    bugs : list of [str, int]
        ``[kind, layer]`` pairs; kinds from :data:`CATALOG`, each pair at most once.
    n_layers : int, optional
        ``L``; when given, every layer must exist and suit its kind.
    """
    if isinstance(bugs, (str, bytes)) or not isinstance(bugs, (list, tuple)):
        raise TypeError(f"bugs must be a list of [kind, layer] pairs, got {_describe(bugs)}")
    out = []
    for i, pair in enumerate(bugs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"bugs[{i}] must be a [kind, layer] pair, got {pair!r}")
        kind, layer = pair
        check_choice(kind, f"bugs[{i}] kind", tuple(CATALOG))
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
            raise TypeError(f"bugs[{i}] layer must be an integer, got {_describe(layer)}")
        bug, layer = CATALOG[kind], int(layer)
        if layer < bug.first_layer:
            raise ValueError(f"bugs[{i}]: {kind!r} needs layer >= {bug.first_layer}, got {layer}")
        if n_layers is not None:
            last = n_layers - 1 if bug.hidden_only else n_layers
            if layer > last:
                where = "a hidden layer (1..L-1)" if bug.hidden_only else "a layer 1..L"
                raise ValueError(f"bugs[{i}]: {kind!r} must be planted in {where}; L = {n_layers}, got layer {layer}")
        if (kind, layer) in out:
            raise ValueError(f"bugs[{i}]: {[kind, layer]} appears twice")
        out.append((kind, layer))
    return out


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
    spec = check_bugs(bugs, n_layers)
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    lambd = check_nonnegative_float(lambd, "lambd")
    out: set[str] = set()
    for kind, layer in spec:
        bug = CATALOG[kind]
        if bug.needs_lambd and lambd == 0.0:
            continue
        if kind == "dW_uses_Z" and hidden == "linear":
            continue
        out |= bug.blocks(layer, n_layers)
    return frozenset(out)


def buggy_backward(bugs) -> Callable:
    """A drop-in for :func:`helpers.network.backward` with the planted ``bugs``.

    Parameters
    ----------
    bugs : list of [str, int]
        Bug spec (``[]``: a correct backprop).

    Returns
    -------
    callable ``(AL, Y, cache, params, *, lambd=0.0) -> grads``
        ``grads`` holds ``dW{l}`` of shape (n[l], n[l-1]) and ``db{l}`` of shape (n[l], 1).
    """
    planted = frozenset(check_bugs(bugs))

    def backward(AL, Y, cache, params, *, lambd=0.0):
        L = check_params(params)
        check_bugs([list(b) for b in planted], L)
        if cache.output != "sigmoid":
            raise ValueError(f"backward supports the sigmoid output with cross-entropy cost, got {cache.output!r}")
        AL = np.asarray(AL, dtype=np.float64)
        Y = _check_labels(Y, AL.shape)
        lambd = check_nonnegative_float(lambd, "lambd")
        m = AL.shape[1]
        grads = {}
        dZ = AL - Y
        for l in range(L, 0, -1):
            W = params[f"W{l}"]
            A_prev = cache.Z[l - 1] if ("dW_uses_Z", l) in planted else cache.A[l - 1]
            dW = dZ @ A_prev.T
            db = np.sum(dZ, axis=1, keepdims=True)
            if ("dW_no_m", l) not in planted:
                dW = dW / m
            if ("db_no_m", l) not in planted:
                db = db / m
            if ("l2_half", l) in planted:
                dW = dW + lambd / (2 * m) * W
            elif ("l2_missing", l) not in planted:
                dW = dW + lambd / m * W
            if ("l2_on_b", l) in planted:
                db = db + lambd / m * params[f"b{l}"]
            grads[f"dW{l}"], grads[f"db{l}"] = dW, db
            if l > 1:
                dA = W.T @ dZ
                D = cache.D[l - 1]
                if D is not None:
                    dA = dA * D / cache.keep_prob
                g = activation if ("act_deriv", l - 1) in planted else activation_derivative
                dZ = dA * g(cache.Z[l - 1], cache.hidden)
        return {k: grads[k] for k in param_names(L, "d")}

    backward.__name__ = backward.__qualname__ = "backward"
    backward.__doc__ = "Backpropagation (it may contain bugs: check it)."
    return backward


class Backprop:
    """``backprop(params) -> grads`` for fixed data: the suspect a gradient check tests.

    Built by :func:`as_backprop` or :func:`make_buggy_backprop`. Calling it runs a
    forward pass (frozen dropout ``masks`` if given) and the wrapped backward function.
    Its ``repr`` shows the network's settings only.
    """

    __slots__ = ("_call", "_label")

    def __init__(self, call: Callable, label: str):
        self._call = call
        self._label = label

    def __call__(self, params: dict) -> dict:
        return self._call(params)

    def __repr__(self) -> str:
        return f"Backprop({self._label})"


def as_backprop(backward_fn: Callable, X, Y, *, hidden: str = "relu", lambd: float = 0.0,
                keep_prob: float = 1.0, masks: list | None = None, seed=None) -> Backprop:
    """Turn ``backward_fn(AL, Y, cache, params, lambd=...)`` into ``backprop(params) -> grads``.

    Parameters
    ----------
    backward_fn : callable
        Same signature as :func:`helpers.network.backward`.
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
    hidden : str
    lambd : float
    keep_prob : float, default 1.0
    masks : list, optional
        Frozen dropout masks (``Cache.D`` of a forward pass); with ``keep_prob < 1`` and no
        masks, each call draws fresh ones, as training does.
    seed : int or numpy.random.Generator, optional
        Source of those fresh masks.

    Returns
    -------
    Backprop
    """
    if not callable(backward_fn):
        raise TypeError(f"backward_fn must be a function, got {_describe(backward_fn)}")
    X = as_float_matrix(X, "X")
    Y = _check_labels(Y, (1, X.shape[1]))
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    lambd = check_nonnegative_float(lambd, "lambd")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def call(params):
        AL, cache = forward(X, params, hidden=hidden, keep_prob=keep_prob, masks=masks, seed=rng)
        return backward_fn(AL, Y, cache, params, lambd=lambd)

    label = f"hidden={hidden!r}, lambd={lambd:g}, m={X.shape[1]}"
    if keep_prob < 1.0:
        label += f", keep_prob={keep_prob:g}"
    return Backprop(call, label)


def make_buggy_backprop(X, Y, bugs, *, hidden: str = "relu", lambd: float = 0.0,
                        keep_prob: float = 1.0, masks: list | None = None, seed=None) -> Backprop:
    """``backprop(params) -> grads`` for data ``(X, Y)`` with the planted ``bugs``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
    bugs : list of [str, int]
        Bug spec; see :data:`CATALOG`.
    hidden, lambd, keep_prob, masks, seed
        As in :func:`as_backprop`.

    Returns
    -------
    Backprop
    """
    return as_backprop(
        buggy_backward(bugs), X, Y, hidden=hidden, lambd=lambd, keep_prob=keep_prob, masks=masks, seed=seed
    )


def random_bugs(n_layers: int, *, seed, n_bugs: int = 1, kinds=None, hidden: str = "relu",
                lambd: float = 0.0) -> list[list]:
    """Draw a bug spec that a gradient check can see on this network.

    Parameters
    ----------
    n_layers : int
        ``L``.
    seed : int or numpy.random.Generator
    n_bugs : int, default 1
    kinds : list of str, optional
        Kinds to draw from (default: all of :data:`CATALOG`).
    hidden : str
    lambd : float
        Kinds that are harmless for this ``hidden`` / ``lambd`` are not drawn.

    Returns
    -------
    list of [str, int]
        Distinct pairs, sorted.
    """
    L = check_count(n_layers, "n_layers")
    kinds = list(CATALOG) if kinds is None else [check_choice(k, "kind", tuple(CATALOG)) for k in kinds]
    candidates = []
    for kind in kinds:
        bug = CATALOG[kind]
        last = L - 1 if bug.hidden_only else L
        for layer in range(bug.first_layer, last + 1):
            if affected_blocks([[kind, layer]], L, hidden=hidden, lambd=lambd):
                candidates.append([kind, layer])
    if isinstance(n_bugs, bool) or not isinstance(n_bugs, numbers.Integral) or not 1 <= n_bugs <= len(candidates):
        raise ValueError(f"n_bugs must be an integer in 1..{len(candidates)} for this network, got {n_bugs!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    picked = rng.choice(len(candidates), size=int(n_bugs), replace=False)
    return sorted(candidates[i] for i in picked)


def random_params(layer_dims, *, scale: float = 0.5, bias_scale: float = 0.0, seed=None) -> dict:
    """Small random network: ``W[l] = standard_normal * scale``, ``b[l] = standard_normal * bias_scale``.

    Parameters
    ----------
    layer_dims : list of int
        ``[n_x, n[1], ..., n[L]]``.
    scale : float, default 0.5
    bias_scale : float, default 0.0
        0 gives ``b = 0``, as after initialization.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    dict
        ``W{l}`` of shape (n[l], n[l-1]), ``b{l}`` of shape (n[l], 1).
    """
    dims = check_layer_dims(layer_dims)
    scale = check_nonnegative_float(scale, "scale")
    bias_scale = check_nonnegative_float(bias_scale, "bias_scale")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * scale
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * bias_scale
    return params
