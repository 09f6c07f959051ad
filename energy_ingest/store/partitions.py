"""Readings' yearly partitions (migration 0017): made as loads need them and a year ahead; the
conversion of an unpartitioned `readings` into them — a batch of points per transaction, resumable
after a kill, with the writers kept out until the tables are swapped; and raw retention, which
drops the partitions older than ENERGY_RAW_RETENTION and keeps their rollups."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from energy_ingest.store.lock import WRITERS_LOCK

log = logging.getLogger("energy_ingest.partitions")

BATCH_READINGS = 500_000  # what one conversion transaction aims to move (a kill loses at most one)
MAX_BATCH_POINTS = 10_000

Progress = Callable[[int, int], None]  # (readings moved, readings in all), after each batch


def cover(conn: psycopg.Connection[Any], years: Iterable[int], parent: str = "readings") -> int:
    """Make the partitions of `years` (UTC) that are missing; how many were made."""
    row = conn.execute(
        "SELECT energy_readings_partitions(%s::int[], %s)", (sorted(set(years)), parent)
    ).fetchone()
    return int(row[0]) if row else 0


def ahead(conn: psycopg.Connection[Any]) -> int:
    """This year's partition and the next (the daemon, at start and every hour; a conversion's
    swap): a file dated tomorrow needs no DDL in its load."""
    with conn.transaction():
        row = conn.execute("SELECT extract(year FROM now() AT TIME ZONE 'UTC')::int").fetchone()
        year = int(row[0]) if row else 1970
        return cover(conn, (year, year + 1))


def convert(
    conn: psycopg.Connection[Any], record: Callable[[], None], progress: Progress | None = None
) -> int:
    """Move every reading into readings_partitioned, then swap it in for readings and `record()`
    the migration, in one transaction. Each batch commits with how far it got (resumable: a
    `migrate` run again goes on from there). The writers' lock is held throughout: a running
    daemon's next load waits for the swap, rather than writing into the table being emptied.
    Returns the readings moved by this run."""
    conn.execute("SELECT pg_advisory_lock(%s)", (WRITERS_LOCK,))
    conn.commit()
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO readings_conversion (next_point)"
                " SELECT min(point_id) FROM readings ON CONFLICT DO NOTHING"
            )
            # Any other writer (psql) is refused until the swap, not lost in it.
            conn.execute(
                "CREATE OR REPLACE TRIGGER readings_converting BEFORE INSERT OR UPDATE OR DELETE"
                " OR TRUNCATE ON readings EXECUTE FUNCTION energy_readings_converting()"
            )
        moved = _move(conn, progress)
        with conn.transaction():
            conn.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")
            _swap(conn)
            record()
        conn.execute("ANALYZE readings")  # the planner's first statistics of the parent
        conn.commit()
        return moved
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (WRITERS_LOCK,))
        conn.commit()


def _move(conn: psycopg.Connection[Any], progress: Progress | None) -> int:
    with conn.transaction():
        start, done, last, total = _state(conn)
    if start is None or last is None:
        return 0
    if done:
        log.info("converting readings to yearly partitions: going on from point %s", start)
    else:
        log.info("converting about %s readings to yearly partitions", f"{total:,}")
    moved, step, began = 0, 1, time.monotonic()
    while start <= last:
        with conn.transaction():
            n, points = _batch(conn, start + step)
        moved += n
        done += n
        start += step
        if progress is not None:
            progress(done, max(total, done))
        # the next batch sized after this one; ids with no readings (catalog-only points) are
        # crossed in doubling steps
        step = min(MAX_BATCH_POINTS, BATCH_READINGS * points // n if n else step * 2) or 1
    seconds = time.monotonic() - began
    log.info(
        "moved %s readings in %.1f s (%s readings/s)",
        f"{moved:,}",
        seconds,
        f"{moved / max(seconds, 1e-9):,.0f}",
    )
    return moved


def _state(conn: psycopg.Connection[Any]) -> tuple[int | None, int, int | None, int]:
    """Where the conversion is: next point, readings moved, last point, readings in all (about)."""
    estimate = "SELECT reltuples::bigint FROM pg_class WHERE oid = 'readings'::regclass"
    row = conn.execute(estimate).fetchone()
    if row is None or row[0] < 0:  # never analysed (a sample: a second or so)
        conn.execute("ANALYZE readings")
        row = conn.execute(estimate).fetchone()
    total = max(0, int(row[0])) if row else 0
    row = conn.execute(
        "SELECT next_point, moved, (SELECT max(point_id) FROM readings) FROM readings_conversion"
    ).fetchone()
    assert row is not None
    return row[0], int(row[1]), row[2], total


def _batch(conn: psycopg.Connection[Any], until: int) -> tuple[int, int]:
    """Points from readings_conversion.next_point up to `until` (excluded) moved, their years'
    partitions made first; the readings moved and the points of the batch."""
    row = conn.execute("SELECT next_point FROM readings_conversion FOR UPDATE").fetchone()
    start = row[0] if row else None
    if start is None or start >= until:
        return 0, 0
    # two probes of the key a point id (not a read of the batch's readings)
    span = conn.execute(
        "SELECT extract(year FROM min(f) AT TIME ZONE 'UTC')::int,"
        " extract(year FROM max(l) AT TIME ZONE 'UTC')::int, count(f)"
        " FROM generate_series(%(a)s::int, least(%(b)s::int - 1,"
        "   (SELECT max(point_id) FROM readings))) p(id),"
        " LATERAL (SELECT min(ts) f, max(ts) l FROM readings r WHERE r.point_id = p.id) x",
        {"a": start, "b": until},
    ).fetchone()
    moved = 0
    if span and span[0] is not None:
        cover(conn, range(span[0], span[1] + 1), "readings_partitioned")
        moved = conn.execute(
            "INSERT INTO readings_partitioned SELECT point_id, ts, value FROM readings"
            " WHERE point_id >= %s AND point_id < %s",
            (start, until),
        ).rowcount
    conn.execute(
        "UPDATE readings_conversion SET next_point = %s, moved = moved + %s", (until, moved)
    )
    return moved, int(span[2]) if span else 0


def _swap(conn: psycopg.Connection[Any]) -> None:
    """readings_partitioned becomes readings, with the old table's triggers and grant."""
    conn.execute("DROP TABLE readings, readings_conversion")
    conn.execute("DROP FUNCTION energy_readings_converting()")
    conn.execute("ALTER TABLE readings_partitioned RENAME TO readings")
    conn.execute(
        "ALTER TABLE readings RENAME CONSTRAINT readings_partitioned_pkey TO readings_pkey"
    )
    conn.execute(
        "CREATE TRIGGER readings_rollups_stale AFTER INSERT OR UPDATE OR DELETE ON readings"
        " FOR EACH STATEMENT EXECUTE FUNCTION energy_rollups_note_write()"
    )
    conn.execute(
        "CREATE TRIGGER readings_rollups_truncate AFTER TRUNCATE ON readings"
        " FOR EACH STATEMENT EXECUTE FUNCTION energy_rollups_truncate()"
    )
    conn.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN"
        " GRANT SELECT ON readings TO energy_reader; END IF; END $$"
    )
    ahead(conn)


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime
    upper: datetime
    bytes: int
    readings: int  # PostgreSQL's estimate (pg_class.reltuples; 0 before its first ANALYZE)


