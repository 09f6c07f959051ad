"""The spool directory: its layout and the one rule for names, shared by the upload endpoint and
the daemon (which names are taken, how a name is shown, how a client's name is made safe).

<root>/.tmp/                               staging (same filesystem, so rename/link is atomic)
<root>/incoming/<source>/...               drop zone; subfolders allowed
<root>/archive/<source>/YYYY/MM/<name>     ingested files, kept forever
<root>/failed/<source>/<name>              beside <name>.error (why, and how to retry)

    files.py     opening without following links, placing, fsync, stale temporary files
    moving.py    moves to archive/ and failed/ that an interruption cannot leave half done
    stranded.py  files the daemon will never take, and why (for `status` and `import`)
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from energy_ingest.file_kinds import SOURCES

MAX_NAME_BYTES = 200
NOTE_SUFFIX = ".error"  # failed/<name>.error: why <name> failed
# Names a file is given while still being written: left alone until renamed.
TEMPORARY = re.compile(r"(^\.|~$|\.(part|tmp|crdownload|swp)$)", re.IGNORECASE)
# What `report_name` strips from the end of a name, repeatedly.
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

    def unknown_folder(self, path: Path) -> str | None:
        """`seimens` for <root>/incoming/seimens/any/depth/file.csv: a folder below incoming/
        that is no source's (a typo?). Its files are taken all the same, by their content."""
        try:
            parts = path.relative_to(self.root / "incoming").parts
        except ValueError:
            return None
        if len(parts) < 2 or parts[0] in SOURCES or parts[0].startswith("."):
            return None  # directly in incoming/, a source's folder, or hidden (never taken)
        return parts[0]


def unknown_folder_advice(folder: str) -> str:
    """What to say about incoming/<folder>/: what it is, that nothing is lost, what to do."""
    close = difflib.get_close_matches(folder.lower(), SOURCES, n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]}?" if close else ""
    return (
        f"incoming/{printable_name(folder)}/ is not a source folder (known: {', '.join(SOURCES)}{guess}): "
        "its files are ingested all the same, each by what its content is; drop files into "
        f"{' or '.join(f'incoming/{s}/' for s in SOURCES)} instead"
    )


def is_temporary(name: str) -> bool:
    return bool(TEMPORARY.search(name))


def is_report_name(name: str) -> bool:
    """The one rule for names: whether the daemon takes a file called `name`.

    Hidden and temporary names (`.x`, `x~`, `x.part`, `x.tmp`, `x.crdownload`, `x.swp`) are files
    still being written, taken once renamed; `x.error` is a failure note. The upload endpoint
    asks the same question before it answers 200 (see `report_name`).
    """
    return not is_temporary(name) and not name.lower().endswith(NOTE_SUFFIX)


def report_name(name: str) -> str | None:
    """`name` made into one the daemon takes (`report.csv.tmp` → `report.csv`), or None if
    nothing is left of it."""
    while name and not is_report_name(name):
        shorter = _LEAVE_ALONE_SUFFIX.sub("", name).lstrip(".").strip()
        if shorter == name:
            return None
        name = shorter
    return name or None


def printable_name(name: str | os.PathLike[str]) -> str:
    """A file name (or path) as text that is safe to log, store and print, and loses nothing.

    Linux names are bytes: those that are not UTF-8 become `\\xNN`; control and other
    unprintable characters become `\\n`, `\\t`, `\\x1b` or `\\u200b`; a backslash is doubled.
    `from_printable` maps the text back to exactly the one name.
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


def from_printable(text: str) -> str:
    """The file name that `printable_name` turned into `text` (for names typed back, e.g. to retry)."""
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
