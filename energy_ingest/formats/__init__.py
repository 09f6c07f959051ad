"""Trend report formats: sniff Siemens Insight or ALC WebCTRL from the bytes and parse them.

`parse()` is the one boundary where csv, Unicode, pandas and numpy errors become ParseError; it
never raises anything else, neither while reading metadata nor while the chunks are consumed.

    siemens.py, siemens_header.py  Siemens Insight trend reports (rows, then the header)
    alc.py         ALC WebCTRL trend reports
    report.py      what a parser returns (Report, PointInfo, Reject)
    cells.py       each point's cells so far, as readings (PointCells)
    produced.py    the readings already produced, for repeats across chunks
    timestamps.py  the timestamp formats and their parsing
    source.py      the raw bytes: encoding, lines, heads, binary refusal
    records.py     CSV records of bounded length
"""

from __future__ import annotations

import csv
import io
import re
import weakref
import zoneinfo
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pandas as pd

from energy_ingest.errors import ParseError
from energy_ingest.file_kinds import SOURCES
from energy_ingest.formats import alc, siemens, siemens_header
from energy_ingest.formats.report import Report
from energy_ingest.formats.source import (
    first_lines,
    guess_encoding,
    head,
    reject_binary,
    seekable,
    show,
)

_SOAP_RE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d(:\d\d)?\s*[AP]M$", re.IGNORECASE)


def sniff(start: bytes) -> str | None:
    """'siemens' or 'alc' from the first bytes of a file; None when it is neither."""
    text = start.decode(guess_encoding(start), errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:400]
    for line in lines[:100]:
        if siemens_header.is_key_line(line) or siemens_header.is_header_field(line):
            return "siemens"
        if siemens_header.POINT_RE.match(re.split(r"[,\t;|]", line)[0].strip("\"' ")):
            return "siemens"
    if alc.sniff(lines):
        return "alc"
    return None


def parse(
    data: bytes | BinaryIO,
    *,
    name: str = "",
    tz: str = "America/Chicago",
    hint: str | None = None,
    chunk_rows: int = 20_000,
) -> Report:
    """Parse one report; readings come from `report.chunks()` (errors there are ParseError too)."""
    try:
        zoneinfo.ZoneInfo(tz)
    except Exception:  # ZoneInfoNotFoundError, ValueError, TypeError for odd keys
        raise ParseError(
            f"unknown time zone {tz!r}",
            file=name,
            hint="set ENERGY_TIMEZONE (or --tz) to an IANA zone such as America/Chicago",
        ) from None
    raw: BinaryIO | None = None
    try:
        raw = seekable(data)
        report = _read(raw, name=name, tz=tz, chunk_rows=chunk_rows)
    except ParseError as exc:
        _release(raw, data)
        raise exc.with_file(name or exc.file) from None
    except Exception as exc:
        _release(raw, data)
        raise _translate(exc, name) from exc
    if raw is not data and not isinstance(raw, io.BytesIO):
        weakref.finalize(report, raw.close)  # the temporary copy of a pipe
    if hint in SOURCES and hint != report.source:
        described = {"siemens": "a Siemens Insight report", "alc": "an ALC WebCTRL trend export"}
        report.warnings.append(
            f"folder says {hint} but the content is {described[report.source]}; parsed as such"
        )
    produce = report._chunks
    if produce is not None:
        report._chunks = _guarded(produce, name)
    return report


def _release(raw: BinaryIO | None, data: object) -> None:
    if raw is not None and raw is not data and not isinstance(raw, io.BytesIO):
        raw.close()


def _read(raw: BinaryIO, *, name: str, tz: str, chunk_rows: int) -> Report:
    reject_binary(raw, name)
    start = head(raw)
    kind = sniff(start)
    if kind is None:
        _unknown(raw, name, start)
    encoding = guess_encoding(start)
    reader = siemens.read if kind == "siemens" else alc.read
    try:
        return reader(raw, encoding, name=name, tz=tz, chunk_rows=chunk_rows)
    except UnicodeDecodeError:
        report = reader(raw, "cp1252", name=name, tz=tz, chunk_rows=chunk_rows)
        report.warnings.append("the file is not UTF-8; decoded as Windows-1252 (cp1252)")
        return report


def _unknown(raw: BinaryIO, name: str, start: bytes) -> None:
    text = start.decode("utf-8", errors="replace")
    content = [c.strip() for c in text.splitlines()[:200] if c.strip() and not c.startswith("#")]
    if len(content) >= 2 and _SOAP_RE.match(content[0]):
        raise ParseError(
            "this is a WebCTRL SOAP getTrendData dump (alternating timestamp and value lines) "
            "without trend names",
            file=name,
            line=1,
            hint="export the trend from WebCTRL as CSV (a header row with the trend names)",
        )
    lines = first_lines(raw)
    raise ParseError(
        "not a recognised report: expected a Siemens Insight trend report ('Key … Name:Suffix', "
        "'Point_1:' lines, '<>Date' header) or an ALC WebCTRL trend CSV (a header row, then rows "
        "starting with a date/time)",
        file=name,
        line=1,
        hint="check that the right report was exported, as CSV",
        excerpt=show(lines),
    )


def _translate(exc: BaseException, name: str) -> ParseError:
    if isinstance(exc, UnicodeError):
        return ParseError(f"text encoding problem: {exc}", file=name, hint="save the file as UTF-8")
    if isinstance(exc, csv.Error):
        return ParseError(
            f"CSV syntax problem: {exc}", file=name, hint="check quoting and very long fields"
        )
    if isinstance(exc, MemoryError):
        return ParseError("the file needs too much memory to parse", file=name)
    return ParseError(
        f"could not parse ({type(exc).__name__}: {exc})",
        file=name,
        hint="this is a parser bug or a very unusual file; keep the file and report it",
    )


def _guarded(
    produce: Callable[[], Iterator[pd.DataFrame]], name: str
) -> Callable[[], Iterator[pd.DataFrame]]:
    def chunks() -> Iterator[pd.DataFrame]:
        try:
            yield from produce()
        except ParseError as exc:
            raise exc.with_file(name or exc.file) from None
        except Exception as exc:
            raise _translate(exc, name) from exc

    return chunks


__all__ = ["SOURCES", "ParseError", "Report", "parse", "sniff"]
