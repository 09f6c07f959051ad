"""Report series (energy_ingest.health.series): cadence from run times or data spans, never from
arrival; a live series that stops is overdue on the timer; a backfill is historical."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from helpers import insight_report

from energy_ingest.health import series
from energy_ingest.localtime import local
from energy_ingest.pipeline import parse_and_load
from energy_ingest.write.ledger import FileInfo

ZONE = ZoneInfo("America/Chicago")
GRACE = 3600.0
DAY = timedelta(days=1)


def load(conn: psycopg.Connection[Any], name: str, data: bytes) -> None:
    """One file through the real parser and loader, in its own transaction."""
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, "siemens", len(data))
    with conn.transaction():
        loaded = parse_and_load(conn, io.BytesIO(data), info, tz="America/Chicago", hint=None)
    assert loaded.result.status == "ingested", loaded.result


def daily_file(
    conn: psycopg.Connection[Any],
    stem: str,
    run: datetime,
    *,
    npoints: int = 1,
    rows: int = 24,
    minutes: int = 60,
    lost: bool = False,
    value: str | None = None,
) -> None:
    """A Siemens Insight report named for its run (hall_11-30-18_02-00.csv) holding the day
    before it; `lost`: its second point's cells are all `Data Loss`."""

    def cell(r: int, c: int) -> str:
        if lost and c == 1:
            return "Data Loss"
        return value if value is not None else f"{(r * 7 + c * 3) % 1000 / 10:.2f}"

    start = (run - DAY).replace(tzinfo=None)
    names = [f"HALL.RM{i}.TEMP" for i in range(npoints)]
    data = insight_report(names, start, rows, minutes=minutes, value=cell)
    load(conn, f"{stem}_{run:%m-%d-%y_%H-%M}.csv", data)


def row(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT status, cadence, files, last_run, expected_next, last_data FROM report_series "
        "WHERE name = %s",
        [name],
    )
    status, cadence, files, last_run, expected_next, last_data = cur.fetchone() or (None,) * 6
    return {
        "status": status,
        "cadence": cadence,
        "files": files,
        "last_run": last_run,
        "expected_next": expected_next,
        "last_data": last_data,
    }


def today_at_noon(days_back: int) -> datetime:
    """Noon local, `days_back` days before today (real time: the loader stamps arrival now).
    Noon, not a night hour: it exists and is unambiguous on the days DST changes."""
    today = datetime.now(ZONE).date() - timedelta(days=days_back)
    return datetime(today.year, today.month, today.day, 12, tzinfo=ZONE)


def recent(hours: int) -> datetime:
    """A naive local wall time on the quarter hour `hours` before now."""
    t = datetime.now(ZONE).replace(second=0, microsecond=0, tzinfo=None) - timedelta(hours=hours)
    return t.replace(minute=t.minute // 15 * 15)


def test_a_daily_series_that_stops_is_overdue_after_one_cadence_and_grace_with_no_file_arriving(
    conn: psycopg.Connection[Any],
) -> None:
    for back in (2, 1, 0):
        daily_file(conn, "hall", today_at_noon(back))
    last = today_at_noon(0)
    due = last + DAY
    with conn.transaction():
        assert series.refresh(conn, last + timedelta(hours=1), GRACE) == []
    got = row(conn, "hall")
    assert got["cadence"] == DAY
    assert got["status"] == "ok"
    assert got["files"] == 3
    assert got["last_run"] == last and got["expected_next"] == due
    with conn.transaction():
        assert series.refresh(conn, due + timedelta(seconds=GRACE - 60), GRACE) == []
    assert row(conn, "hall")["status"] == "ok"
    with conn.transaction():
        found = series.refresh(conn, due + timedelta(seconds=GRACE + 60), GRACE)
    assert row(conn, "hall")["status"] == "overdue"
    assert [f.kind for f in found] == ["overdue"]
    f = found[0]
    assert f.priority == "high"
    assert f.subject == f"series:{f.series_id}"
    assert f.link == f"/api/v2/series/{f.series_id}"
    assert f.summary == (
        f"hall (siemens) is overdue: no report since {local(last, 'America/Chicago', seconds=False)};"
        f" one was expected {local(due, 'America/Chicago', seconds=False)} (every 1 day)"
    )
    assert f.details["cadence_s"] == 86400
    assert f.details["overdue_s"] == GRACE + 60
    assert f.details["points"] == 1
    # the next report arrives: it is fine again
    daily_file(conn, "hall", due)
    with conn.transaction():
        assert series.refresh(conn, due + timedelta(seconds=GRACE + 120), GRACE) == []
    assert row(conn, "hall")["status"] == "ok"


@pytest.mark.parametrize(
    "first",
    [date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8), date(2026, 10, 31)],
    ids=["into spring forward", "across it", "after it", "across fall back"],
)
def test_a_daily_run_at_the_same_local_time_is_daily_across_a_dst_change(
    conn: psycopg.Connection[Any], first: date
) -> None:
    # the BAS runs its task at 00:05 local: across a change two runs are 23 or 25 hours apart,
    # which the median of absolute gaps made a cadence of 23.5 or 24.5 h
    runs = [datetime.combine(first + k * DAY, time(0, 5), ZONE) for k in range(3)]
    for run in runs:
        daily_file(conn, "hall", run)
    with conn.transaction():
        series.refresh(conn, runs[-1] + timedelta(hours=12), GRACE)
    got = row(conn, "hall")
    assert got["cadence"] == DAY
    assert got["expected_next"] == datetime.combine(first + 3 * DAY, time(0, 5), ZONE)


