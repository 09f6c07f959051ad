"""Siemens Insight (APOGEE) Trend Interval Report: every known variant, streamed in chunks.

Pass 1 (`scan`) walks the lines once to find each appended report's point list, meta lines, data
header and footer (siemens_header.HeaderReader reads those header lines), so metadata is known
before any reading is produced. Pass 2 (`_chunks`) reads
the data rows again, splits them with str.split when the quoting allows (csv otherwise) and hands
blocks of rows to the vectorised cell code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

from energy_ingest.errors import ParseError
from energy_ingest.formats.cells import BLOCK_CHARS, PointCells, block_size
from energy_ingest.formats.report import Report
from energy_ingest.formats.siemens_header import (
    POINT_RE,
    HeaderReader,
    Section,
    is_footer,
    is_header_field,
    is_key_line,
    split_line,
)
from energy_ingest.formats.source import Lines, too_long
from energy_ingest.formats.timestamps import (
    COMBINED,
    Localizer,
    TimeParser,
    choose_format,
    unreadable_dates,
)

MAX_PREAMBLE_LINES = 200_000
MAX_PREAMBLE_CHARS = 16 << 20  # a report header this long (~100,000 point lines) is not one
FORMAT_SAMPLE = 5000  # data rows read in pass 1 to choose the file's date/time format
SAMPLE_CHARS = 256  # of each sampled row: the date and time fields are at its start
CUT_ROW = (
    "the file ends inside this row (no newline, no End of Report footer): the export was cut "
    "short; the row is not loaded"
)


class SiemensReader:
    """Reads one Insight file: `scan()` for metadata, then `chunks()` for readings."""

    def __init__(self, raw: BinaryIO, encoding: str, name: str, tz: str, chunk_rows: int) -> None:
        self.raw = raw
        self.encoding = encoding
        self.name = name
        self.tz = tz
        self.chunk_rows = max(1, chunk_rows)
        self.report = Report(format="siemens-insight", source="siemens", points={})
        self.tally = PointCells(self.report)
        self.sections: list[Section] = []
        self.headers = HeaderReader(self.report, self.tally)
        self._times = TimeParser(COMBINED)
        self.cut_line = 0  # the last row, when the file ends inside it (0: it does not)

    # -- pass 1 ------------------------------------------------------------------------------

    def scan(self) -> Report:
        lines = Lines(self.raw, self.encoding)
        preamble: list[tuple[int, str]] = []
        section: Section | None = None
        state = "outside"
        stray_outside = stray_before = 0
        samples: list[tuple[str, str]] = []
        preamble_chars = 0
        for line in lines:
            n = lines.number
            if state == "data":
                assert section is not None
                if lines.long:
                    section.last_line = n  # a rejected row in pass 2
                elif is_footer(line):
                    section.end_line, section.footer, state = n, True, "outside"
                elif is_key_line(line):
                    section.end_line = n
                    section = self._start(n)
                    preamble, state = [(n, line)], "preamble"
                elif line.strip():
                    section.last_line = n
                    if len(samples) < FORMAT_SAMPLE:
                        samples.append((section.delimiter, line[:SAMPLE_CHARS]))
                continue
            if state == "preamble":
                assert section is not None
                if lines.long:
                    raise ParseError(
                        f"{too_long(lines.long)}, in the header of report {section.number}",
                        file=self.name,
                        line=n,
                        hint="the file is damaged or not a Trend Interval Report; export it again",
                    )
                if is_key_line(line) and len(preamble) > 0:
                    self._no_header(section, preamble)
                    section = self._start(n)
                    preamble, preamble_chars = [(n, line)], len(line)
                    continue
                preamble.append((n, line))
                preamble_chars += len(line)
                if is_header_field(line):
                    self.headers.read(section, preamble)
                    preamble, state = [], "data"
                elif is_footer(line):
                    self._no_header(section, preamble)
                    section.end_line, section.footer, state = n, True, "outside"
                elif len(preamble) > MAX_PREAMBLE_LINES or preamble_chars > MAX_PREAMBLE_CHARS:
                    raise ParseError(
                        f"no <>Date data header within {len(preamble):,} lines "
                        f"({preamble_chars:,} characters) of the report start",
                        file=self.name,
                        line=section.start_line,
                        hint="this does not look like a Trend Interval Report; export it again",
                    )
                continue
            # outside any report
            if is_key_line(line) or POINT_RE.match(line.split(",", 1)[0].strip("\ufeff\"' ")):
                section = self._start(n)
                preamble, state, preamble_chars = [(n, line)], "preamble", len(line)
                if not is_key_line(line):
                    self.report.warnings.append(
                        f"line {n}: report starts without the 'Key … Name:Suffix' line"
                    )
            elif lines.long or line.strip(' ,;\t"'):
                if self.sections:
                    stray_outside += 1
                else:
                    stray_before += 1
        if state == "preamble" and section is not None:
            self._no_header(section, preamble)
        if state == "data" and lines.unended and section and section.last_line == lines.number:
            self.cut_line = lines.number  # "65 may be the start of "65.3": not to be trusted
        if not self.sections:
            raise ParseError(
                "no 'Key … Name:Suffix' line: not a Siemens Insight trend report",
                file=self.name,
                hint="export a Trend Interval Report from Insight to a CSV file",
            )
        if not any(s.header_line is not None for s in self.sections):
            first = self.sections[0]
            raise ParseError(
                "no '<>Date' data header after the point list: the file ends inside the report "
                "header or is not a Trend Interval Report",
                file=self.name,
                line=first.start_line,
                hint="the file is probably truncated; export or upload it again",
            )
        if stray_before:
            self.report.warnings.append(
                f"{stray_before} line(s) before the first report were ignored"
            )
        if stray_outside:
            self.report.warnings.append(
                f"{stray_outside} line(s) outside any report (after End of Report) were ignored"
            )
        self._finish_metadata()
        self._choose_time_format(samples)
        self.report._chunks = self._chunks
        return self.report

    def _choose_time_format(self, samples: list[tuple[str, str]]) -> None:
        """One date/time format for the file, from the first rows of all its reports."""
        texts = []
        for delimiter, line in samples:
            fields = split_line(line, delimiter)
            if len(fields) >= 2:
                texts.append(f"{fields[0].strip()} {fields[1].strip()}")
        if texts:
            self._times.fmt = choose_format(np.array(texts, dtype=object), COMBINED)

    def _start(self, line: int) -> Section:
        section = Section(number=len(self.sections) + 1, start_line=line)
        self.sections.append(section)
        return section

    def _no_header(self, section: Section, preamble: list[tuple[int, str]]) -> None:
        if section.header_line is None and preamble:
            self.headers.read(section, preamble, header=False)
        where = f"report {section.number} (line {section.start_line})"
        self.report.warnings.append(f"{where} has no <>Date data header: no readings from it")

    def _finish_metadata(self) -> None:
        report = self.report
        report.reports = len(self.sections)
        report.footer = all(s.footer for s in self.sections)
        for s in self.sections:
            if not s.footer:
                where = "" if len(self.sections) == 1 else f" (report {s.number})"
                report.warnings.append(f"no End of Report footer{where} — file may be incomplete")

    # -- pass 2 ------------------------------------------------------------------------------

    def _chunks(self) -> Iterator[pd.DataFrame]:
        lines = Lines(self.raw, self.encoding)
        for section in self.sections:
            if section.header_line is None or not section.width:
                continue
            localizer = Localizer(self.tz)
            rows: list[str] = []
            numbers: list[int] = []
            chars = 0
            width, delimiter = section.width, section.delimiter
            block_rows = block_size(self.chunk_rows, width)
            blank = f" {delimiter}\"'"
            for line in lines:
                n = lines.number
                if n <= section.header_line:
                    continue
                if section.end_line is not None and n >= section.end_line:
                    break
                if lines.long:
                    self.report.reject(n, f"{too_long(lines.long)} — not a row of this report")
                    continue
                if not line.strip(blank):
                    continue
                if n == self.cut_line:
                    self.report.reject(n, CUT_ROW)
                    continue
                fields = split_line(line, delimiter)
                if len(fields) != width:
                    if len(fields) > width and not "".join(fields[width:]).strip():
                        fields = fields[:width]
                    else:
                        self._short(section, n, len(fields), width)
                        continue
                rows.extend(fields)
                numbers.append(n)
                chars += len(line)
                if len(numbers) >= block_rows or chars >= BLOCK_CHARS:
                    yield self._block(section, localizer, rows, numbers)
                    rows, numbers, chars = [], [], 0
            if numbers:
                yield self._block(section, localizer, rows, numbers)
        self.report.rows = len(self.tally.seen)
        self.tally.finish()
        unreadable_dates(self._times, self.name)
        repeats = self.tally.seen.duplicate_rows
        if repeats:
            self.report.warnings.append(
                f"{repeats} duplicate timestamp row(s): the later row wins for each point"
            )

    def _short(self, section: Section, number: int, got: int, width: int) -> None:
        reason = f"row has {got} fields, header has {width}"
        if number == section.last_line and not section.footer:
            reason += " — file truncated?"
        self.report.reject(number, reason)

    def _block(
        self, section: Section, localizer: Localizer, flat: list[str], numbers: list[int]
    ) -> pd.DataFrame:
        width = section.width
        cells = np.array(flat, dtype=object).reshape(len(numbers), width)
        texts = np.array(
            [f"{d.strip()} {t.strip()}" for d, t in zip(cells[:, 0], cells[:, 1], strict=True)],
            dtype=object,
        )
        naive, aware = self._times(texts, numbers)
        bad = np.isnat(naive)
        for i in np.flatnonzero(bad).tolist():
            self.report.reject(numbers[i], f"unreadable date/time {texts[i]!r}")
        utc, problems = (naive.view(np.int64), {}) if aware else localizer.localize(naive)
        for i, reason in sorted(problems.items()):
            self.report.reject(numbers[i], reason)
            bad[i] = True
        keep = np.flatnonzero(~bad)
        ts = utc[keep]
        if ts.size:
            first, last = (
                pd.Timestamp(int(ts.min()), tz="UTC"),
                pd.Timestamp(int(ts.max()), tz="UTC"),
            )
            r = self.report
            r.first_ts = first if r.first_ts is None else min(r.first_ts, first)
            r.last_ts = last if r.last_ts is None else max(r.last_ts, last)
        cols = np.asarray(section.columns, dtype=np.int64)
        use = np.flatnonzero(cols >= 0)
        values = cells[keep][:, use + 2]
        pidx = np.repeat(cols[use], len(keep))
        rows = np.tile(np.arange(len(keep)), use.size)
        dedupe = bool(np.unique(ts).size < ts.size) or len(set(cols[use].tolist())) < use.size
        lines = np.asarray(numbers, dtype=np.int64)[keep]
        return self.tally.readings(pidx, rows, values.T.ravel(), ts=ts, lines=lines, dedupe=dedupe)


def read(raw: BinaryIO, encoding: str, *, name: str, tz: str, chunk_rows: int) -> Report:
    return SiemensReader(raw, encoding, name, tz, chunk_rows).scan()
