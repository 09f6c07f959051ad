"""The spool directory: its layout, safe names, and moves that never overwrite.

<root>/.tmp/                               staging (same filesystem, so rename/link is atomic)
<root>/incoming/<source>/...               drop zone; subfolders allowed
<root>/archive/<source>/YYYY/MM/<name>     ingested files, kept forever
<root>/failed/<source>/<name>              beside <name>.error (why, and how to retry)
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

SOURCES = ("siemens", "alc")
MAX_NAME_BYTES = 200
# Names a file is given while still being written: left alone until renamed.
TEMPORARY = re.compile(r"(^\.|~$|\.(part|tmp|crdownload|swp)$)", re.IGNORECASE)
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


def report_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and every file below the folders named, sorted: the candidates a person
    means by "these reports" (hidden and temporary names, and `.error` notes, are skipped)."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            parts = child.relative_to(path).parts
            if (
                child.is_file()
                and not any(p.startswith(".") for p in parts)
                and not is_temporary(child.name)
                and not child.name.endswith(".error")
            ):
                yield child


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
