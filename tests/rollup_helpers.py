"""Rollups checked against readings: the stored rows must equal a recomputation from scratch."""

from __future__ import annotations

import math
from typing import Any

import psycopg

COLUMNS = ("n", "min", "max", "first_ts", "first", "last_ts", "last", "states")


def migrated_before(conn: psycopg.Connection[Any], version: int) -> None:
    """An empty database (autocommit) migrated as an older release left it: every migration
    before `version`, recorded, so that migrate() applies `version` and what follows."""
    from energy_ingest.store.migrate import available

    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for m in available():
        if m.version < version:
            conn.execute(m.sql.encode())
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (m.version, m.name))


def migrations_from(version: int) -> list[str]:
    """The names of the migrations from `version` on (those a database stopped before it gets)."""
    from energy_ingest.store.migrate import available

    found = [m.name for m in available() if m.version >= version]
    assert found and found[0].startswith(f"{version:04d}_")
    return found


def rollup_differences(conn: psycopg.Connection[Any]) -> list[str]:
    """Every (table, point, bucket) whose stored row differs from energy_rollups_refresh()'s,
    computed in a transaction that is rolled back; sums may differ by float rounding order only."""
    problems: list[str] = []
    with conn.transaction(force_rollback=True):
        tables = ("readings_hourly", "readings_daily", "readings_monthly")
        stored = {t: _rows(conn, t) for t in tables}
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        for table, before in stored.items():
            after = _rows(conn, table)
            for key in sorted(before.keys() | after.keys()):
                a, b = before.get(key), after.get(key)
                if (
                    a is None
                    or b is None
                    or a[1:] != b[1:]
                    or not math.isclose(a[0], b[0], rel_tol=1e-12, abs_tol=1e-9)
                ):
                    problems.append(f"{table} {key}: stored {a}, recomputed {b}")
    return problems


def _rows(conn: psycopg.Connection[Any], table: str) -> dict[tuple[int, Any], tuple[Any, ...]]:
    rows = conn.execute(
        f"SELECT point_id, bucket, sum, {', '.join(COLUMNS)} FROM {table}"
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}
