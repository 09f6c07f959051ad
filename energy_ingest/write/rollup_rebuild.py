"""Rebuilding rollups from readings (energy_rollups_refresh), in batches of points."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.errors import EnergyError
from energy_ingest.store.rollup_state import read_state
from energy_ingest.write.lock import lock_writers

BATCH_POINTS = 25  # points per transaction: each commits exact rollups for its points


class RollupError(EnergyError):
    """A rebuild that cannot be done as asked; the message says what to run instead."""


@dataclass
class Rebuilt:
    points: int = 0
    readings: int = 0
    hourly: int = 0
    seconds: float = 0.0
    complete: bool = False  # rollup_state is no longer stale
    day_zone: str = ""


def rebuild(
    conn: psycopg.Connection[Any],
    timezone: str,
    ids: list[int] | None = None,
    since: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Rebuilt:
    """Recompute the rollups of points `ids` (None: all) from `since` (None: all time), a batch
    of points per transaction. Rollups count as stale while it runs, so the API answers from
    readings meanwhile; at the end they are complete again unless readings were written outside
    the loader meanwhile. Daily rollups move to `timezone` (ENERGY_TIMEZONE) in a full rebuild."""
    started = time.monotonic()
    full = ids is None and since is None
    state = read_state(conn)
    conn.rollback()
    if state is None:
        raise RollupError("rollup_state is empty: run `energy-ingest migrate`")
    if state.day_zone != timezone and not full:
        raise RollupError(
            f"daily and monthly rollups are local to {state.day_zone} and ENERGY_TIMEZONE is"
            f" {timezone}: rebuild them all (without --points or --since) to move them"
        )
    ids = point_ids(conn) if ids is None else ids
    with conn.transaction():
        lock_writers(conn)
        seen = conn.execute(
            "UPDATE rollup_state SET stale_since = coalesce(stale_since, now()), day_zone = %s"
            " RETURNING stale_writes",
            (timezone,),
        ).fetchone()
    assert seen is not None
    done = Rebuilt(day_zone=timezone)
    for at in range(0, len(ids), BATCH_POINTS):
        batch = ids[at : at + BATCH_POINTS]
        with conn.transaction():
            lock_writers(conn)
            row = conn.execute("SELECT energy_rollups_refresh(%s, %s)", (batch, since)).fetchone()
            done.hourly += int(row[0]) if row else 0
        done.points += len(batch)
        progress(len(batch))
    with conn.transaction():
        cleared = conn.execute(
            "UPDATE rollup_state SET stale_since = NULL,"
            " built_at = CASE WHEN %s THEN now() ELSE built_at END"
            " WHERE stale_writes = %s RETURNING 1",
            (full, seen[0]),
        ).fetchone()
        total = conn.execute(
            "SELECT coalesce(sum(n), 0) FROM readings_hourly WHERE point_id = ANY(%s)"
            " AND bucket >= coalesce(%s::timestamptz, '-infinity')",
            (ids, since),
        ).fetchone()
    done.readings = int(total[0]) if total else 0
    done.complete = cleared is not None
    done.seconds = time.monotonic() - started
    return done


def point_ids(conn: psycopg.Connection[Any], names: Sequence[str] = ()) -> list[int]:
    """The ids of the points named (every point when none is), in id order."""
    if not names:
        ids = [r[0] for r in conn.execute("SELECT id FROM points ORDER BY id")]
        conn.rollback()
        return ids
    rows = conn.execute("SELECT name, id FROM points WHERE name = ANY(%s)", (list(names),))
    found: dict[str, list[int]] = {}
    for name, pid in rows:
        found.setdefault(name, []).append(pid)
    conn.rollback()
    unknown = [n for n in names if n not in found]
    if unknown:
        raise RollupError(
            f"no point named {', '.join(map(repr, unknown[:5]))}"
            + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
            + ": give exact names as `energy-ingest catalog show` prints them"
        )
    return sorted({pid for ids in found.values() for pid in ids})
