"""Gradient checking (lecture 4): is backprop's ``dtheta`` the gradient of ``J(theta)``?

Reshape ``W1, b1, ..., WL, bL`` into ``theta`` and ``dW1, db1, ...`` into ``dtheta``, then
compare with ``dtheta_approx[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)`` through

    difference = ||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)

with ``eps = 1e-7``: below 1e-6 "great", below 1e-4 "look closer", else "worry" (see
:mod:`helpers.gradcheck_result` for why these cut-offs). ``roundoff_floor`` predicts the
difference that round-off alone gives (``sqrt(n) u |J| / (eps (||dtheta_approx|| + ||dtheta||))``),
and ``verdict_for(difference, floor)`` judges relative to it, so a verdict means the same
after training (small gradients, a higher floor) as at initialization.

``params_to_vector``, ``vector_to_params``, ``grads_to_vector``, ``relative_difference``,
``gradient_check``, ``entry_failures`` (PyTorch's per-entry criterion) and ``sampled_entry_check``
(a few entries of every block) are reference implementations of graded exercises; the student
edition withholds them (see :mod:`helpers._withheld`). The result class, the layout and
the thresholds are always available.
"""

from helpers._withheld import load
from helpers.gradcheck_result import (
    FLOOR_GREAT,
    FLOOR_WORRY,
    GREAT_BELOW,
    VERDICTS,
    WORRY_FROM,
    GradCheckResult,
    ParamLayout,
    roundoff_floor,
    thresholds_for,
    verdict_for,
)

MODES = ("full", "fast")

params_to_vector, vector_to_params, grads_to_vector, relative_difference, gradient_check = load(
    "gradcheck",
    ["params_to_vector", "vector_to_params", "grads_to_vector", "relative_difference", "gradient_check"],
    "notebook 4 (gradient checking), exercises 1-3",
)
entry_failures, sampled_entry_check = load(
    "gradcheck", ["entry_failures", "sampled_entry_check"], "notebook 4 (gradient checking), exercise 7",
)

__all__ = [
    "FLOOR_GREAT",
    "FLOOR_WORRY",
    "GREAT_BELOW",
    "MODES",
    "VERDICTS",
    "WORRY_FROM",
    "GradCheckResult",
    "ParamLayout",
    "entry_failures",
    "gradient_check",
    "grads_to_vector",
    "params_to_vector",
    "relative_difference",
    "roundoff_floor",
    "sampled_entry_check",
    "thresholds_for",
    "vector_to_params",
    "verdict_for",
]
