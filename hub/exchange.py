"""nbgrader's exchange on one machine, laid out so that no student can take over what is not theirs.

nbgrader's own layout leaves the exchange root 0777 and each hand-in folder 0777 ("so the
instructor can delete later"): any account may rename the course's folder and put its own in
its place, or, knowing a hand-in's name, replace or delete a classmate's files. Here every
folder a student can write to has the **sticky bit** (only an entry's owner, the folder's
owner or root may rename or delete it) and every folder a student creates is theirs alone:

=================================  =============  =====  ==========================================
path                               owner          mode   who can do what
=================================  =============  =====  ==========================================
``exchange/``                      root           1777   anyone creates; nobody renames another's
``exchange/<course>/``             instructor     0755   the instructor's; everyone reads
``.../outbound/``                  instructor     0755   releases; everyone reads
``.../inbound/``                   instructor     3733   a student creates their hand-in, cannot list
                                                         the folder, cannot rename/delete another's
``.../inbound/<hand-in>/``         the student    0755   (nbgrader: 0777) only its author writes
``.../feedback/``                  instructor     0711   a student reads the file whose hashed name
                                                         they know
=================================  =============  =====  ==========================================

nbgrader keeps these modes: it creates a folder only when it is missing (and ``exchange/`` at
1777 passes its 0777 check), and the students' servers submit through :data:`STUDENT_SUBMIT`
(nbgrader's submit, then the hand-in folder made 0755). Who handed in what is the owner of the
entry, and when is the kernel's record of its last change (``st_ctime``, which no user can set
back): both are the server's, never the student's (the collect step uses them).
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

#: (sub-folder of the course folder, mode): nbgrader's modes, plus the sticky bit on inbound/
COURSE_FOLDERS = (("outbound", 0o755), ("inbound", 0o3733), ("feedback", 0o711))

#: Added to the students' nbgrader_config.py: nbgrader's submit, with the hand-in folder the
#: student's alone (nbgrader leaves it 0777, where a classmate who learns its name may replace files).
STUDENT_SUBMIT = '''
import os as _os

from nbgrader.exchange.default.submit import ExchangeSubmit as _ExchangeSubmit


class CourseSubmit(_ExchangeSubmit):
    """nbgrader's submit; the hand-in folder then 0755 (its author's only; inbound/ is sticky)."""

    def copy_files(self):
        super().copy_files()
        _os.chmod(_os.path.join(self.inbound_path, self.assignment_filename), 0o755)


c.ExchangeFactory.submit = CourseSubmit
'''


class LayoutError(RuntimeError):
    """The exchange holds something the layout cannot take over safely (the message says what)."""


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise LayoutError(f"{path} is not a folder (a link or a file put there?): move it away, then install again")
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)


def lay_out(exchange: Path, course_id: str, instructor: str) -> Path:
    """Create or repair the layout above (as root); returns the course folder.

    An existing course folder owned by anyone but root or the instructor is refused: it may be a
    student's, made before the instructor's (what the sticky bit now prevents).
    """
    owner = pwd.getpwnam(instructor)
    exchange.mkdir(parents=True, exist_ok=True)
    _own(exchange, 0, 0, 0o1777)
    course = exchange / course_id
    if course.exists() or course.is_symlink():
        found = course.lstat().st_uid
        if found not in (0, owner.pw_uid):
            raise LayoutError(f"{course} belongs to {pwd.getpwuid(found).pw_name}, not to the instructor "
                              f"{instructor}: move it away (it is not the course's), then install again")
    course.mkdir(exist_ok=True)
    _own(course, owner.pw_uid, owner.pw_gid, 0o755)
    for name, mode in COURSE_FOLDERS:
        folder = course / name
        if (folder.exists() or folder.is_symlink()) and folder.lstat().st_uid not in (0, owner.pw_uid):
            raise LayoutError(f"{folder} belongs to uid {folder.lstat().st_uid}, not to {instructor}: move it "
                              "away, then install again")
        folder.mkdir(exist_ok=True)
        _own(folder, owner.pw_uid, owner.pw_gid, mode)
    return course


#: nbgrader's submission secret: 128 hex characters (``secrets.token_hex(64)``); anything else is not one
SECRET_MAX = 1024
_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _read_regular(name: str, dir_fd: int, limit: int) -> bytes | None:
    """A regular file's bytes (opened without following a link), or None: not one, or over ``limit``."""
    try:
        fd = os.open(name, _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def submission_secret(inbound: Path, student: str, assignment: str, notebooks: dict[str, bytes]) -> str | None:
    """The ``submission_secret.txt`` of ``student``'s own hand-in of ``assignment`` whose notebooks are ``notebooks``.

    nbgrader names a student's feedback in the exchange by a hash of that secret (the copy in the
    student's nbgrader cache is how only they find it); the course's collect keeps the notebooks
    but not the secret. The hand-in is recognised by its notebooks' bytes, among the entries the
    student's account made (never one set aside: ``.`` names, nor another account's); every file
    is read without following links. None when no such hand-in holds a secret.
    """
    uid = pwd.getpwnam(student).pw_uid
    try:
        folder = os.open(inbound, _NOFOLLOW | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for entry in sorted(e for e in os.listdir(folder) if e.startswith(f"{student}+{assignment}+")):
            try:
                fd = os.open(entry, _NOFOLLOW | os.O_DIRECTORY, dir_fd=folder)
            except OSError:  # a link, a file, gone
                continue
            try:
                if os.fstat(fd).st_uid != uid:
                    continue
                if any(_read_regular(name, fd, len(data)) != data for name, data in notebooks.items()):
                    continue
                secret = (_read_regular("submission_secret.txt", fd, SECRET_MAX) or b"").strip()
                if secret and all(c in b"0123456789abcdefABCDEF" for c in secret):
                    return secret.decode()
            finally:
                os.close(fd)
    finally:
        os.close(folder)
    return None
