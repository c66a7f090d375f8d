"""Shortcut students: answers that delegate to whatever the student edition holds.

Each shortcut defines an exercise's function(s) without the exercise's idea: it calls a
function of the student edition (public or private), reads the state of an object the test
hands over (attributes, closures, ``__dict__``), or finds objects through ``gc`` and ``inspect``.
:mod:`test_shortcuts` runs them in a kernel that imports only the student edition and
grades them as the grader does; every one must score 0.

``TOOLS`` is run once per kernel, after the notebook's setup cell: the introspection the
shortcuts share. ``SHORTCUTS[check]`` lists ``(name, source)`` pairs; a source redefines the
exercise's function(s) under the notebook's names (the reference solutions define the others).
"""

from __future__ import annotations

TOOLS = r'''
import dataclasses as _dc
import gc as _gc
import importlib as _importlib
import inspect as _inspect
import pkgutil as _pkgutil

import numpy as _np

import helpers as _helpers


def _free_vars(fn, depth=4):
    """Everything a function's closure (and the closures inside it) holds, by variable name."""
    found, todo = {}, [(fn, 0)]
    while todo:
        f, d = todo.pop()
        f = getattr(f, "_call", f)  # a Backprop's wrapped function
        names = getattr(getattr(f, "__code__", None), "co_freevars", ())
        for name, cell in zip(names, getattr(f, "__closure__", None) or ()):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            found.setdefault(name, value)
            if callable(value) and d < depth:
                todo.append((value, d + 1))
        for value in getattr(f, "__dict__", {}).values():
            if callable(value) and d < depth:
                todo.append((value, d + 1))
    return found


def _bug_lists():
    """Every planted-bug spec the kernel holds: closures' sets and lists of (kind, layer), dicts' 'bugs'."""
    from helpers.planted_bugs import CATALOG
    out = []
    for obj in _gc.get_objects():
        if isinstance(obj, dict) and isinstance(obj.get("bugs"), list):
            out.append(obj["bugs"])
        elif isinstance(obj, (set, frozenset, list)) and obj and all(
                isinstance(p, (tuple, list)) and len(p) == 2 and p[0] in CATALOG for p in obj):
            out.append([list(p) for p in obj])
    return out


def _modules():
    mods = [_helpers]
    for info in _pkgutil.walk_packages(_helpers.__path__, "helpers."):
        try:
            mods.append(_importlib.import_module(info.name))
        except Exception:
            pass
    return mods


def _delegates(*words):
    """Every function of the student edition (private names included) whose name holds a word."""
    seen, out = set(), []
    for mod in _modules():
        for name, value in vars(mod).items():
            if callable(value) and any(w in name.lower() for w in words) and id(value) not in seen:
                seen.add(id(value))
                out.append(value)
    return out


def _first_answer(candidates, *args, **kwargs):
    for fn in candidates:
        try:
            return fn(*args, **kwargs)
        except Exception:
            continue
    raise RuntimeError("no function of the student edition answered")


def _network_data(cost_fn):
    """X, Y, hidden, lambd, keep_prob, masks of the network a cost function closes over."""
    if hasattr(cost_fn, "X"):
        return {k: getattr(cost_fn, k) for k in ("X", "Y", "hidden", "lambd", "keep_prob", "masks")}
    return _free_vars(cost_fn)


def _true_grads(cost_fn, params):
    """The exact gradient from any backward pass the student edition has (public or private)."""
    from helpers import network, planted_bugs
    try:
        return cost_fn.gradients(params)
    except Exception:
        pass
    d = _network_data(cost_fn)
    tries = []
    for output in ("sigmoid", "linear"):
        try:
            AL, cache = network.forward(d["X"], params, hidden=d.get("hidden", "relu"), output=output,
                                        keep_prob=d.get("keep_prob", 1.0), masks=d.get("masks"))
        except Exception:
            continue
        lambd = d.get("lambd", 0.0)
        L = len(params) // 2
        tries += [
            lambda: network.backward(AL, d["Y"], cache, params, lambd=lambd),
            lambda: network._backward(AL, d["Y"], cache, params, L, lambd),
            lambda: network.backward(AL, d["Y"], _dc.replace(cache, output="sigmoid"), params, lambd=lambd),
            lambda: planted_bugs.buggy_backward([])(AL, d["Y"], cache, params, lambd=lambd),
            lambda: planted_bugs.buggy_backward([], output=output)(AL, d["Y"], cache, params, lambd=lambd),
        ]
    return _first_answer(tries)


def _flat(grads, params):
    return _np.concatenate([_np.asarray(grads["d" + k], dtype=float).ravel() for k in params])


def _rel(a, b):
    den = _np.linalg.norm(a) + _np.linalg.norm(b)
    return 0.0 if den == 0 else float(_np.linalg.norm(a - b) / den)
'''

