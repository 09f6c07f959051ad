"""Siemens Insight Point Definition report → one record per point (pure: bytes in, PointExport out).

The report is a CSV file, one quoted line per field, records between asterisk rules and an
`End of Report` footer (CRLF, CR-only or LF):

    "Point System Name:","FAC.CONM"
    "Panel Name:","MBC12"," (COWLINGS)"
    "COV Limit:","10.0","Gain:","10.0"          two fields on one line
    "Text Table:","Default LDO"
    "                         0 - OFF"          the table's states, one per line
    "Informational Text:"
    "  Gain changed at 1:05 p.m. on …"," -"     wrapped text: " -" means it goes on
     ********************************************************************************
     ******************************** End of Report *********************************

Columns of `records`, in this order (strings are stripped, None when absent or empty):

    line                Int64   physical line where the record starts
    system_name         str     Point System Name
    name                str     Point Name
    point_type          str     Point Type (LAI, LAO, LDI, LDO, LENUM, LPACI, L2SL, …)
    classification      str     Classification
    descriptor          str     Descriptor
    panel               str     Panel Name, e.g. "MBC12"
    panel_label         str     the panel's parenthesised label, e.g. "COWLINGS"
    address             str     Point Address as written, e.g. "FLN:  0   Drop:  05  Point:  02"
    sensor_type         str     Sensor Type
    slope, intercept    float   Slope, Intercept (NaN when absent)
    cov_limit           float   COV Limit
    gain                float   Gain (pulse points)
    engineering_units   str     Engineering Units, raw ("DEG F", "deg F", "KW", …)
    representation      str     Analog Representation ("Float" or "Integer")
    decimals            Int64   # of decimal places
    text_table          str     Text Table (its name)
    states              tuple   the text table's labels ordered by N; None without a text table
    state_values        tuple   the N of each label, same order (N need not start at 0 or be
                                contiguous, so a label's position is not its value)
    totalization        str     Totalization
    alarm_type          str     Alarm Type
    object_name         str     Object Name (newer panels)
    object_id           str     Object ID, e.g. "analog-input - 15317"
    informational_text  str     the text, wrapped lines joined; line breaks inside it are "\\n";
                                None for "<< No Text Defined >>"
    extras              dict    every other field by its label without the colon, e.g.
                                {"Initial Value": "37.5", "Actuator Type": "Voltage"}

Bad input: a record without a Point Name or Point System Name, a field given twice with different
values or a line too long to be a field is a rejected record (its first line and why); the rest
import. A number field that holds no number (`COV Limit: Dynamic`) costs the point nothing: its
text stays in `extras`, the number is empty, and a warning counts them. A file without a single Point Name line is a
ParseError. Bounds: field values are cut at MAX_FIELD_CHARS, a text table keeps MAX_STATES
states, a record MAX_EXTRAS extra fields, the file MAX_LABELS distinct labels and at most
MAX_RECORDS records (more is a ParseError); a missing footer gives complete=False and a warning.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import BinaryIO

import pandas as pd

from energy_ingest.catalog.exports.point_export import (
    MAX_REJECTS,
    MAX_STATES,
    PointExport,
    parse_export,
)
from energy_ingest.catalog.exports.siemens_point_record import (
    COLUMNS,
    MAX_EXTRAS,
    Bounds,
    Record,
)
from energy_ingest.errors import ParseError
from energy_ingest.formats.report import Reject
from energy_ingest.formats.source import (
    MAX_LINE_BYTES,
    Lines,
    guess_encoding,
    reject_binary,
    too_long,
)

__all__ = ["COLUMNS", "MAX_EXTRAS", "MAX_RECORDS", "MAX_STATES", "parse_point_definitions"]

MAX_RECORDS = 200_000  # per file: a whole campus (~16,000 points) is a handful of files
MAX_JOINED_LINES = 256  # physical lines one quoted field may span (embedded CRs)
SNIFF_LINES = 200  # lines of the head looked at (blank lines separate every field)
NAME_COLUMNS = ("system_name", "name")
_RULE_RE = re.compile(r"^\s*\*{10,}\s*$")
_FOOTER_RE = re.compile(r"^\s*\*+\s*End of Report\s*\*+\s*$", re.IGNORECASE)


def looks_like_point_definitions(head: bytes) -> bool:
    """True when the first lines of `head` hold a Point Definition record's `Point System Name:`
    (or `Point Name:`) and `Point Type:` fields: for content sniffing, from the head alone."""
    text = head.decode(guess_encoding(head), errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:SNIFF_LINES]
    labels = {line.strip().lstrip('"').split(":", 1)[0].strip().casefold() for line in lines}
    return "point type" in labels and bool({"point system name", "point name"} & labels)


def parse_point_definitions(data: bytes | BinaryIO, *, name: str = "") -> PointExport:
    """Parse one Point Definition report; raises only ParseError."""
    return parse_export(data, name, reject_binary, lambda raw, enc, n: _Reader(raw, enc, n).read())


def split_fields(line: str) -> list[str]:
    """The CSV fields of one logical line (fast path for Insight's fully quoted lines)."""
    if len(line) >= 2 and line[0] == '"' and line[-1] == '"' and '""' not in line[1:-1]:
        return line[1:-1].split('","')
    return next(csv.reader([line]), [])


class _Reader:
    """Walks the logical lines once, building one Record at a time."""

    def __init__(self, raw: BinaryIO, encoding: str, name: str) -> None:
        self.raw = raw
        self.encoding = encoding
        self.name = name
        self.bounds = Bounds()
        self.rows: list[dict[str, object]] = []
        self.rejects: list[Reject] = []
        self.rejected = 0
        self.warnings: list[str] = []
        self.named = False  # a Point Name or Point System Name line was seen
        self.after_footer = 0  # non-blank lines after the last footer

    def read(self) -> PointExport:
        record: Record | None = None
        blocks = 0
        complete = False
        for number, line, problem in self._logical_lines():
            try:
                fields = [] if problem else split_fields(line)
            except csv.Error as exc:  # a stray quote before a line break, a NUL
                fields, problem = [], f"unreadable CSV ({exc})"
            if not problem and not any(f.strip() for f in fields):
                continue
            first = fields[0].strip() if fields else ""
            if (
                not problem
                and first[:1] == "*"
                and (_RULE_RE.match(first) or _FOOTER_RE.match(first))
            ):
                if record is not None:
                    self._finish(record, blocks)
                    blocks, record = blocks + 1, None
                if _FOOTER_RE.match(first):
                    complete = True
                continue
            if complete:
                self.after_footer += 1
                complete = False  # records after a footer: another report appended?
            if record is None:
                record = Record(number, self.bounds)
            if problem:
                record.broken(f"line {number}: {problem}")
            else:
                record.add(number, fields)
        if record is not None:
            self._finish(record, blocks)
        return self._result(complete)

    def _logical_lines(self) -> Iterator[tuple[int, str, str]]:
        """(first physical line, text, problem): lines with an open quote are joined with the
        next ones (an embedded CR or LF inside a field); problem is "" for a usable line."""
        lines = Lines(self.raw, self.encoding)
        parts: list[str] = []
        start = chars = 0
        for line in lines:
            if lines.long:
                if parts:
                    yield start, "", f"quoted field from line {start} never closes"
                    parts, chars = [], 0
                yield lines.number, "", too_long(lines.long)
                continue
            if not parts:
                if line.count('"') % 2 == 0:
                    yield lines.number, line, ""
                    continue
                start = lines.number
            parts.append(line)
            chars += len(line)
            if line.count('"') % 2 == 1 and len(parts) > 1:
                yield start, "\n".join(parts), ""
                parts, chars = [], 0
            elif len(parts) >= MAX_JOINED_LINES or chars > MAX_LINE_BYTES:
                yield start, "", f"quoted field from line {start} never closes"
                parts, chars = [], 0
        if parts:
            yield start, "", f"quoted field from line {start} never closes — file truncated?"

    def _finish(self, record: Record, blocks: int) -> None:
        self.named = self.named or any(c in record.fields for c in NAME_COLUMNS)
        reason = record.problem()
        if reason is None:
            if len(self.rows) >= MAX_RECORDS:
                raise ParseError(
                    f"more than {MAX_RECORDS:,} point records in one file",
                    file=self.name,
                    line=record.line,
                    hint="export the Point Definition report in smaller parts (by panel)",
                )
            self.rows.append(record.row())
        elif blocks == 0 and not record.has_name():
            self.warnings.append(
                f"line {record.line}: the lines before the first asterisk rule are not a point "
                "record (a report header?) and were ignored"
            )
        else:
            self.rejected += 1
            if len(self.rejects) < MAX_REJECTS:
                self.rejects.append(Reject(record.line, reason))

    def _result(self, complete: bool) -> PointExport:
        if not self.named:
            raise ParseError(
                "no 'Point Name:' line: not a Siemens Insight Point Definition report",
                file=self.name,
                line=1,
                hint="export the Point Definition report from Insight to a CSV file",
            )
        warnings = self.warnings
        if not complete:
            warnings.append("no End of Report footer — the file may be incomplete")
        if self.after_footer:
            warnings.append(f"{self.after_footer} line(s) after an End of Report footer were read")
        warnings.extend(self.bounds.warnings())
        records = pd.DataFrame(self.rows, columns=list(COLUMNS), dtype=object)  # None stays None
        for column in ("line", "decimals"):
            records[column] = records[column].astype("Int64")
        for column in ("slope", "intercept", "cov_limit", "gain"):
            records[column] = records[column].astype("float64")
        return PointExport(
            format="siemens-point-definitions",
            source="siemens",
            records=records,
            rejects=self.rejects,
            rejected=self.rejected,
            fields_seen=tuple(self.bounds.labels),
            complete=complete,
            warnings=warnings,
        )
