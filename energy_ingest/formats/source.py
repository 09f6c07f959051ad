"""Raw input for the parsers: a seekable byte stream, its text encoding, and numbered physical lines."""

from __future__ import annotations

import codecs
import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from energy_ingest import file_kinds
from energy_ingest.errors import ParseError

BLOCK = 1 << 20
HEAD_BYTES = 64 * 1024
# The longest physical line (or CSV record spanning lines) a report may have, in characters of
# decoded text (= bytes for the ASCII of real reports). Insight rows are ~1.6 KB for the widest
# report seen (~160 points); even 5,000 quoted "No Data" cells are ~60 KB.
MAX_LINE_BYTES = 1 << 20


def seekable(data: bytes | BinaryIO) -> BinaryIO:
    """The input as a seekable binary stream (a pipe or socket is spooled to a temporary file)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data))
    try:
        if data.seekable():
            data.seek(0)
            return data
    except (OSError, ValueError):
        pass
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned; closed when garbage-collected
    shutil.copyfileobj(data, spool, BLOCK)
    spool.seek(0)
    return spool


def head(raw: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    raw.seek(0)
    data = raw.read(size)
    raw.seek(0)
    return data


def guess_encoding(start: bytes) -> str:
    """The encoding to try first: UTF-16 when it has a BOM, else UTF-8 (with or without BOM)."""
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


class Lines:
    """Physical lines of a text stream without their terminators; CRLF, LF and CR each end one line.

    `number` is the 1-based number of the line last returned. A line longer than MAX_LINE_BYTES
    characters is never held whole: it is counted while it streams past and comes back as ""
    with `long` set to its length (`long` is 0 for every other line), so memory stays within a
    few blocks whatever the input. `unended` is True when the line last returned is the file's
    last and has no line end after it: a file cut short ends so (a complete one usually does
    not), so a parser may not trust that line unless something else says the file ended there.
    Decoding errors surface as UnicodeDecodeError so that the
    caller can restart with the fallback encoding; a NUL character is a ParseError naming its
    line (every parser reads through here, so none hands one on to PostgreSQL).
    """

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        raw.seek(0)
        self._raw = raw
        errors = "replace" if encoding == "cp1252" else "strict"
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
        self._cp1252 = encoding == "cp1252"
        self._pending: list[str | int] = []  # lines of the last block; an int is a long line
        self._pos = 0
        self._part: list[str] = []  # the start of a line that goes on in the next block
        self._part_len = 0  # its length (the pieces are dropped once it is too long)
        self._cr = False  # the last block ended with CR: a CRLF may be split between blocks
        self._eof = False
        self._open_end = False  # the file's last line has no line end
        self._first = True
        self.number = 0
        self.long = 0
        self.unended = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while self._pos >= len(self._pending):
            if self._eof:
                raise StopIteration
            self._fill()
        line = self._pending[self._pos]
        self._pos += 1
        self.number += 1
        self.unended = self._open_end and self._eof and self._pos == len(self._pending)
        if isinstance(line, int):
            self.long = line
            return ""
        self.long = 0
        return line

    def _fill(self) -> None:
        block = self._raw.read(BLOCK)
        final = not block
        text = self._decoder.decode(block, final=final)
        if self._first and text:
            self._first = False
            if self._cp1252 and text.startswith("ï»¿"):
                text = text[3:]
            text = text.lstrip("\ufeff")
        if self._cr:
            text, self._cr = "\r" + text, False
        if not final and text.endswith("\r"):
            text, self._cr = text[:-1], True
        parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if "\x00" in text:
            self._refuse_nul(parts)
        tail = parts.pop()  # no terminator yet: continues in the next block (or ends the file)
        pending: list[str | int] = [
            part if len(part) <= MAX_LINE_BYTES else len(part) for part in parts
        ]
        if parts and self._part_len:
            pending[0] = self._join(parts[0])
        if final:
            self._eof = True
            if tail or self._part_len:
                pending.append(self._join(tail))
                self._open_end = True
        else:
            self._extend(tail)
        self._pending, self._pos = pending, 0

    def _refuse_nul(self, parts: list[str]) -> None:
        """ParseError for the first NUL among the lines of a block (`parts[0]` goes on from the
        carried-over part): PostgreSQL text cannot hold one, so no parser may pass it on, and
        in a text export it only ever means damage, so no cell of it is to be trusted either."""
        i, part = next((i, p) for i, p in enumerate(parts) if "\x00" in p)
        at = part.index("\x00")
        column = at + 1 + (self._part_len if i == 0 else 0)
        before = part[max(0, at - 40) : at].lstrip()
        raise ParseError(
            f"a NUL (0x00) character in column {column:,}, after {before!r}: PostgreSQL "
            "cannot store it in text, so nothing of this file is loaded",
            line=self.number + 1 + i,
            hint="a text export never holds one, so the file was damaged; export it again (or "
            "delete the NUL bytes, e.g. tr -d '\\000') and retry it",
        )

    def _extend(self, piece: str) -> None:
        self._part_len += len(piece)
        if self._part_len > MAX_LINE_BYTES:
            self._part = []
        elif piece:
            self._part.append(piece)

    def _join(self, piece: str) -> str | int:
        """The line made of the pieces carried over and `piece` (its length if too long)."""
        total = self._part_len + len(piece)
        line: str | int = total if total > MAX_LINE_BYTES else "".join([*self._part, piece])
        self._part, self._part_len = [], 0
        return line


def too_long(length: int) -> str:
    """What to say about a line of `length` characters that is over MAX_LINE_BYTES."""
    return (
        f"line of {length:,} characters, longer than the {MAX_LINE_BYTES:,} a report line may have"
    )


def open_lines(raw: BinaryIO, encoding: str) -> Lines:
    return Lines(raw, encoding)


def first_lines(raw: BinaryIO, count: int = 8, width: int = 120) -> list[str]:
    """The first lines, decoded leniently and shortened, for error messages."""
    start = head(raw, 16 * 1024)
    text = start.decode(guess_encoding(start), errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:count]
    return [ln if len(ln) <= width else ln[:width] + "…" for ln in lines]


def show(lines: list[str]) -> str:
    """A ParseError's excerpt: the first lines, numbered."""
    return "The file starts:\n" + "\n".join(f"    {i}: {ln!r}" for i, ln in enumerate(lines, 1))


def reject_binary(raw: BinaryIO, name: str) -> None:
    """ParseError for empty inputs, and for binary files and HTML/XML pages as `energy_ingest.content`
    names them (the upload endpoint refuses those with the same words): no reader should see them."""
    start = head(raw, file_kinds.HEAD_BYTES)
    if not start.strip(b" \t\r\n\x00") or not start.lstrip(codecs.BOM_UTF8).strip():
        raise ParseError(
            "the file is empty",
            file=name,
            hint="the export or the upload produced no data; export the report again",
        )
    found = file_kinds.not_a_report(start)
    if found is not None:
        raise ParseError(f"this {found.sentence()}", file=name, line=1, hint=found.hint)