_DELEGATE = "def {fn}({sig}):\n    return _first_answer(_delegates({words}), {call})\n"


def _delegate(fn: str, sig: str, words: str, call: str) -> tuple[str, str]:
    return "delegates to every function of the student edition named like it", _DELEGATE.format(
        fn=fn, sig=sig, words=words, call=call)


SHORTCUTS: dict[str, list[tuple[str, str]]] = {
    # ------------------------------------------------------------------ notebook 1
    "normalization.fit": [
        ("the withheld reference", "from helpers.normalization import fit_normalization\n"),
        ("the Normalizer class", "from helpers.normalization import Normalizer\n\n"
         "def fit_normalization(X):\n    n = Normalizer().fit(X)\n    return n.mu, n.sigma2\n"),
        _delegate("fit_normalization", "X", "'fit', 'normaliz', 'sigma'", "X"),
    ],
    "normalization.apply": [
        ("the withheld reference", "from helpers.normalization import normalize\n"),
        ("the Normalizer class", "from helpers.normalization import Normalizer\n\n"
         "def normalize(X, mu, sigma2):\n    n = Normalizer()\n    n.mu, n.sigma2 = mu, sigma2\n"
         "    return n.transform(X)\n"),
        _delegate("normalize", "X, mu, sigma2", "'normaliz', 'transform', 'sigma'", "X, mu, sigma2"),
    ],
    "normalization.max_lr": [
        _delegate("largest_stable_learning_rate", "X", "'learning_rate', 'stable', 'lr', 'eig', 'curvature'", "X"),
    ],
    # ------------------------------------------------------------------ notebook 2
    "initialization.initialize_parameters": [
        ("the withheld reference", "from helpers.initialization import initialize_parameters\n"),
        ("the checks' formulas (the setup's expected_stds_from_formulas, a method table, or a hint naming "
         "the method)",
         "import helpers.checks.initialization as _ci\n\n"
         "def initialize_parameters(layer_dims, method='he', seed=None, scale=1.0):\n"
         "    rng = np.random.default_rng(seed)\n"
         "    table = getattr(_ci, 'expected_stds_from_formulas', None)\n"
         "    if table is not None:\n"
         "        stds = [s for s, _ in table(layer_dims, method, scale)]\n"
         "    else:\n"
         "        label = (getattr(_ci, 'METHOD_FORMULA', {}).get(method) or next(\n"
         "            (l for l, h in getattr(_ci, '_HINTS', {}).items() if method.capitalize() in h), None))\n"
         "        f = _ci.FORMULAS[label] if label else (lambda p, c: 0.0 if method == 'zeros' else scale)\n"
         "        stds = [f(layer_dims[l - 1], layer_dims[l]) for l in range(1, len(layer_dims))]\n"
         "    params = {}\n"
         "    for l in range(1, len(layer_dims)):\n"
         "        params[f'W{l}'] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])) * stds[l - 1]\n"
         "        params[f'b{l}'] = np.zeros((layer_dims[l], 1))\n"
         "    return params\n"),
        _delegate("initialize_parameters", "layer_dims, method='he', seed=None, scale=1.0",
                  "'initiali', 'init_std', 'formula'", "layer_dims, method, seed=seed, scale=scale"),
    ],
    "initialization.layer_std": [
        ("the course's forward pass, with the activation recognised",
         "from helpers import network as _net\n\n"
         "def activation_std_per_layer(X, params, g):\n"
         "    z = np.linspace(-3, 3, 13)\n"
         "    name = next(n for n in _net.ACTIVATIONS if np.allclose(g(z), _net.activation(z, n)))\n"
         "    _, cache = _net.forward(X, params, hidden=name, output=name)\n"
         "    return np.array([np.std(A) for A in cache.A[1:]])\n"),
        ("layer_statistics", "from helpers.network import layer_statistics\n\n"
         "def activation_std_per_layer(X, params, g):\n"
         "    return layer_statistics(X, params, hidden='relu').a_std\n"),
    ],
    "initialization.alive": [
        ("the checks' own alive_ratios", "from helpers.checks.initialization import alive_ratios, ALIVE_FACTOR\n\n"
         "def alive_methods(X, layer_dims, methods, seed=None):\n"
         "    ratios = alive_ratios({'X': X, 'layer_dims': layer_dims, 'methods': methods, 'seed': seed})\n"
         "    return [m for m, r in ratios.items() if 1 / ALIVE_FACTOR <= r <= ALIVE_FACTOR]\n"),
    ],
    # ------------------------------------------------------------------ notebook 3
    "numerical.one_sided_difference": [
        ("the withheld reference", "from helpers.numerical import one_sided_difference\n"),
        _delegate("one_sided_difference", "f, theta, eps", "'one_sided', 'difference', 'approx'", "f, theta, eps"),
    ],
    "numerical.centered_difference": [
        ("the withheld reference", "from helpers.numerical import centered_difference\n"),
        _delegate("centered_difference", "f, theta, eps", "'centered', 'difference', 'approx'", "f, theta, eps"),
    ],
    "numerical.error_order": [
        ("eps_sweep and the withheld fit_order", "from helpers.numerical import eps_sweep, fit_order\n\n"
         "def error_order(difference, f, g, theta, eps_values):\n"
         "    sweep = eps_sweep(f, g, theta, eps_values, {'d': difference})\n"
         "    return fit_order(sweep.eps, sweep.errors['d'])\n"),
        _delegate("error_order", "difference, f, g, theta, eps_values", "'order', 'slope'",
                  "difference, f, g, theta, eps_values"),
    ],
    "numerical.best_eps": [
        ("the error model's optimal eps", "from helpers.numerical import optimal_eps\n\n"
         "def best_eps(difference, f, theta, eps_values):\n"
         "    eps_values = np.asarray(eps_values, dtype=float)\n"
         "    scale = float(np.max(np.abs(difference(f, theta, 1e-4))))\n"
         "    best = optimal_eps('centered', f_scale=abs(float(np.max(f(theta)))), deriv_scale=max(scale, 1e-12))\n"
         "    return float(eps_values[np.argmin(np.abs(np.log(eps_values / best)))])\n"),
        _delegate("best_eps", "difference, f, theta, eps_values", "'best_eps', 'stabil', 'rule_pick'",
                  "difference, f, theta, eps_values"),
    ],
    # ------------------------------------------------------------------ notebook 4
    "gradcheck.flatten": [
        ("the withheld reference",
         "from helpers.gradcheck import params_to_vector, vector_to_params, grads_to_vector\n"),
    ],
    "gradcheck.approx": [
        ("backprop's exact gradient (cost_fn.gradients, or any backward pass on the network the cost "
         "function closes over)",
         "def gradient_approx(cost_fn, params, eps=1e-7):\n    return _flat(_true_grads(cost_fn, params), params)\n"),
    ],
    "gradcheck.check": [
        ("per-block differences against backprop's exact gradient",
         "def gradient_check(cost_fn, params, grads, eps=1e-7):\n"
         "    truth = _true_grads(cost_fn, params)\n"
         "    per_block = {k: _rel(np.ravel(grads[k]), np.ravel(truth[k])) for k in truth}\n"
         "    return _rel(_flat(grads, params), _flat(truth, params)), per_block\n"),
    ],
    "gradcheck.bug_hunt": [
        ("the planted-bug list from the backprop's closure, turned into blocks by affected_blocks",
         "from helpers import planted_bugs as _pb\n\n"
         "def find_buggy_blocks(cost_fn, backprop, params, threshold=1e-4):\n"
         "    held = _free_vars(backprop)\n"
         "    bugs = [list(p) for p in held.get('planted', held.get('bugs', []))]\n"
         "    d = _network_data(cost_fn)\n"
         "    return set(_pb.affected_blocks(bugs, len(params) // 2, hidden=d.get('hidden', 'relu'),\n"
         "                                   lambd=d.get('lambd', 0.0)))\n"),
        ("the bug spec found by gc and the callers' frames, turned into blocks by affected_blocks",
         "from helpers import planted_bugs as _pb\n\n"
         "def find_buggy_blocks(cost_fn, backprop, params, threshold=1e-4):\n"
         "    for frame in _inspect.stack():\n"
         "        inputs = frame.frame.f_locals.get('inputs')\n"
         "        if isinstance(inputs, dict) and 'bugs' in inputs:\n"
         "            return set(_pb.affected_blocks(inputs['bugs'], inputs['L'], hidden=inputs['hidden'],\n"
         "                                           lambd=inputs['lambd']))\n"
         "    bugs = _bug_lists()[-1]\n"
         "    return set(_pb.affected_blocks(bugs, len(params) // 2))\n"),
        ("blocks where backprop differs from an exact gradient",
         "def find_buggy_blocks(cost_fn, backprop, params, threshold=1e-4):\n"
         "    truth, grads = _true_grads(cost_fn, params), backprop(params)\n"
         "    return {k for k in truth if _rel(np.ravel(grads[k]), np.ravel(truth[k])) >= threshold}\n"),
    ],
    "gradcheck.fixed_backward": [
        ("a wrapper around the private helpers.network._backward",
         "from helpers.network import _backward\n\n"
         "def backward_fixed(AL, Y, cache, params, lambd=0.0):\n"
         "    return _backward(AL, Y, cache, params, len(params) // 2, lambd)\n"),
        ("a planted-bug backprop without bugs", "from helpers import planted_bugs as _pb\n\n"
         "def backward_fixed(AL, Y, cache, params, lambd=0.0):\n"
         "    try:\n"
         "        return _pb.buggy_backward([], output=cache.output)(AL, Y, cache, params, lambd=lambd)\n"
         "    except Exception:\n"
         "        return _pb.buggy_backward([])(AL, Y, cache, params, lambd=lambd)\n"),
        ("the course's backward on a cache relabelled as a sigmoid output",
         "from helpers.network import backward as _backward_pub\n\n"
         "def backward_fixed(AL, Y, cache, params, lambd=0.0):\n"
         "    return _backward_pub(AL, Y, _dc.replace(cache, output='sigmoid'), params, lambd=lambd)\n"),
    ],
    "gradcheck.sampled": [
        ("the withheld reference", "from helpers._withheld import load as _load\n\n"
         "(_ref,) = _load('gradcheck', ['sampled_entry_check'], 'notebook 4, exercise 7')\n\n"
         "def sampled_entry_check(cost_fn, params, grads, k, seed, atol, rtol, eps=1e-7):\n"
         "    return _ref(cost_fn, params, grads, k=k, seed=seed, atol=atol, rtol=rtol, eps=eps)\n"),
        ("entries compared with an exact gradient instead of finite differences (no call of J)",
         "def sampled_entry_check(cost_fn, params, grads, k, seed, atol, rtol, eps=1e-7):\n"
         "    inner = _free_vars(cost_fn).get('cost_fn', cost_fn)  # the check's call counter wraps J\n"
         "    truth = _true_grads(inner, params)\n"
         "    return {k_ for k_ in truth if np.any(np.abs(np.ravel(grads[k_]) - np.ravel(truth[k_]))\n"
         "                                        > atol + rtol * np.abs(np.ravel(truth[k_])))}\n"),
    ],
    "gradcheck.regularized": [
        ("the course's cost function rebuilt from the cost function's data",
         "from helpers.network import make_cost_fn as _make\n\n"
         "def l2_regularized(cost_fn, backprop, lambd, m):\n"
         "    d = _network_data(cost_fn)\n"
         "    J = _make(d['X'], d['Y'], hidden=d.get('hidden', 'relu'), lambd=lambd)\n"
         "    return J, J.gradients\n"),
    ],
}
