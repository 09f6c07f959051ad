"""Test helper: write Siemens Insight reports (any variant) from a known table of cell texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

KEY = "Key            Name:Suffix                                Trend Definitions Used"
FOOTER = " ******************************** End of Report *********************************"
MISSING = {"No Data", "Data Loss", ""}


@dataclass
class Variant:
    quoted: bool = True
    newline: str = "\r\n"
    bom: bool = False
    delimiter: str = ","
    pad: bool = False  # Excel: pad every line with empty fields to the widest row
    date_format: str = "{d.month}/{d.day}/{d.year}"
    time_format: str = "{d:%H:%M:%S}"
    five_fields: bool = False
    footer: bool = True
    reports: int = 1  # split the rows over this many appended reports
    encoding: str = "utf-8"
    definitions: dict[str, str] = field(default_factory=dict)


def slices(rows: int, reports: int) -> list[tuple[int, int]]:
    """Row ranges of the appended reports."""
    per = max(1, -(-rows // reports)) if rows else 1
    return [(i, min(i + per, rows)) for i in range(0, max(rows, 1), per)][:reports]


def insight(names: list[str], times: list[datetime], cells: list[list[str]], v: Variant) -> bytes:
    """One report per slice of rows; cells[r][p] is the text of point p at times[r]."""
    lines: list[list[str]] = []
    n = len(names)
    for start, end in slices(len(times), v.reports):
        lines.append([KEY])
        for p, name in enumerate(names, 1):
            definition = v.definitions.get(name, "15 minutes")
            extra = ["DESCRIPTION"] if v.five_fields else []
            lines.append([f"Point_{p}:", name, "", *extra, definition])
        lines.append(["Time Interval:", "15 Minutes"])
        lo = times[start] if times else datetime(2024, 1, 1)
        hi = times[end - 1] if times else datetime(2024, 1, 1)
        lines.append(["Date Range:", f"{lo:%m/%d/%Y} 00:00:00 - {hi:%m/%d/%Y} 23:59:59"])
        lines.append(["Report Timings:", "All Hours"])
        lines.append([""])
        lines.append(["<>Date", "Time", *[f"Point_{p}" for p in range(1, n + 1)]])
        for r in range(start, end):
            d = times[r]
            lines.append([v.date_format.format(d=d), v.time_format.format(d=d), *cells[r]])
        if v.footer:
            lines.append([FOOTER])
    width = max(len(line) for line in lines)
    out = []
    for line in lines:
        if v.pad and line != [FOOTER]:
            line = line + [""] * (width - len(line))
        text = v.delimiter.join(f'"{f}"' for f in line) if v.quoted else v.delimiter.join(line)
        out.append(text + v.newline)  # without footer too: a report without newline is cut
    data = "".join(out).encode(v.encoding)
    return (b"\xef\xbb\xbf" + data) if v.bom else data


def expected(names: list[str], utc: list[pd.Timestamp], cells: list[list[str]]) -> pd.DataFrame:
    """The readings a parser should return for the table, sorted by point and ts."""
    rows = []
    for r, ts in enumerate(utc):
        for p, name in enumerate(names):
            text = cells[r][p].strip()
            if text in MISSING:
                continue
            try:
                rows.append((name, ts, float(text), None, False))
            except ValueError:
                rows.append((name, ts, float("nan"), text, False))
    frame = pd.DataFrame(rows, columns=["point", "ts", "value", "state", "repeat"])
    return tidy(frame)


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"point": object, "value": "float64", "state": object, "repeat": bool})
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.as_unit("ns")
    frame["state"] = pd.Series(
        [s if isinstance(s, str) else None for s in frame["state"]], index=frame.index, dtype=object
    )
    return frame.sort_values(["point", "ts"], kind="stable").reset_index(drop=True)
