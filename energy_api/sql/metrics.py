"""SQL for GET /metrics: one snapshot of what the daemon last saw and evaluated, read from small
tables and the catalog's statistics (never a scan of readings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from energy_api.sql import ledger
from energy_api.sql.replica import Replica, replica
from energy_api.sql.where import Conn


@dataclass(frozen=True)
class SeriesMetric:
    source: str
    name: str
    last_arrival: datetime | None
    overdue: bool


@dataclass(frozen=True)
class Snapshot:
    """The numbers /metrics gives; None where the daemon has not said yet."""

    backlog: int | None
    failed: int | None
    evaluated_at: datetime | None
    series: tuple[SeriesMetric, ...]
    alerts: tuple[tuple[str, str, str, int], ...]  # (kind, priority, state, open alerts)
    readings: float
    rollups_stale: bool
    replica: Replica | None  # None on a primary


def snapshot(conn: Conn) -> Snapshot:
    state = conn.execute("SELECT backlog, failed, evaluated_at FROM health_state").fetchone()
    backlog, failed, evaluated_at = state if state else (None, None, None)
    series = tuple(
        SeriesMetric(*row)
        for row in conn.execute(
            "SELECT source, name, last_arrival, status = 'overdue' FROM report_series"
            " ORDER BY source, name"
        )
    )
    alerts = tuple(
        (kind, priority, state, n)
        for kind, priority, state, n in conn.execute(
            "SELECT kind, priority, state, count(*) FROM alerts WHERE state <> 'resolved'"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    )
    stale = conn.execute("SELECT stale_since IS NOT NULL FROM rollup_state").fetchone()
    return Snapshot(
        backlog,
        failed,
        evaluated_at,
        series,
        alerts,
        readings_estimate(conn),
        bool(stale[0]) if stale else True,  # no row: nothing can be assumed of the rollups
        replica(conn),
    )


def readings_estimate(conn: Conn) -> float:
    """pg_class.reltuples of readings (what ANALYZE and VACUUM last counted, kept on a standby
    too), summed over its partitions (autovacuum never analyses the parent; an empty one counts
    0); before either ever ran on a partition holding rows (-1), /health's count."""
    row = conn.execute(
        "SELECT sum(greatest(reltuples, 0)),"
        " bool_and(reltuples >= 0 OR pg_relation_size(oid) = 0)"
        f" FROM {ledger.READINGS_TABLES}"
    ).fetchone()
    if row is not None and row[1]:
        return float(row[0])
    return float(ledger.readings_count(conn))
