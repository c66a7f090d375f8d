"""Weight initialization (lecture 2): Var(w) = 1/n (Xavier, tanh), 2/n (He, ReLU).

``initialize_parameters`` and ``init_std`` are reference implementations of a graded
exercise; the student edition withholds them (see :mod:`helpers._withheld`).
"""

from helpers._withheld import load

METHODS = ("zeros", "random", "xavier", "glorot", "he")

init_std, initialize_parameters = load(
    "initialization",
    ["init_std", "initialize_parameters"],
    "notebook 2 (vanishing/exploding gradients), the initialization exercise",
)

__all__ = ["METHODS", "init_std", "initialize_parameters"]
