"""The spool directory: its layout, safe names, and moves that never overwrite.

<root>/.tmp/                               staging (same filesystem, so rename/link is atomic)
<root>/incoming/<source>/...               drop zone; subfolders allowed
<root>/archive/<source>/YYYY/MM/<name>     ingested files, kept forever
<root>/failed/<source>/<name>              beside <name>.error (why, and how to retry)
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import signal
import stat
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

SOURCES = ("siemens", "alc")
MAX_NAME_BYTES = 200
NOTE_SUFFIX = ".error"  # failed/<name>.error: why <name> failed
# Names a file is given while still being written: left alone until renamed.
TEMPORARY = re.compile(r"(^\.|~$|\.(part|tmp|crdownload|swp)$)", re.IGNORECASE)
# What `takeable` strips from the end of a name, repeatedly.
_LEAVE_ALONE_SUFFIX = re.compile(r"(~+|\.(part|tmp|crdownload|swp|error))$", re.IGNORECASE)
WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Spool:
    root: Path

    @property
    def tmp(self) -> Path:
        return self.root / ".tmp"

    def incoming(self, source: str) -> Path:
        return self.root / "incoming" / source

    def archive(self, source: str, when: datetime) -> Path:
        return self.root / "archive" / source / f"{when:%Y}" / f"{when:%m}"

    def failed(self, source: str) -> Path:
        return self.root / "failed" / source

    def ensure(self) -> None:
        """Create every folder of the layout that is missing."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        for source in SOURCES:
            self.incoming(source).mkdir(parents=True, exist_ok=True)
            self.failed(source).mkdir(parents=True, exist_ok=True)
            (self.root / "archive" / source).mkdir(parents=True, exist_ok=True)

    def temp_path(self, prefix: str = "upload") -> Path:
        return self.tmp / f"{prefix}-{uuid.uuid4().hex}.part"

    def source_of(self, path: Path) -> str | None:
        """`siemens` for <root>/incoming/siemens/any/depth/file.csv; None outside incoming/."""
        try:
            parts = path.relative_to(self.root / "incoming").parts
        except ValueError:
            return None
        return parts[0] if len(parts) >= 2 and parts[0] in SOURCES else None


def is_temporary(name: str) -> bool:
    return bool(TEMPORARY.search(name))


def takes(name: str) -> bool:
    """The one rule for names: whether the daemon takes a file called `name`.

    Hidden and temporary names (`.x`, `x~`, `x.part`, `x.tmp`, `x.crdownload`, `x.swp`) are files
    still being written, taken once renamed; `x.error` is a failure note. The upload endpoint
    asks the same question before it answers 200 (see `takeable`).
    """
    return not is_temporary(name) and not name.lower().endswith(NOTE_SUFFIX)


def takeable(name: str) -> str | None:
    """`name` made into one the daemon takes (`report.csv.tmp` → `report.csv`), or None if
    nothing is left of it."""
    while name and not takes(name):
        shorter = _LEAVE_ALONE_SUFFIX.sub("", name).lstrip(".").strip()
        if shorter == name:
            return None
        name = shorter
    return name or None


def shown(name: str | os.PathLike[str]) -> str:
    """A file name (or path) as text that is safe to log, store and print, and loses nothing.

    Linux names are bytes: those that are not UTF-8 become `\\xNN`; control and other
    unprintable characters become `\\n`, `\\t`, `\\x1b` or `\\u200b`; a backslash is doubled.
    `from_shown` maps the text back to exactly the one name.
    """
    text = os.fsdecode(name)
    if text.isprintable() and "\\" not in text:
        return text  # also false for surrogates, so undecodable bytes never take this path
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape keeps it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def from_shown(text: str) -> str:
    """The file name that `shown` turned into `text` (for names typed back, e.g. to retry)."""
    raw = bytearray()
    at = 0
    for m in _ESCAPE.finditer(text):
        raw += text[at : m.start()].encode("utf-8", "surrogateescape")
        token = m.group(1)
        if token[0] == "x":
            raw.append(int(token[1:], 16))
        elif token[0] in "uU":
            raw += chr(int(token[1:], 16)).encode("utf-8", "surrogatepass")
        else:
            raw += {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}[token]
        at = m.end()
    raw += text[at:].encode("utf-8", "surrogateescape")
    return os.fsdecode(bytes(raw))


@dataclass(frozen=True)
class Stranded:
    """A file in the spool that the daemon will never take, why, and what to do about it."""

    path: Path
    why: str
    fix: str
    # A temporary name or a hidden folder: usually a copy in progress that will be renamed.
    in_progress: bool = False


