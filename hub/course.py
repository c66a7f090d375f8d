"""The instructor's steps that go through nbgrader's exchange (run as the instructor, in their clone).

* ``release``: the course's release step (``grading.course release``), then the student edition
  of ``helpers`` published to ``<prefix>/share/student_helpers`` (where the students' kernels
  import it) and every released assignment copied to the exchange (nbgrader's
  ``release_assignment``).
* ``collect``: the course's collect of the exchange's ``inbound/`` into ``versions/`` and
  ``submitted/`` (``grading/course/collect.py``: regular files only, never through a link,
  timed by the server's record; the newest hand-in counts). nbgrader files a hand-in under the student id in its
  name, which the submitter chooses (``inbound/`` is writable by everyone); on the Hub the Unix
  account that wrote it is who handed it in, so a hand-in whose name claims another student is
  set aside first (:func:`set_aside_forged`): the submission folder's id, which the grade and the
  per-student variant follow, is always the Hub account's name.
* ``return``: the course's feedback (``grading.course feedback``) released to the exchange
  (nbgrader's ``release_feedback``), student by student (:func:`hand_back`: one who cannot be
  returned to is reported, the rest are returned); students fetch it from their Assignments tab.

Autograde, grades and exports are the course's own steps (``python -m grading.course ...``).
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from grading.course.nbapi import api, last_line
from grading.course.paths import Course

from . import HubSettings


def _exchange_api(course: Course, settings: HubSettings):
    os.environ["COURSE_ID"] = settings.course_id
    return api(course, Exchange={"root": settings.exchange},
               CourseDirectory={"course_id": settings.course_id})


def publish_helpers(course: Course, settings: HubSettings) -> Path:
    """Copy the student edition (built by the release step) to where the students' kernels import it."""
    src = course.student_helpers / "helpers"
    if not (src / "__init__.py").is_file():
        raise FileNotFoundError(f"no student edition of helpers in {course.student_helpers}: release first")
    if (src / "_reference").exists():
        raise RuntimeError(f"{src} holds the reference: refusing to publish it")
    dest = settings.published_helpers / "helpers"
    tmp = settings.published_helpers / ".helpers.new"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in [tmp, *tmp.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return dest


def release(course: Course, settings: HubSettings, assignments=None, *, log=print) -> list[str]:
    from grading.course.release import release as course_release

    os.environ["COURSE_ID"] = settings.course_id
    course_release(course, assignments or None, log=log)
    log(f"student edition of helpers published: {publish_helpers(course, settings)}")
    nb = _exchange_api(course, settings)
    done = []
    for name in assignments or course.assignments():
        result = nb.release_assignment(name)
        if not result["success"]:
            raise RuntimeError(f"nbgrader release_assignment {name} failed: {last_line(result.get('error'))}\n"
                               f"{result.get('log', '')}")
        log(f"released {name} to the exchange ({settings.exchange}/{settings.course_id}/outbound/{name})")
        done.append(name)
    return done


#: Prefix of a hand-in set aside by :func:`set_aside_forged` (nbgrader's collect skips dot-names).
FORGED = ".forged+"


def set_aside_forged(settings: HubSettings, assignment: str, *, log=print) -> list[str]:
    """Rename aside every hand-in of ``assignment`` in ``inbound/`` not written by the student its name claims.

    ``<student>+<assignment>+<time>+<random>`` is the name nbgrader's collect files a hand-in
    under; the owner of the entry (``lstat``: a symbolic link is its own owner) is the account that
    wrote it. Returns the new names (``.forged+<name>``).
    """
    inbound = Path(settings.exchange) / settings.course_id / "inbound"
    if not inbound.is_dir():
        return []
    moved = []
    for entry in sorted(inbound.glob(f"*+{assignment}+*")):  # nbgrader's own pattern
        claimed, uid = entry.name.rsplit("+", 3)[0], entry.lstat().st_uid
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = f"uid {uid}"
        if owner == claimed:
            continue
        target, n = inbound / f"{FORGED}{entry.name}", 1
        while target.exists():  # the same forged name handed in again
            target, n = inbound / f"{FORGED}{n}+{entry.name}", n + 1
        try:
            entry.rename(target)
        except OSError as exc:
            raise RuntimeError(f"{entry} claims to be {claimed}'s hand-in but was written by {owner}, and it cannot "
                               f"be set aside ({exc.strerror}): move it out of {inbound}, then collect again") from None
        log(f"NOT collected: {entry.name} claims to be {claimed}'s hand-in but was written by {owner} "
            f"(set aside as {target.name})")
        moved.append(target.name)
    return moved


def collect(course: Course, settings: HubSettings, assignments=None, *, log=print) -> int:
    """The course's collect of the exchange's ``inbound/`` for every (or each named) released assignment.

    Not nbgrader's collect, which copies a hand-in with the instructor's rights and follows the
    links in it: the course's one intake path (``grading.course.collect.collect_exchange``) reads
    regular files only, never through a link, files each hand-in under the Hub account that wrote
    it, timed by the server's record, and keeps every hand-in as a version. Returns how many
    submissions of these assignments are in ``submitted/``.
    """
    from grading.course.collect import collect_exchange

    outbound = Path(settings.exchange) / settings.course_id / "outbound"
    inbound = Path(settings.exchange) / settings.course_id / "inbound"
    names = list(assignments or [])
    if not names and outbound.is_dir():
        names = sorted(p.name for p in outbound.iterdir() if p.is_dir() and not p.is_symlink())
    if not names:
        raise FileNotFoundError(f"nothing released in {outbound}: run python -m hub release first")

    def account(uid: int) -> str:
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"

    count = 0
    for name in names:
        set_aside_forged(settings, name, log=log)
        collect_exchange(course, inbound, name, owner=account, log=log)
        got = sorted(p.parent.name for p in course.dir("submitted").glob(f"*/{name}"))
        log(f"collected {name}: {len(got)} submission(s) in {course.dir('submitted')} ({', '.join(got)})")
        count += len(got)
    return count


def _recover_secret(course: Course, settings: HubSettings, student: str, assignment: str, folder: Path) -> None:
    """Put the secret of the hand-in the feedback is for (``hub.exchange.submission_secret``) in ``folder``.

    The course's collect files notebooks and the server's time, not nbgrader's
    ``submission_secret.txt``; the student's own hand-in in ``inbound/`` with the same notebooks has it.
    """
    from .exchange import submission_secret

    filed = course.dir("submitted") / student / assignment
    notebooks = {p.name: p.read_bytes() for p in sorted(filed.glob("*.ipynb")) if p.is_file() and not p.is_symlink()}
    if not notebooks:
        return
    inbound = Path(settings.exchange) / settings.course_id / "inbound"
    secret = submission_secret(inbound, student, assignment, notebooks)
    if secret:
        (folder / "submission_secret.txt").write_text(secret)


def hand_back(course: Course, settings: HubSettings, assignments=None, students=None, *, log=print) -> list[str]:
    """Feedback generated by the course, then released to the exchange student by student.

    The secret nbgrader names a student's feedback by comes from their hand-in in ``inbound/``
    (:func:`_recover_secret`). One student whose feedback cannot go through the exchange never
    stops the others: a hand-in made without nbgrader's submit has no ``submission_secret.txt``,
    so there is no name under which only that student can fetch their feedback; it is reported
    (``NOT returned``) and left in ``feedback/``. nbgrader files each copy under a temporary
    name and renames it into place, so a student's earlier feedback stays until the new one is
    whole. Returns the failures of feedback generation and release (not the students reported
    as NOT returned).
    """
    from grading.course.results import feedback

    os.environ["COURSE_ID"] = settings.course_id
    failures = feedback(course, students=students, assignments=assignments, log=log)
    nb = _exchange_api(course, settings)
    base = course.dir("feedback")
    names = assignments or sorted({p.name for p in base.glob("*/*") if p.is_dir()})
    for name in names:
        returned = []
        for folder in sorted(base.glob(f"*/{name}")):
            student = folder.parent.name
            if students and student not in students:
                continue
            if not (folder / "submission_secret.txt").is_file():
                _recover_secret(course, settings, student, name, folder)
            missing = [f for f in ("submission_secret.txt", "timestamp.txt") if not (folder / f).is_file()]
            if missing or not any(folder.glob("*.html")):
                why = f"no {' or '.join(missing)}" if missing else "no feedback file"
                log(f"NOT returned: {student} / {name}: {why} (the hand-in did not come through nbgrader's "
                    f"submit); their feedback is in {folder}: give it to them another way")
                continue
            result = nb.release_feedback(name, student_id=student)
            if result["success"]:
                returned.append(student)
            else:
                failures.append(f"release_feedback {student} / {name}: {last_line(result.get('error'))}")
        log(f"feedback of {name} released to the exchange ({len(returned)} student(s))")
    for line in failures:
        log(f"FAILED: {line}")
    return failures
