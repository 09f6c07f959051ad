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

Bad input: a record without a Point Name or Point System Name, with a number that is not one, a
field given twice with different values or a line too long to be a field is a rejected record
(its first line and why); the rest import. A file without a single Point Name line is a
ParseError. Bounds: field values are cut at MAX_FIELD_CHARS, a text table keeps MAX_STATES
states, a record MAX_EXTRAS extra fields, the file MAX_LABELS distinct labels and at most
MAX_RECORDS records (more is a ParseError); a missing footer gives complete=False and a warning.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from typing import BinaryIO

import pandas as pd

from energy_ingest.catalog.export import (
    MAX_FIELD_CHARS,
    MAX_REJECTS,
    MAX_STATES,
    PointExport,
    parse_export,
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
MAX_LABELS = 1_000  # distinct field labels kept in fields_seen (Insight has ~60)
MAX_EXTRAS = 256  # extra fields kept per record (Insight writes ~15)
MAX_DECIMALS_DIGITS = 4
SNIFF_LINES = 200  # lines of the head looked at (blank lines separate every field)
NAME_COLUMNS = ("system_name", "name")
_RULE_RE = re.compile(r"^\s*\*{10,}\s*$")
_FOOTER_RE = re.compile(r"^\s*\*+\s*End of Report\s*\*+\s*$", re.IGNORECASE)


COLUMNS = (
    "line", "system_name", "name", "point_type", "classification", "descriptor", "panel",
    "panel_label", "address", "sensor_type", "slope", "intercept", "cov_limit", "gain",
    "engineering_units", "representation", "decimals", "text_table", "states", "state_values",
    "totalization", "alarm_type", "object_name", "object_id", "informational_text", "extras",
)  # fmt: skip
# Field labels (compared case-insensitively, without the colon) → column.
KNOWN = {
    label.casefold(): column
    for label, column in {
        "Point System Name": "system_name",
        "Point Name": "name",
        "Point Type": "point_type",
        "Classification": "classification",
        "Descriptor": "descriptor",
        "Panel Name": "panel",
        "Point Address": "address",
        "Sensor Type": "sensor_type",
        "Slope": "slope",
        "Intercept": "intercept",
        "COV Limit": "cov_limit",
        "Gain": "gain",
        "Engineering Units": "engineering_units",
        "Analog Representation": "representation",
        "# of decimal places": "decimals",
        "Text Table": "text_table",
        "Totalization": "totalization",
        "Alarm Type": "alarm_type",
        "Object Name": "object_name",
        "Object ID": "object_id",
        "Informational Text": "informational_text",
    }.items()
}
FLOATS = ("slope", "intercept", "cov_limit", "gain")
NO_TEXT = "<< No Text Defined >>"
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")
_STATE_RE = re.compile(r"^\s*(-?\d{1,9})\s+-(?:\s(.*))?$", re.DOTALL)
_PANEL_LABEL_RE = re.compile(r"^\((.*)\)$", re.DOTALL)


def field_label(field: str) -> tuple[str, str | None]:
    """A field's label as kept (stripped, without its colon) and the column it fills, if known."""
    return _short_label(field) if len(field) <= 80 else _label(field)


def _label(field: str) -> tuple[str, str | None]:
    label = field.strip().removesuffix(":").strip()
    return label, KNOWN.get(label.casefold())


_short_label = functools.lru_cache(maxsize=4096)(_label)  # real labels repeat on every record


class Bounds:
    """What the limits cut or dropped in one file, for its warnings, and the labels seen."""

    def __init__(self) -> None:
        self.labels: dict[str, None] = {}  # first-seen order, at most MAX_LABELS
        self.counts: dict[str, list[int]] = {}  # what → [how many, first line]

    def note(self, what: str, line: int) -> None:
        seen = self.counts.setdefault(what, [0, line])
        seen[0] += 1

    def label(self, label: str) -> None:
        if label not in self.labels and len(self.labels) < MAX_LABELS:
            self.labels[label] = None

    def warnings(self) -> list[str]:
        return [
            f"{what}: {count:,} (first at line {line})"
            for what, (count, line) in self.counts.items()
        ]


class Record:
    """The fields of one point record as its lines come in; `row()` or `problem()` at the end."""

    def __init__(self, line: int, bounds: Bounds) -> None:
        self.line = line
        self.bounds = bounds
        self.fields: dict[str, tuple[int, str | None]] = {}  # column or extra label → (line, value)
        self.extras: dict[str, str | None] = {}
        self.panel_label: str | None = None
        self.table: list[tuple[int, str]] | None = None  # (N, label) of the text table
        self.text: list[str] = []  # Informational Text as written, wrapped pieces joined
        self.text_chars = 0
        self.mode = ""  # "table" or "text" while their lines follow
        self.errors: list[str] = []

    def broken(self, reason: str) -> None:
        self.errors.append(reason)

    def add(self, number: int, fields: list[str]) -> None:
        first = fields[0]
        lead = first[:1]
        if self.mode == "table" and (lead.isspace() or lead.isdigit() or lead == "-"):
            state = _STATE_RE.match(first)
            if state:
                self._state(number, int(state.group(1)), state.group(2) or "")
                return
        if self.mode == "text" and lead.isspace():
            self._text(first[2:] if first.startswith("  ") else first.lstrip(" "), fields[1:])
            return
        self.mode = ""
        if lead.isspace() or not first.strip():
            self.bounds.note("lines outside any field ignored", number)
            return
        for i in range(0, len(fields), 2):
            label, column = field_label(fields[i])
            value = fields[i + 1] if i + 1 < len(fields) else None
            if not label:
                if value is not None and value.strip():
                    self.bounds.note("values without a field label ignored", number)
                continue
            self._set(number, label, column, value)
            if column == "panel":  # "Panel Name:","MBC12"," (COWLINGS)"
                if len(fields) > 2:
                    panel = self._clean(fields[2], number).strip()
                    found = _PANEL_LABEL_RE.match(panel)
                    self.panel_label = (found.group(1).strip() if found else panel) or None
                return

    def _set(self, number: int, label: str, column: str | None, value: str | None) -> None:
        self.bounds.label(label)
        text = None if value is None else (self._clean(value, number).strip() or None)
        if column == "text_table":
            self.mode, self.table = "table", self.table or []
        elif column == "informational_text":
            self.mode = "text"
            if text is not None:
                self.text.append(text + "\n")
            return
        key = column or label
        if key in self.fields:
            if self.fields[key][1] != text:
                was = self.fields[key][0]
                self.errors.append(f"line {number}: {label!r} given twice (also line {was})")
            return
        if column is None and len(self.extras) >= MAX_EXTRAS:
            self.bounds.note(f"extra fields over {MAX_EXTRAS} per record dropped", number)
            return
        self.fields[key] = (number, text)
        if column is None:
            self.extras[label] = text

    def _clean(self, value: str, number: int) -> str:
        if len(value) > MAX_FIELD_CHARS:
            self.bounds.note(f"field values cut to {MAX_FIELD_CHARS:,} characters", number)
            return value[:MAX_FIELD_CHARS]
        return value

    def _state(self, number: int, value: int, label: str) -> None:
        assert self.table is not None
        if any(n == value for n, _ in self.table):
            self.errors.append(f"line {number}: text table state {value} given twice")
        elif len(self.table) >= MAX_STATES:
            self.bounds.note(f"text table states over {MAX_STATES} dropped", number)
        else:
            self.table.append((value, self._clean(label, number).strip()))

    def _text(self, piece: str, rest: list[str]) -> None:
        """A continuation line: " -" after it means the text was wrapped mid-line."""
        if self.text_chars >= MAX_FIELD_CHARS:
            return
        piece = piece[: MAX_FIELD_CHARS - self.text_chars]
        self.text_chars += len(piece)
        wrapped = bool(rest) and rest[0].strip() == "-"
        self.text.append(piece if wrapped else piece + "\n")

    def has_name(self) -> bool:
        return any(self.fields.get(c, (0, None))[1] for c in ("name", "system_name"))

    def problem(self) -> str | None:
        """Why this record is rejected, or None."""
        if self.errors:
            return self.errors[0]
        for column, label in (("system_name", "Point System Name"), ("name", "Point Name")):
            if self.fields.get(column, (0, None))[1] is None:
                return f"record without a {label}"
        for column in (*FLOATS, "decimals"):
            number, text = self.fields.get(column, (0, None))
            if text is None:
                continue
            if column == "decimals":
                good = text.isascii() and text.isdigit() and len(text) <= MAX_DECIMALS_DIGITS
            else:
                good = bool(_NUMBER_RE.match(text))
            if not good:
                return f"line {number}: {column} {text[:40]!r} is not a number"
        return None

    def row(self) -> dict[str, object]:
        row: dict[str, object] = {column: value for column, (_, value) in self.fields.items()}
        for column in FLOATS:
            text = row.get(column)
            row[column] = float(text) if isinstance(text, str) else None
        decimals = row.get("decimals")
        row["decimals"] = int(decimals) if isinstance(decimals, str) else None
        if self.table is not None:
            ordered = sorted(self.table, key=lambda state: state[0])
            row["states"] = tuple(label for _, label in ordered)
            row["state_values"] = tuple(n for n, _ in ordered)
        text = "".join(self.text).strip()
        row["informational_text"] = None if text in ("", NO_TEXT) else text
        row["line"] = self.line
        row["panel_label"] = self.panel_label
        row["extras"] = self.extras
        return {column: row.get(column) for column in COLUMNS}


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