def stranded_because(path: Path, st: os.stat_result, *, in_incoming: bool) -> Stranded | None:
    """Why the daemon will never take this directory entry (None: it will, now or once renamed)."""
    if stat.S_ISLNK(st.st_mode):
        return Stranded(
            path,
            "a symbolic link: the daemon never follows links",
            "copy the file itself into the spool (cp -L), then remove the link",
        )
    if not stat.S_ISREG(st.st_mode):
        return Stranded(path, "not a regular file", "remove it; only report files belong here")
    if not in_incoming:
        return Stranded(
            path,
            "outside incoming/",
            "move it into incoming/siemens/ or incoming/alc/",
        )
    if name_fix := _name_fix(path.name):
        return Stranded(path, *name_fix)
    return None


def _name_fix(name: str) -> tuple[str, str, bool] | None:
    if name.lower().endswith(NOTE_SUFFIX):
        note = "a failure note, not a report", "remove it (notes belong beside files in failed/)"
        return (*note, False)
    if is_temporary(name):
        better = takeable(name)
        fix = (
            f"once it is complete, rename it to {shown(better)!r}"
            if better
            else "rename it to a name without a leading dot or temporary suffix"
        )
        return "a temporary name (hidden, ~, .part, .tmp, .crdownload, .swp)", fix, True
    return None


@dataclass(frozen=True)
class Entry:
    """A regular file or something stranded, found by walking the spool without following links."""

    path: Path
    st: os.stat_result
    stranded: Stranded | None


def walk_incoming(root: Path) -> Iterator[Entry]:
    """Every entry below incoming/ (lstat: links are not followed), sorted within each folder,
    with `judge`'s verdict."""
    incoming = root / "incoming"
    for dirpath, dirnames, filenames in os.walk(incoming):
        here = Path(dirpath)
        dirnames.sort()
        links = [here / d for d in dirnames]  # os.walk lists links to folders as folders
        for path in links + [here / name for name in sorted(filenames)]:
            st = _lstat(path)
            if st is not None and (path.name in filenames or stat.S_ISLNK(st.st_mode)):
                yield Entry(path, st, judge(incoming, path, st))


def judge(incoming: Path, path: Path, st: os.stat_result) -> Stranded | None:
    """Why the daemon will never take this entry below incoming/ (None: it will, now or once
    renamed)."""
    why = stranded_because(path, st, in_incoming=True)
    if why is None and any(p.startswith(".") for p in path.relative_to(incoming).parts[:-1]):
        why = Stranded(path, "inside a hidden folder", "move it out of the hidden folder", True)
    return why


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def stranded(root: Path) -> list[Stranded]:
    """Everything in the spool the daemon will never take: in incoming/, and files at the root
    or in folders that are not part of the layout."""
    found = [e.stranded for e in walk_incoming(root) if e.stranded is not None]
    layout = {"incoming", "archive", "failed", ".tmp"}
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return found
    for entry in entries:
        top = Path(entry.path)
        if not entry.is_dir(follow_symlinks=False):
            paths = [top]
        elif entry.name in layout:
            continue
        else:  # a folder that is not part of the layout: every file in it
            paths = [Path(d) / name for d, _, files in os.walk(top) for name in sorted(files)]
        for path in paths:
            st = _lstat(path)
            why = stranded_because(path, st, in_incoming=False) if st is not None else None
            if why is not None:
                found.append(why)
    return found


def report_files(paths: Iterable[Path], skipped: list[Stranded] | None = None) -> Iterator[Path]:
    """The files named, and every file below the folders named, sorted: the candidates a person
    means by "these reports". Below a folder, names the daemon would not take (`takes`), hidden
    folders and anything that is not a regular file (links are not followed) are left out, and
    listed in `skipped` when given. A file named explicitly is read as named."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                child = here / name
                st = _lstat(child)
                if st is None:
                    continue
                why = stranded_because(child, st, in_incoming=True)
                if why is None:
                    yield child
                elif skipped is not None and not is_temporary(name):
                    skipped.append(why)


def place(src: Path, directory: Path, name: str, *, leaving_incoming: bool = False) -> Path:
    """Move `src` into `directory` as `name`, or `name-1`, `name-2`… — never over an existing file.

    Plain rename(2) would silently replace an existing name, so moves are renameat2 with
    RENAME_NOREPLACE, or a hard link (which also fails on an existing name) and an unlink of the
    source; a crash between those two leaves the same bytes under both names, never none.
    `leaving_incoming`: the daemon moving a file out of the watched incoming/ — link first, see
    `_link_then_unlink`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    move = _link_then_unlink if leaving_incoming else _rename_noreplace
    for n in range(100_000):
        candidate = name if n == 0 else (f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
        target = directory / candidate
        try:
            move(src, target)
        except FileExistsError:
            if os.path.samefile(src, target):
                os.unlink(src)  # a crash came between link and unlink: finish that move
                break
            continue
        break
    else:
        raise FileExistsError(f"no free name for {name} in {directory}")
    fsync_dir(directory)
    fsync_dir(src.parent)
    return target


def _rename_noreplace(src: Path, target: Path) -> None:
    """Into incoming/, a rename: the watcher sees a file moved in, i.e. complete at once."""
    if _renameat2 is not None:
        if (
            _renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(target), RENAME_NOREPLACE)
            == 0
        ):
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):  # EINVAL: this file system cannot do it
            raise OSError(err, os.strerror(err), str(target))
    os.link(src, target)
    os.unlink(src)


