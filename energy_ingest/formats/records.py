"""CSV records of a text stream with the line each starts on, none longer than MAX_LINE_BYTES.

The ALC reader reads the file's records three times (to find the layout, to list the points of a
long export, to stream the rows); this is the one way it reads them. A record that cannot be read
comes back as the reason, so the reader can reject that line and go on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from energy_ingest.errors import EnergyError, ParseError
from energy_ingest.formats.report import Reject
from energy_ingest.formats.source import MAX_LINE_BYTES, Lines, too_long

SEARCH_RECORDS = 500
SEARCH_CHARS = 4 << 20  # of the records read to find the layout
Record = list[str] | str  # the fields, or why the line cannot be read
CUT = "the file ends inside this row (no newline): the export was cut short; the row is not loaded"
OPEN_QUOTE = (
    "the file ends inside a quoted field of this row: the export was cut short; the row is not "
    "loaded"
)


class _Overlong(EnergyError):
    """A line, or a record spanning lines, went over MAX_LINE_BYTES."""


class Records:
    """The records of `raw` split at `delimiter`, each field stripped; iterate for (line, record)."""

    def __init__(self, raw: BinaryIO, encoding: str, delimiter: str, name: str) -> None:
        self.raw = raw
        self.encoding = encoding
        self.delimiter = delimiter
        self.name = name
        self.cut: Reject | None = None  # the last record, when the file ends inside it

    def __iter__(self) -> Iterator[tuple[int, Record]]:
        """(first line, fields) of each CSV record. A physical line over MAX_LINE_BYTES, or one
        the csv module cannot read, gives the reason instead of fields; a record spanning lines
        (a quoted field with line breaks) that grows past MAX_LINE_BYTES or breaks the csv rules
        is a ParseError: the rest of the file would be read as one field.
        The last record is `cut` when the file ends inside it: in a quoted field, or on a line
        without a line end (an ALC export has no end marker to say it is complete)."""
        lines = Lines(self.raw, self.encoding)
        size = 0
        read_all = False

        def feed() -> Iterator[str]:
            nonlocal size, read_all
            for line in lines:
                size += len(line)
                if lines.long or size > MAX_LINE_BYTES:
                    raise _Overlong
                yield line
            read_all = True  # the csv reader asked for more: it is inside a quoted field

        while True:
            start, size = lines.number + 1, 0
            try:
                for record in csv.reader(feed(), delimiter=self.delimiter):
                    if read_all or lines.unended:
                        self.cut = Reject(start, CUT if lines.unended else OPEN_QUOTE)
                    yield start, [f.strip() for f in record]
                    start, size = lines.number + 1, 0
                return
            except _Overlong:
                if lines.number == start:
                    yield start, too_long(lines.long)
                    continue  # read on with a fresh csv reader from the next line
                raise ParseError(
                    f"the record starting on this line runs on over {lines.number - start + 1:,} "
                    f"lines, past {MAX_LINE_BYTES:,} characters: a double quote never closed?",
                    file=self.name,
                    line=start,
                    hint="look for an unbalanced double quote on this line",
                ) from None
            except csv.Error as exc:
                if lines.number == start:  # confined to this line: the next one reads on
                    yield start, f"CSV syntax problem: {exc}"
                    continue
                raise ParseError(
                    f"CSV syntax problem in the record starting here: {exc}",
                    file=self.name,
                    line=start,
                    hint="look for an unbalanced double quote around this line",
                ) from None

    def first(self) -> list[tuple[int, Record]]:
        """The records read to find the layout: SEARCH_RECORDS, or fewer if they are long."""
        records: list[tuple[int, Record]] = []
        chars = 0
        for number, record in self:
            records.append((number, record))
            chars += len(record) if isinstance(record, str) else sum(map(len, record))
            if len(records) >= SEARCH_RECORDS or chars > SEARCH_CHARS:
                break
        return records
