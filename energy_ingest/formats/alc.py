"""ALC WebCTRL trend CSV: wide (time + one column per trend) or long (trend, time, value) layout.

No real WebCTRL trend export has been seen (see docs/readme-formats.md), so the layout is
detected from the content: leading metadata lines are skipped up to the header row that precedes
the first row holding a date/time; a header with a value column and a trend/point/name column
means the long layout, anything else with a time column the wide layout.
Records come from formats/records.py; this module finds the layout and streams the rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from energy_ingest.errors import ParseError
from energy_ingest.formats.cells import BLOCK_CHARS, PointCells, block_size
from energy_ingest.formats.records import Records
from energy_ingest.formats.report import Report
from energy_ingest.formats.source import Lines, first_lines, show
from energy_ingest.formats.timestamps import (
    WITH_ISO,
    Localizer,
    TimeParser,
    choose_format,
    looks_like_timestamp,
    unreadable_dates,
)

HEAD_LINES, HEAD_CHARS = 200, 1 << 20  # of the lines read to guess the delimiter
NAME_COLUMNS = ("trend", "trend log", "trend path", "path", "point", "point name", "name", "tag")
KEY_MIX = np.int64(0x5BD1E995)


def _ts_field(record: list[str]) -> int | None:
    """Index of the first of the first four fields that holds a date and time, if any."""
    for i, text in enumerate(record[:4]):
        if looks_like_timestamp(text):
            return i
    return None


def guess_delimiter(lines: list[str]) -> str:
    sample = [ln for ln in lines[:50] if ln.strip()]
    best, best_score = ",", 0
    for d in (",", ";", "\t", "|"):
        counts = [ln.count(d) for ln in sample]
        score = sum(1 for c in counts if c > 0)
        if score > best_score:
            best, best_score = d, score
    return best


def sniff(lines: list[str]) -> bool:
    """A header row followed by rows that start with a date/time (in the first lines)."""
    delimiter = guess_delimiter(lines)
    try:
        records = list(csv.reader(lines[:200], delimiter=delimiter))
    except csv.Error:
        return False
    return any(len([f for f in r if f.strip()]) >= 2 and _ts_field(r) is not None for r in records)


@dataclass
class Layout:
    kind: str  # "wide" or "long"
    delimiter: str
    header_line: int
    width: int
    time_col: int
    columns: list[int] = field(default_factory=list)  # wide: point index per column, -1 = skip
    name_col: int = -1
    value_col: int = -1
    location_col: int = -1


class AlcReader:
    def __init__(self, raw: BinaryIO, encoding: str, name: str, tz: str, chunk_rows: int) -> None:
        self.raw = raw
        self.encoding = encoding
        self.name = name
        self.tz = tz
        self.chunk_rows = max(1, chunk_rows)
        self.report = Report(format="alc-wide", source="alc", points={})
        self.tally = PointCells(self.report, digital=True)
        self._times = TimeParser(WITH_ISO)

    def scan(self) -> Report:
        head: list[str] = []
        chars = 0
        for line in Lines(self.raw, self.encoding):
            head.append(line)
            chars += len(line)
            if len(head) >= HEAD_LINES or chars > HEAD_CHARS:
                break
        self._delimiter = guess_delimiter(head)
        self.records = Records(self.raw, self.encoding, self._delimiter, self.name)
        header: tuple[int, list[str]] | None = None
        layout: Layout | None = None
        records = self.records.first()
        filled = [(n, r) for n, r in records if isinstance(r, list) and sum(1 for f in r if f) >= 2]
        for i, (number, record) in enumerate(filled):
            t = _ts_field(record)
            # A data row is followed by another one with a time in the same column (or ends
            # the file); a lone "Generated: <time>" metadata line is not.
            if t is not None and (
                i + 1 == len(filled) or _ts_field(filled[i + 1][1]) == t or header is None
            ):
                layout = self._layout(header, number, record, t)
                break
            header = (number, record)
        if layout is None:
            raise ParseError(
                "no ALC WebCTRL trend layout recognised: expected a header row, then rows with "
                "a date/time column (wide: time + one column per trend; long: trend, time, "
                "value)",
                file=self.name,
                line=1,
                hint="export the trend data as CSV from WebCTRL",
                excerpt=show(first_lines(self.raw)),
            )
        self.layout = layout
        texts = [
            r[layout.time_col]
            for n, r in records
            if n > layout.header_line
            and isinstance(r, list)
            and len(r) > layout.time_col
            and r[layout.time_col]
        ]
        if texts:  # one format for the file, from its first rows (not from the first chunk)
            self._times.fmt = choose_format(np.array(texts, dtype=object), WITH_ISO)
        if layout.kind == "long":
            self.report.format = "alc-long"
            self._collect_long_points()
        else:
            for _ in Lines(self.raw, self.encoding):  # decode it all now: cp1252 is decided here
                pass
        self.report.footer = None
        self.report._chunks = self._chunks
        return self.report

    def _layout(
        self, header: tuple[int, list[str]] | None, number: int, record: list[str], t: int
    ) -> Layout:
        if header is None:
            raise ParseError(
                "no header row before the first data row: trend names are unknown",
                file=self.name,
                line=number,
                hint="export with column headings (trend names) switched on",
            )
        header_line, names = header
        lower = [n.lower() for n in names]
        value_col = next((i for i, n in enumerate(lower) if n.startswith("value")), -1)
        name_col = next((lower.index(c) for c in NAME_COLUMNS if c in lower), -1)
        location_col = lower.index("location") if "location" in lower else -1
        if name_col < 0 and location_col >= 0 and value_col >= 0:
            name_col, location_col = location_col, -1
        if value_col >= 0 and name_col >= 0 and t not in (value_col, name_col):
            return Layout(
                "long",
                self._delimiter,
                header_line,
                len(trim_padding(names)),
                t,
                name_col=name_col,
                value_col=value_col,
                location_col=location_col,
            )
        columns: list[int] = []
        names = trim_padding(names)
        for j, text in enumerate(names):
            if j == t:
                columns.append(-1)
                continue
            point = text or f"column {j + 1}"
            if not text:
                self.report.warnings.append(
                    f"line {header_line}: column {j + 1} has no heading; named {point!r}"
                )
            elif point in self.tally.index:
                self.report.warnings.append(
                    f"line {header_line}: column {point!r} appears twice; the later column wins"
                )
            columns.append(self.tally.point(point, line=header_line))
        return Layout("wide", self._delimiter, header_line, len(names), t, columns=columns)

    def _collect_long_points(self) -> None:
        lay = self.layout
        for number, record in self.records:
            if (
                number <= lay.header_line
                or isinstance(record, str)
                or (self.records.cut and number == self.records.cut.line)
                or len(record) <= max(lay.name_col, lay.value_col)
            ):
                continue
            name = record[lay.name_col]
            if name and name not in self.tally.index:
                location = record[lay.location_col] if lay.location_col >= 0 else None
                self.tally.point(name, line=number, location=location or None)

    def _chunks(self) -> Iterator[pd.DataFrame]:
        lay = self.layout
        localizer = Localizer(self.tz)
        block: list[tuple[int, list[str]]] = []
        chars = 0
        block_rows = block_size(self.chunk_rows, lay.width)
        for number, record in self.records:
            if number <= lay.header_line:
                continue
            if isinstance(record, str):
                self.report.reject(number, f"{record} — not a row of this export")
                continue
            if not any(record):
                continue
            if self.records.cut and number == self.records.cut.line:
                self.report.reject(number, self.records.cut.reason)
                continue
            if len(record) != lay.width:
                if len(record) > lay.width and not any(record[lay.width :]):
                    record = record[: lay.width]
                elif lay.kind == "wide" or len(record) <= max(
                    lay.name_col, lay.value_col, lay.time_col
                ):
                    self.report.reject(
                        number, f"row has {len(record)} fields, header has {lay.width}"
                    )
                    continue
            block.append((number, record))
            chars += sum(map(len, record))
            if len(block) >= block_rows or chars >= BLOCK_CHARS:
                yield self._block(block, localizer)
                block, chars = [], 0
        if block:
            yield self._block(block, localizer)
        self.report.rows = len(self.tally.seen)
        self.tally.finish()
        unreadable_dates(self._times, self.name)
        seen = self.tally.seen
        repeats = self.tally.duplicates if lay.kind == "long" else seen.duplicate_rows
        if repeats:
            self.report.warnings.append(
                f"{repeats} duplicate (trend, time) reading(s): the later row wins"
            )

    def _block(self, block: list[tuple[int, list[str]]], localizer: Localizer) -> pd.DataFrame:
        lay = self.layout
        numbers = [n for n, _ in block]
        texts = np.array([r[lay.time_col] for _, r in block], dtype=object)
        naive, aware = self._times(texts, numbers)
        bad = np.isnat(naive)
        pidx_rows: npt.NDArray[np.int64] | None = None
        if lay.kind == "long":
            pidx_rows = np.array(
                [
                    self.tally.point(r[lay.name_col], line=n) if r[lay.name_col] else -1
                    for n, r in block
                ],
                dtype=np.int64,
            )
            for i in np.flatnonzero(pidx_rows < 0).tolist():
                self.report.reject(numbers[i], "no trend name")
        for i in np.flatnonzero(np.isnat(naive) & ~bad).tolist():  # one reject per line
            self.report.reject(numbers[i], f"unreadable date/time {texts[i]!r}")
        if pidx_rows is not None:
            bad |= pidx_rows < 0
        utc, problems = (
            (naive.view(np.int64), {}) if aware else localizer.localize(naive, pidx_rows)
        )
        for i, reason in sorted(problems.items()):
            if not bad[i]:
                self.report.reject(numbers[i], reason)
            bad[i] = True
        keep = np.flatnonzero(~bad)
        ts = utc[keep]
        lines = np.asarray(numbers, dtype=np.int64)[keep]
        if ts.size:
            first, last = (
                pd.Timestamp(int(ts.min()), tz="UTC"),
                pd.Timestamp(int(ts.max()), tz="UTC"),
            )
            r = self.report
            r.first_ts = first if r.first_ts is None else min(r.first_ts, first)
            r.last_ts = last if r.last_ts is None else max(r.last_ts, last)
        if lay.kind == "long":
            assert pidx_rows is not None
            pidx = pidx_rows[keep]
            raw = np.array([block[i][1][lay.value_col] for i in keep.tolist()], dtype=object)
            keys = ts + pidx * KEY_MIX  # equal for equal (trend, time); rarely for others
            dedupe = bool(np.unique(keys).size < keys.size)
            rows = np.arange(len(keep))
            return self.tally.readings(pidx, rows, raw, ts=ts, lines=lines, dedupe=dedupe)
        cols = np.asarray(lay.columns, dtype=np.int64)
        use = np.flatnonzero(cols >= 0)
        cells = np.array([block[i][1] for i in keep.tolist()], dtype=object).reshape(
            len(keep), lay.width
        )
        dedupe = bool(np.unique(ts).size < ts.size) or len(set(cols[use].tolist())) < use.size
        values = cells[:, use]
        pidx = np.repeat(cols[use], len(keep))
        rows = np.tile(np.arange(len(keep)), use.size)
        return self.tally.readings(pidx, rows, values.T.ravel(), ts=ts, lines=lines, dedupe=dedupe)


def trim_padding(fields: list[str]) -> list[str]:
    end = len(fields)
    while end and not fields[end - 1]:
        end -= 1
    return fields[:end]


def read(raw: BinaryIO, encoding: str, *, name: str, tz: str, chunk_rows: int) -> Report:
    return AlcReader(raw, encoding, name, tz, chunk_rows).scan()
