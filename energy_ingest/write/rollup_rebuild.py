"""Rebuilding rollups from readings with the loader's rules (rollup_buckets), a batch of points
per transaction, two batches at a time: one reads its readings while the other is computed."""

from __future__ import annotations

import time
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg

from energy_ingest.errors import EnergyError
from energy_ingest.rollups.calendar import local_midnight
from energy_ingest.store.binary import PG_EPOCH_US, elements, from_us, to_us
from energy_ingest.store.lock import lock_writers
from energy_ingest.store.rollup_state import read_state
from energy_ingest.write import rollup_hours
from energy_ingest.write.rollup_buckets import DAY_US, Rollups, Touched

# Each transaction commits exact rollups for a batch of points: FIRST_POINTS, then as many as
# hold about BATCH_READINGS readings (fewer batches read fewer pages: a table loaded file by
# file holds every point's readings of a day on the same pages).
FIRST_POINTS = 25
BATCH_READINGS = 1_000_000
MAX_POINTS = 1000
REBUILD_LOCK = 0x726F6C6C757073  # "rollups": one rebuild at a time (its batches share the writers')
# A point's readings as two arrays in binary: a COPY sends a message per row, each costing the
# client more than the server spent on it; in the table's order (a bitmap scan), sorted here.
READINGS = (
    "SELECT point_id, array_send(array_agg(ts)), array_send(array_agg(value)) FROM readings"
    " WHERE point_id = ANY(%s) AND ts >= coalesce(%s::timestamptz, '-infinity') GROUP BY point_id"
)
EMPTIED = tuple(  # a batch's rows from its first UTC day, local day and local month on
    f"DELETE FROM {table} WHERE point_id = ANY(%(pids)s)"
    f" AND {column} >= coalesce(%({first})s::timestamptz, '-infinity')"
    for table, column, first in (
        ("readings_hours", "day", "hours"),
        ("readings_daily", "bucket", "days"),
        ("readings_monthly", "bucket", "months"),
    )
)


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


@dataclass(frozen=True)
class _Starts:
    """The first bucket of each kind a rebuild from `since` writes (Unix µs): those holding it."""

    hours: int  # UTC midnight (readings_hours rows are UTC days)
    days: int  # local midnight
    months: int  # local midnight of the 1st

    @classmethod
    def of(cls, since: datetime, zone: zoneinfo.ZoneInfo) -> _Starts:
        local = since.astimezone(zone).date()
        return cls(
            to_us(since) // DAY_US * DAY_US,
            to_us(local_midnight(local, zone)),
            to_us(local_midnight(local.replace(day=1), zone)),
        )


def rebuild(
    conn: psycopg.Connection[Any],
    timezone: str,
    ids: list[int] | None = None,
    since: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Rebuilt:
    """Recompute the rollups of points `ids` (None: all) from `since` (None: all time), a batch
    of points per transaction; never from before raw readings were kept (retention). Rollups
    count as stale while it runs, so the API answers from readings meanwhile; at the end they are
    complete again unless readings were written outside the loader meanwhile. Daily rollups move to `timezone` (ENERGY_TIMEZONE) in a full rebuild."""
    started = time.monotonic()
    state = read_state(conn)
    conn.rollback()
    if state is None:
        raise RollupError("rollup_state is empty: run `energy-ingest migrate`")
    # raw readings before it were dropped: their rollups are all there is
    kept = state.whole_since()
    if kept is not None and (since is None or since < kept):
        if state.day_zone != timezone:
            raise RollupError(
                f"daily and monthly rollups are local to {state.day_zone} and ENERGY_TIMEZONE is"
                f" {timezone}, but raw readings before {kept:%Y-%m-%d} were dropped"
                " (ENERGY_RAW_RETENTION): their days cannot be moved; set ENERGY_TIMEZONE back"
            )
        since = kept
    full = ids is None and since is None
    if state.day_zone != timezone and not full:
        raise RollupError(
            f"daily and monthly rollups are local to {state.day_zone} and ENERGY_TIMEZONE is"
            f" {timezone}: rebuild them all (without --points or --since) to move them"
        )
    ids = point_ids(conn) if ids is None else ids
    conn.execute("SELECT pg_advisory_lock(%s)", (REBUILD_LOCK,))
    conn.commit()
    try:
        with conn.transaction():
            lock_writers(conn)
            seen = conn.execute(
                "UPDATE rollup_state SET stale_since = coalesce(stale_since, now()), day_zone = %s"
                " RETURNING stale_writes",
                (timezone,),
            ).fetchone()
            if full:  # then each batch deletes only what a loader wrote meanwhile
                conn.execute("TRUNCATE readings_hours, readings_daily, readings_monthly")
        assert seen is not None
        done = Rebuilt(day_zone=timezone)
        starts = None if since is None else _Starts.of(since, zoneinfo.ZoneInfo(timezone))
        with psycopg.connect(conn.info.dsn, password=conn.info.password) as other:
            for points, (readings, hours) in _in_pairs(
                ids, [conn, other], lambda c, b: _rebuild_batch(c, b, starts)
            ):
                done.points += points
                done.readings += readings
                done.hourly += hours
                progress(points)
        with conn.transaction():
            cleared = conn.execute(
                "UPDATE rollup_state SET stale_since = NULL,"
                " built_at = CASE WHEN %s THEN now() ELSE built_at END"
                " WHERE stale_writes = %s RETURNING 1",
                (full, seen[0]),
            ).fetchone()
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (REBUILD_LOCK,))
        conn.commit()
    done.complete = cleared is not None
    done.seconds = time.monotonic() - started
    return done


