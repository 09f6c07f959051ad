"""One evaluation of data health at a given time: series, points and rules → alerts → notices.

The checks, the alerts' changes, the notices they queue and health_state are one transaction;
the notices are sent after it commits (outbox.deliver), so a mail server that is down delays
them and loses nothing. Two daemons sharing a database do not evaluate at once: the second
skips (an advisory lock), and the next timer tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from energy_ingest.catalog.site import Site
from energy_ingest.config import Settings
from energy_ingest.health import alerts, outbox, points, rules, series

log = logging.getLogger("energy_ingest.health")

EVALUATION_LOCK = 0x656E6865616C7468  # 'enhealth': one evaluation at a time per database

# A digest of what the API shows of data health but the time of the evaluation: series, point
# statuses and intervals, open alerts, resolutions. changed_at moves only when it changes, so the
# API's cached answers (its ETags follow changed_at) stay valid across evaluations that found
# nothing new.
CHANGED = """
WITH d AS (
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', id, status, cadence, last_run, expected_next, files,
                                     last_file_id), ';' ORDER BY id) FROM report_series),
        (SELECT string_agg(concat_ws(',', point_id, status, since, details::text), ';'
                           ORDER BY point_id) FROM point_health),
        (SELECT string_agg(concat_ws(',', id, interval_s), ';' ORDER BY id) FROM points
         WHERE interval_s IS NOT NULL),
        (SELECT string_agg(concat_ws(',', id, state, priority, summary, details::text,
                                     suppressed_by, fired_at, notified_at), ';' ORDER BY id)
         FROM alerts WHERE state <> 'resolved'),
        (SELECT concat_ws(',', count(*), max(resolved_at)) FROM alerts))) AS digest
)
UPDATE health_state h
SET changed_at = CASE WHEN h.digest IS DISTINCT FROM d.digest THEN %(now)s ELSE h.changed_at END,
    digest = d.digest
FROM d
"""


@dataclass
class Evaluation:
    """What one evaluation did (`ran` False: another process was evaluating)."""

    at: datetime
    ran: bool = True
    seconds: float = 0.0
    findings: int = 0
    fired: int = 0
    resolved: int = 0
    queued: int = 0
    sent: int = 0
    unsent: int = 0
    overdue: int = 0  # series overdue now
    firing: int = 0  # alerts firing now (suppressed ones included)
    high: int = 0  # of them high priority and not suppressed

    def text(self) -> str:
        """For systemd's STATUS= and the daemon's log: 'alerts: 2 firing (1 high), 1 overdue'."""
        if not self.firing and not self.overdue:
            return "alerts: none"
        high = f" ({self.high} high)" if self.high else ""
        overdue = f", {self.overdue} series overdue" if self.overdue else ""
        return f"alerts: {self.firing} firing{high}{overdue}"


def evaluate(
    conn: psycopg.Connection[Any],
    settings: Settings,
    site: Callable[[psycopg.Connection[Any]], Site],  # the applied site, read in the evaluation
    now: datetime,
    *,
    spool: tuple[int, int] | None = None,  # (backlog, failed files) as the daemon sees them
    waiting: Sequence[tuple[str, str]] = (),  # (source, name) of each file in incoming/
    ping: Callable[[], None] = lambda: None,  # between notices sent: the systemd watchdog
) -> Evaluation:
    """Evaluate at `now`, then send what is due. `conn` must have no transaction open (the
    evaluation commits before anything is sent), and is left so."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("evaluate() needs a connection with no transaction open")
    started = time.monotonic()
    result = Evaluation(at=now)
    with conn.transaction():
        # A point row a loader holds would make the interval update wait: not for long.
        conn.execute("SET LOCAL lock_timeout = '10s'")
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (EVALUATION_LOCK,)).fetchone()
        if not (locked and locked[0]):
            result.ran = False
            return result
        applied = site(conn)
        findings = [
            *series.refresh(conn, now, settings.series_grace_seconds, waiting),
            *points.refresh(conn, applied, now),
            *rules.evaluate(conn, applied, now),
        ]
        changes = alerts.update(conn, findings, now, settings)
        result.findings = len(findings)
        result.fired, result.resolved = len(changes.fired), len(changes.resolved)
        result.queued = outbox.queue(conn, changes, now, settings)
        result.seconds = time.monotonic() - started
        backlog, failed = spool if spool is not None else (None, None)
        conn.execute(
            "UPDATE health_state SET evaluated_at = %s, evaluation_ms = %s, period_s = %s,"
            " backlog = coalesce(%s, backlog), failed = coalesce(%s, failed)",
            (now, round(result.seconds * 1000), settings.health_seconds, backlog, failed),
        )
        conn.execute(CHANGED, {"now": now})
        state = summary(conn)
        result.overdue = state["series"].get("overdue", 0)
        result.firing, result.high = state["alerts"]["firing"], state["alerts"]["high"]
    result.sent, result.unsent = outbox.deliver(conn, settings, now, ping=ping)
    result.seconds = time.monotonic() - started
    return result


def summary(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Data health as the last evaluation left it: when, the series by status, the open alerts
    (firing, pending, and firing high-priority ones nothing suppresses)."""
    row = conn.execute(
        """
        SELECT (SELECT evaluated_at FROM health_state),
               (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM report_series GROUP BY status) s),
               count(*) FILTER (WHERE state = 'firing'),
               count(*) FILTER (WHERE state = 'pending'),
               count(*) FILTER (WHERE state = 'firing' AND priority = 'high'
                                AND suppressed_by IS NULL)
        FROM alerts WHERE state <> 'resolved'
        """
    ).fetchone()
    assert row is not None
    evaluated, series_, firing, pending, high = row
    return {
        "evaluated_at": evaluated.isoformat() if evaluated else None,
        "series": series_,
        "alerts": {"firing": firing, "pending": pending, "high": high},
    }
