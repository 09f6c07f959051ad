"""The alerts table's rows as `Alert` values: read the open ones, insert, write back changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from energy_ingest.health.findings import Finding

Conn = psycopg.Connection[Any]

COLUMNS = (
    "id, kind, subject, priority, state, summary, details, link, series_id, point_id,"
    " building_id, rule_id, opened_at, fired_at, last_seen, clear_since, resolved_at,"
    " notified_at, suppressed_by"
)


@dataclasses.dataclass(frozen=True)
class Alert:
    """One row of `alerts` (0011_alerts.sql). `state` is pending, firing or resolved; while an
    evaluation runs, 'deleted' marks a pending alert that is no longer found."""

    id: int
    kind: str
    subject: str
    priority: str
    state: str
    summary: str
    details: dict[str, Any]
    link: str | None
    series_id: int | None
    point_id: int | None
    building_id: int | None
    rule_id: int | None
    opened_at: datetime
    fired_at: datetime | None
    last_seen: datetime
    clear_since: datetime | None
    resolved_at: datetime | None
    notified_at: datetime | None
    suppressed_by: int | None


def lock(conn: Conn) -> None:
    """Serialize evaluations (two daemons on one database) until the transaction ends: the
    second sees the first's alerts instead of opening the same ones again."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('energy_ingest.health.alerts'))")


def open_alerts(conn: Conn) -> list[Alert]:
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(f"SELECT {COLUMNS} FROM alerts WHERE state <> 'resolved'").fetchall()


def insert(conn: Conn, findings: list[Finding], now: datetime) -> list[Alert]:
    """A pending alert for each finding, opened now."""
    if not findings:
        return []
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        cur.execute(
            f"""
            INSERT INTO alerts (kind, subject, priority, state, summary, details, link,
                series_id, point_id, building_id, rule_id, opened_at, last_seen)
            SELECT kind, subject, priority, 'pending', summary, details, link,
                series_id, point_id, building_id, rule_id, %(now)s, %(now)s
            FROM unnest(%(kind)s::text[], %(subject)s::text[], %(priority)s::text[],
                %(summary)s::text[], %(details)s::jsonb[], %(link)s::text[], %(series)s::int[],
                %(point)s::int[], %(building)s::int[], %(rule)s::int[])
                AS f(kind, subject, priority, summary, details, link, series_id, point_id,
                     building_id, rule_id)
            RETURNING {COLUMNS}
            """,
            {
                "now": now,
                "kind": [f.kind for f in findings],
                "subject": [f.subject for f in findings],
                "priority": [f.priority for f in findings],
                "summary": [f.summary for f in findings],
                "details": [Jsonb(f.details) for f in findings],
                "link": [f.link for f in findings],
                "series": [f.series_id for f in findings],
                "point": [f.point_id for f in findings],
                "building": [f.building_id for f in findings],
                "rule": [f.rule_id for f in findings],
            },
        )
        return cur.fetchall()


_WRITTEN = (
    "priority",
    "state",
    "summary",
    "details",
    "link",
    "series_id",
    "point_id",
    "building_id",
    "rule_id",
    "fired_at",
    "last_seen",
    "clear_since",
    "resolved_at",
    "suppressed_by",
)


def write(conn: Conn, stored: Mapping[Any, Alert], after: Mapping[Any, Alert]) -> None:
    """Store each alert that differs from its stored row; delete those marked 'deleted'."""
    gone = [a.id for a in after.values() if a.state == "deleted"]
    changed = [
        a
        for key, a in after.items()
        if a.state != "deleted" and any(getattr(a, c) != getattr(stored[key], c) for c in _WRITTEN)
    ]
    if gone:
        conn.execute("DELETE FROM alerts WHERE id = ANY(%s)", (gone,))
    if changed:
        columns = ", ".join(f"{c} = %({c})s" for c in _WRITTEN)
        with conn.cursor() as cur:
            cur.executemany(
                f"UPDATE alerts SET {columns} WHERE id = %(id)s",
                [
                    {c: getattr(a, c) for c in ("id", *_WRITTEN)} | {"details": Jsonb(a.details)}
                    for a in changed
                ],
            )


def mark_notified(conn: Conn, ids: Iterable[int], now: datetime) -> None:
    conn.execute("UPDATE alerts SET notified_at = %s WHERE id = ANY(%s)", (now, sorted(set(ids))))
