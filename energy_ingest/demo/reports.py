"""The demo's trend reports: plausible readings from a fixed formula and a seeded generator
(never the wall clock), written as Siemens Insight and ALC WebCTRL write them. Pure: bytes out.

Times step in UTC and are written in local time, so a report has the spring's missing hour not
at all and the autumn's repeated hour twice, as Insight writes it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_ingest.demo.campus import END, Point

STEP = timedelta(minutes=15)
Row = tuple[datetime, list[str]]  # local naive time, one cell per point

# Daily profiles in tenths, by local hour (interpolated to the quarter hour).
ROOM = [660, 658, 656, 655, 655, 658, 670, 690, 705, 712, 716, 718,
        720, 721, 720, 718, 715, 710, 700, 690, 680, 672, 666, 662]  # fmt: skip
KW = [380, 370, 365, 360, 365, 400, 520, 700, 860, 950, 1000, 1020,
      1030, 1030, 1020, 1000, 960, 880, 760, 640, 540, 470, 420, 390]  # fmt: skip
OAT_SWING = [-70, -75, -80, -82, -80, -75, -60, -40, -15, 10, 35, 55,
             70, 78, 80, 75, 60, 40, 20, 0, -20, -40, -55, -65]  # fmt: skip
OAT_MONTH = [150, 200, 330, 470, 590, 690, 730, 710, 620, 490, 330, 200]  # Northfield, MN


def quarters(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Every quarter hour from `start` to before `end` (aware), as local aware times."""
    t = start.astimezone(UTC)
    while t < end:
        yield t.astimezone(zone)
        t += STEP


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


class Values:
    """One point's readings: its shape's profile plus seeded noise, in time order."""

    def __init__(self, point: Point, seed: str):
        self.point = point
        self.rng = random.Random(f"{seed}/{point.name}")  # str seeds hash with sha512: stable

    def at(self, t: datetime) -> str:
        noise = self.rng.randint(-4, 4)  # drawn for every row, so a row's value never depends
        shape = self.point.shape  # on which rows were written before it
        working = t.weekday() < 5 and 6 <= t.hour < 22
        if shape == "status":
            return "ON" if working else "OFF"
        if shape == "room":
            tenths = _hourly(ROOM, t) if t.weekday() < 5 else 660
        elif shape == "supply":
            tenths = 550 + 2 * noise if working else 620
        elif shape == "kw":
            tenths = _hourly(KW, t) if t.weekday() < 5 else 420
            noise *= 8
        elif shape == "damper":
            tenths = 300 + 10 * noise if working else 0
            noise = 0
        else:  # oat
            tenths = OAT_MONTH[t.month - 1] + _hourly(OAT_SWING, t)
        return f"{(tenths + noise) / 10:.1f}"


def _hourly(profile: list[int], t: datetime) -> int:
    here, there = profile[t.hour], profile[(t.hour + 1) % 24]
    return here + (there - here) * (t.minute // 15) // 4


def insight_report(points: list[Point], rows: list[Row]) -> bytes:
    """A Siemens Insight trend interval report of `points` with exactly these rows."""
    lines = ['"Key            Name:Suffix                                Trend Definitions Used"']
    lines += [f'"Point_{i}:","{p.name}","","15 minutes"' for i, p in enumerate(points, 1)]
    lines += [
        '"Time Interval:","15 Minutes"',
        f'"Date Range:","{_insight(rows[0][0])} - {_insight(rows[-1][0])}"',
        '"Report Timings:","All Hours"',
        '""',
        '"<>Date","Time",' + ",".join(f'"Point_{i}"' for i in range(1, len(points) + 1)),
    ]
    for t, cells in rows:
        lines.append(f'"{t:%-m/%-d/%Y}","{t:%H:%M:%S}",' + ",".join(f'"{c}"' for c in cells))
    lines.append(END)
    return ("\r\n".join(lines) + "\r\n").encode()


def _insight(t: datetime) -> str:
    return f"{t:%-m/%-d/%Y %H:%M:%S}"


def alc_long_report(location: str, rows: list[tuple[str, datetime, str]]) -> bytes:
    """A WebCTRL trend export, one row per sample: Location, Trend, Time (12-hour), Value."""
    lines = ['"Location","Trend","Time","Value"']
    lines += [
        f'"{location}","{trend}","{t:%-m/%-d/%Y %-I:%M:%S %p}","{value}"'
        for trend, t, value in rows
    ]
    return ("\r\n".join(lines) + "\r\n").encode()
