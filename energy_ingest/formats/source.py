"""Raw input for the parsers: a seekable byte stream, its text encoding, and numbered physical lines."""

from __future__ import annotations

import codecs
import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from energy_ingest.errors import ParseError

BLOCK = 1 << 20
HEAD_BYTES = 64 * 1024


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

    `number` is the 1-based number of the line last returned. Decoding errors surface as
    UnicodeDecodeError so that the caller can restart with the fallback encoding.
    """

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        raw.seek(0)
        self._raw = raw
        errors = "replace" if encoding == "cp1252" else "strict"
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
        self._cp1252 = encoding == "cp1252"
        self._pending: list[str] = []
        self._pos = 0
        self._carry = ""
        self._eof = False
        self._first = True
        self.number = 0

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
        return line

    def _fill(self) -> None:
        block = self._raw.read(BLOCK)
        final = not block
        text = self._carry + self._decoder.decode(block, final=final)
        if self._first and text:
            self._first = False
            if self._cp1252 and text.startswith("ï»¿"):
                text = text[3:]
            text = text.lstrip("\ufeff")
        if not final and text.endswith("\r"):
            # A CRLF may be split between two blocks: decide on the next block.
            text, self._carry = text[:-1], "\r"
        else:
            self._carry = ""
        parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if final:
            self._eof = True
            if parts and parts[-1] == "":
                parts.pop()
            self._pending, self._pos = parts, 0
        else:
            self._carry = parts.pop() + self._carry
            self._pending, self._pos = parts, 0


def open_lines(raw: BinaryIO, encoding: str) -> Lines:
    return Lines(raw, encoding)


def first_lines(raw: BinaryIO, count: int = 8, width: int = 120) -> list[str]:
    """The first lines, decoded leniently and shortened, for error messages."""
    start = head(raw, 16 * 1024)
    text = start.decode(guess_encoding(start), errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:count]
    return [ln if len(ln) <= width else ln[:width] + "…" for ln in lines]


def show(lines: list[str]) -> str:
    return "\n".join(f"    {i}: {ln!r}" for i, ln in enumerate(lines, 1))


def reject_binary(raw: BinaryIO, name: str) -> None:
    """ParseError for empty, binary and HTML inputs, which no format reader should see."""
    start = head(raw, 8192)
    if not start.strip(b" \t\r\n\x00") or not start.lstrip(codecs.BOM_UTF8).strip():
        raise ParseError(
            "the file is empty",
            file=name,
            hint="the export or the upload produced no data; export the report again",
        )
    if guess_encoding(start) == "utf-16":
        return
    if b"\x00" in start or sum(b < 9 or 13 < b < 32 for b in start) > len(start) // 100 + 2:
        raise ParseError(
            "this is a binary file, not a CSV trend report",
            file=name,
            line=1,
            hint="export the trend report as CSV text (an .xlsx or a zip is not accepted)",
        )
    lowered = start.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise ParseError(
            "this is an HTML/XML page, not a CSV trend report",
            file=name,
            line=1,
            hint="a login or error page was probably saved instead of the export; export again",
        )
