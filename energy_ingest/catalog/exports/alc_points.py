"""ALC WebCTRL Points List report → one record per row: pure, bytes in, PointExport out.

The report engine quotes every field, ends lines in CRLF and sometimes puts a space between a
closing quote and the comma (`"" ,`) or before the line end; every field is stripped
(docs: ALC_WEBCTRL.md §3.4). The first row holding Location, Control Program and Name titles is
the header; columns are found by title (case, spaces and punctuation ignored), not by position.

Columns of `PointExport.records`, in this order:

    line             int         1-based physical line where the row starts
    location         str | None  Location, the tree path as written
                                 ("/Carleton College/Hulings Hall/Facility Summary/Basement")
    location_parts   tuple[str]  its segments, empty ones dropped: the second is the building,
                                 later ones often a floor or area
    control_program  str | None  Control Program: the equipment, often with its room
                                 ("HUL-FCU2-RM B44", "HUL-AHUH1-VAV-B-5-RM B19")
    name             str         Name ("Setpoint / Cooling Occupied Setpoint"); never empty
    type             str | None  Type: BAV, BBV, BAI, BBO, BSPTCS, …
    offset_polarity  str | None  Offset / Polarity ("0", "normal")
    exp_num          str | None  Exp:Num ("0:1")
    io_type          str | None  I/O Type ("Flow Input", "Dry Contact")
    extras           dict        every other column by its header title as written (None if empty)

A row with the wrong number of fields or no Name is a rejected record (line, reason); the rest
import. Bounds: a field is cut to MAX_FIELD_CHARS, a line to formats' MAX_LINE_BYTES (longer is a
reject), MAX_REJECTS rejects are kept, a header has at most MAX_COLUMNS columns and a file at most
MAX_ROWS rows (more is a ParseError).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import pandas as pd

from energy_ingest import file_kinds
from energy_ingest.catalog.exports.point_export import (
    MAX_FIELD_CHARS,
    MAX_REJECTS,
    PointExport,
    Reject,
    parse_export,
)
from energy_ingest.errors import ParseError
from energy_ingest.formats.records import Record, Records
from energy_ingest.formats.source import first_lines, guess_encoding, head, show

__all__ = ["COLUMNS", "looks_like_points_list", "parse_points_list"]

FORMAT, SOURCE = "alc-points-list", "alc"
# Known columns: record column → header title, as normalised by _key().
KNOWN = {
    "location": "location",
    "control_program": "controlprogram",
    "name": "name",
    "type": "type",
    "offset_polarity": "offsetpolarity",
    "exp_num": "expnum",
    "io_type": "iotype",
}
REQUIRED = ("location", "control_program", "name")
SNIFFED = ("location", "controlprogram", "name", "type")  # what looks_like_points_list wants
COLUMNS = ("line", "location", "location_parts", *list(KNOWN)[1:], "extras")
HEADER_SEARCH = 20  # records looked at for the header row
MAX_COLUMNS = 256  # the real report has 7
MAX_ROWS = 200_000  # rows (points) per file: 40 times Carleton's whole campus
TITLES = "Location, Control Program, Name, Type"
HINT = (
    "export the WebCTRL Points List report as CSV, with its Location, Control Program and Name "
    "columns"
)


def _key(title: str) -> str:
    """A header title for matching: lower case, without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", title.casefold())


def looks_like_points_list(head: bytes) -> bool:
    """True when one of the first lines of `head` is a Points List header row (Location, Control
    Program, Name and Type titles, in any order): for content sniffing, from the header alone."""
    text = head.decode(guess_encoding(head), errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:HEADER_SEARCH]
    try:
        rows = list(csv.reader(lines))
    except csv.Error:
        return False
    return any(set(SNIFFED) <= {_key(f) for f in row} for row in rows)


def parse_points_list(data: bytes | BinaryIO, *, name: str = "") -> PointExport:
    """Parse one Points List report; anything that is not one is a ParseError naming the file."""
    return parse_export(
        data, name, _refuse_non_text, lambda raw, enc, n: _Reader(raw, enc, n).read()
    )


def _refuse_non_text(raw: BinaryIO, name: str) -> None:
    start = head(raw, file_kinds.HEAD_BYTES)
    if not start.lstrip(codecs.BOM_UTF8).strip(b" \t\r\n\x00"):
        raise ParseError("the file is empty", file=name, hint="export the report again")
    found = file_kinds.not_a_report(start)
    if found is not None:
        raise ParseError(
            f"this is {found.what}, not a CSV Points List report", file=name, line=1, hint=HINT
        )


