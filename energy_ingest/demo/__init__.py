"""The demo campus (`energy-ingest demo`): the files a small campus's building-automation systems
would have written, generated deterministically, for the real spool and daemon to load.

    campus.py   the points, and the two vendors' point exports describing them
    reports.py  readings from a fixed formula and a seeded generator; Insight and WebCTRL writers

`demo_files(now)` lists the files in the order they are dropped, by stage. The history (2025) is
the same bytes on every run; only the times of the `evans` series (the last three days before
`now`) depend on the clock, never its values. Pure: no database, no spool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_ingest.demo.campus import (
    ALC_LOCATION,
    SERIES,
    Point,
    alc_points_list,
    siemens_point_definitions,
)
from energy_ingest.demo.reports import (
    Row,
    Values,
    alc_long_report,
    insight_report,
    local_midnight,
    quarters,
)

ZONE = "America/Chicago"  # the campus's (Insight writes local time)
YEAR = 2025
GAP_SERIES, GAP_DAY = "goodhue", date(2025, 6, 10)  # the task did not run: no rows that day
STUCK_POINT = "GH.R110.RMT"  # one value from STUCK_FROM to before STUCK_UNTIL
STUCK_FROM, STUCK_UNTIL = date(2025, 8, 4), date(2025, 8, 8)
STUCK_VALUE = "71.5"
LIVE_SERIES = "evans"  # daily at the hour, the newest run LIVE_AGE before now: overdue
LIVE_AGE = timedelta(hours=36)
LIVE_RUNS = 3
# … whose values are those of the days before this moment, whatever `now` is: only their times
# follow the clock, so its points are judged alike (EV.R201.RMT flat, the others ok) at any hour
LIVE_VALUES_AS = datetime(2025, 11, 18, 14, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday
FLAT_POINT = "EV.R201.RMT"  # one value for the last FLAT_HOURS of the newest run
FLAT_HOURS = 12
FLAT_VALUE = "70.0"
ALC_TRENDS = ("#hul-fcu2/zone_temp", "#hul-fcu4/zone_temp")
FAILED_NAME = "broken_01-02-26_00-05.csv"  # binary data: the daemon sets it aside
STAGES = ("point exports", "2025 history", "recent days", "a broken file")


@dataclass(frozen=True)
class DemoFile:
    stage: str  # one of STAGES
    source: str  # siemens or alc: the incoming/ folder it goes to
    name: str
    data: bytes
    readings: int  # values in it the loader stores (0 for an export and the broken file)


def demo_files(now: datetime) -> list[DemoFile]:
    """Every file of the demo, in the order they are dropped."""
    zone = ZoneInfo(ZONE)
    files = [
        DemoFile(
            STAGES[0], "siemens", "campus_point_definitions.csv", siemens_point_definitions(), 0
        ),
        DemoFile(STAGES[0], "alc", "hulings_points_list.csv", alc_points_list(), 0),
    ]
    for series in ("hulings", "goodhue", "boliou"):
        files += _monthly(series, zone)
    files += _alc_monthly(zone)
    files += live_files(now)
    files.append(DemoFile(STAGES[3], "siemens", FAILED_NAME, _broken(), 0))
    return files


def _monthly(series: str, zone: ZoneInfo) -> list[DemoFile]:
    """One Insight report per month of YEAR, named as the task wrote it on the 1st at 00:05."""
    points = SERIES[series]
    values = [Values(p, f"demo/{series}") for p in points]
    out = []
    for month in range(1, 13):
        start = local_midnight(date(YEAR, month, 1), zone)
        end = local_midnight(date(YEAR + month // 12, month % 12 + 1, 1), zone)
        rows: list[Row] = []
        for t in quarters(start, end, zone):
            cells = [v.at(t) for v in values]
            if series == GAP_SERIES and t.date() == GAP_DAY:
                continue
            if STUCK_FROM <= t.date() < STUCK_UNTIL:
                cells = _pinned(points, cells, STUCK_POINT, STUCK_VALUE)
            rows.append((t.replace(tzinfo=None), cells))
        name = f"{series}_{end:%m-%d-%y}_00-05.csv"
        out.append(
            DemoFile(
                STAGES[1], "siemens", name, insight_report(points, rows), len(rows) * len(points)
            )
        )
    return out


def _pinned(points: list[Point], cells: list[str], name: str, value: str) -> list[str]:
    """The row's cells with point `name`'s replaced by `value`: a stuck or flat sensor."""
    return [value if p.name == name else c for p, c in zip(points, cells, strict=True)]


def _alc_monthly(zone: ZoneInfo) -> list[DemoFile]:
    """Hulings Hall's fan coils' zone temperatures as WebCTRL exports them, a file a month."""
    values = [Values(Point(trend, "", "", "room", ""), "demo/alc") for trend in ALC_TRENDS]
    out = []
    for month in range(1, 13):
        start = local_midnight(date(YEAR, month, 1), zone)
        end = local_midnight(date(YEAR + month // 12, month % 12 + 1, 1), zone)
        rows = [
            (trend, t.replace(tzinfo=None), v.at(t))
            for t in quarters(start, end, zone)
            for trend, v in zip(ALC_TRENDS, values, strict=True)
        ]
        rows.sort(key=lambda r: ALC_TRENDS.index(r[0]))  # one trend after the other, as exported
        name = f"hul_fcu_trends_{end:%Y%m%d}.csv"
        out.append(DemoFile(STAGES[1], "alc", name, alc_long_report(ALC_LOCATION, rows), len(rows)))
    return out


def live_files(now: datetime) -> list[DemoFile]:
    """LIVE_RUNS daily reports of LIVE_SERIES, each of the 24 hours before its run; the newest
    run LIVE_AGE before `now` (on the hour), so the next one is 12 hours late."""
    zone = ZoneInfo(ZONE)
    points = SERIES[LIVE_SERIES]
    values = [Values(p, f"demo/{LIVE_SERIES}") for p in points]
    newest = (now.astimezone(UTC) - LIVE_AGE).replace(minute=0, second=0, microsecond=0)
    flat_from = newest - timedelta(hours=FLAT_HOURS)
    shift = LIVE_VALUES_AS - newest
    out = []
    for k in range(LIVE_RUNS - 1, -1, -1):
        run = newest - timedelta(days=k)
        rows: list[Row] = []
        for t in quarters(
            run - timedelta(hours=24) + timedelta(minutes=15), run + timedelta(minutes=1), zone
        ):
            cells = [v.at((t.astimezone(UTC) + shift).astimezone(zone)) for v in values]
            if t >= flat_from:
                cells = _pinned(points, cells, FLAT_POINT, FLAT_VALUE)
            rows.append((t.replace(tzinfo=None), cells))
        name = f"{LIVE_SERIES}_{run.astimezone(zone):%m-%d-%y_%H-%M}.csv"
        out.append(
            DemoFile(
                STAGES[2], "siemens", name, insight_report(points, rows), len(rows) * len(points)
            )
        )
    return out


def _broken() -> bytes:
    """A report whose copy went wrong: a NUL in its rows (the daemon names the line)."""
    points = SERIES["boliou"][:1]
    zone = ZoneInfo(ZONE)
    start = local_midnight(date(YEAR + 1, 1, 1), zone)
    rows = [
        (t.replace(tzinfo=None), ["40.0"])
        for t in quarters(start, start + timedelta(hours=1), zone)
    ]
    return insight_report(points, rows).replace(b'"00:30:00"', b'"00:\x0030:00"')
