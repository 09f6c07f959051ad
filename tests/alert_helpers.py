"""Test helpers for alerts and notices: a small campus (buildings, report series, points) built
by INSERTs, findings made directly, and one evaluation as the daemon's evaluator runs it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import psycopg

from energy_ingest.config import Settings
from energy_ingest.health import alerts, outbox
from energy_ingest.health.alerts import Changes
from energy_ingest.health.findings import HIGH, NORMAL, Finding

Conn = psycopg.Connection[Any]

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
_files = count(1)


class Campus:
    """Rows the findings refer to, inserted and committed."""

    def __init__(self, conn: Conn):
        self.conn = conn

    def building(self, code: str, name: str = "") -> int:
        (bid,) = self.conn.execute(
            "INSERT INTO buildings (code, name) VALUES (%s, %s) RETURNING id", (code, name or code)
        ).fetchone() or (0,)
        self.conn.commit()
        return int(bid)

    def series(self, name: str, status: str = "ok") -> int:
        (sid,) = self.conn.execute(
            "INSERT INTO report_series (source, name, status) VALUES ('siemens', %s, %s)"
            " RETURNING id",
            (name, status),
        ).fetchone() or (0,)
        self.conn.commit()
        return int(sid)

    def points(self, building: int | None, series: list[int], names: list[str]) -> list[int]:
        """Points of a building, each carried by every series in `series`."""
        n = next(_files)
        (file_id,) = self.conn.execute(
            "INSERT INTO files (sha256, name, source, size_bytes, status)"
            " VALUES (%s, %s, 'siemens', 1, 'ingested') RETURNING id",
            (hashlib.sha256(str(n).encode()).hexdigest(), f"report{n}_12-07-26_06-00.csv"),
        ).fetchone() or (0,)
        ids = []
        for name in names:
            (pid,) = self.conn.execute(
                "INSERT INTO points (source, name, building_id) VALUES ('siemens', %s, %s)"
                " RETURNING id",
                (name, building),
            ).fetchone() or (0,)
            ids.append(int(pid))
            for sid in series:
                self.conn.execute(
                    "INSERT INTO series_points (series_id, point_id, file_id) VALUES (%s, %s, %s)",
                    (sid, pid, file_id),
                )
        self.conn.commit()
        return ids


def overdue(series_id: int, name: str = "boliou1") -> Finding:
    return Finding(
        kind="overdue",
        subject=f"series:{series_id}",
        priority=HIGH,
        summary=f"{name} (siemens) is overdue",
        details={"expected": "2026-12-07T08:00:00+00:00"},
        link=f"/api/v2/series/{series_id}",
        series_id=series_id,
    )


def stale(point_id: int, building_id: int | None = None, name: str = "") -> Finding:
    return Finding(
        kind="stale",
        subject=f"point:{point_id}",
        priority=NORMAL,
        summary=f"{name or point_id} is stale",
        link=f"/api/v2/points/{point_id}",
        point_id=point_id,
        building_id=building_id,
    )


def out_of_range(point_id: int, value: float = 212.0) -> Finding:
    return Finding(
        kind="out_of_range",
        subject=f"point:{point_id}",
        priority=NORMAL,
        summary=f"point {point_id} reads {value} °F, above 140",
        details={"value": value},
        link=f"/api/v2/points/{point_id}",
        point_id=point_id,
    )


def evaluate(
    conn: Conn, findings: list[Finding], now: datetime, settings: Settings, *, notify: bool = True
) -> Changes:
    """One evaluation as the integrator's evaluate.py runs it: update and queue in one
    transaction (commit), nothing delivered."""
    changes = alerts.update(conn, findings, now, settings)
    if notify:
        outbox.queue(conn, changes, now, settings)
    conn.commit()
    return changes


def alert_rows(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute("SELECT * FROM alerts ORDER BY id").fetchall()
    conn.commit()
    return rows
