"""`rollups rebuild` and the migration's build write what the loader writes and what the SQL
reference (energy_rollups_refresh) computes: every point, --points with --since on either side of
a DST change, a database at migration 0005 with readings, and a migrate killed mid-build."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from rollup_helpers import migrated_before, migrations_from, rollup_differences
from test_rollups import CLI, _state
from test_rollups_api import ENUMS, NUMBERS, _load, random_rows

from energy_ingest.store.migrate import migrate
from energy_ingest.write.rollup_rebuild import rebuild

CHICAGO = ZoneInfo("America/Chicago")
TABLES = {
    "readings_hours": "point_id, day, n, sum, min, max, first, last, states",
    "readings_daily": "point_id, bucket, n, min, max, first_ts, first, last_ts, last, states, sum",
    "readings_monthly": "point_id, bucket, n, min, max, first_ts, first, last_ts, last, states, sum",
}


def _tables(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row as stored, in key order."""
    return {
        table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
        for table, columns in TABLES.items()
    }


def _same(
    a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]], sums: str = "months"
) -> None:
    """Equal rows. Sums added in another order may differ in their last bits: those of
    months (added from days by SQL) or, with sums="all", of every table (PostgreSQL's sum())."""
    for table in TABLES:
        assert len(a[table]) == len(b[table]), table
        for x, y in zip(a[table], b[table], strict=True):
            if sums == "all" or table == "readings_monthly":
                at = 3 if table == "readings_hours" else len(x) - 1
                x_sums, y_sums = (x[at], y[at]) if at == 3 else ([x[at]], [y[at]])
                assert x_sums == pytest.approx(y_sums, rel=1e-12, abs=1e-9), (table, x, y)
                x, y = x[:at] + x[at + 1 :], y[:at] + y[at + 1 :]
            assert x == y, (table, x, y)


@pytest.fixture
def loaded(database_url: str) -> str:
    """Random readings of number and enum points around both of Chicago's 2024 DST changes,
    loaded by the loader in two overlapping files (the second changes stored values)."""
    rng = random.Random(310)
    with psycopg.connect(database_url) as conn:
        for f in range(2):
            _load(conn, random_rows(rng, 700, 500), f"rebuild{f}")
    return database_url


def test_a_rebuild_of_every_point_writes_exactly_the_rows_the_loader_wrote(loaded: str) -> None:
    with psycopg.connect(loaded) as conn:
        by_loader = _tables(conn)
        conn.rollback()
        assert sum(len(rows) for rows in by_loader.values()) > 1000
        conn.execute("UPDATE rollup_state SET built_at = NULL")  # to see it set again
        conn.commit()
        done = rebuild(conn, "America/Chicago")
        assert (done.points, done.complete) == (len(NUMBERS) + len(ENUMS), True)
        assert done.readings == conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        assert done.hourly == conn.execute("SELECT count(*) FROM readings_hourly").fetchone()[0]
        _same(_tables(conn), by_loader)
        assert rollup_differences(conn) == []
        assert conn.execute("SELECT built_at IS NOT NULL FROM rollup_state").fetchone() == (True,)


@pytest.mark.parametrize(
    "since",
    [
        datetime(2024, 3, 10, 22, 0, tzinfo=CHICAGO),  # its UTC day starts after its local day
        datetime(2024, 11, 3, 0, 30, tzinfo=CHICAGO),  # its UTC day starts before its local day
        datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=CHICAGO),  # the repeated hour, in CST
    ],
)
@pytest.mark.parametrize("name", [NUMBERS[0], ENUMS[0]])
def test_a_rebuild_of_some_points_since_an_instant_equals_the_sql_reference(
    loaded: str, name: str, since: datetime
) -> None:
    """Readings written by other means before and after `since`; the rebuild fixes the named
    point's buckets from those holding `since` on, as energy_rollups_refresh does, and
    leaves every other row as it was."""
    with psycopg.connect(loaded, autocommit=True) as conn:
        (pid,) = conn.execute("SELECT id FROM points WHERE name = %s", (name,)).fetchone()
        conn.execute(
            "UPDATE readings SET value = CASE WHEN value = 0 THEN 1 ELSE 0 END"
            " WHERE point_id = ANY(SELECT id FROM points) AND ts BETWEEN %s AND %s",
            (datetime(2024, 3, 1, tzinfo=CHICAGO), datetime(2024, 11, 10, tzinfo=CHICAGO)),
        )
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT energy_rollups_refresh(%s, %s)", ([pid], since))
            expected = _tables(conn)
        done = rebuild(conn, "America/Chicago", [pid], since)
        assert done.points == 1
        _same(_tables(conn), expected, sums="all")


