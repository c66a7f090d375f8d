"""Backprops with planted bugs, for the gradient-checking bug hunt (notebook 4).

A *bug spec* is a list of ``[kind, layer]`` pairs (plain JSON, so a graded check can
write it in a test cell and the grader can rebuild the same backprop), for example
``[["db_no_m", 2], ["act_deriv", 1]]``. :data:`CATALOG` describes every kind;
:func:`make_buggy_backprop` builds ``backprop(params) -> grads`` for data ``(X, Y)``. The
returned object does not reveal its bugs (no attribute lists them and its ``repr`` shows only
the network's settings): finding them is the student's job, with a gradient check. Which
blocks a bug spoils is that job's answer, so :func:`affected_blocks` is withheld from the
student edition (:mod:`helpers._reference.planted_bugs`); a regression network (linear
output) takes only bugs that no argument can switch off (:data:`LINEAR_KINDS`), and a
correct backprop for it exists nowhere in the student edition.

:func:`first_draft` writes the *source* of a complete backprop (L2 and inverted dropout) as
one writes it the first time, with one L2 mistake (:data:`DRAFT_L2`) and one dropout mistake
(:data:`DRAFT_DROPOUT`) drawn from a student's variant: notebook 4 prints it, and the student
finds the two bugs with a gradient check and fixes them.

:func:`random_params` makes the small random networks these exercises perturb
(``standard_normal * scale``; the course's initialization methods are notebook 2's).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import variants
from helpers._validation import (
    as_float_matrix,
    check_choice,
    check_count,
    check_layer_dims,
    check_nonnegative_float,
    check_params,
    param_names,
)
from helpers._withheld import load
from helpers.network import ACTIVATIONS, _check_labels, activation, activation_derivative, forward

__all__ = [
    "CATALOG",
    "DRAFT_DROPOUT",
    "DRAFT_L2",
    "LINEAR_KINDS",
    "Backprop",
    "DraftBug",
    "PlantedBug",
    "affected_blocks",
    "as_backprop",
    "buggy_backward",
    "check_bugs",
    "draft_blocks",
    "draft_bugs",
    "first_draft",
    "harmful",
    "make_buggy_backprop",
    "random_bugs",
    "random_params",
    "render_backward",
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


#: Kinds a regression network (linear output, squared error) may carry: each one spoils its
#: blocks whatever the arguments (no ``lambd = 0``, zero bias or ``Z = A`` cache switches it off),
#: so no call of :func:`buggy_backward` on such a network is a correct backprop.
LINEAR_KINDS = ("dW_no_m", "db_no_m", "act_deriv")

(affected_blocks,) = load("planted_bugs", ["affected_blocks"], "notebook 4 (gradient checking), exercise 4")


def harmful(kind: str, *, hidden: str = "relu", lambd: float = 0.0) -> bool:
    """Whether a bug of this ``kind`` is wrong at all on a network with ``hidden`` and ``lambd``.

    The L2 bugs are harmless when ``lambd = 0``; ``dW_uses_Z`` is harmless with a linear hidden
    activation (then ``Z = A``). Says nothing about *which* blocks a bug spoils.
    """
    bug = CATALOG[check_choice(kind, "kind", tuple(CATALOG))]
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    if bug.needs_lambd and check_nonnegative_float(lambd, "lambd") == 0.0:
        return False
    return not (kind == "dW_uses_Z" and hidden == "linear")


def buggy_backward(bugs, *, output: str = "sigmoid") -> Callable:
    """A drop-in for :func:`helpers.network.backward` with the planted ``bugs``.

    Parameters
    ----------
    bugs : list of [str, int]
        Bug spec (``[]``: a correct backprop, for the sigmoid output only).
    output : {"sigmoid", "linear"}, default "sigmoid"
        ``"sigmoid"``: cross-entropy, labels in [0, 1], as :func:`helpers.network.backward`.
        ``"linear"``: a regression network with cost ``1/(2m) sum (AL - Y)^2`` (+ L2); its
        ``bugs`` must be non-empty and of :data:`LINEAR_KINDS`, so this is never a correct
        backprop for it (that is notebook 4's exercise 5).

    Returns
    -------
    callable ``(AL, Y, cache, params, *, lambd=0.0) -> grads``
        ``grads`` holds ``dW{l}`` of shape (n[l], n[l-1]) and ``db{l}`` of shape (n[l], 1).
    """
    spec = check_bugs(bugs)
    check_choice(output, "output", ("sigmoid", "linear"))
    if output == "linear" and (not spec or any(kind not in LINEAR_KINDS for kind, _ in spec)):
        raise ValueError(f"a linear-output backprop takes one or more bugs of {list(LINEAR_KINDS)}, got {bugs!r}")
    planted = frozenset(spec)

    def backward(AL, Y, cache, params, *, lambd=0.0):
        L = check_params(params)
        check_bugs([list(b) for b in planted], L)
        if cache.output != output:
            raise ValueError(f"this backprop is for the {output} output, got a cache of the {cache.output!r} output")
        AL = np.asarray(AL, dtype=np.float64)
        if output == "sigmoid":
            Y = _check_labels(Y, AL.shape)
        else:
            Y = as_float_matrix(Y, "Y")
            if Y.shape != AL.shape:
                raise ValueError(f"Y has shape {Y.shape}, expected {AL.shape} (same as AL)")
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
                keep_prob: float = 1.0, masks: list | None = None, seed=None, output: str = "sigmoid") -> Backprop:
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
    output : {"sigmoid", "linear"}, default "sigmoid"
        Output activation of the forward pass (``"linear"``: real targets ``Y``).

    Returns
    -------
    Backprop
    """
    if not callable(backward_fn):
        raise TypeError(f"backward_fn must be a function, got {_describe(backward_fn)}")
    X = as_float_matrix(X, "X")
    check_choice(output, "output", ("sigmoid", "linear"))
    if output == "sigmoid":
        Y = _check_labels(Y, (1, X.shape[1]))
    else:
        Y = as_float_matrix(Y, "Y", n_rows=1)
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    lambd = check_nonnegative_float(lambd, "lambd")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def call(params):
        AL, cache = forward(X, params, hidden=hidden, output=output, keep_prob=keep_prob, masks=masks, seed=rng)
        return backward_fn(AL, Y, cache, params, lambd=lambd)

    label = f"hidden={hidden!r}, lambd={lambd:g}, m={X.shape[1]}" + (", linear output" if output == "linear" else "")
    if keep_prob < 1.0:
        label += f", keep_prob={keep_prob:g}"
    return Backprop(call, label)


def make_buggy_backprop(X, Y, bugs, *, hidden: str = "relu", lambd: float = 0.0,
                        keep_prob: float = 1.0, masks: list | None = None, seed=None,
                        output: str = "sigmoid") -> Backprop:
    """``backprop(params) -> grads`` for data ``(X, Y)`` with the planted ``bugs``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
    bugs : list of [str, int]
        Bug spec; see :data:`CATALOG`.
    hidden, lambd, keep_prob, masks, seed, output
        As in :func:`as_backprop` (``output="linear"``: see :func:`buggy_backward`).

    Returns
    -------
    Backprop
    """
    return as_backprop(
        buggy_backward(bugs, output=output), X, Y, hidden=hidden, lambd=lambd, keep_prob=keep_prob, masks=masks,
        seed=seed, output=output,
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
            if harmful(kind, hidden=hidden, lambd=lambd):
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


# =========================================================================== first drafts
# The source of a complete backprop (sigmoid output, cross-entropy, L2, inverted dropout), with
# one realistic mistake in the L2 code and one in the dropout code. Each mistake sits on a code
# path that runs only under its setting: on the plain network (lambd = 0, no dropout) every
# draft is exactly right; lambd > 0 shows the L2 mistake, a frozen dropout mask the dropout one
# ("the check only sees the code paths that run").
_TEMPLATE = '''def backward_buggy(AL, Y, cache, params, lambd=0.0):
    """Backprop for the sigmoid + cross-entropy network (with two bugs)."""
    L = len(params) // 2
    m = AL.shape[1]
    grads = {}
    dZ = AL - Y
    for l in range(L, 0, -1):
        A_prev = cache.A[l - 1]
        grads[f"dW{l}"] = dZ @ A_prev.T / m<dW_l2>
<after_dW>        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
<after_db>        if l > 1:
<hidden>            dA = params[f"W{l}"].T @ dZ
<mask>            dZ = dA * activation_derivative(cache.Z[l - 1], cache.hidden)
<after_loop>    return grads
'''
_I2, _I3, _I4 = " " * 8, " " * 12, " " * 16
_LATE_MASK = f"{_I2}D = cache.D[l]\n{_I2}if D is not None:\n{_I3}dZ = dZ * D / cache.keep_prob\n"
_ADD_L2 = 'grads[f"dW{<l>}"] = grads[f"dW{<l>}"] + lambd / m * params[f"W{<l>}"]\n'
#: Slots a draft leaves empty unless one of its mistakes fills them. The L2 term and the dropout
#: mask are not here: every draft gets both wrong, so the right versions (what exercise 5 asks
#: the student to write) are nowhere in this public module.
_EMPTY = {"after_dW": "", "after_db": "", "hidden": "", "after_loop": ""}


def _mask(line: str) -> str:
    return f"{_I3}D = cache.D[l - 1]\n{_I3}if D is not None:\n{_I4}{line}\n"


@dataclass(frozen=True)
class DraftBug:
    """One first-draft mistake of :func:`first_draft`.

    Attributes
    ----------
    kind : str
    description : str
        What the code does wrong.
    setting : {"lambd", "dropout"}
        The setting whose code path it sits on (it is harmless without it).
    code : dict
        The template's slots it replaces (``dW_l2``, ``after_dW``, ``after_db``, ``hidden``,
        ``mask``, ``after_loop``).
    layers : str
        Where it is wrong: ``"all"`` (every layer the setting acts on: 1..L for L2, the hidden
        layers 1..L-1 for dropout), ``"first"`` (layer 1 only), ``"below_last"`` (layers 1..L-1).
    prefixes : tuple of str
        Which gradients of those layers it gets wrong.
    hides_when : str
        Besides the setting being off.
    """

    kind: str
    description: str
    setting: str
    code: dict
    layers: str = "all"
    prefixes: tuple = ("dW",)
    hides_when: str = ""

    def blocks(self, n_layers: int) -> frozenset[str]:
        """Gradient blocks this mistake makes wrong in an L-layer network under its setting."""
        L = n_layers
        last = L - 1 if self.setting == "dropout" else L  # dropout acts on the hidden layers only
        layers = {"all": range(1, last + 1), "first": range(1, 2), "below_last": range(1, L)}[self.layers]
        return frozenset(f"{p}{l}" for l in layers for p in self.prefixes)


DRAFT_L2: dict[str, DraftBug] = {
    bug.kind: bug
    for bug in (
        DraftBug("l2_half", "dW gets lambd/(2m) W, the factor of the cost, not of its derivative", "lambd",
                 {"dW_l2": ' + lambd / (2 * m) * params[f"W{l}"]'}),
        DraftBug("l2_missing", "dW lacks the L2 term lambd/m W altogether", "lambd", {"dW_l2": ""}),
        DraftBug("l2_no_m", "dW gets lambd W, not divided by m", "lambd",
                 {"dW_l2": ' + lambd * params[f"W{l}"]'}),
        DraftBug("l2_double", "dW gets 2 lambd/m W (the 2 of d/dW W^2, whose 1/2 is in lambd/(2m))", "lambd",
                 {"dW_l2": ' + 2 * lambd / m * params[f"W{l}"]'}),
        DraftBug("l2_sign", "dW gets - lambd/m W (the sign of the update W -= ..., not of the gradient)", "lambd",
                 {"dW_l2": ' - lambd / m * params[f"W{l}"]'}),
        DraftBug("l2_indented", "the L2 term is added inside `if l > 1:`, so dW1 lacks it", "lambd",
                 {"dW_l2": "", "hidden": _I3 + _ADD_L2.replace("<l>", "l")},
                 layers="first"),
        DraftBug("l2_last_only", "the L2 term is added once, after the loop, to the last layer only", "lambd",
                 {"dW_l2": "",
                  "after_loop": "    " + _ADD_L2.replace("<l>", "L")},
                 layers="below_last"),
    )
}

DRAFT_DROPOUT: dict[str, DraftBug] = {
    bug.kind: bug
    for bug in (
        DraftBug("no_scale", "the mask is applied to dA without dividing by keep_prob", "dropout",
                 {"mask": _mask("dA = dA * D")}, prefixes=("dW", "db")),
        DraftBug("no_mask", "dA is divided by keep_prob but the mask is not applied", "dropout",
                 {"mask": _mask("dA = dA / cache.keep_prob")}, prefixes=("dW", "db")),
        DraftBug("times_keep_prob", "dA is multiplied by keep_prob instead of divided", "dropout",
                 {"mask": _mask("dA = dA * D * cache.keep_prob")}, prefixes=("dW", "db")),
        DraftBug("drop_prob", "dA is divided by 1 - keep_prob (the probability of dropping)", "dropout",
                 {"mask": _mask("dA = dA * D / (1 - cache.keep_prob)")}, prefixes=("dW", "db"),
                 hides_when="keep_prob = 0.5"),
        DraftBug("mask_late", "the mask of layer l is applied to dZ after dW and db have used it", "dropout",
                 {"mask": "", "after_db": _LATE_MASK}, prefixes=("dW", "db")),
        DraftBug("mask_between", "the mask of layer l is applied to dZ after dW has used it (db gets it)",
                 "dropout", {"mask": "", "after_dW": _LATE_MASK}),
    )
}

#: The committed notebook's draft (no variant): the two bugs the course has always shown.
DRAFT_DEFAULT = ("l2_half", "no_scale")


def render_backward(l2: str, dropout: str) -> str:
    """Source of ``backward_buggy`` with the L2 mistake ``l2`` and the dropout mistake ``dropout``.

    Both are required (keys of :data:`DRAFT_L2` and :data:`DRAFT_DROPOUT`): a draft is right
    everywhere else, and fixing its two mistakes is notebook 4's exercise 5, so no call renders
    a correct backprop. The function uses ``np`` and ``activation_derivative`` (notebook 4
    imports both).
    """
    code = dict(_EMPTY)
    for kind, catalogue in ((l2, DRAFT_L2), (dropout, DRAFT_DROPOUT)):
        code.update(catalogue[check_choice(kind, "draft mistake", tuple(catalogue))].code)
    source = _TEMPLATE
    for slot, text in code.items():
        source = source.replace(f"<{slot}>", text)
    return source


def draft_bugs(variant: int | None) -> tuple[str, str]:
    """The ``(L2 mistake, dropout mistake)`` of variant ``variant``'s first draft (``None``: the course's)."""
    if variant is None:
        return DRAFT_DEFAULT
    draw = variants.seed(2025, variant)
    return list(DRAFT_L2)[draw % len(DRAFT_L2)], list(DRAFT_DROPOUT)[(draw // len(DRAFT_L2)) % len(DRAFT_DROPOUT)]


def draft_blocks(variant: int | None, n_layers: int) -> dict[str, frozenset[str]]:
    """The blocks variant ``variant``'s draft gets wrong, per setting: ``{"plain", "lambd", "dropout"}``."""
    l2, dropout = draft_bugs(variant)
    return {"plain": frozenset(), "lambd": DRAFT_L2[l2].blocks(n_layers),
            "dropout": DRAFT_DROPOUT[dropout].blocks(n_layers)}


def first_draft(variant: int | None = None) -> str:
    """The source of variant ``variant``'s ``backward_buggy``: a backprop with two bugs to find.

    Same signature as :func:`helpers.network.backward` (``lambd`` a keyword with default 0.0).
    One bug is in the L2 code (:data:`DRAFT_L2`), one in the dropout code (:data:`DRAFT_DROPOUT`);
    with ``lambd = 0`` and no dropout the draft is right. ``None`` (no variant): ``lambd/(2m)``
    instead of ``lambd/m``, and the mask applied without dividing by ``keep_prob``.
    """
    return render_backward(*draft_bugs(variant))
