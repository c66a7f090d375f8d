"""A hostile-intake corpus: inboxes as an instructor receives them, each hostile entry with the outcome it must have.

Built with Python (``zipfile``, ``os``) in the shapes the course really receives: a folder of
e-mailed ``handin.py`` zips, bare notebooks and unpacked folders (the plain layout), a Canvas
"Download Submissions" zip and a Moodle "Download all submissions" zip (``lms.py`` documents
their naming). Every attack class of the intake issue is here: links (symbolic and hard, at the
top and inside folders and archives, to the gradebook, the course secret and ``/dev/zero``),
FIFOs and devices, over-size files, ``..`` and absolute archive members, zip bombs by ratio, by
member count, by nesting and by a lying header, encrypted, unsupported-method, corrupt and
truncated archives, a tar of links (a format collect does not open), impersonation (a
classmate's folder inside a zip, a Canvas user named like a classmate, Moodle participants
sharing or forging a display name), forged times (a ``timestamp.txt`` claiming an on-time
hand-in, member times of 1980). Honest classmates sit in the same inboxes; :class:`Expect`
says what must happen to each entry.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

A1, A2 = "00_toy", "01_toy2"
DUE = {A1: dt.datetime(2027, 1, 10, 12, 0), A2: dt.datetime(2027, 1, 17, 12, 0)}  # UTC
LATE = {"policy": "per_day", "deduction": 10, "cap": 30}
#: Unicode names as Canvas and macOS write them: decomposed (NFD) accents.
ZOE_CANVAS = unicodedata.normalize("NFD", "núñezzoë")


def config(students: list[dict]) -> str:
    """course.toml of the corpus course (Canvas as LMS: every student has a canvas_id)."""
    lines = ['[course]\nname = "Intake"\ntimezone = "UTC"\nlms = "canvas"\n',
             f'[late]\npolicy = "{LATE["policy"]}"\ndeduction = {LATE["deduction"]}\ncap = {LATE["cap"]}\n']
    for a, due in DUE.items():
        lines.append(f"[assignments.{a}]\ndue = {due:%Y-%m-%dT%H:%M:%S}\n")
    for s in students:
        lines.append("[[students]]\n" + "".join(
            f"{k} = {v}\n" if isinstance(v, int) else f'{k} = "{v}"\n' for k, v in s.items()))
    return "\n".join(lines)


ROSTER = [
    {"id": "alice", "first_name": "Ada", "last_name": "Lovelace", "canvas_id": 1001, "email": "ada@x.edu"},
    {"id": "blee", "first_name": "Bruno", "last_name": "Lée", "canvas_id": 1002, "email": "bruno@x.edu",
     "moodle_id": 301},
    {"id": "mcurie", "first_name": "Marie", "last_name": "Curie", "canvas_id": 1003, "email": "marie@x.edu",
     "moodle_id": 412},
    {"id": "zoe", "first_name": "Zoë", "last_name": "Núñez", "canvas_id": 1007, "email": "zoe@x.edu"},
    {"id": "sam", "first_name": "Sam", "last_name": "Same", "canvas_id": 1008, "email": "sam@x.edu"},
    {"id": "bob", "first_name": "Bob", "last_name": "Brown", "canvas_id": 1009, "email": "bob@x.edu"},
    {"id": "carol", "first_name": "Carol", "last_name": "Clark", "canvas_id": 1010, "email": "carol@x.edu"},
    {"id": "mallory", "first_name": "Mallory", "last_name": "Mal", "canvas_id": 1066, "email": "mal@x.edu"},
    {"id": "quiet", "first_name": "Quinn", "last_name": "Quiet", "canvas_id": 1099, "email": "quinn@x.edu"},
    *[{"id": f"m{i:02d}", "canvas_id": 2000 + i, "email": f"m{i}@x.edu"} for i in range(1, 25)],
    *[{"id": f"wd{i}", "canvas_id": 3000 + i, "email": f"wd{i}@x.edu"} for i in range(1, 4)],
    {"id": "mis", "first_name": "Misha", "last_name": "Filed", "canvas_id": 1111, "email": "mis@x.edu"},
    {"id": "hana", "first_name": "Hana", "last_name": "Handin", "canvas_id": 1112, "email": "hana@x.edu"},
    {"id": "una", "first_name": "Ünal", "last_name": "Ünpacked", "canvas_id": 1113, "email": "una@x.edu",
     "moodle_id": 555},
]


def second_toy(source: Path, gs) -> None:
    """A second toy assignment, other content (hidden cases, setup, functions) than the first."""
    gs.make_toy_source(source, A2)
    path = source / A2 / "toy.ipynb"
    text = path.read_text().replace('\\"seed\\": 1', '\\"seed\\": 4').replace("registers toy.square", "toy two")
    text = text.replace("square", "sqr").replace("toy.sqr", "toy.square")  # other functions: other cells
    path.unlink()
    (source / A2 / "toy2.ipynb").write_text(text)
    gs.nbgrader_meta.apply(source / A2 / "toy2.ipynb", check=False)


@dataclass
class Expect:
    """What must happen to the entries of one inbox: report lines, and what must be filed."""

    aside: dict[str, tuple[str, ...]] = field(default_factory=dict)  # entry -> reason words (any)
    flagged: dict[str, str] = field(default_factory=dict)  # entry -> words of its flag
    filed: dict[tuple[str, str], tuple[bytes, dt.datetime]] = field(default_factory=dict)  # -> bytes, time UTC
    untouched: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment) nothing may reach


# ------------------------------------------------------------------ archive makers
def zip_of(members: list[tuple[str, bytes, dt.datetime | None]], *, method=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip (bytes) with these members (name, data, member time; ``None``: 2027-01-01)."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data, when in members:
            info = zipfile.ZipInfo(name, (when or dt.datetime(2027, 1, 1)).timetuple()[:6])
            info.compress_type = method
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def zip_with_mode(name: str, data: bytes, mode: int) -> bytes:
    """One member whose Unix mode says link/device (what ``zip --symlinks`` and tar-to-zip tools write)."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name, (2027, 1, 1, 0, 0, 0))
        info.create_system = 3
        info.external_attr = mode << 16
        zf.writestr(info, data)
    return buf.getvalue()


