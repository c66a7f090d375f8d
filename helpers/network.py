"""An L-layer fully connected network in the lecture's notation.

Layout: ``X`` of shape ``(n_x, m)``, ``W[l]`` of shape ``(n[l], n[l-1])``, ``b[l]`` of
shape ``(n[l], 1)``; parameters ``{"W1", "b1", ...}``, gradients ``{"dW1", "db1", ...}``.
Hidden layers use one activation (ReLU, tanh, sigmoid or linear), the output layer a
sigmoid with the binary cross-entropy cost

    J = -(1/m) sum_i [y log a + (1 - y) log(1 - a)] + lambd/(2m) sum_l ||W[l]||_F^2 .

Dropout (inverted, on hidden layers) uses a mask drawn from a seedable generator; the
masks are returned in the cache so a gradient check can freeze them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helpers._validation import (
    as_float_matrix,
    check_choice,
    check_count,
    check_nonnegative_float,
    check_params,
    check_probability,
    param_names,
)

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")

__all__ = [
    "ACTIVATIONS",
    "Cache",
    "CostFunction",
    "LayerStatistics",
    "TrainResult",
    "accuracy",
    "activation",
    "activation_derivative",
    "backward",
    "compute_cost",
    "forward",
    "layer_statistics",
    "make_cost_fn",
    "predict",
    "train",
]


# --------------------------------------------------------------------------- activations
def activation(Z: np.ndarray, name: str) -> np.ndarray:
    """``g(Z)`` for ``name`` in :data:`ACTIVATIONS` (element-wise, same shape)."""
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "tanh":
        return np.tanh(Z)
    if name == "sigmoid":
        # sigmoid(z) = exp(-log(1 + e^-z)): no overflow, full relative accuracy for z << 0
        return np.exp(-np.logaddexp(0.0, -Z))
    if name == "linear":
        return Z.copy()
    check_choice(name, "activation", ACTIVATIONS)
    raise AssertionError("unreachable")


def activation_derivative(Z: np.ndarray, name: str) -> np.ndarray:
    """``g'(Z)`` element-wise (ReLU: 1 where Z > 0, else 0)."""
    if name == "relu":
        return (Z > 0).astype(np.float64)
    if name == "tanh":
        return 1.0 - np.tanh(Z) ** 2
    if name == "sigmoid":
        s = activation(Z, "sigmoid")
        return s * (1.0 - s)
    if name == "linear":
        return np.ones_like(Z)
    check_choice(name, "activation", ACTIVATIONS)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- forward
@dataclass
class Cache:
    """What backprop needs from a forward pass.

    Attributes
    ----------
    A : list of ndarray
        ``A[0] = X`` and ``A[l]`` of shape (n[l], m), after dropout for hidden layers.
    Z : list of ndarray
        ``Z[0] = None`` and ``Z[l]`` of shape (n[l], m).
    D : list of ndarray or None
        Dropout masks of the hidden layers (``None`` where no dropout); ``D[0]`` and
        ``D[L]`` are always ``None``. Pass them back as ``masks=`` to freeze dropout.
    hidden, output : str
        Activations used.
    keep_prob : float
    """

    A: list
    Z: list
    D: list
    hidden: str
    output: str
    keep_prob: float

    @property
    def AL(self) -> np.ndarray:
        """Output of the last layer, shape (n[L], m)."""
        return self.A[-1]


def forward(
    X,
    params: dict,
    *,
    hidden: str = "relu",
    output: str = "sigmoid",
    keep_prob: float = 1.0,
    seed=None,
    masks: list | None = None,
):
    """Forward propagation ``Z[l] = W[l] A[l-1] + b[l]``, ``A[l] = g(Z[l])``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    params : dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1).
    hidden, output : str
        Activations of the hidden layers and of the output layer.
    keep_prob : float in (0, 1], default 1.0
        Inverted dropout on hidden layers: ``A = A * D / keep_prob``.
    seed : int or numpy.random.Generator, optional
        Source of the dropout masks.
    masks : list, optional
        Masks from an earlier ``Cache.D``; reusing them makes ``J`` deterministic.

    Returns
    -------
    AL : ndarray of shape (n[L], m)
    cache : Cache
    """
    L = check_params(params)
    X = as_float_matrix(X, "X", n_rows=params["W1"].shape[1])
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    check_choice(output, "output activation", ACTIVATIONS)
    keep_prob = check_probability(keep_prob)
    if masks is not None and len(masks) != L + 1:
        raise ValueError(f"masks must be Cache.D of a forward pass of this network ({L + 1} entries), got {len(masks)}")
    return _forward(X, params, L, hidden, output, keep_prob, seed, masks)


