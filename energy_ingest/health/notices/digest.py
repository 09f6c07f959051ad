"""The daily digest: due once a day at ENERGY_DIGEST_HOUR local time; what it lists."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from energy_ingest.config import Settings
from energy_ingest.health.alert_rows import COLUMNS, Alert
from energy_ingest.health.notices import compose

Conn = psycopg.Connection[Any]


def digest_time(now: datetime, settings: Settings) -> datetime:
    """Today's (local) digest time."""
    zone = settings.zone
    return datetime.combine(now.astimezone(zone).date(), time(settings.digest_hour), tzinfo=zone)


def take(conn: Conn, now: datetime, settings: Settings) -> compose.Notice | None:
    """Today's digest if it is due and not yet taken, noting it as taken (in the caller's
    transaction); None when it is not due, or when there is nothing at all to say."""
    at = digest_time(now, settings)
    if now < at:
        return None
    (last,) = conn.execute("SELECT digest_at FROM health_state FOR UPDATE").fetchone() or (None,)
    if last is not None and last >= at:
        return None
    conn.execute("UPDATE health_state SET digest_at = %s", (now,))
    since = last if last is not None else at - timedelta(days=1)
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        # Suppressed alerts are left out (their overdue alert is listed) unless someone had been
        # told about them before they were suppressed.
        listed = "(suppressed_by IS NULL OR notified_at IS NOT NULL)"
        still_open = cur.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE state = 'firing' AND {listed}"
        ).fetchall()
        new = cur.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE fired_at > %s AND state <> 'pending' AND {listed}",
            (since,),
        ).fetchall()
        resolved = cur.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE state = 'resolved' AND resolved_at > %s"
            f" AND fired_at IS NOT NULL AND {listed}",
            (since,),
        ).fetchall()
    (suppressed,) = conn.execute(
        "SELECT count(*) FROM alerts WHERE state = 'firing' AND suppressed_by IS NOT NULL"
        " AND notified_at IS NULL"
    ).fetchone() or (0,)
    if not (still_open or new or resolved):
        return None
    return compose.digest(new, resolved, still_open, suppressed, since, now, settings)