def patch_headers(data: bytes, *, flags: int | None = None, method: int | None = None,
                  size: int | None = None) -> bytes:
    """Rewrite the first member's local and central headers (general flags, method, uncompressed size)."""
    out = bytearray(data)
    for sig, flag_at, method_at, size_at in ((b"PK\x03\x04", 6, 8, 22), (b"PK\x01\x02", 8, 10, 24)):
        at = out.find(sig)
        if flags is not None:
            out[at + flag_at:at + flag_at + 2] = struct.pack("<H", flags)
        if method is not None:
            out[at + method_at:at + method_at + 2] = struct.pack("<H", method)
        if size is not None:
            out[at + size_at:at + size_at + 4] = struct.pack("<I", size)
    return bytes(out)


def corrupt_data(data: bytes) -> bytes:
    """Flip bytes in the middle of the first member's data (its CRC no longer matches)."""
    out = bytearray(data)
    start = 30 + struct.unpack("<H", out[26:28])[0] + struct.unpack("<H", out[28:30])[0]
    for i in range(start + 10, start + 40):
        out[i] ^= 0xFF
    return bytes(out)


def nested(data: bytes, depth: int) -> bytes:
    for i in range(depth):
        data = zip_of([(f"layer{i}.zip", data, None)])
    return data


def _write(path: Path, data: bytes, when: dt.datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when is not None:
        stamp = when.replace(tzinfo=dt.timezone.utc).timestamp()
        os.utime(path, (stamp, stamp))
    return path


# ------------------------------------------------------------------ the plain layout: a folder of hand-ins
def folder_inbox(inbox: Path, nb: dict, course_root: Path, elsewhere: Path) -> Expect:
    """E-mailed hand-ins saved in a folder (``<id>.zip``, ``<id>.ipynb``, ``<id>/``), hostile ones among them.

    ``nb``: notebook bytes, ``right``/``wrong_ex1``/``release`` per assignment. ``elsewhere``: a
    folder outside the inbox (the target of hard links).
    """
    e = Expect()
    on_time = DUE[A1] - dt.timedelta(hours=2)
    late = DUE[A1] + dt.timedelta(days=3)
    secret = course_root / "variant-secret"
    gradebook = course_root / "gradebook.db"
    # honest classmates
    _write(inbox / "alice.zip", zip_of([("alice/00_toy/toy.ipynb", nb["right"][A1], None),
                                        ("alice/01_toy2/toy2.ipynb", nb["right"][A2], None)]), on_time)
    e.filed[("alice", A1)] = (nb["right"][A1], on_time)
    e.filed[("alice", A2)] = (nb["right"][A2], on_time)
    _write(inbox / "bob.ipynb", nb["wrong_ex1"][A1], on_time)
    e.filed[("bob", A1)] = (nb["wrong_ex1"][A1], on_time)
    _write(inbox / "carol" / "00_toy" / "toy.ipynb", nb["right"][A1], on_time)  # an unpacked hand-in
    e.filed[("carol", A1)] = (nb["right"][A1], on_time)
    # links at the top of the inbox and inside hand-ins: never followed, whatever they point at
    os.symlink(gradebook, inbox / "m01.ipynb")
    e.aside["m01.ipynb"] = ("symbolic link",)
    os.symlink("/dev/zero", inbox / "m02.ipynb")
    e.aside["m02.ipynb"] = ("symbolic link",)
    (inbox / "m03" / "00_toy").mkdir(parents=True)
    os.symlink(secret, inbox / "m03" / "00_toy" / "toy.ipynb")
    e.aside["m03"] = ("symbolic link",)
    (inbox / "m04").mkdir()
    os.symlink(course_root, inbox / "m04" / "00_toy")  # a folder link to the course itself
    e.aside["m04"] = ("symbolic link",)
    _write(elsewhere / "toy.ipynb", nb["right"][A1])
    (inbox / "m05").mkdir()
    os.link(elsewhere / "toy.ipynb", inbox / "m05" / "toy.ipynb")
    e.aside["m05"] = ("hard link",)
    (inbox / "m06").mkdir()
    os.mkfifo(inbox / "m06" / "toy.ipynb")
    e.aside["m06"] = ("device, pipe or socket",)
    os.mkfifo(inbox / "m07.ipynb")
    e.aside["m07.ipynb"] = ("device, pipe or socket",)
    (inbox / "m08").mkdir()
    with open(inbox / "m08" / "toy.ipynb", "wb") as fh:  # sparse: 60 MB that cost nothing to make
        fh.truncate(60 * 1024 * 1024)
    e.aside["m08"] = ("size cap",)
    # archives
    _write(inbox / "m09.zip", zip_with_mode("toy.ipynb", str(secret).encode(), 0o120777))
    e.aside["m09.zip"] = ("symbolic link",)
    _write(inbox / "m10.zip", zip_of([("../../../escape/toy.ipynb", nb["right"][A1], None),
                                      ("/abs/escape/toy2.ipynb", nb["right"][A2], None)]), on_time)
    e.flagged["m10.zip"] = "points outside its folder"
    e.filed[("m10", A1)] = (nb["right"][A1], on_time)
    _write(inbox / "m11.zip", zip_of([("toy.ipynb", b" " * (45 * 1024 * 1024), None)]))
    e.aside["m11.zip"] = ("compression ratio",)
    _write(inbox / "m12.zip", zip_of([(f"f{i}/toy.ipynb", b"{}", None) for i in range(3000)]))
    e.aside["m12.zip"] = ("more than 2000 members",)
    _write(inbox / "m13.zip", nested(zip_of([("toy.ipynb", nb["right"][A1], None)]), 4))
    e.aside["m13.zip"] = ("nested",)
    plain = zip_of([("toy.ipynb", nb["right"][A1], None)])
    _write(inbox / "m14.zip", patch_headers(plain, flags=0x1))
    e.aside["m14.zip"] = ("encrypted",)
    _write(inbox / "m15.zip", patch_headers(plain, method=99))
    e.aside["m15.zip"] = ("unsupported method",)
    _write(inbox / "m16.zip", corrupt_data(plain))
    e.aside["m16.zip"] = ("corrupt",)
    _write(inbox / "m17.zip", plain[: len(plain) // 2])
    e.aside["m17.zip"] = ("not a readable zip",)
    # a classmate's folder inside a zip: filed under the sender, the classmate's work untouched
    _write(inbox / "m18.zip", zip_of([("alice/00_toy/toy.ipynb", nb["release"][A1], None)]), on_time)
    e.flagged["m18.zip"] = "folder named 'alice'"
    e.filed[("m18", A1)] = (nb["release"][A1], on_time)
    # a header that lies about the size (a bomb the directory hides)
    _write(inbox / "m19.zip", patch_headers(zip_of([("toy.ipynb", b" " * (45 * 1024 * 1024), None)]), size=100))
    e.aside["m19.zip"] = ("corrupt", "compression ratio")
    _write(inbox / "m20.ipynb", b"", on_time)
    e.aside["m20.ipynb"] = ("empty file",)
    _write(inbox / "m21.zip", zip_with_mode("toy.ipynb", b"", 0o020666))  # a character device entry
    e.aside["m21.zip"] = ("device",)
    # forged times: the student's own timestamp never decides; zip member times are the student's too
    _write(inbox / "m22.zip", zip_of([("toy.ipynb", nb["right"][A1], None),
                                      ("timestamp.txt", on_time.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode(),
                                       None)]), late)
    e.flagged["m22.zip"] = "written on the student's side"
    e.filed[("m22", A1)] = (nb["right"][A1], late)
    _write(inbox / "m23.zip", zip_of([("toy.ipynb", nb["right"][A1], dt.datetime(1980, 1, 1))]), late)
    e.filed[("m23", A1)] = (nb["right"][A1], late)
    # a tar (links, hard links and devices are ordinary tar members): not opened at all, said so
    _write(inbox / "m24" / "m24.tar.gz", tar_with_links(nb["right"][A1], secret))
    e.aside["m24"] = ("format collect does not open",)
    e.untouched = [("alice", A1)]  # m18 names her; only alice.zip may file her work
    return e


def tar_with_links(notebook: bytes, target: Path) -> bytes:
    """A .tar.gz with a notebook, a hard link to it, a symbolic link to ``target`` and a character device."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("toy.ipynb")
        info.size = len(notebook)
        tf.addfile(info, io.BytesIO(notebook))
        for name, kind, link in (("again.ipynb", tarfile.LNKTYPE, "toy.ipynb"),
                                 ("secret.ipynb", tarfile.SYMTYPE, str(target)),
                                 ("zero.ipynb", tarfile.CHRTYPE, "")):
            member = tarfile.TarInfo(name)
            member.type, member.linkname = kind, link
            tf.addfile(member)
    return buf.getvalue()


# ------------------------------------------------------------------ a Canvas download zip
def canvas_zip(path: Path, nb: dict) -> Expect:
    """Canvas' "Download Submissions" of assignment A1: ``<sortablename>_[LATE_]<userid>_<id>_<file>``."""
    e = Expect()
    on_time, late26 = DUE[A1] - dt.timedelta(minutes=30), DUE[A1] + dt.timedelta(hours=26)
    members = [
        ("curiemarie_1003_5001_toy.ipynb", nb["right"][A1], on_time),
        (f"{ZOE_CANVAS}_LATE_1007_5002_toy.ipynb", nb["right"][A1], late26),  # NFD accents, as Canvas keeps them
        ("leebruno_9999_5003_toy.ipynb", nb["right"][A1], on_time),  # named like blee, another Canvas user
        ("mal_1066_5004_toy.ipynb", b"", on_time),  # the Canvas naming of "Mallory Mal"; an empty upload
        # a forged timestamp inside an uploaded zip: Canvas' time (26 h late) decides
        ("samsame_LATE_1008_5005_hand.zip", zip_of([
            ("toy.ipynb", nb["right"][A1], on_time),
            ("timestamp.txt", on_time.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode(), on_time)]), late26),
    ]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, when in members:
            zf.writestr(zipfile.ZipInfo(name, when.timetuple()[:6]), data)
        link = zipfile.ZipInfo("curiemarie_1003_5009_notes.ipynb", on_time.timetuple()[:6])  # a link entry
        link.create_system, link.external_attr = 3, 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    e.filed[("mcurie", A1)] = (nb["right"][A1], on_time)
    e.filed[("zoe", A1)] = (nb["right"][A1], late26)
    e.filed[("sam", A1)] = (nb["right"][A1], late26)
    e.aside["leebruno_9999_5003_toy.ipynb"] = ("not their canvas_id",)
    e.aside["mal_1066_5004_toy.ipynb"] = ("empty file",)
    e.aside["curiemarie_1003_5009_notes.ipynb"] = ("symbolic link",)
    e.flagged["samsame_LATE_1008_5005_hand.zip"] = "written on the student's side"
    e.untouched = [("blee", A1)]
    return e


# ------------------------------------------------------------------ a Moodle download zip
def moodle_zip(path: Path, nb: dict) -> Expect:
    """Moodle's "Download all submissions" of assignment A2: a folder per participant."""
    e = Expect()
    t = DUE[A2] - dt.timedelta(hours=1)
    folder = "{}_{}_assignsubmission_file_"
    handin = zip_of([("blee/01_toy2/toy2.ipynb", nb["right"][A2], t)])  # what handin.py makes, uploaded
    members = [
        (folder.format("Bruno Lée", 301) + "/blee.zip", handin),
        (folder.format("Sam Same", 401) + "/toy2.ipynb", nb["right"][A2]),      # two participants, one name,
        (folder.format("Sam Same", 402) + "/toy2.ipynb", nb["release"][A2]),    # no moodle_id for sam
        (folder.format("Marie Curie", 999) + "/toy2.ipynb", nb["release"][A2]),  # mcurie's moodle_id is 412
        # a display name forging a classmate's participant id
        (folder.format("Bruno Lée_301_assignsubmission_file_", 777) + "/toy2.ipynb", nb["release"][A2]),
        (folder.format("Marie Curie", 412) + "/../../Bruno Lée_301_assignsubmission_file_/toy2.ipynb",
         nb["release"][A2]),
    ]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(unicodedata.normalize("NFD", name), t.timetuple()[:6]), data)
    e.filed[("blee", A2)] = (nb["right"][A2], t)
    e.aside[folder.format("Sam Same", 401)] = ("filed under neither",)
    e.aside[folder.format("Sam Same", 402)] = ("filed under neither",)
    e.aside[folder.format("Marie Curie", 999)] = ("does not hold 999",)
    e.aside[folder.format("Bruno Lée_301_assignsubmission_file_", 777)] = ("two Moodle participant",)
    e.filed[("mcurie", A2)] = (nb["release"][A2], t)  # confined to her own folder, never blee's
    e.untouched = [("sam", A2)]
    return e