def _link_then_unlink(src: Path, target: Path) -> None:
    """Out of incoming/: the watcher sees an unlink as a deletion, whereas a rename out is a move
    that watchdog holds back 0.5 s to pair, delaying every event queued behind it."""
    try:
        os.link(src, target)
    except PermissionError:
        # fs.protected_hardlinks refuses to link another user's file (ops' `cp` of a 0644 file).
        _rename_noreplace(src, target)
        return
    os.unlink(src)


def _load_renameat2() -> Any:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    return function


AT_FDCWD = -100
RENAME_NOREPLACE = 1
_renameat2 = _load_renameat2()


def open_regular(path: Path) -> int:
    """A read-only descriptor for the regular file at `path`, never through a symbolic link.

    O_NOFOLLOW refuses a link (ELOOP), O_NONBLOCK keeps a FIFO from blocking the open; anything
    that turns out not to be a regular file is closed again and refused with NotRegularFile.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


class NotRegularFile(OSError):
    """What open_regular refuses: a FIFO, socket, device or directory where a report should be."""


def has_writer(fd: int) -> bool | None:
    """Whether any process has this file open for writing, or None when the kernel will not say.

    A read lease (fcntl F_SETLEASE) is granted only while nobody has the file open for writing;
    we take it and give it back at once. It needs us to own the file (or CAP_LEASE) and a file
    system with leases, and SIGIO ignored — a lease broken in the instant we hold it signals us,
    and SIGIO's default is to terminate. Otherwise the answer is None and the caller relies on
    inotify's close events and the settle time.
    """
    if not hasattr(fcntl, "F_SETLEASE") or signal.getsignal(signal.SIGIO) != signal.SIG_IGN:
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def remove_stale_temps(spool: Spool, prefix: str, older_than: float = 3600) -> list[str]:
    """Remove `.tmp/<prefix>-*.part` files nobody wrote to for `older_than` seconds, left by a
    process killed mid-step (younger ones may belong to a process at work); their names."""
    cutoff = time.time() - older_than
    try:
        entries = list(spool.tmp.glob(f"{prefix}-*.part"))
    except OSError:
        return []
    removed = []
    for path in entries:
        try:
            if path.lstat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
        except OSError:
            pass  # gone already, or not ours to remove: the next start tries again
    return removed


def write_note(spool: Spool, note: Path, text: str) -> None:
    """Write `note` (e.g. failed/siemens/x.csv.error) whole or not at all, and never through a
    link planted under its name: the text goes to a file in .tmp/ that is renamed over `note`."""
    spool.tmp.mkdir(parents=True, exist_ok=True)
    tmp = spool.tmp / f"note-{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "x", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, note)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(note.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def safe_name(filename: str) -> str | None:
    """A harmless base name for a client-supplied file name, or None if nothing usable is left.

    Keeps the last path component (either slash style), drops control characters and NUL,
    leading dots and spaces, and trims to MAX_NAME_BYTES keeping the extension.
    """
    base = re.split(r"[\\/]", filename)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = base.strip().lstrip(".").strip()
    if not base or set(base) <= {"."}:
        return None
    if WINDOWS_RESERVED.match(base):
        base = "_" + base
    if len(base.encode()) > MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and stem and len(ext.encode()) <= 16 else ""
        room = MAX_NAME_BYTES - len(ext.encode()) - (1 if ext else 0)
        stem = (stem if ext else base).encode()[:room].decode(errors="ignore")
        base = f"{stem}.{ext}" if ext else stem
    return base
