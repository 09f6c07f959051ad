"""One Siemens Insight Point Definition record: its fields by label, cleaned, bounded and
checked, as one row of the export's records (the report around it: siemens_points.py)."""

from __future__ import annotations

import functools
import re

from energy_ingest.catalog.exports.point_export import MAX_FIELD_CHARS, MAX_STATES

MAX_LABELS = 1_000  # distinct field labels kept in fields_seen (Insight has ~60)
MAX_EXTRAS = 256  # extra fields kept per record (Insight writes ~15)
MAX_DECIMALS_DIGITS = 4


COLUMNS = (
    "line", "system_name", "name", "point_type", "classification", "descriptor", "panel",
    "panel_label", "address", "sensor_type", "slope", "intercept", "cov_limit", "gain",
    "engineering_units", "representation", "decimals", "text_table", "states", "state_values",
    "totalization", "alarm_type", "object_name", "object_id", "informational_text", "extras",
)  # fmt: skip
# Field labels (compared case-insensitively, without the colon) → column.
KNOWN_LABELS = {
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
}
KNOWN = {label.casefold(): column for label, column in KNOWN_LABELS.items()}
FLOATS = ("slope", "intercept", "cov_limit", "gain")
LABELS = {column: label for label, column in KNOWN_LABELS.items()}
NO_TEXT = "<< No Text Defined >>"
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")
_STATE_RE = re.compile(r"^\s*(-?\d{1,9})\s+-(?:\s(.*))?$", re.DOTALL)
_PANEL_LABEL_RE = re.compile(r"^\((.*)\)$", re.DOTALL)


def _is_number(column: str, text: str) -> bool:
    if column == "decimals":
        return text.isascii() and text.isdigit() and len(text) <= MAX_DECIMALS_DIGITS
    return bool(_NUMBER_RE.match(text))


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
        return None

    def row(self) -> dict[str, object]:
        """The record's columns. A number field that holds no number (`COV Limit: Dynamic`)
        costs the point nothing: its text is kept in `extras` by its label, the number left
        empty, and the file warned."""
        row: dict[str, object] = {column: value for column, (_, value) in self.fields.items()}
        for column in (*FLOATS, "decimals"):
            text = row.get(column)
            if not isinstance(text, str):
                row[column] = None
            elif _is_number(column, text):
                row[column] = int(text) if column == "decimals" else float(text)
            else:
                row[column] = None
                self.extras.setdefault(LABELS[column], text)
                self.bounds.note(
                    f"{LABELS[column]} not a number (kept as text in the point's other fields,"
                    " the number left empty)",
                    self.fields[column][0],
                )
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
