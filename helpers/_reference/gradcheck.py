"""Reference implementation: flattening and gradient checking (lecture 4). Withheld from students.

The slide: reshape ``W1, b1, ..., WL, bL`` into one vector ``theta`` and ``dW1, db1, ...``
into ``dtheta``; for each ``i``

    dtheta_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)

and compare with ``difference = ||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)``.
The verdict thresholds and the result object live in :mod:`helpers.gradcheck_result`
(not withheld); the batched evaluation for network costs in
:mod:`helpers._reference.gradcheck_network`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from helpers._validation import (
    _describe,
    as_finite_scalar,
    as_float_array,
    check_choice,
    check_count,
    check_eps,
    check_nonnegative_float,
    check_params,
    param_names,
)
from helpers.gradcheck_result import WORRY_FROM, GradCheckResult, ParamLayout

MODES = ("full", "fast")
#: Largest single batched array of the network path (bytes); the peak is a small multiple.
DEFAULT_BATCH_BYTES = 4 * 2**20

__all__ = [
    "DEFAULT_BATCH_BYTES",
    "MODES",
    "gradient_check",
    "grads_to_vector",
    "params_to_vector",
    "relative_difference",
    "vector_to_params",
]


# --------------------------------------------------------------------------- flattening
def params_to_vector(params) -> tuple:
    """Reshape ``W1, b1, ..., WL, bL`` into one vector ``theta``.

    Parameters
    ----------
    params : dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1), l = 1..L.

    Returns
    -------
    theta : ndarray of shape (n_params,)
        ``W1.ravel(), b1.ravel(), ..., WL.ravel(), bL.ravel()`` concatenated (row-major);
        a 1-D vector, not a column ``(n_params, 1)``. A new array (float64).
    layout : ParamLayout
        Names, shapes and offsets of the blocks, to go back with :func:`vector_to_params`.
    """
    L = check_params(params)
    names = param_names(L)
    arrays = [_float_block(params[k], f"params['{k}']") for k in names]
    layout = ParamLayout(tuple(names), tuple(a.shape for a in arrays))
    return _concat_finite(arrays, [f"params['{k}']" for k in names]), layout


def _float_block(value, name: str) -> np.ndarray:
    # float64 arrays (the usual case) skip the full conversion; finiteness is checked on theta
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    return as_float_array(value, name, allow_nonfinite=True)


def _concat_finite(arrays: list, names: list) -> np.ndarray:
    """Concatenate the raveled arrays (a new array); a NaN/inf raises naming its block and position."""
    vec = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
    if not np.isfinite(vec).all():
        for a, name in zip(arrays, names, strict=True):
            as_float_array(a, name)  # raises, naming the first bad entry
    return vec


def _check_layout(layout) -> ParamLayout:
    if not isinstance(layout, ParamLayout):
        raise TypeError(
            f"layout must be the ParamLayout returned by params_to_vector, got {_describe(layout)}"
        )
    return layout


def vector_to_params(theta, layout) -> dict:
    """Inverse of :func:`params_to_vector`: cut ``theta`` back into ``W1, b1, ...``.

    Parameters
    ----------
    theta : array_like of shape (n_params,) or (n_params, 1)
    layout : ParamLayout

    Returns
    -------
    dict
        ``W{l}``, ``b{l}`` with the layout's shapes; fresh arrays (changing them does not
        change ``theta``, and vice versa).
    """
    layout = _check_layout(layout)
    theta = as_float_array(theta, "theta")
    if theta.ndim == 2 and theta.shape[1] == 1:
        theta = theta[:, 0]
    if theta.shape != (layout.n_params,):
        raise ValueError(
            f"theta has shape {theta.shape}, expected ({layout.n_params},) (or ({layout.n_params}, 1)) "
            f"for this layout"
        )
    return {
        name: theta[off : off + size].reshape(shape).copy()
        for name, shape, off, size in zip(layout.names, layout.shapes, layout.offsets, layout.sizes, strict=True)
    }


def grads_to_vector(grads, layout) -> np.ndarray:
    """Reshape ``dW1, db1, ..., dWL, dbL`` into ``dtheta``, in the order of ``layout``.

    Parameters
    ----------
    grads : dict
        ``dW{l}``, ``db{l}``, each with the shape of the matching parameter.
    layout : ParamLayout
        From :func:`params_to_vector` of the parameters these are the gradients of.

    Returns
    -------
    dtheta : ndarray of shape (n_params,)
    """
    layout = _check_layout(layout)
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict like {{'dW1': ..., 'db1': ...}}, got {_describe(grads)}")
    expected = list(layout.grad_names)
    missing = [k for k in expected if k not in grads]
    extra = [k for k in grads if k not in expected]
    if missing or extra:
        raise ValueError(f"grads must have keys {expected}; missing {missing}, unexpected {extra}")
    blocks = []
    for key, shape in zip(expected, layout.shapes, strict=True):
        g = _float_block(grads[key], f"grads['{key}']")
        if g.shape != shape:
            raise ValueError(f"grads['{key}'] has shape {g.shape} but params['{key[1:]}'] has shape {shape}")
        blocks.append(g)
    return _concat_finite(blocks, [f"grads['{k}']" for k in expected])


# --------------------------------------------------------------------------- difference
def _norm(x: np.ndarray) -> float:
    # scaled by the largest entry so that neither tiny (underflow) nor huge (overflow) squares are lost
    top = float(np.max(np.abs(x))) if x.size else 0.0
    if top == 0.0:
        return 0.0
    return top * float(np.sqrt(np.sum(np.square(x / top))))


def relative_difference(a, b) -> float:
    """``||a - b||_2 / (||a||_2 + ||b||_2)``, the slide's ``difference``.

    Parameters
    ----------
    a, b : array_like of the same shape
        For example ``dtheta_approx`` and ``dtheta``, shape (n_params,).

    Returns
    -------
    float in [0, 1]
        0 when ``a == b`` (including both zero); 1 when one of them is zero and the other
        not, or when they point in opposite directions. Symmetric and scale invariant.
        Both are divided by their largest entry first, so huge (1e300) or tiny values
        neither overflow nor underflow; the result is never NaN.

    Raises
    ------
    ValueError
        Different shapes, or a NaN/inf entry.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got a of shape {a.shape} and b of shape {b.shape}")
    return _relative_difference(a.ravel(), b.ravel())


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`relative_difference` of two finite 1-D float64 arrays of the same length (unchecked)."""
    if a.size == 0:
        return 0.0
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()))
    if scale == 0.0:
        return 0.0
    a, b = a / scale, b / scale
    # after scaling |a - b| <= 2 entry-wise, so the subtraction cannot overflow, and the
    # largest of |a|, |b| is 1, so the denominator is >= 1
    diff = a - b
    num2 = float(diff @ diff)
    # a tiny (but nonzero) difference would underflow when squared: rescale it by its own size
    num = float(np.sqrt(num2)) if num2 > 1e-200 else _norm(diff)
    den = float(np.sqrt(a @ a)) + float(np.sqrt(b @ b))
    # the triangle inequality bounds the ratio by 1; rounding may overshoot by an ulp
    return min(1.0, num / den)


# --------------------------------------------------------------------------- the check
def _block_differences(a: np.ndarray, b: np.ndarray, layout: ParamLayout) -> list:
    """:func:`relative_difference` restricted to each block of ``layout``, all blocks at once."""
    starts = np.asarray(layout.offsets)
    sizes = np.asarray(layout.sizes)
    scale = np.maximum(np.maximum.reduceat(np.abs(a), starts), np.maximum.reduceat(np.abs(b), starts))
    safe = np.where(scale > 0, scale, 1.0)
    per_entry = np.repeat(safe, sizes)
    a, b = a / per_entry, b / per_entry
    diff = a - b
    num2 = np.add.reduceat(diff * diff, starts)
    den = np.sqrt(np.add.reduceat(a * a, starts)) + np.sqrt(np.add.reduceat(b * b, starts))
    out = []
    for i, (n2, dn) in enumerate(zip(num2.tolist(), den.tolist(), strict=True)):
        if scale[i] == 0.0:
            out.append(0.0)
        elif n2 > 1e-200:
            out.append(min(1.0, float(np.sqrt(n2)) / dn))
        else:  # a tiny difference: the careful version, which rescales it before squaring
            sl = slice(int(starts[i]), int(starts[i] + sizes[i]))
            out.append(_relative_difference(a[sl], b[sl]))
    return out


def _cost_value(value, where) -> float:
    """``cost_fn``'s return value as a float (see :func:`helpers._validation.as_finite_scalar`)."""
    return as_finite_scalar(value, "cost_fn", where)


