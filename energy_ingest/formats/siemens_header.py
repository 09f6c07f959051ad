"""Siemens Insight report headers: the point list, meta lines and <>Date header of each report.

`HeaderReader.read` turns the lines before a report's data (`Key … Name:Suffix`, `Point_n:`
lines, `Time Interval:` and `Date Range:`, the `<>Date,Time,Point_1…` header) into the report's
points and metadata and the section's column map; formats/siemens.py finds those lines (pass 1)
and streams the rows after them (pass 2).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from energy_ingest.formats.cells import PointCells
from energy_ingest.formats.report import Report
from energy_ingest.formats.timestamps import COMBINED, choose_format, parse_with

POINT_RE = re.compile(r"^\s*Point_(\d{1,9}):?\s*$")
HEADER_POINT_RE = re.compile(r"^\s*Point_(\d{1,9})\s*$")
FOOTER_RE = re.compile(r"\*+\s*End of Report\s*\*+")
INTERVAL_RE = re.compile(r"(\d{1,9})\s*(second|sec|minute|min|hour|hr|day)s?", re.IGNORECASE)
DELIM_RE = re.compile(r"""^\s*(["']?)Point_\d+:?\1( *)(.)""")
UNIT_SECONDS = {
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "hr": 3600,
    "hour": 3600,
    "day": 86400,
}


def is_key_line(line: str) -> bool:
    return "Name:Suffix" in line and line.lstrip("\ufeff \"'").startswith("Key")


def is_footer(line: str) -> bool:
    return "End of Report" in line and FOOTER_RE.search(line) is not None


def is_header_field(text: str) -> bool:
    return text.lstrip("\ufeff \"'").startswith("<>Date")


@dataclass
class Section:
    """One report inside the file (several with Insight's "Append to file")."""

    number: int
    start_line: int
    delimiter: str = ","
    header_line: int | None = None
    width: int = 0
    columns: list[int] = field(default_factory=list)  # point index per data column, -1 = skip
    end_line: int | None = None  # the footer or the next report's Key line
    last_line: int = 0  # last non-blank line of the data
    footer: bool = False
    stray: int = 0


def sniff_delimiter(lines: list[str]) -> str:
    for line in lines:
        m = DELIM_RE.match(line)
        if m:
            after_spaces = m.group(3)
            if m.group(2) and (after_spaces.isalnum() or after_spaces in "\"'"):
                return " "
            return after_spaces
    for line in lines:
        stripped = line.lstrip("\ufeff \"'")
        if stripped.startswith("<>Date"):
            rest = stripped[len("<>Date") :].lstrip("\"'")
            if rest and not rest[0].isalnum():
                return rest[0]
    return ","


def split_line(line: str, delimiter: str) -> list[str]:
    """Fields of one line: str.split when the quoting allows, the csv module otherwise."""
    if '"' not in line:
        return line.split(delimiter)
    if len(line) > 1 and line[0] == '"' and line[-1] == '"':
        parts = line[1:-1].split(f'"{delimiter}"')
        if line.count('"') == 2 * len(parts):
            return parts
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def trim(fields: list[str]) -> list[str]:
    """Drop trailing empty fields (Excel pads every line to the widest row)."""
    end = len(fields)
    while end and not fields[end - 1].strip():
        end -= 1
    return fields[:end]


def parse_range(text: str) -> tuple[datetime, datetime] | None:
    parts = [p.strip() for p in text.split(" - ")]
    if len(parts) != 2:
        return None
    arr = np.array(parts, dtype=object)
    fmt = choose_format(arr, COMBINED)
    if fmt is None:
        return None
    parsed = parse_with(arr, fmt)
    if np.isnat(parsed).any():
        return None
    start, end = (pd.Timestamp(x).to_pydatetime() for x in parsed)
    return start, end


class HeaderReader:
    """Reads the header lines of each report of one file into its Report and PointCells."""

    def __init__(self, report: Report, tally: PointCells) -> None:
        self.report = report
        self.tally = tally

    def read(
        self, section: Section, preamble: list[tuple[int, str]], *, header: bool = True
    ) -> None:
        """Fill `section` (delimiter, columns, header line) and the report's points and meta
        from the lines of one report's header; `header=False` when it has no <>Date line."""
        delimiter = sniff_delimiter([text for _, text in preamble[:50]])
        section.delimiter = delimiter
        declared: dict[int, str] = {}
        report = self.report
        for number, text in preamble:
            fields = trim(split_line(text, delimiter))
            if not fields:
                continue
            first = fields[0].lstrip("\ufeff").strip()
            if (is_key_line(text) and number == section.start_line) or is_footer(text):
                continue
            m = POINT_RE.match(first)
            if m:
                self._point_line(section, number, int(m.group(1)), fields, declared)
                continue
            if is_header_field(first) and header:
                section.header_line = number
                self._header(section, number, fields, declared)
                continue
            if first.endswith(":") and len(fields) >= 2:
                self._meta(section, first[:-1].strip().lower(), fields[1].strip(), number)
                continue
            report.warnings.append(f"line {number}: unexpected line in the report header ignored")

    def _point_line(
        self, section: Section, number: int, n: int, fields: list[str], declared: dict[int, str]
    ) -> None:
        if len(fields) < 2 or not fields[1].strip():
            self.report.warnings.append(f"line {number}: Point_{n} has no name; ignored")
            return
        name = fields[1]
        rest = [f.strip() for f in fields[2:]]
        non_empty = [f for f in rest if f]
        definition = non_empty[-1] if non_empty else None
        description = " ".join(non_empty[:-1]) or None
        if n in declared:
            self.report.warnings.append(f"line {number}: Point_{n} declared twice; the later wins")
        declared[n] = name
        if name not in self.report.points:
            self.tally.point(
                name, line=number, trend_definition=definition, description=description
            )
        else:
            info = self.report.points[name]
            info.trend_definition = info.trend_definition or definition
        if definition and definition.lower().startswith("error:"):
            self.report.warnings.append(
                f"point {name!r} has trend definition {definition!r}: expect no readings"
            )

    def _header(
        self, section: Section, number: int, fields: list[str], declared: dict[int, str]
    ) -> None:
        if len(fields) < 2:
            self.report.warnings.append(f"line {number}: the data header has no Time column")
            return
        section.width = len(fields)
        columns: list[int] = []
        used: set[int] = set()
        for text in fields[2:]:
            m = HEADER_POINT_RE.match(text)
            if not m or int(m.group(1)) not in declared:
                self.report.warnings.append(
                    f"line {number}: header column {text.strip()!r} is not a declared point; "
                    "its cells are ignored"
                )
                columns.append(-1)
                continue
            n = int(m.group(1))
            used.add(n)
            columns.append(self.tally.index[declared[n]])
        for n in sorted(set(declared) - used):
            self.report.warnings.append(
                f"line {number}: Point_{n} ({declared[n]!r}) is declared but has no data column"
            )
        section.columns = columns

    def _meta(self, section: Section, key: str, value: str, number: int) -> None:
        report = self.report
        if key == "time interval":
            if report.interval is None:
                report.interval = value
                m = INTERVAL_RE.search(value)
                if m:
                    unit = m.group(2).lower()
                    report.interval_seconds = int(m.group(1)) * UNIT_SECONDS[unit]
            elif report.interval != value:
                report.warnings.append(
                    f"line {number}: report {section.number} has interval {value!r}, "
                    f"the first report {report.interval!r}"
                )
        elif key == "date range":
            parsed = parse_range(value)
            if parsed is None:
                report.warnings.append(f"line {number}: date range {value!r} not understood")
            elif report.date_range is None:
                report.date_range = parsed
            else:
                report.date_range = (
                    min(report.date_range[0], parsed[0]),
                    max(report.date_range[1], parsed[1]),
                )
