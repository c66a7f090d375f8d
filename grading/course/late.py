"""Late penalties: the course's policy as an nbgrader late-submission plugin.

nbgrader's ``AssignLatePenalties`` (in the autograde pipeline) asks the plugin for each late
notebook's penalty and stores it in the gradebook (``late_submission_penalty``), where
nbgrader's export, the formgrader and ``grades`` all read it; nbgrader itself keeps a penalty
between 0 and the notebook's score. Lateness is nbgrader's: the submission time
(``timestamp.txt``, written by ``collect``) minus the due date plus the student's extension.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

from . import findings
from .settings import LATE_POLICIES, LatePolicy


def penalty(policy: LatePolicy, seconds_late: float, max_score: float, score: float) -> float:
    """Points taken from a notebook that scored ``score`` of ``max_score``, ``seconds_late`` late.

    ``zero``: the whole score. ``per_hour``/``per_day``: ``deduction`` percent of the
    notebook's points for every started hour/day after the due date, at most ``cap`` percent.
    Within ``grace_minutes`` nothing is taken. Never more than ``score``.
    """
    if seconds_late <= policy.grace_minutes * 60 or policy.policy == "none":
        return 0.0
    if policy.policy == "zero":
        return score
    period = 3600 if policy.policy == "per_hour" else 86400
    percent = min(policy.cap, policy.deduction * math.ceil(seconds_late / period))
    return min(score, round(max_score * percent / 100, 6))


class CoursePolicy(LateSubmissionPlugin):
    """``AssignLatePenalties.plugin_class``; its traits are set from course.toml by nbgrader_config.py."""

    policy = Enum(LATE_POLICIES, default_value="none").tag(config=True)
    deduction = Float(0.0).tag(config=True)
    cap = Float(100.0).tag(config=True)
    grace_minutes = Float(0.0).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        rules = LatePolicy(self.policy, self.deduction, self.cap, self.grace_minutes)
        # the plugin API passes the score only; the preprocessor that owns us knows the notebook
        parent = self.parent
        notebook = parent.gradebook.find_notebook(parent.notebook_id, parent.assignment_id)
        taken = penalty(rules, total_seconds_late, float(notebook.max_score), float(score or 0.0))
        findings.note(self.log, f"{_duration(total_seconds_late)} late ({self.policy}): {taken:g} points taken")
        return taken


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours:.1f} hours" if hours >= 1 else f"{seconds / 60:.0f} min"