def _full_black_box(cost_fn, theta, layout, eps) -> np.ndarray:
    # one private copy; each entry is moved in place and put back bit for bit, so no dict
    # or array is rebuilt per entry and the caller's params are never touched
    work = vector_to_params(theta, layout)
    dtheta_approx = np.empty(layout.n_params)
    for name, off, size in zip(layout.names, layout.offsets, layout.sizes, strict=True):
        flat = work[name].reshape(-1)  # a view: fresh arrays are contiguous
        for k in range(size):
            old = flat[k]
            flat[k] = old + eps
            j_plus = _cost_value(cost_fn(work), lambda i=off + k: _entry(layout, i, "+ eps"))
            flat[k] = old - eps
            j_minus = _cost_value(cost_fn(work), lambda i=off + k: _entry(layout, i, "- eps"))
            flat[k] = old
            dtheta_approx[off + k] = (j_plus - j_minus) / (2 * eps)
    return dtheta_approx


def _entry(layout: ParamLayout, index: int, move: str) -> str:
    loc = layout.locate(index)  # "W1[0, 2]"
    name, rest = loc.split("[", 1)
    return f"params['{name}'][{rest} {move}"


def _directions(layout: ParamLayout, n_directions: int, rng) -> dict:
    """Unit vectors ``u`` (rows), one set per block, drawn in layout order."""
    out = {}
    for name, size in zip(layout.names, layout.sizes, strict=True):
        g = rng.standard_normal((n_directions, size))
        norms = np.sqrt(np.sum(g * g, axis=1, keepdims=True))
        # a zero draw has probability 0; still, never divide by it
        g[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        out[name] = g / norms
    return out


def _fast_black_box(cost_fn, theta, layout, eps, directions) -> dict:
    work = vector_to_params(theta, layout)
    approx = {}
    for name, shape in zip(layout.names, layout.shapes, strict=True):
        arr = work[name]
        base = arr.copy()
        values = np.empty(len(directions[name]))
        for k, u in enumerate(directions[name]):
            step = eps * u.reshape(shape)
            arr[...] = base + step
            j_plus = _cost_value(cost_fn(work), f"params['{name}'] + eps u (random direction {k})")
            arr[...] = base - step
            j_minus = _cost_value(cost_fn(work), f"params['{name}'] - eps u (random direction {k})")
            values[k] = (j_plus - j_minus) / (2 * eps)
        arr[...] = base
        approx[name] = values
    return approx


def gradient_check(
    cost_fn,
    params,
    grads,
    eps: float = 1e-7,
    mode: str = "full",
    *,
    n_directions: int = 3,
    seed=None,
    threshold: float = WORRY_FROM,
    max_batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> GradCheckResult:
    """Compare backprop's ``grads`` with two-sided differences of ``cost_fn`` (the slide's grad check).

    Parameters
    ----------
    cost_fn : callable
        ``cost_fn(params) -> float``: the cost ``J`` as a function of a parameter dict
        shaped like ``params``. It must be deterministic (the same params give the same J):
        with dropout on (``keep_prob < 1`` and fresh masks) it is not, and the check fails,
        as the slide says.
    params : dict
        ``W{l}`` of shape (n[l], n[l-1]), ``b{l}`` of shape (n[l], 1). Not modified.
    grads : dict
        ``dW{l}``, ``db{l}`` with the same shapes: the gradient under test.
    eps : float > 0, default 1e-7
        Step of the two-sided difference (the slide's value).
    mode : {"full", "fast"}, default "full"
        ``"full"``: every entry, ``dtheta_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)``,
        ``2 n_params`` evaluations of ``J``; ``difference`` is the slide's formula over all
        of ``theta`` and ``per_block`` the same formula restricted to each block.

        ``"fast"``: a directional check, like PyTorch's ``gradcheck(fast_mode=True)`` or
        JAX's ``check_grads``. For each block (W1, b1, ...) draw ``n_directions`` random
        unit vectors ``u`` supported on that block (Gaussian, normalized; seeded by
        ``seed``) and compare ``(J(theta + eps u) - J(theta - eps u)) / (2 eps)`` with
        ``dtheta . u``: ``2 n_directions`` evaluations per block, whatever its size.
        ``per_block[block]`` is the slide's formula applied to the block's
        ``n_directions`` directional derivatives (approximate vs backprop), and
        ``difference`` the same formula over those of all blocks; the thresholds are the
        same. False negatives: an error ``delta`` in a block changes ``dtheta . u`` by
        ``delta . u``, which is exactly 0 only if ``u`` is orthogonal to ``delta``, an
        event of probability 0 for a continuous distribution. But ``delta . u`` can be
        small by chance (one wrong entry of a block of size ``n`` contributes about
        ``|delta_i| |z| / sqrt(n)`` with ``z`` standard normal, so ``|z| < 0.01`` happens
        with probability ~1%), and a bug that only slightly scales a small component may
        then hide within the tolerance. Several directions reduce that risk (all
        ``n_directions`` projections must be small at once); when "fast" passes and the
        stakes are high, run "full".
    n_directions : int >= 1, default 3
        Random directions per block (mode "fast").
    seed : int or numpy.random.Generator, optional
        Source of the random directions (mode "fast").
    threshold : float > 0, default ``WORRY_FROM`` (1e-4)
        ``passed`` is ``difference < threshold``; blocks whose per-block difference is
        ``>= threshold`` are listed in ``suspicious_blocks``.
    max_batch_bytes : int, default 4 MiB
        Network path only: the largest batched activation array; perturbations are
        evaluated in chunks of this size (peak memory is a small multiple of it).

    Returns
    -------
    GradCheckResult
        ``difference``, ``per_block``, ``verdict``, ``passed``, ``suspicious_blocks``,
        ``dtheta``, ``dtheta_approx`` (None in mode "fast"), ``layout``, ``eps``, ``mode``,
        ``n_evaluations`` and a readable report.

    Notes
    -----
    *Black box* (any ``cost_fn``): the entries are moved one at a time inside a private
    copy of ``params`` (perturbed in place and restored bit for bit), so nothing is
    rebuilt per evaluation; the loop over entries is in Python.

    *Network costs*: when ``cost_fn`` is a :class:`helpers.network.CostFunction` (what
    :func:`helpers.network.make_cost_fn` returns), it carries the structure of ``J``
    (``X``, ``Y``, ``hidden``, ``lambd``, ``keep_prob``, ``masks``), and the same values
    ``J(theta +- eps e_i)`` are computed in batches (``path == "network (batched)"``):
    the layers before the perturbed one are computed once, one entry of ``W[l]`` or
    ``b[l]`` changes one row of ``Z[l]``, so ``Z[l+1]`` is updated by a rank-one term,
    and the remaining layers run on many perturbations per matrix product, chunk by
    chunk (``max_batch_bytes``); a network small enough that all ``2 n_params``
    perturbations fit in one chunk runs them as one forward pass. This path is taken
    only when ``J`` is deterministic: ``keep_prob == 1`` or every hidden layer's dropout
    mask frozen (``masks``). With dropout on and fresh masks the cost is treated as a
    black box, so the check fails as it should. One extra call ``cost_fn(params)``
    confirms that the batched path reproduces ``J``; if it does not (a changed
    network), the batched values are discarded and the black box is used.
    ``n_evaluations`` counts the evaluations of ``J`` that enter the differences. To
    force the black box, pass ``lambda p: cost_fn(p)``.

    Raises
    ------
    TypeError
        ``cost_fn`` not callable; params or grads not dicts; ``cost_fn`` returning a
        non-number.
    ValueError
        Missing or extra keys, shape mismatch between ``params`` and ``grads``, NaN/inf in
        them, ``eps <= 0``, an unknown ``mode``, ``cost_fn`` returning a non-scalar or a
        non-finite value (the message names the parameter entry being moved).
    """
    # imported here because that module imports this one (for _cost_value and _entry)
    from helpers._reference import gradcheck_network

    if not callable(cost_fn):
        raise TypeError(f"cost_fn must be callable as cost_fn(params) -> float, got {_describe(cost_fn)}")
    # params_to_vector checks params; grads_to_vector checks grads' keys and shapes against them
    theta, layout = params_to_vector(params)
    dtheta = grads_to_vector(grads, layout)
    eps = check_eps(eps)
    check_choice(mode, "mode", MODES)
    n_directions = check_count(n_directions, "n_directions")
    threshold = check_eps(threshold, "threshold")
    max_batch_bytes = check_count(max_batch_bytes, "max_batch_bytes")

    net = gradcheck_network.network_of(cost_fn, theta, layout, max_batch_bytes)
    path = "network (batched)" if net is not None else "black box"
    grad_names = layout.grad_names

    if mode == "full":
        dtheta_approx = net.full_approx(eps) if net is not None else None
        if net is not None and not net.reproduces(cost_fn):
            net, path = None, "black box"  # the batched values are not cost_fn's: discard them
        if net is None:
            dtheta_approx = _full_black_box(cost_fn, theta, layout, eps)
        per_block = dict(zip(grad_names, _block_differences(dtheta_approx, dtheta, layout), strict=True))
        # J at the point itself, for the round-off floor the result reports (the batched path has
        # just asked cost_fn for it, to confirm its own values: one call, not two)
        at_theta = net.direct_cost if net is not None else cost_fn(vector_to_params(theta, layout))
        cost = _cost_value(at_theta, "at params (unperturbed)")
        return GradCheckResult(
            difference=_relative_difference(dtheta_approx, dtheta), per_block=per_block, dtheta=dtheta,
            dtheta_approx=dtheta_approx, layout=layout, eps=eps, mode=mode,
            n_evaluations=2 * layout.n_params, threshold=threshold, path=path, cost=cost,
        )

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    directions = _directions(layout, n_directions, rng)
    approx = net.directional_approx(eps, directions) if net is not None else None
    if net is not None and not net.reproduces(cost_fn):
        net, path = None, "black box"
    if net is None:
        approx = _fast_black_box(cost_fn, theta, layout, eps, directions)
    directional = {
        g: (approx[n], directions[n] @ dtheta[layout.slice(n)]) for n, g in zip(layout.names, grad_names, strict=True)
    }
    per_block = {g: _relative_difference(a, e) for g, (a, e) in directional.items()}
    all_approx = np.concatenate([a for a, _ in directional.values()])
    all_exact = np.concatenate([e for _, e in directional.values()])
    return GradCheckResult(
        difference=_relative_difference(all_approx, all_exact), per_block=per_block, dtheta=dtheta,
        dtheta_approx=None, layout=layout, eps=eps, mode=mode,
        n_evaluations=2 * n_directions * len(layout.names), threshold=threshold, path=path,
        directional=directional, n_directions=n_directions,
        seed=int(seed) if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else None,
    )


# --------------------------------------------------------------------------- per entry, sampled
def entry_failures(dtheta_approx, dtheta, *, atol: float, rtol: float) -> np.ndarray:
    """Entries that fail ``|dtheta_approx - dtheta| <= atol + rtol |dtheta_approx|``.

    PyTorch's ``gradcheck`` criterion, entry by entry (CS231n judges each entry too): unlike one
    norm ratio over ``theta``, it cannot be passed by a wrong block whose gradient is small next to
    the others. ``atol`` keeps round-off from failing correct tiny entries (notebook 3: about
    ``u |J| / eps`` per entry).

    Parameters
    ----------
    dtheta_approx, dtheta : array_like of shape (n,)
    atol, rtol : float
        Both >= 0.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    a = np.asarray(dtheta_approx, dtype=np.float64)
    d = np.asarray(dtheta, dtype=np.float64)
    if a.shape != d.shape:
        raise ValueError(f"dtheta_approx has shape {a.shape} but dtheta has {d.shape}")
    atol, rtol = check_nonnegative_float(atol, "atol"), check_nonnegative_float(rtol, "rtol")
    return np.abs(a - d) > atol + rtol * np.abs(a)


def sample_entries(layout: ParamLayout, k: int, seed) -> dict:
    """``min(k, size)`` distinct positions of each block (indices into ``theta``), drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, offset, size in zip(layout.grad_names, layout.offsets, layout.sizes, strict=True):
        out[name] = offset + rng.choice(size, size=min(int(k), size), replace=False)
    return out


def sampled_entry_check(cost_fn, params, grads, *, k: int, seed, atol: float, rtol: float,
                        eps: float = 1e-7) -> set:
    """The blocks with a sampled entry that fails :func:`entry_failures`: ``2 k`` evaluations of J per block.

    For a large network the slide's loop costs ``2n`` evaluations of ``J``; CS231n checks a few
    entries of every block instead. Each sampled entry gets the centered difference.

    Parameters
    ----------
    cost_fn : callable
        ``cost_fn(params) -> float``.
    params, grads : dict
        Parameters and the backprop gradients to check.
    k : int
        Entries per block (all of a smaller block).
    seed : int
        Seed of ``np.random.default_rng`` for the sample.
    atol, rtol : float
        Criterion of :func:`entry_failures`.
    eps : float, default 1e-7

    Returns
    -------
    set of str
        Names of the failing gradient blocks (``"dW1"``, ...).
    """
    theta, layout = params_to_vector(params)
    dtheta = grads_to_vector(grads, layout)
    bad = set()
    for name, positions in sample_entries(layout, check_count(k, "k"), seed).items():
        approx = np.empty(positions.size)
        for j, i in enumerate(positions):
            plus, minus = theta.copy(), theta.copy()
            plus[i] += eps
            minus[i] -= eps
            approx[j] = (_cost_value(cost_fn(vector_to_params(plus, layout)), "J(theta + eps e_i)")
                         - _cost_value(cost_fn(vector_to_params(minus, layout)), "J(theta - eps e_i)")) / (2 * eps)
        if entry_failures(approx, dtheta[positions], atol=atol, rtol=rtol).any():
            bad.add(name)
    return bad