def _forward(X, params, L, hidden, output, keep_prob, seed, masks):
    """:func:`forward` on validated arguments (training loops validate once, not per step)."""
    rng = None
    A_list, Z_list, D_list = [X], [None], [None]
    A = X
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = activation(Z, output if l == L else hidden)
        D = None
        if l < L and (keep_prob < 1.0 or (masks is not None and masks[l] is not None)):
            if masks is not None and masks[l] is not None:
                D = np.asarray(masks[l], dtype=np.float64)
                if D.shape != A.shape:
                    raise ValueError(f"masks[{l}] has shape {D.shape}, expected {A.shape}")
            else:
                if rng is None:
                    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
                D = (rng.random(A.shape) < keep_prob).astype(np.float64)
            A = A * D / keep_prob
        Z_list.append(Z)
        A_list.append(A)
        D_list.append(D)
    return A, Cache(A_list, Z_list, D_list, hidden, output, keep_prob)


# --------------------------------------------------------------------------- cost
def _l2_term(params: dict, lambd: float, m: int) -> float:
    if lambd == 0.0:
        return 0.0
    L = check_params(params)
    return lambd / (2 * m) * sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, L + 1))


def _cost_from_logits(ZL: np.ndarray, Y: np.ndarray, params: dict, lambd: float) -> float:
    """Cross-entropy from the output pre-activations (finite even when AL rounds to 0 or 1)."""
    m = ZL.shape[1]
    # -log sigmoid(z) = logaddexp(0, -z); -log(1 - sigmoid(z)) = logaddexp(0, z)
    loss = Y * np.logaddexp(0.0, -ZL) + (1 - Y) * np.logaddexp(0.0, ZL)
    return float(np.sum(loss) / m) + _l2_term(params, lambd, m)


def _check_labels(Y, AL_shape) -> np.ndarray:
    Y = as_float_array_labels(Y)
    if Y.shape != AL_shape:
        raise ValueError(f"Y has shape {Y.shape}, expected {AL_shape} (same as AL: (n[L], m))")
    return Y


def as_float_array_labels(Y) -> np.ndarray:
    """Labels as float64 of shape (1, m) with values in {0, 1}... or [0, 1]."""
    Y = as_float_matrix(Y, "Y")
    if ((Y < 0) | (Y > 1)).any():
        raise ValueError("Y must hold labels in [0, 1] (binary cross-entropy)")
    return Y


def compute_cost(AL, Y, params: dict | None = None, lambd: float = 0.0, *, ZL=None) -> float:
    """Binary cross-entropy, plus ``lambd/(2m) sum ||W[l]||_F^2`` when ``lambd > 0``.

    Parameters
    ----------
    AL : array_like of shape (1, m)
        Sigmoid outputs.
    Y : array_like of shape (1, m)
        Labels.
    params : dict, optional
        Needed when ``lambd > 0``.
    lambd : float, default 0
    ZL : ndarray of shape (1, m), optional
        Pre-activations of the output layer; when given, the cost is computed from them
        (``log sigmoid(z) = -log(1 + e^{-z})``), which stays finite when ``AL`` rounds
        to exactly 0 or 1.

    Returns
    -------
    float
    """
    AL = as_float_matrix(AL, "AL")
    Y = _check_labels(Y, AL.shape)
    lambd = check_nonnegative_float(lambd, "lambd")
    if lambd > 0 and params is None:
        raise ValueError("compute_cost needs params when lambd > 0 (for the L2 term)")
    m = AL.shape[1]
    if ZL is not None:
        ZL = np.asarray(ZL, dtype=np.float64)
        if ZL.shape != AL.shape:
            raise ValueError(f"ZL has shape {ZL.shape}, expected {AL.shape} (same as AL)")
        return _cost_from_logits(ZL, Y, params if params is not None else {}, lambd)
    else:
        if ((AL < 0) | (AL > 1)).any():
            raise ValueError("AL must hold probabilities in [0, 1] (sigmoid outputs)")
        with np.errstate(divide="ignore"):
            # 0 * log(0) is 0 here (a label that is exactly matched costs nothing)
            pos = np.where(Y > 0, -Y * np.log(AL), 0.0)
            neg = np.where(Y < 1, -(1 - Y) * np.log1p(-AL), 0.0)
        loss = pos + neg
    cost = float(np.sum(loss) / m)
    if params is not None:
        cost += _l2_term(params, lambd, m)
    return cost


