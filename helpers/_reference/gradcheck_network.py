"""Batched evaluation of ``J(theta +- eps e_i)`` for the course network (withheld, with the check).

A :class:`helpers.network.CostFunction` carries the structure of ``J``: data ``X, Y``, the
hidden activation, ``lambd``, ``keep_prob`` and frozen dropout ``masks``. With it, the
``2 n_params`` evaluations of a full gradient check need far less work than ``2 n_params``
forward passes:

- the activations of the unperturbed network are computed once; layers before the
  perturbed one never change;
- moving one entry ``W[l][r, c]`` (or ``b[l][r]``) changes only row ``r`` of ``Z[l]``
  (by ``d * A[l-1][c, :]``, resp. ``d``), hence only row ``r`` of ``A[l]``, so
  ``Z[l+1] = Z[l+1] + W[l+1][:, r] (A_new[r] - A[l][r])`` is a rank-one update;
- the remaining layers run on a whole chunk of perturbations at once: activations of
  shape ``(n[k], B, m)`` are multiplied as one ``(n[k], B m)`` matrix (one BLAS call per
  layer and chunk), and the chunk size ``B`` keeps the largest such array under
  ``max_batch_bytes`` (all ``2 n_params`` copies are never materialized).

When all ``2 n_params`` perturbed networks fit in one such batch (the course's 4-5-3-1
network, 47 parameters), they run as one forward pass instead, every layer for every
perturbation: there the cost is in the number of numpy calls, not in arithmetic, and one
pass needs a handful per layer.

Either way the batched ``J(theta)`` is compared with one call ``cost_fn(params)``
(:meth:`BatchedNetwork.reproduces`); if they differ, the check discards the batched values
and uses the black box.

The cost is computed as :func:`helpers.network.compute_cost` does (from ``Z[L]`` with
``logaddexp``, plus ``lambd/(2m) sum ||W[l]||_F^2``), so the values agree with
``cost_fn(params)`` up to rounding; the perturbation actually applied is the rounded
``fl(w + eps) - w``, as in the black box.
"""

from __future__ import annotations

import numpy as np

from helpers._reference.gradcheck import _cost_value, _entry
from helpers.network import ACTIVATIONS, CostFunction, activation

#: Largest relative mismatch tolerated between the batched J and cost_fn(params).
_AGREEMENT_RTOL = 1e-9


def network_of(cost_fn, theta, layout, max_batch_bytes: int):
    """A :class:`BatchedNetwork` for ``cost_fn``, or None when the black box must be used.

    None when ``cost_fn`` is not a plain :class:`CostFunction` (a subclass overriding
    ``__call__``, a wrapper, any other callable), when it draws fresh dropout masks
    (``keep_prob < 1`` without a frozen mask for every hidden layer), or when its data do
    not fit ``params`` (the black box then raises the network's own error). The caller
    must still confirm the values with :meth:`BatchedNetwork.reproduces`.
    """
    if not isinstance(cost_fn, CostFunction) or type(cost_fn).__call__ is not CostFunction.__call__:
        return None
    try:
        return BatchedNetwork(cost_fn, theta, layout, max_batch_bytes)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    """The cost function's structure is not one the batched path reproduces."""


