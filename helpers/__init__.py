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
from helpers.initialization import init_std, initialize_parameters
from helpers.network import backward, compute_cost, forward, make_cost_fn, train

__version__ = "0.1.0"

__all__ = [
    "WithheldError",
    "backward",
    "compute_cost",
    "forward",
    "init_std",
    "initialize_parameters",
    "make_cost_fn",
    "reference_available",
    "train",
]