def _at_0005(url: str, points: int, days: int) -> None:
    """A database stopped at migration 0005 (before rollups) holding readings: number points
    and one enum point every 15 minutes over `days` days from 2024-11-01 (Chicago's fall-back
    in the middle)."""
    with psycopg.connect(url, autocommit=True) as conn:
        migrated_before(conn, 6)
        conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES ('siemens', 'OLD.MODE', 'enum',"
            " '{OFF,ON,AUTO}')"
        )
        conn.execute(
            "INSERT INTO points (source, name) SELECT 'siemens', 'OLD.P' || i"
            " FROM generate_series(2, %s) i",
            (points,),
        )
        conn.execute(
            "INSERT INTO readings SELECT p.id, t, CASE WHEN p.kind = 'enum'"
            " THEN (extract(epoch FROM t)::bigint / 900 + p.id) %% 3"
            " ELSE round((p.id * 7 + extract(epoch FROM t) / 3600)::numeric %% 97, 2) END"
            " FROM points p, generate_series(timestamptz '2024-11-01', timestamptz '2024-11-01'"
            " + %s * interval '1 day', '15 minutes') t",
            (days,),
        )


def test_migrating_a_database_with_readings_builds_exact_rollups_after_the_migrations(
    empty_database_url: str,
) -> None:
    _at_0005(empty_database_url, 4, 6)
    with psycopg.connect(empty_database_url) as conn:
        assert migrate(conn, timezone="Europe/Berlin") == migrations_from(6)
        # without the build step rollups wait, stale and never built, for the next migrate
        assert conn.execute("SELECT count(*) FROM readings_daily").fetchone() == (0,)
        assert _state(empty_database_url) == ("Europe/Berlin", False)
        built = []
        assert (
            migrate(conn, "Europe/Berlin", lambda c: built.append(rebuild(c, "Europe/Berlin")))
            == []
        )
        assert [b.points for b in built] == [4]
        assert rollup_differences(conn) == []
        assert (
            migrate(conn, "Europe/Berlin", lambda c: built.append(rebuild(c, "Europe/Berlin")))
            == []
        )
        assert len(built) == 1  # built once: complete now
    assert _state(empty_database_url) == ("Europe/Berlin", True)


def test_a_migration_on_a_database_without_readings_leaves_rollups_complete(
    empty_database_url: str,
) -> None:
    with psycopg.connect(empty_database_url) as conn:
        migrate(conn)
        row = conn.execute("SELECT stale_since IS NULL, built_at IS NOT NULL FROM rollup_state")
        assert row.fetchone() == (True, True)


def _migrate(url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": url,
        "ENERGY_SPOOL_DIR": "/nonexistent",
        "ENERGY_PROGRESS_SECONDS": "0.001",
    }
    return subprocess.Popen(
        [str(CLI), "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_a_migrate_killed_while_building_rollups_builds_them_when_run_again(
    empty_database_url: str,
) -> None:
    _at_0005(empty_database_url, 120, 20)
    first = _migrate(empty_database_url)
    assert first.stderr is not None
    line = first.stderr.readline()
    while line and not line.startswith("building rollups: "):
        line = first.stderr.readline()
    assert line.startswith("building rollups: 25 of 120 points"), line
    first.send_signal(signal.SIGKILL)
    first.communicate()
    time.sleep(0.5)  # the server notices the dead connection and rolls its batch back
    with psycopg.connect(empty_database_url) as conn:
        built = conn.execute("SELECT count(DISTINCT point_id) FROM readings_daily").fetchone()
        assert built is not None and 0 < built[0] < 120  # some batches committed, not all
    assert _state(empty_database_url)[1] is False
    again = _migrate(empty_database_url)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert out == (
        "built the rollups of 120 points (230,520 readings) in "
        + out.split(" in ")[1].split(" s;")[0]
        + " s; days are local to America/Chicago\n"
    )
    assert _state(empty_database_url) == ("America/Chicago", True)
    with psycopg.connect(empty_database_url) as conn:
        assert rollup_differences(conn) == []