# --------------------------------------------------------------------------- backward
def backward(AL, Y, cache: Cache, params: dict, *, lambd: float = 0.0) -> dict:
    """Backpropagation for the sigmoid + cross-entropy output (``dZ[L] = AL - Y``).

    Parameters
    ----------
    AL : ndarray of shape (1, m)
    Y : array_like of shape (1, m)
    cache : Cache
        From :func:`forward` (its dropout masks are applied to ``dA`` as well).
    params : dict
    lambd : float, default 0
        Adds ``lambd/m * W[l]`` to ``dW[l]``.

    Returns
    -------
    dict
        ``dW{l}`` of shape (n[l], n[l-1]) and ``db{l}`` of shape (n[l], 1).
    """
    L = check_params(params)
    AL = np.asarray(AL, dtype=np.float64)
    lambd = check_nonnegative_float(lambd, "lambd")
    return _backward(AL, Y, cache, params, L, lambd)


def _backward(AL, Y, cache: Cache, params: dict, L: int, lambd: float) -> dict:
    """:func:`backward` once ``params``, ``AL`` and ``lambd`` are validated.

    The output and the labels are checked here, in the worker, not only in :func:`backward`:
    the student edition ships this module, and a backward pass that accepted a regression
    network (linear output, real targets; ``dZ[L] = AL - Y`` there too) would answer notebook 4's
    exercise 5, whose hidden regression networks are what no course function may differentiate.
    """
    if cache.output != "sigmoid":
        raise ValueError(
            f"backward supports the sigmoid output with cross-entropy cost, got output={cache.output!r}"
        )
    Y = _check_labels(Y, AL.shape)
    m = AL.shape[1]
    grads = {}
    dZ = AL - Y
    for l in range(L, 0, -1):
        A_prev = cache.A[l - 1]
        dW = dZ @ A_prev.T / m
        if lambd:  # training loops call this every step: skip the L2 arithmetic when it adds 0
            dW += (lambd / m) * params[f"W{l}"]
        grads[f"dW{l}"] = dW
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1:
            dA = params[f"W{l}"].T @ dZ
            D = cache.D[l - 1]
            if D is not None:
                dA = dA * D / cache.keep_prob
            dZ = dA * activation_derivative(cache.Z[l - 1], cache.hidden)
    return {k: grads[k] for k in param_names(L, "d")}


