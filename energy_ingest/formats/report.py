"""What every format parser returns: report metadata plus the readings as a stream of tidy chunks.

A parser reads the file once, lazily: `Report.chunks()` yields DataFrames of at most a few hundred
thousand readings, so a loader can stream a year-long backfill without holding it in memory.
Counts that depend on the data (missing cells, rejects, first/last timestamp) are complete once
`chunks()` is exhausted.

Each chunk has exactly these columns:

    point   str                   point name exactly as written in the report
    ts      datetime64[ns, UTC]   the instant (naive report times localised with the report's zone)
    value   float64               the numeric value; NaN for enum readings
    state   object (str | None)   the enum state label (e.g. "ON", "P2 LEAD"); None for numbers
    repeat  bool                  True exactly when an earlier chunk of this file already produced
                                  this (point, ts): an in-file duplicate, not a changed stored value

Within one chunk a (point, ts) appears once (the later row of the file wins); across chunks the
first occurrence has repeat False and every later one True, so "the later wins" still holds when
the loader applies chunks in order.

Limits that keep memory bounded whatever the input (docs/formats.md): a point has at most
MAX_STATES distinct text states, a state label at most MAX_STATE_CHARS characters, a file at most
MAX_FILE_STATES labels in all; a cell that would break one is not a reading but part of a rejected
row (`PointInfo.refused` counts such cells). `Report.rejects` keeps the first MAX_REJECTS rejected
rows, `Report.rejected` counts them all. A file with more than MAX_POINTS points is a ParseError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd

COLUMNS = ("point", "ts", "value", "state", "repeat")
MISSING_KINDS = ("no_data", "data_loss", "blank", "error")
# Real text tables have 2 to ~12 states (SIEMENS_INSIGHT.md); 256 leaves room for any real
# multi-state point while a "state" list of thousands (a counter written as text, an attack)
# cannot grow the points table or the parser's memory.
MAX_STATES = 256
MAX_STATE_CHARS = 200  # the longest text kept as a state label
MAX_FILE_STATES = 65_536  # all points' labels together: bounds memory for very wide reports
SHOW_REJECTS = 5  # rejected rows a description lists
FOOTER = {True: "footer seen", False: "NO footer", None: "no footer in this format"}
MAX_REJECTS = 1_000  # Reject objects kept per report (a report where every row is bad stays small)
MAX_POINTS = 50_000  # points per file: 10x a whole campus (DESIGN.md); ~820 bytes each here


@dataclass
class PointInfo:
    """What a report says about one point (a Siemens column, an ALC trend)."""

    name: str
    trend_definition: str | None = None
    unit: str | None = None
    description: str | None = None
    location: str | None = None
    # Filled while parsing: how many cells of each missing kind, and the enum labels seen in order.
    missing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MISSING_KINDS, 0))
    states: list[str] = field(default_factory=list)
    values: int = 0
    refused: int = 0  # text cells not stored because of a state limit (their rows are rejects)


@dataclass(frozen=True)
class Reject:
    """A data row the parser could not use: 1-based physical line number and why."""

    line: int
    reason: str


@dataclass
class Report:
    format: str  # "siemens-insight", "alc-wide", "alc-long"
    source: str  # "siemens" or "alc"
    points: dict[str, PointInfo]
    interval: str | None = None  # as written, e.g. "15 Minutes"
    interval_seconds: int | None = None
    date_range: tuple[datetime, datetime] | None = None  # naive local, as written
    footer: bool | None = None  # Siemens: was the End-of-Report footer seen? None: no such thing
    reports: int = 1  # Siemens "append to file": reports found in the file
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS
    rejected: int = 0  # all rejected rows
    warnings: list[str] = field(default_factory=list)
    rows: int = 0  # distinct timestamps seen
    first_ts: pd.Timestamp | None = None
    last_ts: pd.Timestamp | None = None
    _chunks: Callable[[], Iterator[pd.DataFrame]] | None = field(default=None, repr=False)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the readings; may be called once (the file is read as it goes)."""
        if self._chunks is None:
            raise RuntimeError("this report's readings were already consumed")
        produce, self._chunks = self._chunks, None
        yield from produce()

    def table(self) -> pd.DataFrame:
        """All readings in one DataFrame (tests and small files)."""
        parts = list(self.chunks())
        if not parts:
            return empty_chunk()
        return pd.concat(parts, ignore_index=True)

    def reject(self, line: int, reason: str) -> None:
        """Count a rejected row; keep it if fewer than MAX_REJECTS are kept."""
        self.rejected += 1
        if len(self.rejects) < MAX_REJECTS:
            self.rejects.append(Reject(line, reason))

    def reject_lines(self, lines: Sequence[int], reason: Callable[[int], str]) -> None:
        """Count rejected rows; build the reasons (by index into `lines`) only for those kept."""
        room = max(0, MAX_REJECTS - len(self.rejects))
        self.rejects.extend(Reject(lines[i], reason(i)) for i in range(min(room, len(lines))))
        self.rejected += len(lines)

    @property
    def values(self) -> int:
        return sum(p.values for p in self.points.values())

    @property
    def refused(self) -> int:
        """Text cells not stored because a state limit was reached (MAX_STATES and co.)."""
        return sum(p.refused for p in self.points.values())

    @property
    def unfinished(self) -> bool:
        """No End-of-Report footer (yet) in a Siemens report."""
        return self.footer is False

    def missing_totals(self) -> dict[str, int]:
        return {k: sum(p.missing[k] for p in self.points.values()) for k in MISSING_KINDS}

    def describe(self, name: str, zone: ZoneInfo) -> Description:
        """What `energy-ingest check` says of the file: its readings are read to the end."""
        for _ in self.chunks():
            pass
        stamps = (self.first_ts, self.last_ts)
        first, last = (t.tz_convert(zone).isoformat() if t else None for t in stamps)
        totals = self.missing_totals()
        facts: dict[str, Any] = {
            "file": name,
            "format": self.format,
            "points": len(self.points),
            "rows": self.rows,
            "values": self.values,
            "missing": totals,
            "rejected": self.rejected,
            "refused": self.refused,
            "first_ts": first,
            "last_ts": last,
            "footer": self.footer,
            "errors": [],
        }
        missing = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals.items() if v)
        refused = f" ({self.refused} text values over the state limits)" if self.refused else ""
        lines = [
            f"{name}: {self.format}, {len(self.points)} points, {self.rows} rows, "
            f"{self.values} values, missing: {missing or 'none'}, "
            f"{self.rejected} rejected{refused}, {first} → {last}, {FOOTER[self.footer]}"
        ]
        if self.reports > 1:
            lines.append(f"  {self.reports} appended reports in one file")
        return Description(facts, lines + notes(self.warnings, self.rejects, self.rejected, "rows"))


class Description(NamedTuple):
    """A parsed file as `energy-ingest check` shows it: JSON facts, and lines for people."""

    facts: dict[str, Any]
    lines: list[str]


def notes(warnings: list[str], rejects: list[Reject], rejected: int, what: str) -> list[str]:
    """A description's warnings and first rejects, indented under its first line."""
    lines = [f"  warning: {w}" for w in warnings]
    lines += [f"  rejected line {r.line}: {r.reason}" for r in rejects[:SHOW_REJECTS]]
    if rejected > SHOW_REJECTS:
        lines.append(f"  … and {rejected - SHOW_REJECTS} more rejected {what}")
    return lines


def empty_chunk() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "point": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "value": pd.Series([], dtype="float64"),
            "state": pd.Series([], dtype=object),
            "repeat": pd.Series([], dtype=bool),
        }
    )