class _Reader:
    def __init__(self, raw: BinaryIO, encoding: str, name: str) -> None:
        self.raw = raw
        self.name = name
        self.records = Records(raw, encoding, ",", name)
        self.export = PointExport(format=FORMAT, source=SOURCE, records=_empty())
        self.cut = 0  # fields cut to MAX_FIELD_CHARS
        self.first_cut = 0  # the line of the first
        self._parts: dict[str, tuple[str, ...]] = {}  # location_parts by Location

    def read(self) -> PointExport:
        rows = iter(self.records)
        header_line, titles = self._header(rows)
        fields = self._columns(header_line, titles)
        name_at, width = fields["name"], len(titles)
        table: list[list[Any]] = []
        for number, record in rows:
            if isinstance(record, str):
                self._reject(number, f"{record} — not a row of this report")
                continue
            if not any(record):
                continue
            if len(record) > width and not any(record[width:]):
                record = record[:width]  # a trailing comma
            if len(record) != width:
                self._reject(number, f"row has {len(record)} fields, header has {width}")
                continue
            if max(map(len, record)) > MAX_FIELD_CHARS:
                record = [self._cut(number, text) for text in record]
            row = [text or None for text in record]
            if name_at is None or row[name_at] is None:
                self._reject(number, "no Name: a point needs one")
                continue
            if len(table) >= MAX_ROWS:
                raise ParseError(
                    f"more than {MAX_ROWS:,} rows: larger than any site's Points List",
                    file=self.name,
                    line=number,
                    hint="export the Points List per building or area",
                )
            table.append([number, *self._row(row, fields)])
        if self.cut:
            self.export.warnings.append(
                f"{self.cut:,} field(s) longer than {MAX_FIELD_CHARS:,} characters were cut to "
                f"that length (the first on line {self.first_cut})"
            )
        if table:
            # dtype=object: text stays str and None (pandas would infer strings with NaN)
            frame = pd.DataFrame(table, columns=list(COLUMNS), dtype=object)
            self.export.records = frame.astype({"line": "int64"})
        return self.export

    def _header(self, rows: Iterator[tuple[int, Record]]) -> tuple[int, list[str]]:
        """The header row; ParseError when the first records hold none."""
        seen = 0
        for number, record in rows:
            if isinstance(record, list) and not any(record):
                continue
            seen += 1
            if seen > HEADER_SEARCH:
                break
            if isinstance(record, str):
                continue
            while record and not record[-1]:  # a trailing comma
                record = record[:-1]
            keys = {_key(f) for f in record}
            if len(keys & set(KNOWN.values())) >= 2:
                missing = [k for k in REQUIRED if KNOWN[k] not in keys]
                if missing:
                    raise ParseError(
                        f"the header row has no {_titles(missing)} column; its columns are "
                        f"{', '.join(repr(f) for f in record)}",
                        file=self.name,
                        line=number,
                        hint=HINT,
                    )
                if len(record) > MAX_COLUMNS:
                    raise ParseError(
                        f"the header row has {len(record):,} columns, more than the "
                        f"{MAX_COLUMNS} a Points List may have",
                        file=self.name,
                        line=number,
                        hint=HINT,
                    )
                return number, record
        raise ParseError(
            f"not an ALC WebCTRL Points List report: no header row with {TITLES} titles",
            file=self.name,
            line=1,
            hint=HINT,
            excerpt=show(first_lines(self.raw)),
        )

    def _columns(self, line: int, titles: list[str]) -> dict[str, int | None]:
        """Where each known column is; every other title is an extra (first known one wins)."""
        fields: dict[str, int | None] = dict.fromkeys(KNOWN)
        by_key = {key: column for column, key in KNOWN.items()}
        for j, title in enumerate(titles):
            column = by_key.get(_key(title))
            if column is not None and fields[column] is None:
                fields[column] = j
            elif column is not None:
                self.export.warnings.append(
                    f"line {line}: column {j + 1} {title!r} appears again; the first is used "
                    "and this one is kept in extras"
                )
        seen: list[str] = []
        for title in titles:
            if title not in seen:
                seen.append(title)
        self.export.fields_seen = tuple(seen)
        self._extras = [
            (j, _extra_title(titles, j)) for j in range(len(titles)) if j not in fields.values()
        ]
        return fields

    def _row(self, row: list[str | None], fields: dict[str, int | None]) -> list[Any]:
        values = [None if j is None else row[j] for j in fields.values()]
        location = values[0]
        parts = self._parts.get(location or "")
        if parts is None:  # rows share their Location: split each once (and share the tuple)
            parts = tuple(p.strip() for p in (location or "").split("/") if p.strip())
            self._parts[location or ""] = parts
        extras = {title: row[j] for j, title in self._extras}
        return [location, parts, *values[1:], extras]

    def _cut(self, number: int, text: str) -> str:
        if len(text) > MAX_FIELD_CHARS:
            self.cut += 1
            self.first_cut = self.first_cut or number
            text = text[:MAX_FIELD_CHARS].rstrip()
        return text

    def _reject(self, line: int, reason: str) -> None:
        self.export.rejected += 1
        if len(self.export.rejects) < MAX_REJECTS:
            self.export.rejects.append(Reject(line, reason))


def _extra_title(titles: list[str], j: int) -> str:
    """The extras key of column j: its title, or its position when that is empty or repeated."""
    title = titles[j]
    if not title or titles.index(title) != j:
        return f"{title or 'column'} (column {j + 1})"
    return title


def _titles(columns: list[str]) -> str:
    names = {"location": "Location", "control_program": "Control Program", "name": "Name"}
    return " or ".join(names[c] for c in columns)


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
    return frame.astype({"line": "int64"})