class BatchedNetwork:
    """The network of a ``CostFunction`` at fixed ``theta``, evaluated on batches of perturbations.

    Parameters
    ----------
    cost_fn : CostFunction
    theta : ndarray of shape (n_params,)
    layout : ParamLayout
    max_batch_bytes : int
    """

    def __init__(self, cost_fn: CostFunction, theta: np.ndarray, layout, max_batch_bytes: int):
        self.layout, self.theta = layout, theta
        self.L = L = len(layout.names) // 2
        blocks = {n: theta[o : o + s].reshape(shape) for n, shape, o, s in
                  zip(layout.names, layout.shapes, layout.offsets, layout.sizes, strict=True)}
        self.W = [None] + [blocks[f"W{l}"] for l in range(1, L + 1)]
        self.b = [None] + [blocks[f"b{l}"] for l in range(1, L + 1)]
        try:
            X = np.asarray(cost_fn.X, dtype=np.float64)
            Y = np.asarray(cost_fn.Y, dtype=np.float64)
            keep_prob = float(cost_fn.keep_prob)
            lambd = float(cost_fn.lambd)
        except (TypeError, ValueError) as exc:
            raise _Unsupported from exc
        if X.ndim != 2 or X.shape[0] != self.W[1].shape[1] or Y.shape != (self.W[L].shape[0], X.shape[1]):
            raise _Unsupported
        if cost_fn.hidden not in ACTIVATIONS or not 0.0 < keep_prob <= 1.0 or not lambd >= 0.0:
            raise _Unsupported
        self.X, self.Y, self.m = X, Y, X.shape[1]
        self.hidden, self.keep_prob, self.lambd = cost_fn.hidden, keep_prob, lambd
        self.D = self._frozen_masks(cost_fn.masks)
        self.max_batch_bytes = max_batch_bytes
        # ||W[l]||_F^2, only needed for the L2 term
        self.sq = [None] + [float(np.sum(self.W[l] ** 2)) if lambd > 0.0 else 0.0 for l in range(1, L + 1)]
        self.b3 = [None] + [self.b[l][:, :, None] for l in range(1, L + 1)]
        self.D3 = [None if D is None else D[:, None, :] for D in self.D]
        self.Y3, self.one_minus_Y3 = self.Y[:, None, :], (1 - self.Y)[:, None, :]
        self.A = self.Z = None  # the unperturbed pass, computed when a path needs it
        self._j0 = None
        self.direct_cost = None

    def reproduces(self, cost_fn) -> bool:
        """Whether ``J(theta)`` of the batched path agrees with ``cost_fn(params)`` (to 1e-9)."""
        j_batched = self.base_cost()
        # views into the private theta: CostFunction.__call__ (checked by network_of) never writes to params
        j_direct = cost_fn(self.params_view())
        self.direct_cost = j_direct  # cost_fn's own J(theta): the check's round-off floor reuses it
        return abs(j_batched - j_direct) <= _AGREEMENT_RTOL * max(1.0, abs(j_direct))

    def params_view(self) -> dict:
        """``{"W1": W1, "b1": b1, ...}`` as views of ``theta`` (for the agreement check)."""
        out = {}
        for l in range(1, self.L + 1):
            out[f"W{l}"], out[f"b{l}"] = self.W[l], self.b[l]
        return out

    # ------------------------------------------------------------------ set-up
    def _frozen_masks(self, masks) -> list:
        L, m = self.L, self.m
        if masks is None:
            if self.keep_prob < 1.0:
                raise _Unsupported  # a fresh mask per call: J is random, the check must fail
            return [None] * (L + 1)
        if len(masks) != L + 1:
            raise _Unsupported
        D = [None] * (L + 1)
        for l in range(1, L):  # forward() uses masks of hidden layers only
            if masks[l] is None:
                if self.keep_prob < 1.0:
                    raise _Unsupported
                continue
            D[l] = np.asarray(masks[l], dtype=np.float64)
            if D[l].shape != (self.W[l].shape[0], m):
                raise _Unsupported
        return D

    def _act_(self, l: int, Z: np.ndarray, D=None) -> np.ndarray:
        """Hidden activation of layer ``l`` and its frozen mask ``D``, in place on ``Z`` when possible.

        The same operations as :func:`helpers.network.forward`, ``(g(Z) * D) / keep_prob``, so the
        unperturbed rows come out bit for bit as the black box computes them.
        """
        if self.hidden == "relu":
            A = np.maximum(Z, 0.0, out=Z)
        elif self.hidden == "tanh":
            A = np.tanh(Z, out=Z)
        elif self.hidden == "linear":
            A = Z
        else:
            A = activation(Z, self.hidden)
        if D is not None:
            A *= D
            A /= self.keep_prob
        return A

    def _forward_once(self) -> None:
        """The unperturbed activations ``A[l]`` and ``Z[l]``, once (the layer-by-layer paths reuse them)."""
        if self.A is not None:
            return
        A, Z = [self.X], [None]
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite J is reported by base_cost
            for l in range(1, self.L + 1):
                Z.append(self.W[l] @ A[l - 1] + self.b[l])
                A.append(self._act_(l, Z[l].copy(), self.D[l]) if l < self.L else None)
        self.A, self.Z = A, Z

    def _l2_many(self, l: int, sq_l):
        """L2 term when ||W[l]||_F^2 takes the value(s) ``sq_l``, the other layers unchanged."""
        if self.lambd == 0.0:
            return 0.0
        total = 0.0
        for k in range(1, self.L + 1):
            # summed in layer order like network._l2_term, so the unperturbed value matches it
            total = total + (sq_l if k == l else self.sq[k])
        return self.lambd / (2 * self.m) * total

    def _data_cost(self, ZL: np.ndarray) -> np.ndarray:
        """Cross-entropy of each perturbation from Z[L] of shape (n[L], B, m) -> (B,); consumes ZL."""
        # compute_cost's formula, Y log(1 + e^-z) + (1 - Y) log(1 + e^z), term by term
        loss = np.logaddexp(0.0, -ZL)
        loss *= self.Y3
        np.logaddexp(0.0, ZL, out=ZL)
        ZL *= self.one_minus_Y3
        loss += ZL
        return loss.sum(axis=(0, 2)) / self.m

    def base_cost(self) -> float:
        """``J(theta)``, unperturbed; a ValueError if it is not finite (nothing to check then)."""
        if self._j0 is None:
            self._forward_once()
            with np.errstate(over="ignore", invalid="ignore"):
                j0 = float(self._data_cost(self.Z[self.L][:, None, :].copy())[0]) + self._l2_many(0, 0.0)
            self._set_base_cost(j0)
        return self._j0

    def _set_base_cost(self, j0: float) -> None:
        if not np.isfinite(j0):
            raise ValueError(
                f"cost_fn returns {j0} (not finite) for params themselves, before any move; "
                f"the check needs a finite J (are the parameters huge?)"
            )
        self._j0 = j0

    def _tail(self, l: int, Z: np.ndarray) -> np.ndarray:
        """Run layers l..L from a batch of Z[l] of shape (n[l], B, m) (consumed); data cost of each (B,)."""
        B = Z.shape[1]
        for k in range(l, self.L):
            A = self._act_(k, Z, self.D3[k])
            # one matrix product for the whole chunk: (n[k+1], n[k]) @ (n[k], B m)
            Z = (self.W[k + 1] @ A.reshape(A.shape[0], B * self.m)).reshape(-1, B, self.m)
            Z += self.b3[k + 1]
        return self._data_cost(Z)

    def _chunk(self, l: int, *, row_items: bool) -> int:
        """Perturbations per chunk so that the widest (n[k], B, m) array stays under max_batch_bytes."""
        first = l + 1 if row_items else l  # a row perturbation materializes full arrays from layer l+1 on
        widest = max([1] + [self.W[k].shape[0] for k in range(first, self.L + 1)])
        return max(1, self.max_batch_bytes // (8 * widest * self.m))

    # ------------------------------------------------------------------ full check
    def _rows_cost(self, l: int, rows: np.ndarray, dZ: np.ndarray) -> np.ndarray:
        """Data cost when row ``rows[i]`` of Z[l] moves by ``dZ[i]`` (shape (B, m)), each alone."""
        B = len(rows)
        Zr = dZ
        Zr += self.Z[l][rows, :]
        if l == self.L:
            ZL = np.repeat(self.Z[l][:, None, :], B, axis=1)
            ZL[rows, np.arange(B), :] = Zr
            return self._data_cost(ZL)
        dA = self._act_(l, Zr, None if self.D[l] is None else self.D[l][rows, :])
        dA -= self.A[l][rows, :]
        # only row r of A[l] moved, so Z[l+1] moves by the rank-one term W[l+1][:, r] dA
        Z_next = np.multiply(self.W[l + 1][:, rows][:, :, None], dA[None, :, :], order="C")  # (n[l+1], B, m)
        Z_next += self.Z[l + 1][:, None, :]
        return self._tail(l + 1, Z_next)

    def full_approx(self, eps: float) -> np.ndarray:
        """``dtheta_approx`` of shape (n_params,), the slide's two-sided difference for every entry."""
        # overflow shows up as a non-finite J, reported with the entry that caused it
        with np.errstate(over="ignore", invalid="ignore"):
            return self._full_approx(eps)

    def _fits_one_batch(self) -> bool:
        """All ``2 n_params`` perturbed networks fit in one batch of ``max_batch_bytes``."""
        widest = max(self.W[k].shape[0] for k in range(1, self.L + 1))
        return 2 * self.layout.n_params * widest * self.m * 8 <= self.max_batch_bytes

    def _full_approx(self, eps: float) -> np.ndarray:
        if self._fits_one_batch():
            return self._full_approx_one_batch(eps)
        self._forward_once()
        self.base_cost()  # a non-finite J(theta) is reported as such, not as the first entry's
        out = np.empty(self.layout.n_params)
        for l in range(1, self.L + 1):
            W = self.W[l]
            n_l, n_prev = W.shape
            # W[l] and b[l] are adjacent in theta: one sequence of items per layer; a bias is a
            # weight on a constant input 1, so stack that row under A[l-1]
            start_l = self.layout.slice(f"W{l}").start
            src = np.empty((n_prev + 1, self.m))
            src[:n_prev] = self.A[l - 1]
            src[n_prev] = 1.0
            values = self.theta[start_l : start_l + W.size + n_l]
            # item i < W.size is W[l][i // n_prev, i % n_prev]; item W.size + r is b[l][r] (column n_prev of src)
            rows_all, cols_all = np.divmod(np.arange(W.size + n_l), n_prev)
            rows_all[W.size :] = np.arange(n_l)
            cols_all[W.size :] = n_prev
            step = max(1, self._chunk(l, row_items=True) // 2)
            for lo in range(0, values.size, step):
                hi = min(lo + step, values.size)
                w, rows, cols = values[lo:hi], rows_all[lo:hi], cols_all[lo:hi]
                k = hi - lo
                d = np.concatenate([(w + eps) - w, (w - eps) - w])  # the rounded steps the black box applies
                both = np.concatenate([rows, rows])
                j = self._rows_cost(l, both, d[:, None] * src[np.concatenate([cols, cols])])
                if self.lambd > 0.0:
                    n_w = max(0, min(hi, W.size) - lo)  # items of this chunk that are weights, not biases
                    sq_l = np.full(2 * k, self.sq[l])
                    moved = np.concatenate([w[:n_w] + d[:n_w], w[:n_w] + d[k : k + n_w]])
                    old = np.concatenate([w[:n_w], w[:n_w]])
                    sq_l[np.r_[0:n_w, k : k + n_w]] = self.sq[l] - old * old + moved * moved
                    j += self._l2_many(l, sq_l)
                self._check_finite(
                    j, lambda i, at=start_l + lo, k=k: _entry(self.layout, at + i % k, "+ eps" if i < k else "- eps")
                )
                out[start_l + lo : start_l + hi] = (j[:k] - j[k:]) / (2 * eps)
        return out

    def _full_approx_one_batch(self, eps: float) -> np.ndarray:
        """:meth:`full_approx` for small networks: all ``2 n_params`` perturbations in one pass.

        On a network as small as the course's (47 parameters, m = 3) the time goes into
        numpy calls, not arithmetic, so one forward pass over all ``2 n_params`` perturbed
        networks (a few calls per layer, whatever the number of entries) beats skipping the
        layers before each perturbed one (a few dozen calls per layer). Batch item ``2 i``
        moves entry ``i`` of ``theta`` by ``+eps``, item ``2 i + 1`` by ``-eps`` (so the items
        of each layer are contiguous), and the last item is the unperturbed network, whose
        ``J`` is :meth:`base_cost` and whose ``A[l-1]`` gives the moves of layer ``l``: the
        items of ``W[l][r, c]`` (resp. ``b[l][r]``) enter at ``Z[l]`` as ``d * A[l-1][c]``
        (resp. ``d``) added to row ``r``. The batch is ``(n[l], 2 n_params + 1, m)``, which
        :meth:`_fits_one_batch` bounds.
        """
        n, m, L = self.layout.n_params, self.m, self.L
        rows, cols, is_weight = self._entries_as_rows()
        P = 2 * n + 1
        w = np.repeat(self.theta, 2)
        d = np.empty(P - 1)
        d[0::2], d[1::2] = eps, -eps
        d = (w + d) - w  # the rounded steps, as the black box applies them
        rows, cols, batch = np.repeat(rows, 2), np.repeat(cols, 2), np.arange(P - 1)
        A_prev = self.X  # A[l-1] of the unperturbed network
        Z = np.repeat((self.W[1] @ self.X + self.b[1])[:, None, :], P, axis=1)
        for l in range(1, L + 1):
            n_prev = self.W[l].shape[1]
            if l > 1:
                A = self._act_(l - 1, Z, self.D3[l - 1])
                A_prev = A[:, -1, :]
                Z = (self.W[l] @ A.reshape(n_prev, P * m)).reshape(-1, P, m)
                Z += self.b3[l]
            # a bias is a weight on the constant input 1: source row n_prev
            src = np.empty((n_prev + 1, m))
            src[:n_prev], src[n_prev] = A_prev, 1.0
            lo = 2 * self.layout.offsets[2 * l - 2]  # W[l] then b[l], adjacent in theta
            hi = lo + 2 * (self.W[l].size + self.W[l].shape[0])
            Z[rows[lo:hi], batch[lo:hi], :] += d[lo:hi, None] * src[cols[lo:hi]]
        j = self._data_cost(Z)
        if self.lambd > 0.0:
            # only a weight entry changes ||W[l]||_F^2: by (w + d)^2 - w^2, zero for biases
            change = np.where(np.repeat(is_weight, 2), (w + d) * (w + d) - w * w, 0.0)
            j[:-1] += self.lambd / (2 * m) * (sum(self.sq[1:]) + change)
            j[-1] += self._l2_many(0, 0.0)
        self._set_base_cost(float(j[-1]))
        self._check_finite(j, lambda q: _entry(self.layout, q // 2, "- eps" if q % 2 else "+ eps"))
        return (j[0:-1:2] - j[1::2]) / (2 * eps)

    def _entries_as_rows(self) -> tuple:
        """For each entry ``i`` of ``theta``: the row ``r`` of ``Z[l]`` it moves, its column ``c``
        (``n[l-1]`` for a bias) and whether it is a weight; arrays of shape (n_params,)."""
        layout, L = self.layout, self.L
        n_cols, col_of_bias = [], []
        for l in range(1, L + 1):
            n_prev = self.W[l].shape[1]
            n_cols += [n_prev, 1]  # b[l][r, 0] reads like W[l][r, c] with one column...
            col_of_bias += [0, n_prev]  # ...the constant input after the n[l-1] activations
        block = np.repeat(np.arange(2 * L), layout.sizes)
        local = np.arange(layout.n_params) - np.asarray(layout.offsets)[block]
        rows, cols = np.divmod(local, np.asarray(n_cols)[block])
        return rows, cols + np.asarray(col_of_bias)[block], block % 2 == 0

    @staticmethod
    def _check_finite(j: np.ndarray, where) -> None:
        bad = ~np.isfinite(j)
        if bad.any():
            i = int(np.argmax(bad))
            _cost_value(float(j[i]), lambda: where(i))

    # ------------------------------------------------------------------ fast check
    def directional_approx(self, eps: float, directions: dict) -> dict:
        """``(J(theta + eps u) - J(theta - eps u)) / (2 eps)`` for each block's directions ``u``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._directional_approx(eps, directions)

    def _directional_approx(self, eps: float, directions: dict) -> dict:
        self._forward_once()
        self.base_cost()
        out = {}
        for l in range(1, self.L + 1):
            for name, arr in ((f"W{l}", self.W[l]), (f"b{l}", self.b[l])):
                U = directions[name]
                values = np.empty(len(U))
                step = max(1, self._chunk(l, row_items=False) // 2)
                for lo in range(0, len(U), step):
                    u = U[lo : lo + step].reshape((-1, *arr.shape))
                    k = len(u)
                    # the rounded steps, as the black box applies them
                    deltas = np.concatenate([(arr + eps * u) - arr, (arr - eps * u) - arr])
                    if name[0] == "W":
                        dZ = np.matmul(deltas, self.A[l - 1]).transpose(1, 0, 2)
                    else:
                        dZ = deltas.transpose(1, 0, 2)
                    j = self._tail(l, np.add(self.Z[l][:, None, :], dZ, order="C"))
                    if name[0] == "W" and self.lambd > 0.0:
                        j += self._l2_many(l, np.sum((arr + deltas) ** 2, axis=(1, 2)))
                    else:
                        j += self._l2_many(0, 0.0)
                    self._check_finite(
                        j,
                        lambda i, name=name, lo=lo, k=k: (
                            f"params['{name}'] {'+' if i < k else '-'} eps u (random direction {lo + i % k})"
                        ),
                    )
                    values[lo : lo + k] = (j[:k] - j[k:]) / (2 * eps)
                out[name] = values
        return out
