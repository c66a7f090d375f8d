"""nbgrader configuration of the course (instructor side). See README.md in this folder.

Works from any current directory: every path is derived from this file. Two environment
variables let the tests (and ``python -m grading.course --root/--source``) point the same
configuration at a temporary course:

* ``COURSE_ROOT``: nbgrader's course root (release/, submitted/, autograded/, feedback/,
  gradebook.db); default: this folder.
* ``COURSE_SOURCE``: the folder holding one sub-folder per assignment; default: the
  repository's ``notebooks/`` (the single source of truth, nothing is copied by hand).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # the preprocessors below live in grading/course
    sys.path.insert(0, str(REPO))

from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grading.course import late as course_late  # noqa: E402
from grading.course import settings as course_settings  # noqa: E402
from grading.course.execute import GuardedExecute  # noqa: E402
from grading.course.feedback_page import FeedbackPageExporter  # noqa: E402
from grading.course.formgrader_guard import install as guard_formgrader  # noqa: E402
from grading.course.forstudents import ForStudents  # noqa: E402
from grading.course.inert import InertNotebook  # noqa: E402
from grading.course.restore import RestoreCells  # noqa: E402
from grading.course.verify import VerifyHiddenTests  # noqa: E402

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)

ROOT = Path(os.environ.get("COURSE_ROOT") or HERE).resolve()
SOURCE = Path(os.environ.get("COURSE_SOURCE") or REPO / "notebooks").resolve()
# the grading kernel imports the student edition of helpers (built by the release step)
os.environ.setdefault("COURSE_STUDENT_HELPERS", str(ROOT / ".student_helpers"))
# ... and may not read the instructor's files: kernel_launcher.py installs an audit-hook guard
# (assigned, not defaulted: one process may load this config for several course roots)
os.environ["COURSE_PROTECTED_DIRS"] = os.pathsep.join(map(str, (REPO, ROOT, SOURCE)))

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = str(SOURCE)
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL") or f"sqlite:///{ROOT / 'gradebook.db'}"
# nbgrader's default course id is "", which its Gradebook never inserts into the course table:
# SQLite ignores the assignment -> course foreign key, PostgreSQL rejects the release. This is
# the id ``Gradebook(url)`` uses when none is given (as grading/course/*.py does). On a JupyterHub
# (hub/, grading/HUB.md) ``COURSE_ID`` names the course in nbgrader's exchange and the formgrader.
c.CourseDirectory.course_id = os.environ.get("COURSE_ID") or "default_course"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.cfg", ".*"]

# Generate the release: solutions and hidden tests removed by nbgrader's defaults.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Autograde: nbgrader's pipeline with three extensions (grading/course/*.py, README "Hardening").
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    VerifyHiddenTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.GuardedExecute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
c.GuardedExecute.interrupt_on_timeout = True
# per-notebook budget: by default from the source notebook's run time measured at release (budget.py,
# [grading] in course.toml); COURSE_NOTEBOOK_TIMEOUT fixes it (0: none)
c.GuardedExecute.execute_retries = 0
c.VerifyHiddenTests.check_modules = [p for p in os.environ.get("COURSE_CHECK_MODULES", "").split(os.pathsep) if p]
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# Late penalties: the policy of course.toml (grading/README.md), applied by nbgrader's
# AssignLatePenalties from the submission time (timestamp.txt) and the gradebook's due date.
COURSE = course_settings.load(ROOT)
c.AssignLatePenalties.plugin_class = course_late.CoursePolicy
c.CoursePolicy.policy = COURSE.late.policy
c.CoursePolicy.deduction = COURSE.late.deduction
c.CoursePolicy.cap = COURSE.late.cap
c.CoursePolicy.grace_minutes = COURSE.late.grace_minutes

# Feedback shows students no hidden-test code and nothing the grading kernel printed: their
# sources, the tests' visible part and the grader's verdicts, rendered inert (no script runs).
c.GenerateFeedback.preprocessors = [ForStudents, GetGrades]  # the page carries its own style (feedback_page)
c.GenerateFeedback.exporter_class = FeedbackPageExporter
# Every other HTML view of a submission (formgrader's submission and manual-grading pages, which
# load this file) renders the whitelisted notebook, sanitised, under a script policy of its own:
# formgrader_guard.py, installed here so that every server that serves this course has it.
c.HTMLExporter.preprocessors = [InertNotebook]
c.HTMLExporter.sanitize_html = True
guard_formgrader()

# Validation (instructor preview, students' validate.py) uses the same per-cell timeout.
c.Execute.timeout = c.GuardedExecute.timeout