def older_than(conn: psycopg.Connection[Any], cutoff: datetime) -> list[Partition]:
    """The partitions of readings wholly before `cutoff`, oldest first."""
    rows = conn.execute(
        "SELECT p.name, p.lower_bound, p.upper_bound, pg_total_relation_size(p.name::regclass),"
        " greatest(c.reltuples, 0)::bigint"
        " FROM readings_partitions p JOIN pg_class c ON c.oid = p.name::regclass"
        " WHERE p.upper_bound <= %s ORDER BY p.lower_bound",
        (cutoff,),
    ).fetchall()
    conn.rollback()
    return [Partition(*row) for row in rows]


def drop_raw(conn: psycopg.Connection[Any], part: Partition, *, keep_table: bool = False) -> str:
    """Raw readings of `part` gone from readings, its rollups kept: rollup_state.raw_since moves
    to its upper bound first (from then the loader refuses readings before it and the API answers
    them from the rollups), then the partition is detached without blocking readers (DETACH …
    CONCURRENTLY, which waits for the queries that use it) and dropped, or with `keep_table`
    kept as <name>_detached (to dump or archive). Returns the detached table's name, or ""."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITERS_LOCK,))
        conn.execute("UPDATE rollup_state SET raw_since = greatest(raw_since, %s)", (part.upper,))
    autocommit = conn.autocommit
    conn.autocommit = True  # DETACH … CONCURRENTLY runs outside a transaction block
    try:
        pending = conn.execute(
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(%s)",
            (part.name,),
        ).fetchone()
        table = sql.Identifier(part.name)
        if pending is not None:  # FINALIZE: a detach interrupted midway
            how = sql.SQL("FINALIZE" if pending[0] else "CONCURRENTLY")
            conn.execute(sql.SQL("ALTER TABLE readings DETACH PARTITION {} {}").format(table, how))
        if not keep_table:
            conn.execute(sql.SQL("DROP TABLE {}").format(table))
            return ""
        kept = f"{part.name}_detached"
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(table, sql.Identifier(kept)))
        return kept
    finally:
        conn.autocommit = autocommit
