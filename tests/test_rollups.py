"""Rollups stay exact: kill -9 mid-load, the migration for data already stored, `rollups
rebuild` after writes by other means, an export import re-indexing states, and `status`."""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import Daemon, files_under, insight_report, scalar, wait_until
from rollup_helpers import migrated_before, migrations_from, rollup_differences
from test_daemon import drop


def _state(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT day_zone, stale_since IS NULL FROM rollup_state").fetchone()
        assert row is not None
        return tuple(row)


def _exact(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return rollup_differences(conn)


def test_kill_9_during_loads_leaves_rollups_consistent_with_readings(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """Big overlapping files (later ones change values) are killed mid-load again and again;
    whatever committed, rollups equal a recomputation from readings, and nothing was lost."""
    rng = random.Random(9)
    names = [f"KILL.AHU{p}.SAT" for p in range(40)]
    d = daemons()
    expected_files = 4
    for i in range(expected_files):
        content = insight_report(
            names,
            datetime(2024, 3, 8 + i),  # each file overlaps the next by two of its three days
            288,
            value=lambda r, c, i=i: f"{(r * 7 + c * 3 + i * 11) % 1000 / 10:.2f}",
        )
        drop(spool_dir, f"k{i}.csv", content)
        for _ in range(3):
            time.sleep(rng.uniform(0.05, 0.6))
            d.kill()
            assert _exact(database_url) == []
            d = daemons()
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == expected_files,
        timeout=120,
        what="every file archived",
    )
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == 4
    assert scalar(database_url, "SELECT sum(updated) FROM files") > 0  # values were changed
    assert scalar(database_url, "SELECT sum(n) FROM readings_hourly") == scalar(
        database_url, "SELECT count(*) FROM readings"
    )
    assert _exact(database_url) == []
    assert _state(database_url) == ("America/Chicago", True)


def test_the_migration_builds_rollups_for_readings_already_stored(
    empty_database_url: str,
) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrated_before(conn, 6)
        pid = conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES"
            " ('siemens', 'OLD.MODE', 'enum', '{OFF,ON}'), ('siemens', 'OLD.SAT', 'number', '{}')"
            " RETURNING id"
        ).fetchall()
        conn.execute(
            "INSERT INTO readings SELECT p, t, (extract(epoch FROM t)::bigint / 900) %% 2"
            " FROM unnest(%s::int[]) p, generate_series(timestamptz '2024-11-02', '2024-11-05',"
            " '15 minutes') t",
            ([r[0] for r in pid],),
        )
    from energy_ingest.store.migrate import migrate
    from energy_ingest.write.rollup_rebuild import rebuild

    def build(conn: psycopg.Connection[Any]) -> None:  # what `energy-ingest migrate` passes
        rebuild(conn, "Europe/Berlin")

    with psycopg.connect(empty_database_url) as conn:
        assert migrate(conn, "Europe/Berlin", build) == migrations_from(6)
        assert rollup_differences(conn) == []
        days = conn.execute(
            "SELECT bucket, n, states FROM readings_daily WHERE point_id = %s ORDER BY bucket",
            (pid[0][0],),
        ).fetchall()
    assert _state(empty_database_url) == ("Europe/Berlin", True)
    # local days of Berlin: 2024-11-02 00:00 UTC is 01:00 there, so the first day is partial
    assert [b.isoformat() for b, _, _ in days[:2]] == [
        "2024-11-01T23:00:00+00:00",
        "2024-11-02T23:00:00+00:00",
    ]
    assert days[1][1] == 96 and days[1][2] == [48, 48]


def test_rollup_sums_are_plain_sums_and_the_sums_migration_recomputes_only_overflowed_ones(
    empty_database_url: str,
) -> None:
    """What psql shows in `sum` is the readings' sum (±Infinity beyond the float8 range); 0007
    keeps stored sums and recomputes those the loader before it let overflow in numpy."""
    from energy_ingest.store.migrate import migrate

    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrated_before(conn, 7)
        conn.execute(
            "INSERT INTO points (source, name, kind) VALUES ('siemens', 'OLD.SAT', 'number'),"
            " ('siemens', 'OLD.HOT', 'number')"
        )
        conn.execute(
            "INSERT INTO readings SELECT 1, t, 55.5 + extract(minute FROM t) / 7"
            " FROM generate_series(timestamptz '2024-11-02', '2024-11-05', '15 minutes') t"
        )
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        # what the loader before 0007 stored for these readings: numpy added them in order to
        # +inf (and PostgreSQL's own sum raised), though their sum is 1.7e308
        conn.execute(
            "INSERT INTO readings VALUES (2, '2024-11-03 10:00Z', 1.7e308),"
            " (2, '2024-11-03 10:15Z', 1.7e308), (2, '2024-11-03 10:30Z', -1.7e308)"
        )
        conn.execute(
            "INSERT INTO readings_hourly VALUES (2, '2024-11-03 10:00Z', 3, 'Infinity', -1.7e308,"
            " 1.7e308, '2024-11-03 10:00Z', 1.7e308, '2024-11-03 10:30Z', -1.7e308, NULL)"
        )
        for table, unit in (("readings_daily", "day"), ("readings_monthly", "month")):
            conn.execute(
                f"INSERT INTO {table} SELECT point_id, date_trunc('{unit}', bucket,"
                " 'America/Chicago'), n, sum, min, max, first_ts, first, last_ts, last, states"
                " FROM readings_hourly WHERE point_id = 2"
            )
        conn.execute("UPDATE rollup_state SET stale_since = NULL")
        plain = "SELECT sum FROM readings_daily WHERE point_id = 1 ORDER BY bucket"
        before = [r[0] for r in conn.execute(plain).fetchall()]
    with psycopg.connect(empty_database_url) as conn:
        assert migrate(conn) == migrations_from(7)
        assert rollup_differences(conn) == []
        assert [r[0] for r in conn.execute(plain).fetchall()] == before
        by_day = conn.execute(
            "SELECT sum(value) FROM readings WHERE point_id = 1"
            " GROUP BY date_trunc('day', ts, 'America/Chicago') ORDER BY 1"
        ).fetchall()
        assert sorted(before) == [r[0] for r in by_day]
        sums = "SELECT DISTINCT sum FROM {} WHERE point_id = 2"
        for table in ("readings_hourly", "readings_daily", "readings_monthly"):
            assert conn.execute(sums.format(table)).fetchall() == [(1.7e308,)]
        conn.execute("DELETE FROM readings WHERE point_id = 2 AND value < 0")
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        for table in ("readings_hourly", "readings_daily", "readings_monthly"):
            assert conn.execute(sums.format(table)).fetchall() == [(math.inf,)]


CLI = Path(sys.executable).parent / "energy-ingest"


def _cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `energy-ingest`, as an operator runs it."""
    environ = {**os.environ, "ENERGY_DATABASE_URL": url, "ENERGY_SPOOL_DIR": "/nonexistent", **env}
    return subprocess.run(
        [str(CLI), *args], env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_writes_by_other_means_mark_rollups_stale_until_rebuild(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        pid = conn.execute(
            "INSERT INTO points (source, name) VALUES ('alc', 'PSQL.SAT'), ('alc', 'PSQL.RAT')"
            " RETURNING id"
        ).fetchall()
        conn.execute(
            "INSERT INTO readings SELECT p, t, extract(hour FROM t) FROM unnest(%s::int[]) p,"
            " generate_series(timestamptz '2024-03-09', '2024-03-12', '15 minutes') t",
            ([r[0] for r in pid],),
        )
    assert _state(database_url)[1] is False
    status = _cli(database_url, "status")
    assert "rollups   STALE since" in status.stdout and "rollups rebuild" in status.stdout

    only = _cli(database_url, "rollups", "rebuild", "--points", "PSQL.SAT", "--since", "2024-03-10")
    assert only.returncode == 0, only.stderr
    assert "rebuilt the rollups of 1 points" in only.stdout
    with psycopg.connect(database_url) as conn:
        first = conn.execute(
            "SELECT min(bucket) FROM readings_daily WHERE point_id = %s", (pid[0][0],)
        ).fetchone()
        other = conn.execute(
            "SELECT count(*) FROM readings_hourly WHERE point_id = %s", (pid[1][0],)
        ).fetchone()
    assert first is not None and first[0].isoformat() == "2024-03-10T06:00:00+00:00"
    assert other == (0,)  # not named: untouched

    full = _cli(database_url, "rollups", "rebuild", "--json")
    assert full.returncode == 0, full.stderr
    done = json.loads(full.stdout)
    assert done["points"] == 2 and done["complete"] is True
    assert done["readings"] == 2 * (3 * 96 + 1)
    assert _exact(database_url) == []
    assert (
        "rollups   complete (hourly, and daily and monthly in America/Chicago)"
        in _cli(database_url, "status").stdout
    )

    moved = _cli(database_url, "rollups", "rebuild", "--points", "PSQL.SAT", ENERGY_TIMEZONE="UTC")
    assert moved.returncode != 0
    assert "rebuild them all (without --points or --since)" in moved.stderr
    assert "Traceback" not in moved.stderr
    assert _cli(database_url, "rollups", "rebuild", ENERGY_TIMEZONE="UTC").returncode == 0
    assert _state(database_url) == ("UTC", True)
    assert _exact(database_url) == []

    unknown = _cli(database_url, "rollups", "rebuild", "--points", "NO.SUCH")
    assert unknown.returncode != 0 and "no point named 'NO.SUCH'" in unknown.stderr
    bad = _cli(database_url, "rollups", "rebuild", "--since", "yesterday-ish")
    assert bad.returncode != 0 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_rollups_rebuild_says_how_far_it_got_off_a_terminal(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO points (source, name) SELECT 'alc', 'MANY.P' || i FROM generate_series(1, 80) i"
        )
        conn.execute(
            "INSERT INTO readings SELECT p.id, t, 1 FROM points p,"
            " generate_series(timestamptz '2024-03-09', '2024-03-12', '15 minutes') t"
        )
    done = _cli(database_url, "rollups", "rebuild", ENERGY_PROGRESS_SECONDS="0.001")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "rebuilding rollups"
    assert any(
        re.fullmatch(r"rebuilding rollups: (25|50|75) of 80 points, \d+ s", line) for line in lines
    ), done.stderr
    assert "rebuilt the rollups of 80 points" in done.stdout


def test_rollups_status_says_whether_they_are_complete_and_exits_3_when_stale(
    database_url: str,
) -> None:
    from click.testing import CliRunner

    from energy_ingest.cli import main

    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_TIMEZONE": "America/Chicago"}
    fine = CliRunner().invoke(main, ["rollups", "status"], env=env)
    assert (fine.exit_code, fine.output) == (
        0,
        "complete (hourly, and daily and monthly in America/Chicago)\n",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        (pid,) = conn.execute("INSERT INTO points (source, name) VALUES ('alc', 'P') RETURNING id")
        conn.execute("INSERT INTO readings VALUES (%s, '2024-03-10T12:00Z', 1)", pid)
    stale = CliRunner().invoke(main, ["rollups", "status"], env=env)
    assert stale.exit_code == 3, stale.output
    # when, in ENERGY_TIMEZONE with its offset (energy_ingest.localtime), and what to run
    assert re.match(r"STALE since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d-0[56]:00: ", stale.output)
    assert "`energy-ingest rollups rebuild`" in stale.output