# --------------------------------------------------------------------------- J(theta)
@dataclass
class CostFunction:
    """``J(params)`` for fixed data: the ``cost_fn`` a gradient check perturbs.

    Calling it runs a forward pass and returns the cost (with the L2 term). With
    ``keep_prob < 1`` and no ``masks``, every call draws fresh dropout masks, which is
    exactly why the gradient check fails with dropout on.

    Attributes
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    hidden : str
    lambd : float
    keep_prob : float
    masks : list or None
    seed : int or None
    """

    X: np.ndarray
    Y: np.ndarray
    hidden: str = "relu"
    lambd: float = 0.0
    keep_prob: float = 1.0
    masks: list | None = None
    seed: int | None = None
    _rng: np.random.Generator | None = field(default=None, repr=False)

    def __call__(self, params: dict) -> float:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        L = check_params(params)
        if params["W1"].shape[1] != self.X.shape[0]:
            raise ValueError(f"params['W1'] has shape {params['W1'].shape}, but X has {self.X.shape[0]} features")
        # X and Y were validated by make_cost_fn; a gradient check calls this 2n times
        _, cache = _forward(self.X, params, L, self.hidden, "sigmoid", self.keep_prob, self._rng, self.masks)
        return _cost_from_logits(cache.Z[-1], self.Y, params, self.lambd)

    def gradients(self, params: dict, *, masks: list | None = None) -> dict:
        """Backprop gradients of this cost (a fresh mask draw unless ``masks`` given)."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        AL, cache = forward(
            self.X, params, hidden=self.hidden, keep_prob=self.keep_prob,
            seed=self._rng, masks=masks if masks is not None else self.masks,
        )
        return backward(AL, self.Y, cache, params, lambd=self.lambd)


def make_cost_fn(X, Y, *, hidden="relu", lambd=0.0, keep_prob=1.0, masks=None, seed=None):
    """Build ``cost_fn(params) -> float`` for the network on data ``(X, Y)``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
    hidden : str
    lambd : float
    keep_prob : float
    masks : list, optional
        Freeze dropout masks (``Cache.D`` of a forward pass).
    seed : int, optional
        Seed of the dropout masks drawn by successive calls.

    Returns
    -------
    CostFunction
    """
    X = as_float_matrix(X, "X")
    Y = as_float_array_labels(Y)
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} examples but Y has {Y.shape[1]}")
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    return CostFunction(
        X, Y, hidden, check_nonnegative_float(lambd, "lambd"), check_probability(keep_prob),
        masks, seed,
    )


# --------------------------------------------------------------------------- training
def predict(X, params: dict, *, hidden: str = "relu") -> np.ndarray:
    """Class predictions in {0, 1}, shape (1, m) (threshold 0.5, no dropout)."""
    AL, _ = forward(X, params, hidden=hidden)
    return (AL > 0.5).astype(np.float64)


def accuracy(X, Y, params: dict, *, hidden: str = "relu") -> float:
    """Fraction of examples classified correctly."""
    Y = as_float_array_labels(Y)
    return float(np.mean(predict(X, params, hidden=hidden) == Y))


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    params : dict
        Trained parameters (a copy; the input dict is not modified).
    costs : ndarray
        Cost every ``record_every`` iterations, starting with iteration 0.
    iterations : ndarray of int
        The iterations at which ``costs`` were recorded.
    """

    params: dict
    costs: np.ndarray
    iterations: np.ndarray

    def __repr__(self) -> str:
        return (
            f"TrainResult(iterations={int(self.iterations[-1]) if len(self.iterations) else 0}, "
            f"first cost={self.costs[0]:.6f}, last cost={self.costs[-1]:.6f})"
        )


def train(
    X, Y, params: dict, *, learning_rate: float = 0.01, num_iterations: int = 1000,
    hidden: str = "relu", lambd: float = 0.0, keep_prob: float = 1.0, seed=None,
    record_every: int = 100,
) -> TrainResult:
    """Batch gradient descent ``W := W - learning_rate * dW`` (a demo, not a framework).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
    params : dict
        Initial parameters (not modified).
    learning_rate : float
    num_iterations : int
    hidden : str
    lambd, keep_prob : float
        L2 strength and dropout keep probability.
    seed : int, optional
        Dropout masks.
    record_every : int
        Record the cost every this many iterations (and after the last one).

    Returns
    -------
    TrainResult
    """
    X = as_float_matrix(X, "X")
    Y = as_float_array_labels(Y)
    lr = check_nonnegative_float(learning_rate, "learning_rate")
    num_iterations = check_count(num_iterations, "num_iterations", 0)
    record_every = check_count(record_every, "record_every")
    L = check_params(params)
    X = as_float_matrix(X, "X", n_rows=params["W1"].shape[1])
    _check_labels(Y, (params[f"W{L}"].shape[0], X.shape[1]))
    check_choice(hidden, "hidden activation", ACTIVATIONS)
    keep_prob = check_probability(keep_prob)
    lambd = check_nonnegative_float(lambd, "lambd")
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    rng = np.random.default_rng(seed)
    costs, its = [], []
    for it in range(int(num_iterations) + 1):
        AL, cache = _forward(X, params, L, hidden, "sigmoid", keep_prob, rng, None)
        if it % record_every == 0 or it == num_iterations:
            costs.append(_cost_from_logits(cache.Z[-1], Y, params, lambd))
            its.append(it)
        if it == num_iterations:
            if not np.isfinite(costs[-1]):
                raise FloatingPointError(
                    f"gradient descent diverged (learning_rate={lr}): the final cost is {costs[-1]}"
                )
            break
        if it % record_every == 0 and not np.isfinite(costs[-1]):
            # checked where the cost is recorded, not every step: once inf/NaN, it stays so
            raise FloatingPointError(
                f"gradient descent diverged by iteration {it} (learning_rate={lr}): the cost is "
                f"{costs[-1]}; try a smaller learning rate"
            )
        grads = _backward(AL, Y, cache, params, L, lambd)
        for key in params:
            params[key] -= lr * grads["d" + key]
    return TrainResult(params, np.array(costs), np.array(its))