def test_an_hourly_run_is_hourly_across_a_dst_change(conn: psycopg.Connection[Any]) -> None:
    # hourly runs at 01:00 CST and 03:00 CDT are an hour apart: wall-clock gaps are for days only
    for hours in (0, 1, 2):
        run = (datetime(2026, 3, 8, 7, tzinfo=UTC) + timedelta(hours=hours)).astimezone(ZONE)
        daily_file(conn, "hall", run, rows=4, minutes=15)
    with conn.transaction():
        series.refresh(conn, datetime(2026, 3, 8, 12, tzinfo=UTC), GRACE)
    assert row(conn, "hall")["cadence"] == timedelta(hours=1)


def test_a_series_whose_next_file_waits_in_incoming_is_not_overdue(
    conn: psycopg.Connection[Any],
) -> None:
    for back in (2, 1):
        daily_file(conn, "hall", today_at_noon(back))
    late = today_at_noon(0) + timedelta(seconds=GRACE + 60)
    waiting = [("siemens", f"hall_{today_at_noon(0):%m-%d-%y_%H-%M}.csv")]
    with conn.transaction():  # the daemon has it, not loaded yet (at start, after an outage)
        assert series.refresh(conn, late, GRACE, waiting) == []
    assert row(conn, "hall")["status"] == "ok"
    with conn.transaction():  # a file of another series, or another source, does not count
        other = [("siemens", "boliou1_12-06-26_02-00.csv"), ("alc", waiting[0][1])]
        assert [f.kind for f in series.refresh(conn, late, GRACE, other)] == ["overdue"]


def test_a_daily_run_is_expected_at_its_local_time_across_both_dst_changes(
    conn: psycopg.Connection[Any],
) -> None:
    # runs on the days before fall back (3 Nov 2024) and spring forward (9 Mar 2025)
    for day in ((2024, 11, 1), (2024, 11, 2), (2025, 3, 7), (2025, 3, 8)):
        daily_file(conn, f"dst{day[1]}", datetime(*day, 6, tzinfo=ZONE))
    with conn.transaction():
        series.refresh(conn, datetime(2025, 3, 9, tzinfo=UTC), GRACE)
    assert row(conn, "dst11")["expected_next"] == datetime(2024, 11, 3, 6, tzinfo=ZONE)
    assert row(conn, "dst3")["expected_next"] == datetime(2025, 3, 9, 6, tzinfo=ZONE)
    assert row(conn, "dst11")["cadence"] == DAY  # the gap between two ordinary days


@pytest.mark.slow  # 365 files through the loader
def test_a_backfilled_year_of_daily_files_learns_one_day_is_historical_and_raises_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    first = datetime(2018, 1, 2, 2, tzinfo=ZONE)
    for n in range(365):
        run = datetime.combine(first.date() + timedelta(days=n), first.timetz())
        daily_file(conn, "boliou1", run)
    now = datetime.now(UTC) + timedelta(minutes=1)
    with conn.transaction():
        assert series.refresh(conn, now, GRACE) == []
    got = row(conn, "boliou1")
    assert got["cadence"] == DAY  # though all 365 arrived within a minute or so
    assert got["status"] == "historical"
    assert got["files"] == 365
    assert got["last_run"] == datetime(2019, 1, 1, 2, tzinfo=ZONE)


def test_a_series_without_run_times_in_its_names_learns_its_cadence_from_data_spans(
    conn: psycopg.Connection[Any],
) -> None:
    # one file without a run time (an ad-hoc export): no schedule is known, nothing is raised
    start = recent(hours=7)
    load(conn, "chiller plant.csv", insight_report(["CP.KW"], start, 24, minutes=15))
    with conn.transaction():
        assert series.refresh(conn, datetime.now(UTC) + 30 * DAY, GRACE) == []
    got = row(conn, "chiller plant")
    assert got["cadence"] is None and got["status"] in ("unknown", "historical")
    # one file whose name gives its run time: the span of its data (6 hours of 15-minute rows:
    # 23 intervals → 5 h 45 min)
    run = start + timedelta(hours=6)
    load(conn, f"boiler_{run:%m-%d-%y_%H-%M}.csv", insight_report(["B.KW"], start, 24, minutes=15))
    with conn.transaction():
        series.refresh(conn, datetime.now(UTC), GRACE)
    got = row(conn, "boiler")
    assert got["cadence"] == timedelta(hours=5, minutes=45)
    assert got["status"] == "ok"
    # more files, one a day: the gaps between their data ends
    for n in (2, 1):  # the data before, a day apart (so the newest file's data is recent)
        data = insight_report(["CP.KW"], start - timedelta(days=n), 24, minutes=15)
        load(conn, "chiller plant.csv", data)
    with conn.transaction():
        series.refresh(conn, datetime.now(UTC), GRACE)
    got = row(conn, "chiller plant")
    assert got["cadence"] == DAY
    assert got["files"] == 3
    assert got["expected_next"] == got["last_data"] + DAY
    assert got["status"] == "ok"


def test_a_series_of_one_file_whose_data_is_one_instant_has_no_cadence_and_is_unknown(
    conn: psycopg.Connection[Any],
) -> None:
    start = recent(hours=0)
    load(conn, "snapshot.csv", insight_report(["CP.KW"], start, 1, minutes=15))
    with conn.transaction():
        assert series.refresh(conn, datetime.now(UTC) + 30 * DAY, GRACE) == []
    got = row(conn, "snapshot")
    assert got["cadence"] is None
    assert got["status"] == "unknown"


def test_cadence_words_read_as_an_operator_would_say_them() -> None:
    assert series.every(86400) == "1 day"
    assert series.every(7 * 86400) == "7 days"
    assert series.every(900) == "15 min"
    assert series.every(7200) == "2 h"
    assert series.every(5400) == "90 min"
    assert series.every(90.5) == "90.5 s"
