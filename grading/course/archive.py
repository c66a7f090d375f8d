"""Zip archives a student sent, read member by member with every cap enforced while reading.

A zip's directory is written by whoever made it: its sizes, names, types and times are
claims. So a member is decompressed in chunks and stopped as soon as it passes the
per-member size, the hand-in's total, or the compression ratio (a bomb costs its own caps,
never the class's memory); the member count is capped before anything is read. Encrypted
members, compression methods Python cannot read, links and device entries (Unix modes in
``external_attr``), and members whose data is corrupt are set aside, each with a one-line
reason; the rest of the archive is still read. Names are NFC, ``\\`` is a separator, and a
name is confined to the archive (``..``, drive letters and leading ``/`` dropped, reported).
"""

from __future__ import annotations

import datetime as dt
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

#: Compression methods ``zipfile`` can read (stored, deflated, bzip2, lzma).
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
CHUNK = 1 << 16


@dataclass
class Caps:
    """Limits of one hand-in, shared by its nested archives (``spent``: bytes read so far)."""

    member_bytes: int = 50 * 1024 * 1024
    total_bytes: int = 200 * 1024 * 1024
    members: int = 2000
    ratio: int = 200
    depth: int = 3
    spent: int = 0
    counted: int = 0


@dataclass
class Member:
    """One readable member: its confined NFC path, its bytes, and the time in the zip's directory."""

    parts: tuple[str, ...]
    data: bytes
    time: dt.datetime | None


@dataclass
class Listing:
    """What an archive gave: members read, members set aside (``"name: reason"``), names confined."""

    members: list[Member] = field(default_factory=list)
    aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Refused(Exception):
    """A cap or a check stopped reading (the message is the one-line reason)."""


def confine(name: str) -> tuple[tuple[str, ...], bool]:
    """``(parts, changed)``: an archive name as path parts that cannot leave the archive's folder."""
    text = unicodedata.normalize("NFC", name.replace("\\", "/"))
    parts = [p for p in PurePosixPath(text).parts if p not in ("/", "", ".", "..")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":  # a Windows drive letter
        parts = parts[1:]
    kept = tuple(parts)
    return kept, "/".join(kept) != text.strip("/")


def member_kind(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not a regular file (its Unix mode says link/device/...), ``None`` when it is."""
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # made on Unix with a file type: it means something
        if stat.S_ISLNK(mode):
            return "a symbolic link"
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "a device, pipe or socket entry"
    return None


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, caps: Caps) -> bytes:
    """The member's bytes, decompressed chunk by chunk under the caps (:class:`Refused` otherwise)."""
    if info.flag_bits & 0x1:
        raise Refused("encrypted")
    if info.compress_type not in READABLE_METHODS:
        raise Refused(f"compressed with an unsupported method ({info.compress_type})")
    if info.file_size > caps.member_bytes:
        raise Refused(f"larger than {caps.member_bytes} bytes")
    limit = min(caps.member_bytes, caps.total_bytes - caps.spent,
                max(info.compress_size, 1) * caps.ratio + CHUNK)
    chunks, got = [], 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                got += len(chunk)
                if got > limit:
                    why = ("its hand-in's total size cap" if got > caps.total_bytes - caps.spent else
                           "the size cap" if got > caps.member_bytes else
                           f"a compression ratio of {caps.ratio}:1 (a zip bomb)")
                    raise Refused(f"passes {why}")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:  # CRC mismatch, truncated data, bad header, 'password required'
        raise Refused(f"corrupt ({str(exc)[:80] or type(exc).__name__})") from None
    caps.spent += got
    return b"".join(chunks)


def read(source, label: str, caps: Caps, wanted, time_of=None) -> Listing:
    """The members of the zip ``source`` (a binary file object) whose confined name ``wanted(parts)`` accepts.

    ``time_of(info)``: the member time to keep (default: the zip's own, naive). Nested zips are
    the caller's (they are members like others); a zip that cannot be opened at all is
    :class:`Refused` as a whole.
    """
    out = Listing()
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise Refused(f"not a readable zip ({str(exc)[:80]})") from None
    with zf:
        try:
            infos = zf.infolist()
        except Exception as exc:  # a hostile central directory can raise anything zipfile raises
            raise Refused(f"not a readable zip ({str(exc)[:80]})") from None
        caps.counted += len(infos)
        if caps.counted > caps.members:
            raise Refused(f"more than {caps.members} members (a zip bomb by count); nothing read")
        for info in infos:
            if info.is_dir():
                continue
            parts, changed = confine(info.filename)
            shown = "/".join(parts) or "(no name)"
            if not parts or "__MACOSX" in parts or ".ipynb_checkpoints" in parts or not wanted(parts):
                continue
            if changed:
                out.notes.append(f"{label}: member {info.filename[:80]!r} points outside its folder; read as {shown}")
            kind = member_kind(info)
            if kind:
                out.aside.append(f"{label}: {shown} is {kind}; set aside")
                continue
            try:
                data = read_member(zf, info, caps)
            except Refused as exc:
                out.aside.append(f"{label}: {shown} is {exc}; set aside")
                continue
            when = time_of(info) if time_of else zip_time(info)
            out.members.append(Member(parts, data, when))
    return out


def zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    try:
        return dt.datetime(*info.date_time)
    except ValueError:  # a forged directory entry (month 0, ...)
        return None
