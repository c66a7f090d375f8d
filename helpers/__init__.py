"""Reference implementations and notebook infrastructure for the course
"Setting up your optimization problem" (normalizing inputs, vanishing/exploding
gradients and initialization, numerical approximation of gradients, gradient checking).

Layout everywhere is the lecture's: ``X`` of shape ``(n_x, m)``, ``W[l]`` of shape
``(n[l], n[l-1])``, ``b[l]`` of shape ``(n[l], 1)``.

The reference implementations of graded exercises live in :mod:`helpers._reference`;
the student edition omits that sub-package and the public names below then raise
:class:`helpers._withheld.WithheldError` when called.
"""

from helpers._withheld import WithheldError, reference_available
from helpers.gradcheck import (
    GradCheckResult,
    ParamLayout,
    gradient_check,
    grads_to_vector,
    params_to_vector,
    relative_difference,
    vector_to_params,
)
from helpers.initialization import init_std, initialize_parameters
from helpers.network import backward, compute_cost, forward, make_cost_fn, train
from helpers.normalization import Normalizer, fit_normalization, normalize
from helpers.numerical import centered_difference, eps_sweep, fit_order, one_sided_difference

__version__ = "0.1.0"

__all__ = [
    "GradCheckResult",
    "Normalizer",
    "ParamLayout",
    "WithheldError",
    "backward",
    "centered_difference",
    "compute_cost",
    "eps_sweep",
    "fit_normalization",
    "fit_order",
    "forward",
    "gradient_check",
    "grads_to_vector",
    "init_std",
    "initialize_parameters",
    "make_cost_fn",
    "normalize",
    "one_sided_difference",
    "params_to_vector",
    "reference_available",
    "relative_difference",
    "train",
    "vector_to_params",
]
