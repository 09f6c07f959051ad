"""Readings partitioned by UTC year (migration 0017): loads make the partitions they need, the
daemon makes next year's ahead, and `migrate` converts an unpartitioned table it finds full of
readings — every reading kept, counted and summed — even when killed midway and run again."""

from __future__ import annotations

import signal
from datetime import datetime

import psycopg
import pytest
from helpers import cli_process, insight_report, load_report, scalar, wait_until

import energy_ingest.store.migrate as migrations

pytestmark = pytest.mark.slow


def _years(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name FROM readings_partitions").fetchall()
    return [int(name.removeprefix("readings_")) for (name,) in rows]


def _migrated(url: str, below: int | None = None) -> None:
    every = migrations.available()
    with psycopg.connect(url) as conn:
        if below is None:
            migrations.migrate(conn)
            return
        saved = migrations.available
        migrations.available = lambda: [m for m in every if m.version < below]  # type: ignore[assignment]
        try:
            migrations.migrate(conn)
        finally:
            migrations.available = saved  # type: ignore[assignment]


def test_a_fresh_database_has_this_and_next_years_partitions(empty_database_url: str) -> None:
    _migrated(empty_database_url)
    year = datetime.now().year
    assert set(_years(empty_database_url)) >= {year, year + 1}
    assert (
        scalar(empty_database_url, "SELECT relkind FROM pg_class WHERE relname = 'readings'") == "p"
    )


def test_a_backfill_from_1998_to_2030_loads_into_its_years(empty_database_url: str) -> None:
    """One file every ten days from January 1998 to December 2030: the load makes the 31
    partitions it needs (in its own transaction) and stores every value."""
    _migrated(empty_database_url)
    rows = 1205  # 10-day steps: 1998-01-01 … 2030-12-29
    data = insight_report(["BF.AHU1.SAT", "BF.AHU1.RAT"], datetime(1998, 1, 1), rows, minutes=14400)
    load_report(empty_database_url, "backfill.csv", data)
    assert scalar(empty_database_url, "SELECT count(*) FROM readings") == 2 * rows
    assert _years(empty_database_url) == list(range(1998, 2031))
    per_year = scalar(
        empty_database_url,
        "SELECT array_agg(n ORDER BY y) FROM (SELECT extract(year FROM ts AT TIME ZONE 'UTC') y,"
        " count(*) n FROM readings GROUP BY 1) x",
    )
    assert isinstance(per_year, list) and len(per_year) == 33 and min(per_year) >= 2 * 36
    # what is in each partition is its year
    assert (
        scalar(
            empty_database_url,
            "SELECT count(*) FROM readings_1998 WHERE ts < '1998-01-01Z' OR ts >= '1999-01-01Z'",
        )
        == 0
    )


def test_a_write_by_sql_outside_every_partition_is_refused_clearly(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.CheckViolation) as err:
        conn.execute("INSERT INTO readings VALUES (1, '1987-06-01Z', 1)")
    assert "no partition" in str(err.value)
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT energy_readings_partitions(ARRAY[1987])")
        conn.execute("INSERT INTO readings VALUES (1, '1987-06-01Z', 1)")
    assert scalar(database_url, "SELECT count(*) FROM readings_1987") == 1


def test_the_daemon_makes_next_years_partition(
    empty_database_url: str, daemons: object, tmp_path: object
) -> None:
    _migrated(empty_database_url)
    following = datetime.now().year + 1
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(f"DROP TABLE readings_{following}")
    assert following not in _years(empty_database_url)
    daemons(empty_database_url)  # type: ignore[operator]
    wait_until(lambda: following in _years(empty_database_url), what="next year's partition")


READINGS_PER_POINT = 8760  # every 3 hours from June 2023 to June 2026
POINTS = 600  # 5,256,000 readings: the "a database of ≥ 5 M readings"


def _unpartitioned(url: str) -> tuple[int, str]:
    """A database of migration 0016 holding POINTS × READINGS_PER_POINT readings over three
    years; their count and exact sum."""
    _migrated(url, below=17)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO points (source, name) SELECT 'siemens', 'CV.P' || g"
            " FROM generate_series(1, %s) g",
            (POINTS,),
        )
        conn.execute(
            "INSERT INTO readings SELECT p.id, '2023-06-01Z'::timestamptz + h * interval '3 hours',"
            " (p.id * 31 + h) %% 977 / 7.0 FROM points p, generate_series(0, %s - 1) h",
            (READINGS_PER_POINT,),
        )
        conn.execute("ANALYZE readings")
    return _count_and_sum(url)


def _count_and_sum(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), sum(value::numeric)::text FROM readings").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _moved(url: str) -> int:
    try:
        return int(scalar(url, "SELECT coalesce((SELECT moved FROM readings_conversion), 0)"))  # type: ignore[arg-type]
    except psycopg.errors.UndefinedTable:
        return 0  # not started yet


def test_migrate_converts_a_full_table_and_survives_a_kill_midway(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    before = _unpartitioned(url)
    assert before[0] == POINTS * READINGS_PER_POINT
    first = cli_process(url, "migrate")
    # killed once a batch or more has committed, and before the swap
    wait_until(
        lambda: _moved(url) > 0,
        timeout=120,
        what="the conversion's first batch",
    )
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = 'readings'") == "r"
    assert _count_and_sum(url) == before  # the table the API reads meanwhile: all there
    moved = scalar(url, "SELECT moved FROM readings_conversion")
    assert isinstance(moved, int) and 0 < moved < before[0]
    # a writer other than the conversion is refused, not lost in the swap
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.RaiseException) as err:
        conn.execute("DELETE FROM readings WHERE point_id = 1")
    assert "energy-ingest migrate" in str(err.value)

    second = cli_process(url, "migrate")
    out, errors = second.communicate(timeout=300)
    assert second.returncode == 0, errors
    assert "going on from point" in errors
    assert "applied 0017_partitioned_readings.sql" in out
    assert _count_and_sum(url) == before
    assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = 'readings'") == "p"
    assert set(_years(url)) >= {2023, 2024, 2025, 2026}
    assert scalar(url, "SELECT to_regclass('readings_conversion')") is None
    # the rollups still mark themselves stale on a write by SQL, and are emptied with readings
    writes = scalar(url, "SELECT stale_writes FROM rollup_state")
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE readings SET value = 0 WHERE point_id = 1 AND ts = '2023-06-01Z'")
    assert scalar(url, "SELECT stale_writes FROM rollup_state") == writes + 1  # type: ignore[operator]
    ran_again = cli_process(url, "migrate")
    out, errors = ran_again.communicate(timeout=60)
    assert ran_again.returncode == 0, errors
    assert "up to date" in out
