"""Graded checks: visible-test diagnostics and out-of-kernel hidden-test verification.

Importing this package registers the checks of every topic. See :mod:`helpers.checks.core`
for how a hidden test is recorded in the kernel and judged by the grader.
"""

# Topic modules register their checks on import (each owned by its notebook).
from helpers.checks import gradcheck, initialization, normalization, numerical  # noqa: F401
from helpers.checks.core import (  # noqa: F401
    PAYLOAD_KEY,
    Check,
    CheckFailure,
    call_student,
    expect_array,
    grade_hidden,
    record_answers,
    verify_cell,
)
