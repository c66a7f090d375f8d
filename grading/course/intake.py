"""One intake path: what a hand-in holds, from a folder, a zip, an LMS download or the Hub's exchange.

Every source ends as a list of :class:`Item` (the hand-in's notebooks, timestamp files and
variant tokens, with confined NFC paths) plus one-line reasons for what was set aside. On
disk only regular files are read, each opened with ``O_NOFOLLOW`` relative to its parent's
descriptor and checked with ``fstat`` (a link, a device, a FIFO, a hard link to a file
elsewhere, or a file swapped in between the check and the open is set aside, never
followed); folders are walked the same way. Archives, at any depth up to the caps, go
through ``archive.py``. Nothing here writes anywhere.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import unicodedata
from dataclasses import dataclass, field

from . import archive

NOTEBOOK = ".ipynb"
TIMESTAMP = "timestamp.txt"
TOKEN_FILE = "variant-token.json"  # helpers.variants.TOKEN_FILE (collect needs no helpers)
MAX_TOKEN_BYTES = 4096
MAX_DEPTH = 8  # folders below a hand-in's own
_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Item:
    """A file of a hand-in: path parts below the hand-in (NFC), bytes, and the time it carried."""

    parts: tuple[str, ...]
    data: bytes
    time: dt.datetime | None = None  # naive: a zip member's (local) time; aware: a file's mtime (UTC)

    @property
    def name(self) -> str:
        return self.parts[-1]


@dataclass
class Contents:
    """What one hand-in gave: its items, what was set aside (reasons) and what was noted."""

    items: list[Item] = field(default_factory=list)
    aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: newest status-change time (``st_ctime``) of anything read from disk: set by the kernel, not the writer
    ctime: float = 0.0
    #: newest modification time of the files read from disk (what an unzip tool restores from the download)
    mtime: float = 0.0

    def merge(self, other: Contents, prefix: tuple[str, ...] = ()) -> None:
        self.items += [Item(prefix + i.parts, i.data, i.time) for i in other.items]
        self.aside += other.aside
        self.notes += other.notes
        self.ctime, self.mtime = max(self.ctime, other.ctime), max(self.mtime, other.mtime)


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


#: Archives collect does not open: set aside with a reason (a tar can hold links and devices; ask for a zip).
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".7z", ".rar", ".gz", ".bz2",
                  ".xz")


def wanted(parts: tuple[str, ...]) -> bool:
    """The files collect looks at: notebooks, timestamp files, variant tokens, zips (opened in turn), other archives
    (set aside, said)."""
    name = parts[-1].lower()
    return name.endswith((NOTEBOOK, ".zip", *OTHER_ARCHIVES)) or name in (TIMESTAMP, TOKEN_FILE)


def other_archive(name: str) -> str | None:
    """Why a file is set aside unread: an archive format collect does not open."""
    ext = next((e for e in OTHER_ARCHIVES if name.lower().endswith(e)), None)
    return f"a {ext} archive, a format collect does not open (ask for a zip or the notebooks)" if ext else None


def _why_not_regular(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "a device, pipe or socket"
    if st.st_nlink > 1:
        return "a hard link (the same file is elsewhere too)"
    return None


def read_regular(name: str, dir_fd: int | None, caps: archive.Caps) -> tuple[bytes, os.stat_result]:
    """A regular file's bytes, opened without following a link and capped; :class:`archive.Refused` otherwise."""
    try:
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise archive.Refused(f"unreadable ({exc.strerror})") from None
    why = _why_not_regular(before)
    if why:
        raise archive.Refused(why)
    if before.st_size > min(caps.member_bytes, caps.total_bytes - caps.spent):
        raise archive.Refused(f"larger than the size cap ({before.st_size} bytes)")
    try:
        fd = os.open(name, _NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:  # ELOOP: it became a link since the check
        raise archive.Refused(f"not opened without following links ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if _why_not_regular(st) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise archive.Refused("replaced while being read")
        data = fh.read(caps.member_bytes + 1)
    if len(data) > caps.member_bytes or len(data) > caps.total_bytes - caps.spent:
        raise archive.Refused("larger than the size cap")
    caps.spent += len(data)
    return data, st


def read_file(path: str, caps: archive.Caps | None = None) -> Contents:
    """One file of an inbox (a notebook, a zip, ...) as a hand-in; ``path``'s last part is not followed."""
    caps = caps or archive.Caps()
    head, name = os.path.split(path)
    dir_fd = os.open(head or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _file(name, dir_fd, (), caps)
    finally:
        os.close(dir_fd)


def read_folder(path: str, caps: archive.Caps | None = None) -> Contents:
    """A folder of an inbox (an unpacked hand-in, an exchange entry), walked without following links."""
    caps = caps or archive.Caps()
    head, name = os.path.split(path.rstrip("/"))
    parent = os.open(head or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        out = Contents()
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        except OSError as exc:
            out.aside.append(f"{nfc(name)}: not a folder that can be opened without following links ({exc.strerror})")
            return out
        if not stat.S_ISDIR(st.st_mode):
            out.aside.append(f"{nfc(name)}: not a folder; set aside")
            os.close(fd)
            return out
        out.ctime = st.st_ctime
        try:
            out.merge(_walk(fd, (), caps, 0, nfc(name)))
        except archive.Refused as exc:
            out.aside.append(f"{nfc(name)}: {exc}; set aside")
        finally:
            os.close(fd)
        return out
    finally:
        os.close(parent)


def _walk(fd: int, prefix: tuple[str, ...], caps: archive.Caps, depth: int, label: str) -> Contents:
    out = Contents()
    try:
        names = sorted(os.listdir(fd))
    except OSError as exc:  # a folder its author made unreadable (mode 000 on the Hub)
        raise archive.Refused(f"holds a folder that cannot be listed ({exc.strerror})") from None
    caps.counted += len(names)
    if caps.counted > caps.members:
        raise archive.Refused(f"more than {caps.members} files")
    for raw in names:
        name = nfc(raw)
        if name in (".ipynb_checkpoints", "__MACOSX", "__pycache__"):
            continue
        shown = "/".join((*prefix, name))
        try:
            st = os.stat(raw, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue  # gone since the listing
        out.ctime = max(out.ctime, st.st_ctime)
        if stat.S_ISDIR(st.st_mode):
            if depth >= MAX_DEPTH:
                out.aside.append(f"{label}: {shown} is nested too deep; set aside")
                continue
            try:
                sub = os.open(raw, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                out.aside.append(f"{label}: {shown} could not be opened ({exc.strerror}); set aside")
                continue
            try:
                out.merge(_walk(sub, (*prefix, name), caps, depth + 1, label))
            finally:
                os.close(sub)
            continue
        if not wanted((name,)) and not stat.S_ISLNK(st.st_mode):
            continue  # other files are not read (a link is reported whatever its name)
        out.merge(_file(raw, fd, prefix, caps, label))
    return out


def _file(raw: str, dir_fd: int, prefix: tuple[str, ...], caps: archive.Caps, label: str | None = None) -> Contents:
    out = Contents()
    name = nfc(raw)
    label = label or name
    shown = "/".join((*prefix, name))
    try:
        if other_archive(name):
            raise archive.Refused(other_archive(name))
        data, st = read_regular(raw, dir_fd, caps)
    except archive.Refused as exc:
        out.aside.append(f"{label}: {shown} is {exc}; set aside" if prefix or label != name else
                         f"{label} is {exc}; set aside")
        return out
    out.ctime, out.mtime = st.st_ctime, st.st_mtime
    when = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc)
    if name.lower().endswith(".zip"):
        out.merge(unzip(data, label, caps), (*prefix,))  # a zip on disk is the first archive level
    else:
        out.items.append(Item((*prefix, name), data, when))
    return out


def unzip(data: bytes, label: str, caps: archive.Caps, depth: int = 0) -> Contents:
    """A zip's wanted members (zips inside opened in turn, up to ``caps.depth``) as items."""
    out = Contents()
    if depth >= caps.depth:
        out.aside.append(f"{label}: a zip nested {depth} deep; set aside")
        return out
    try:
        listing = archive.read(io.BytesIO(data), label, caps, wanted)
    except archive.Refused as exc:
        out.aside.append(f"{label}: {exc}; set aside")
        return out
    out.aside += listing.aside
    out.notes += listing.notes
    for m in listing.members:
        if other_archive(m.parts[-1]):
            out.aside.append(f"{label}: {'/'.join(m.parts)} is {other_archive(m.parts[-1])}; set aside")
        elif m.parts[-1].lower().endswith(".zip"):
            inner = unzip(m.data, f"{label}: {'/'.join(m.parts)}", caps, depth + 1)
            inner.items = [Item(m.parts[:-1] + i.parts, i.data, i.time) for i in inner.items]
            out.merge(inner)
        else:
            out.items.append(Item(m.parts, m.data, m.time))
    return out


# ------------------------------------------------------------------ the inbox: one entry per hand-in
@dataclass
class Entry:
    """One entry of an inbox: its NFC name, whether a folder, the time it carried, and how to read it."""

    name: str
    folder: bool
    load: object  # () -> Contents
    time: dt.datetime | None = None  # a download zip's member time (naive, the LMS's clock)


#: Members of a class download: far more than one hand-in's, still bounded.
MAX_DOWNLOAD_MEMBERS = 200_000


def folder_entries(inbox: str) -> tuple[list[Entry], list[str]]:
    """The entries of an inbox folder, and the reasons for those set aside (links, devices at the top)."""
    entries, aside = [], []
    fd = os.open(inbox, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for raw in sorted(os.listdir(fd)):
            if raw.startswith("."):
                continue
            try:
                st = os.stat(raw, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue  # gone since the listing
            path = os.path.join(inbox, raw)
            if stat.S_ISDIR(st.st_mode):
                entries.append(Entry(nfc(raw), True, lambda p=path: read_folder(p)))
            elif _why_not_regular(st) and not stat.S_ISREG(st.st_mode):
                aside.append(f"{nfc(raw)} is {_why_not_regular(st)}; set aside")
            else:
                entries.append(Entry(nfc(raw), False, lambda p=path: read_file(p)))
    finally:
        os.close(fd)
    return entries, aside


def zip_entries(zf, label: str) -> list[Entry]:
    """The entries of an LMS download zip: its top-level files, and its top-level folders (Moodle's)."""
    infos = zf.infolist()
    if len(infos) > MAX_DOWNLOAD_MEMBERS:
        raise archive.Refused(f"{label}: more than {MAX_DOWNLOAD_MEMBERS} members")
    tops: dict[str, list] = {}
    for info in infos:
        parts, changed = archive.confine(info.filename)
        if not parts or parts[0] == "__MACOSX" or info.is_dir():
            continue
        tops.setdefault(parts[0], []).append((parts, info, changed))
    entries = []
    for top, members in sorted(tops.items()):
        folder = any(len(parts) > 1 for parts, _i, _c in members)
        times = [t for t in (archive.zip_time(i) for _, i, _c in members) if t is not None]
        entries.append(Entry(top, folder, lambda m=members, t=top: _zip_members(zf, t, m),
                             max(times) if times else None))
    return entries


def _zip_members(zf, top: str, members) -> Contents:
    """One download entry's members (below its top folder), read under one hand-in's caps."""
    out, caps = Contents(), archive.Caps()
    caps.counted = len(members)
    if caps.counted > caps.members:
        out.aside.append(f"{top}: more than {caps.members} files; set aside")
        return out
    for parts, info, changed in members:
        below = parts[1:] or parts
        shown = "/".join(below)
        if changed:
            out.notes.append(f"{top}: member {info.filename[:80]!r} points outside its folder; read as {shown}")
        if "__MACOSX" in parts or ".ipynb_checkpoints" in parts or not wanted(below):
            if archive.member_kind(info) and len(parts) > 1:
                out.aside.append(f"{top}: {shown} is {archive.member_kind(info)}; set aside")
            continue
        where = f"{top}: {shown}" if len(parts) > 1 else top
        kind = archive.member_kind(info) or other_archive(below[-1])
        if kind:
            out.aside.append(f"{where} is {kind}; set aside")
            continue
        try:
            data = archive.read_member(zf, info, caps)
        except archive.Refused as exc:
            out.aside.append(f"{where} is {exc}; set aside")
            continue
        if below[-1].lower().endswith(".zip"):
            inner = unzip(data, where, caps, 1)
            out.merge(inner, below[:-1])
        else:
            out.items.append(Item(below, data, archive.zip_time(info)))
    return out
