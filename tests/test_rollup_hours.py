"""Hourly rollups packed a row per point and UTC day (readings_hours, migration 0015), read as
before through the view readings_hourly: the migration keeps every stored hour, and the loader
writes a day row per point and UTC day it touched, its hours equal to the readings'."""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import Any

import psycopg
from helpers import insight_report
from rollup_helpers import migrated_before, migrations_from, rollup_differences

from energy_ingest.formats import parse
from energy_ingest.rollups.hours import COLUMNS, hours_sql
from energy_ingest.store.migrate import migrate
from energy_ingest.write.ledger import FileInfo
from energy_ingest.write.readings import load_report

HOURS = (
    "SELECT point_id, bucket, n, sum, min, max, first, last, states FROM readings_hourly"
    " ORDER BY point_id, bucket"
)
# the same hours from the readings themselves: what every hourly row must say
FROM_READINGS = """
SELECT r.point_id, date_trunc('hour', r.ts, 'UTC'), count(*), sum(r.value), min(r.value),
       max(r.value), (array_agg(r.value ORDER BY r.ts))[1], (array_agg(r.value ORDER BY r.ts DESC))[1]
FROM readings r GROUP BY 1, 2 ORDER BY 1, 2
"""


def _trimmed(states: list[int] | None) -> list[int] | None:
    """State counts without trailing zeros (a day row pads each hour to the day's widest)."""
    if states is None:
        return None
    while states and states[-1] == 0:
        states = states[:-1]
    return states


def _hours(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return [(*row[:8], _trimmed(row[8])) for row in conn.execute(HOURS).fetchall()]


def test_the_migration_packs_every_stored_hour_and_reads_them_back_unchanged(
    empty_database_url: str,
) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrated_before(conn, 15)
        conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES"
            " ('siemens', 'OLD.SAT', 'number', '{}'), ('siemens', 'OLD.FAN', 'enum', '{OFF,ON,AUTO}')"
        )
        # across the autumn change in America/Chicago, an hour missing, a day cut short
        conn.execute(
            "INSERT INTO readings SELECT 1, t, 55.5 + extract(minute FROM t) / 7"
            " FROM generate_series(timestamptz '2024-11-02 03:00Z', '2024-11-04 17:30Z',"
            " '15 minutes') t WHERE date_trunc('hour', t) <> timestamptz '2024-11-03 12:00Z'"
        )
        conn.execute(
            "INSERT INTO readings SELECT 2, t, (extract(hour FROM t)::int % 3)"
            " FROM generate_series(timestamptz '2024-11-02 22:00Z', '2024-11-03 09:00Z',"
            " '20 minutes') t"
        )
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        before = _hours(conn)
        assert len(before) > 60 and any(row[8] == [3] for row in before)  # state 0 only: [3]
    with psycopg.connect(empty_database_url) as conn:
        assert migrate(conn) == migrations_from(15)
        assert _hours(conn) == before
        days = conn.execute(
            "SELECT point_id, count(*) FROM readings_hours GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert days == [(1, 3), (2, 2)]  # UTC days 2, 3, 4 and 2, 3 of November
        assert rollup_differences(conn) == []


def test_the_loader_writes_a_row_per_point_and_utc_day_whose_hours_are_the_readings(
    database_url: str,
) -> None:
    names = ["PACK.AHU1.SAT", "PACK.AHU2.SAT", "PACK.AHU3.SAT"]
    report = insight_report(
        names, datetime(2024, 3, 9, 20), 200, value=lambda r, c: f"{(r * 13 + c) % 97 / 3:.2f}"
    )
    with psycopg.connect(database_url) as conn:
        parsed = parse(io.BytesIO(report), name="pack.csv", tz="America/Chicago")
        info = FileInfo(sha256="b" * 64, name="pack.csv", source="siemens", size=len(report))
        # the spring change's skipped hour (02:00-03:00 on 10 March) holds 4 rows, rejected
        assert load_report(conn, parsed, info, zone="America/Chicago").inserted == 588
        conn.commit()
        days = conn.execute(
            "SELECT count(*), count(DISTINCT day), min(day), max(day) FROM readings_hours"
        ).fetchone()
        assert days is not None
        # from 20:00 local on 9 March (CST, 02:00Z on the 10th) to 02:45Z on the 12th
        assert days[0] == 3 * days[1] and days[1] == 3
        stored = conn.execute(HOURS).fetchall()
        expected = conn.execute(FROM_READINGS).fetchall()
        assert [r[:3] for r in stored] == [r[:3] for r in expected]
        for got, want in zip(stored, expected, strict=True):
            assert got[4:8] == want[4:8] and math.isclose(got[3], want[3], rel_tol=1e-12)
        assert rollup_differences(conn) == []


def test_hours_read_unnesting_only_the_arrays_a_query_needs_are_the_views_rows(
    database_url: str,
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES"
            " ('siemens', 'HRS.SAT', 'number', '{}'), ('siemens', 'HRS.FAN', 'enum', '{OFF,ON,AUTO}')"
        )
        ids = [r[0] for r in conn.execute("SELECT id FROM points ORDER BY id").fetchall()]
        # across the spring change in America/Chicago, an hour missing, days cut short
        conn.execute(
            "INSERT INTO readings SELECT %s, t, 55.5 + extract(minute FROM t) / 7"
            " FROM generate_series(timestamptz '2024-03-09 03:10Z', '2024-03-11 17:30Z',"
            " '15 minutes') t WHERE date_trunc('hour', t) <> timestamptz '2024-03-10 12:00Z'",
            (ids[0],),
        )
        conn.execute(
            "INSERT INTO readings SELECT %s, t, (extract(hour FROM t)::int %% 3)"
            " FROM generate_series(timestamptz '2024-03-09 22:00Z', '2024-03-10 09:00Z',"
            " '20 minutes') t",
            (ids[1],),
        )
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        every = sorted(COLUMNS)
        for columns in [set(every), *({c} for c in every)]:
            names = ", ".join(f"h.{c}" for c in sorted(columns | {"point_id", "bucket"}))
            view = f"SELECT {names} FROM readings_hourly h ORDER BY h.point_id, h.bucket"
            packed = f"SELECT {names} FROM {hours_sql(columns)} ORDER BY h.point_id, h.bucket"
            rows = conn.execute(view).fetchall()
            assert len(rows) > 40 and conn.execute(packed).fetchall() == rows, columns
