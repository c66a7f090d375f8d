"""The one exception type for an instructor's mistake (the CLI prints its message, no traceback)."""


class CourseError(Exception):
    """A mistake the instructor can fix: the message says what was wrong and what to do."""