# --------------------------------------------------------------------------- statistics
@dataclass
class LayerStatistics:
    """Per-layer statistics of one forward (and backward) pass.

    Attributes (each an ndarray of length L, index 0 is layer 1)
    ----------
    layer : ndarray of int
    z_std, a_std, a_mean : ndarray
        Std of ``Z[l]`` and std / mean of ``A[l]`` over all units and examples.
    inactive : ndarray
        Fraction of hidden units that are dead (ReLU: A = 0) or saturated
        (tanh/sigmoid: derivative < 1e-3), per layer.
    dW_norm : ndarray or None
        Frobenius norm of ``dW[l]`` (when labels were given).
    dA_std : ndarray or None
        Std of the gradient flowing into ``A[l]`` (``W[l+1]^T dZ[l+1]``; NaN-free,
        last layer uses ``dZ[L]``).
    """

    layer: np.ndarray
    z_std: np.ndarray
    a_std: np.ndarray
    a_mean: np.ndarray
    inactive: np.ndarray
    dW_norm: np.ndarray | None = None
    dA_std: np.ndarray | None = None

    def _rows(self):
        for i, l in enumerate(self.layer):
            row = [int(l), self.z_std[i], self.a_std[i], self.inactive[i]]
            if self.dW_norm is not None:
                row += [self.dW_norm[i], self.dA_std[i]]
            yield row

    def _header(self):
        head = ["layer", "std Z", "std A", "inactive"]
        return head + (["||dW||_F", "std dA"] if self.dW_norm is not None else [])

    def __repr__(self) -> str:
        lines = ["  ".join(f"{h:>10}" for h in self._header())]
        for row in self._rows():
            lines.append("  ".join(f"{row[0]:>10d}" if i == 0 else f"{v:>10.3e}" for i, v in enumerate(row)))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in self._header())
        body = "".join(
            "<tr>" + "".join(
                f"<td>{v}</td>" if i == 0 else f"<td>{v:.3e}</td>" for i, v in enumerate(row)
            ) + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def layer_statistics(X, params: dict, *, hidden: str = "relu", Y=None) -> LayerStatistics:
    """Forward (and, with labels ``Y``, backward) statistics per layer.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    params : dict
    hidden : str
    Y : array_like of shape (1, m), optional
        When given, gradient statistics are included.

    Returns
    -------
    LayerStatistics
    """
    L = check_params(params)
    AL, cache = forward(X, params, hidden=hidden)
    z_std = np.array([cache.Z[l].std() for l in range(1, L + 1)])
    a_std = np.array([cache.A[l].std() for l in range(1, L + 1)])
    a_mean = np.array([cache.A[l].mean() for l in range(1, L + 1)])
    inactive = []
    for l in range(1, L + 1):
        name = "sigmoid" if l == L else hidden
        if name == "relu":
            inactive.append(float(np.mean(cache.A[l] == 0)))
        elif name in ("tanh", "sigmoid"):
            inactive.append(float(np.mean(activation_derivative(cache.Z[l], name) < 1e-3)))
        else:
            inactive.append(0.0)
    stats = LayerStatistics(np.arange(1, L + 1), z_std, a_std, a_mean, np.array(inactive))
    if Y is not None:
        # one backward pass (no L2, no dropout) collecting both statistics per layer
        Yf = _check_labels(Y, AL.shape)
        m = AL.shape[1]
        dZ = AL - Yf
        dW_norm, dA_std = [0.0] * L, [0.0] * L
        dA_std[L - 1] = float(dZ.std())
        for l in range(L, 0, -1):
            dW_norm[l - 1] = float(np.linalg.norm(dZ @ cache.A[l - 1].T / m))
            if l > 1:
                dA = params[f"W{l}"].T @ dZ
                dA_std[l - 2] = float(dA.std())
                dZ = dA * activation_derivative(cache.Z[l - 1], hidden)
        stats.dW_norm, stats.dA_std = np.array(dW_norm), np.array(dA_std)
    return stats