def _in_pairs(
    ids: list[int],
    conns: list[psycopg.Connection[Any]],
    work: Callable[[psycopg.Connection[Any], list[int]], tuple[int, int]],
) -> Iterator[tuple[int, tuple[int, int]]]:
    """(points, work's result) per batch of `ids`, in order, two batches at a time on a
    connection each: one waits for the server while the other computes. A batch holds
    FIRST_POINTS points, then as many as hold about BATCH_READINGS at the mean so far."""
    at = points = readings = 0
    idle = list(conns)
    flying: deque[tuple[psycopg.Connection[Any], list[int], Future[tuple[int, int]]]] = deque()
    with ThreadPoolExecutor(len(conns), thread_name_prefix="energy-rebuild") as pool:
        try:
            while at < len(ids) or flying:
                while at < len(ids) and idle:
                    size = FIRST_POINTS
                    if points:
                        size = min(max(BATCH_READINGS * points // max(readings, 1), 1), MAX_POINTS)
                    batch, at, conn = ids[at : at + size], at + size, idle.pop()
                    flying.append((conn, batch, pool.submit(work, conn, batch)))
                conn, batch, future = flying.popleft()
                result = future.result()
                idle.append(conn)
                points, readings = points + len(batch), readings + result[0]
                yield len(batch), result
        finally:
            for _, _, pending in flying:
                pending.cancel()


def _rebuild_batch(
    conn: psycopg.Connection[Any], pids: list[int], starts: _Starts | None
) -> tuple[int, int]:
    """A batch in a transaction of its own, under the writers' lock taken shared."""
    with conn.transaction():
        lock_writers(conn, shared=True)
        conn.execute("SET LOCAL jit = off")  # compiling costs more than these plans run
        return recompute(conn, pids, starts)


def recompute(
    conn: psycopg.Connection[Any], pids: list[int], starts: _Starts | None = None
) -> tuple[int, int]:
    """The points' rollups (from `starts` on) recomputed from their readings as the loader does
    — a chunk of every reading, nothing stored around it — in the caller's transaction, under
    its writers' lock (an export import that re-indexes a point's states calls this); returns
    the readings and the hours with readings (from `starts.hours` on)."""
    first: dict[str, datetime | None] = {"hours": None, "days": None, "months": None}
    if starts is not None:
        first = {k: from_us(getattr(starts, k)) for k in first}
    for statement in EMPTIED:
        conn.execute(statement, {"pids": pids, **first})
    lo = None if starts is None else from_us(min(starts.hours, starts.days))
    pid, ts, v = _readings(conn, pids, lo)
    enum = {r[0] for r in conn.execute(_ENUMS, (pids,))}
    rollups = Rollups(conn, fresh=True)
    none = np.empty(0, dtype=np.int64)
    chunk = Touched(none, none, none, pid, ts, v, np.ones(len(pid), dtype=bool))
    since = None if starts is None else (starts.hours, starts.days)
    prepared = rollups.prepare(chunk, enum, since)
    rollups.store(prepared)
    rollups.finish()
    if starts is not None and starts.months < starts.days:  # its month, from days kept
        conn.execute(
            "SELECT energy_rollups_months(%s::int[], array_fill(%s::timestamptz, ARRAY[%s]))",
            (pids, first["months"], len(pids)),
        )
    hours = sum(
        int((rows.cells["n"] > 0).sum())
        for table, rows in prepared
        if table == rollup_hours.TABLE and isinstance(rows, rollup_hours.Days)
    )
    return len(ts) if starts is None else int((ts >= starts.hours).sum()), hours


def _readings(
    conn: psycopg.Connection[Any], pids: list[int], lo: datetime | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points' readings from `lo` on, sorted by point and time: ids, Unix µs, values."""
    points = []
    for point, times, values in conn.cursor(binary=True).execute(READINGS, (pids, lo)):
        us = elements([times], ">i8").astype(np.int64)
        v = elements([values], ">f8").astype(np.float64)
        if np.any(us[1:] < us[:-1]):
            order = np.argsort(us, kind="stable")
            us, v = us[order], v[order]
        points.append((point, us + PG_EPOCH_US, v))
    points.sort(key=lambda p: p[0])
    if not points:
        none = np.empty(0, dtype=np.int64)
        return none.astype(np.int32), none, none.astype(np.float64)
    pid = np.repeat(np.array([p[0] for p in points], dtype=np.int32), [len(p[1]) for p in points])
    return pid, np.concatenate([p[1] for p in points]), np.concatenate([p[2] for p in points])


_ENUMS = "SELECT id FROM points WHERE id = ANY(%s) AND kind = 'enum'"


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
