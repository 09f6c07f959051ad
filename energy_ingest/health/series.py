"""Report series: each one's cadence (from run times, else data spans — never arrival times),
whether it is live, and whether its next report is overdue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.health.findings import HIGH, Finding
from energy_ingest.localtime import local

# One statement: every series' facts from the ledger (its newest 30 runs, through
# files_series_idx), then the update. A run is coalesce(run_at, last_ts); cadence the median gap
# of the newest 30 distinct runs (whole local days as days, else seconds), or with one run the
# file's data span when ≥ 1 minute and its name gives a run time (a single file without one,
# e.g. an ad-hoc export, is no schedule: unknown). Live: its newest file's data was recent when
# it arrived (a backfill of old history is not).
_SQL = """
WITH facts AS (
    SELECT s.id, newest.id AS file_id, newest.run, newest.ingested_at,
           newest.last_ts AS newest_last_ts,
           coalesce(gaps.median_s,
                    CASE WHEN gaps.runs = 1 AND newest.run_at IS NOT NULL
                         AND newest.last_ts - newest.first_ts >= interval '1 minute'
                         THEN extract(epoch FROM newest.last_ts - newest.first_ts) END)
               AS cadence_s
    FROM report_series s
    CROSS JOIN (SELECT day_zone AS zone FROM rollup_state) z
    CROSS JOIN LATERAL (
        SELECT f.id, coalesce(f.run_at, f.last_ts) AS run, f.run_at, f.first_ts, f.last_ts,
               f.ingested_at
        FROM files f
        WHERE f.source = s.source AND f.series = s.name
          AND f.status = 'ingested' AND f.last_ts IS NOT NULL
        ORDER BY coalesce(f.run_at, f.last_ts) DESC, f.id DESC LIMIT 1
    ) newest
    CROSS JOIN LATERAL (
        SELECT count(*) AS runs,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap) FILTER (WHERE g.gap > 0)
                   AS median_s
        FROM (
            -- a gap of whole local days counts as those days: a task run at 00:05 every day
            -- is daily across DST, though two of its runs are then 23 or 25 hours apart
            SELECT CASE WHEN extract(epoch FROM r.wall - lag(r.wall) OVER w)::numeric %% 86400 = 0
                        THEN extract(epoch FROM r.wall - lag(r.wall) OVER w)
                        ELSE extract(epoch FROM r.run - lag(r.run) OVER w) END AS gap
            FROM (
                SELECT DISTINCT coalesce(f.run_at, f.last_ts) AS run,
                       coalesce(f.run_at, f.last_ts) AT TIME ZONE z.zone AS wall
                FROM files f
                WHERE f.source = s.source AND f.series = s.name
                  AND f.status = 'ingested' AND f.last_ts IS NOT NULL
                ORDER BY 1 DESC LIMIT 30
            ) r
            WINDOW w AS (ORDER BY r.run)
        ) g
    ) gaps
),
waiting AS (  -- series with a file in incoming/ now: not overdue, only not loaded yet
    SELECT DISTINCT w.source, energy_series_of(w.name) AS series
    FROM unnest(%(w_sources)s::text[], %(w_names)s::text[]) AS w(source, name)
),
judged AS (
    SELECT f.*, make_interval(secs => f.cadence_s) AS cadence,
           -- whole days are local days: a daily 02:00 run is due at 02:00 across DST too
           CASE WHEN f.cadence_s::numeric %% 86400 = 0
                THEN (f.run AT TIME ZONE z.zone + make_interval(days => (f.cadence_s / 86400)::int))
                     AT TIME ZONE z.zone
                ELSE f.run + make_interval(secs => f.cadence_s) END AS expected_next,
           EXISTS (SELECT FROM report_series s JOIN waiting w
                   ON w.source = s.source AND w.series = s.name WHERE s.id = f.id) AS waiting,
           f.newest_last_ts >= f.ingested_at
               - make_interval(secs => 2 * coalesce(f.cadence_s, 0) + %(grace)s) AS live
    FROM facts f, (SELECT day_zone AS zone FROM rollup_state) z
),
updated AS (
    UPDATE report_series s SET
        cadence = j.cadence, last_run = j.run, last_file_id = j.file_id, last_arrival = j.ingested_at, expected_next = j.expected_next,
        evaluated_at = %(now)s,
        status = CASE WHEN NOT j.live THEN 'historical'
                      WHEN j.cadence IS NULL THEN 'unknown'
                      WHEN %(now)s > j.expected_next + make_interval(secs => %(grace)s)
                           AND NOT j.waiting THEN 'overdue'
                      ELSE 'ok' END
    FROM judged j WHERE j.id = s.id
    RETURNING s.id, s.source, s.name, s.status, j.cadence_s, s.last_run, s.expected_next
)
SELECT u.id, u.source, u.name, u.cadence_s, u.last_run, u.expected_next,
       (SELECT count(*) FROM series_points sp WHERE sp.series_id = u.id) AS points,
       (SELECT day_zone FROM rollup_state) AS zone
FROM updated u WHERE u.status = 'overdue' ORDER BY u.id
"""


def refresh(
    conn: psycopg.Connection[Any],
    now: datetime,
    grace_seconds: float,
    waiting: Sequence[tuple[str, str]] = (),
) -> list[Finding]:
    """Update every report_series row from the ledger as of `now`; a Finding for each series
    that is live and overdue (its next run is more than `grace_seconds` late) and has no file
    among `waiting` ((source, file name) of the files in incoming/ the daemon has yet to load)."""
    no_jit(conn)
    params = {
        "now": now,
        "grace": grace_seconds,
        "w_sources": [source for source, _ in waiting],
        "w_names": [name for _, name in waiting],
    }
    rows = conn.execute(_SQL, params).fetchall()
    return [_overdue(now, grace_seconds, *row) for row in rows]


def _overdue(
    now: datetime,
    grace: float,
    series_id: int,
    source: str,
    name: str,
    cadence_s: float,
    last_run: datetime,
    expected_next: datetime,
    points: int,
    zone: str,
) -> Finding:
    overdue_s = (now - expected_next).total_seconds()
    return Finding(
        kind="overdue",
        subject=f"series:{series_id}",
        priority=HIGH,
        summary=(
            f"{name} ({source}) is overdue: no report since {local(last_run, zone, seconds=False)}; one was "
            f"expected {local(expected_next, zone, seconds=False)} (every {every(cadence_s)})"
        ),
        details={
            "cadence_s": cadence_s,
            "last_run": last_run.isoformat(),
            "expected_next": expected_next.isoformat(),
            "overdue_s": overdue_s,
            "grace_s": grace,
            "points": points,
        },
        link=f"/api/v2/series/{series_id}",
        series_id=series_id,
    )


def no_jit(conn: psycopg.Connection[Any]) -> None:
    """Turn JIT off for the rest of the transaction: these statements run a few cheap probes per
    row, which the planner's costs overrate, and compiling them took longer than running them
    (bench/health: 1.3 s of JIT for 0.2 s of work on a 100,000-file ledger)."""
    conn.execute("SELECT set_config('jit', 'off', true)")


def every(seconds: float) -> str:
    """A cadence in words: '1 day', '15 min', '2 h', '90 s'."""
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''}"
    return f"{seconds:g} s"
