"""Graded checks: visible-test diagnostics and out-of-kernel hidden-test verification.

Importing this package registers the checks of every topic. See :mod:`helpers.checks.core`
for how a hidden test is recorded in the kernel and judged by the grader.
"""

from helpers.checks.core import (  # noqa: F401
    PAYLOAD_KEY,
    Check,
    CheckFailure,
    grade_hidden,
    verify_cell,
)

# Topic modules register their checks on import (each owned by its notebook).
from helpers.checks import gradcheck, initialization, normalization, numerical  # noqa: E402,F401,I001
