"""Moves that never overwrite, opens that never follow links, write leases and notes written whole."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import stat
import time
import uuid
from pathlib import Path
from typing import Any

from energy_ingest.errors import EnergyError
from energy_ingest.spool import Spool


def place(
    src: Path, directory: Path, name: str, *, leaving_incoming: bool = False, room: int = 0
) -> Path:
    """Move `src` into `directory` as `name`, or `name-1`, `name-2`… — never over an existing file.

    Plain rename(2) would silently replace an existing name, so moves are renameat2 with
    RENAME_NOREPLACE, or a hard link (which also fails on an existing name) and an unlink of the
    source; a crash between those two leaves the same bytes under both names, never none.
    `leaving_incoming`: the daemon moving a file out of the watched incoming/ — link first, see
    `_link_then_unlink`. `room`: bytes the name must leave free (for a note's `.error`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    move = _link_then_unlink if leaving_incoming else _rename_noreplace
    for n in range(100_000):
        target = directory / fit_name(name, n, NAME_MAX - room)
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


NAME_MAX = 255  # bytes in one name (ext4, xfs, btrfs, tmpfs)


def fit_name(name: str, n: int, limit: int = NAME_MAX) -> str:
    """`name` (n = 0) or `stem-n.ext`, its stem shortened to fit `limit` bytes on a character
    boundary; the extension is kept."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    tail = os.fsencode((f"-{n}" if n else "") + (f".{ext}" if ext else ""))
    raw = os.fsencode(stem)
    if len(raw) + len(tail) > limit:
        cut = max(limit - len(tail), 1)
        while 0 < cut < len(raw) and raw[cut] & 0xC0 == 0x80:  # inside a UTF-8 character
            cut -= 1
        raw = raw[: max(cut, 1)]
    return os.fsdecode(raw + tail)


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


class NotRegularFile(EnergyError, OSError):
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
