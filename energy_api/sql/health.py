"""SQL for data health as the daemon's evaluator left it: alerts, report series, the summary of
/health; read only (energy_ingest.health writes these tables, the API never evaluates)."""

from __future__ import annotations

from typing import Any

from energy_api.sql.times import iso_sql
from energy_api.sql.where import Conn, Where, page

ALERT_KINDS = ("overdue", "stale", "building_stale", "flat", "out_of_range", "spike", "rule")
ALERT_STATES = ("pending", "firing", "resolved")
# /alerts?status=: open is what still needs looking at (pending or firing)
ALERT_STATUSES = {"open": ("pending", "firing"), "resolved": ("resolved",), "all": ALERT_STATES}
PRIORITIES = ("high", "normal")
SERIES_STATUSES = ("ok", "overdue", "historical", "unknown")

ALERT_KEYS = (
    "id",
    "kind",
    "subject",
    "priority",
    "state",
    "summary",
    "details",
    "link",
    "series_id",
    "point_id",
    "building",
    "opened_at",
    "fired_at",
    "last_seen",
    "resolved_at",
    "suppressed_by",
)
ALERT_COLUMNS = f"""
    a.id, a.kind, a.subject, a.priority, a.state, a.summary, a.details, a.link, a.series_id,
    a.point_id, b.code, {iso_sql("a.opened_at")}, {iso_sql("a.fired_at")},
    {iso_sql("a.last_seen")}, {iso_sql("a.resolved_at")}, a.suppressed_by
"""
ALERTS = "alerts a LEFT JOIN buildings b ON b.id = a.building_id"

SERIES_KEYS = (
    "id",
    "source",
    "name",
    "cadence_s",
    "last_run",
    "expected_next",
    "last_data",
    "last_arrival",
    "status",
    "files",
    "points",
    "overdue_s",
    "evaluated_at",
)
# overdue_s: how far past its expected next run an overdue series was when last evaluated (not at
# the request's clock: the answer is the evaluation's, so an ETag of it stays true)
SERIES_COLUMNS = f"""
    s.id, s.source, s.name, date_part('epoch', s.cadence), {iso_sql("s.last_run")},
    {iso_sql("s.expected_next")}, {iso_sql("s.last_data")}, {iso_sql("s.last_arrival")},
    s.status, s.files, (SELECT count(*) FROM series_points sp WHERE sp.series_id = s.id),
    CASE WHEN s.status = 'overdue' AND s.expected_next IS NOT NULL
        THEN greatest(0, floor(date_part('epoch', s.evaluated_at - s.expected_next)))::bigint
    END,
    {iso_sql("s.evaluated_at")}
"""


def list_alerts(
    conn: Conn,
    *,
    status: str,
    kind: str | None,
    priority: str | None,
    limit: int,
    offset: int,
) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    """(matching alerts, every alert's count by state, the page of them newest first)."""
    where = Where()
    where.add("a.state = ANY(%s)", list(ALERT_STATUSES[status]))
    where.equals("a.kind", kind)
    where.equals("a.priority", priority)
    counts = alert_counts(conn)
    # filtered by status alone, the page's total is a sum of the counts: no second count
    known = None if kind or priority else sum(counts[s] for s in ALERT_STATUSES[status])
    order = "a.opened_at DESC, a.id DESC"
    total, rows = page(
        conn, ALERTS, ALERT_COLUMNS, where, order, limit, offset, counted="alerts a", total=known
    )
    return total, counts, [dict(zip(ALERT_KEYS, row, strict=True)) for row in rows]


def alert_counts(conn: Conn) -> dict[str, int]:
    """Every alert by state, exact: the open ones (few) from the partial index alerts_open_key,
    the resolved ones (the history, which only grows) as every alert less those, one
    index-only count of the primary key rather than a read of every alert's row."""
    row = conn.execute(  # one statement: one snapshot, so the three add up
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'firing'),"
        " (SELECT count(*) FROM alerts) FROM alerts WHERE state <> 'resolved'"
    ).fetchone()
    pending, firing, every = row if row else (0, 0, 0)
    return {"pending": pending, "firing": firing, "resolved": every - pending - firing}


def get_alert(conn: Conn, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {ALERT_COLUMNS} FROM {ALERTS} WHERE a.id = %s", (alert_id,))
    found = row.fetchone()
    return dict(zip(ALERT_KEYS, found, strict=True)) if found else None


def list_series(conn: Conn, *, status: str | None, source: str | None) -> list[dict[str, Any]]:
    """Every report series (a campus has tens), by source and name."""
    where = Where()
    where.equals("s.status", status)
    where.equals("s.source", source)
    rows = conn.execute(
        f"SELECT {SERIES_COLUMNS} FROM report_series s WHERE {where.sql()}"
        " ORDER BY s.source, s.name, s.id",
        where.params,
    ).fetchall()
    return [series_dict(row) for row in rows]


def get_series(conn: Conn, series_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {SERIES_COLUMNS} FROM report_series s WHERE s.id = %s", (series_id,)
    ).fetchone()
    return series_dict(row) if row else None


def series_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    series = dict(zip(SERIES_KEYS, row, strict=True))
    seconds = series.pop("cadence_s")
    shown = {k: series[k] for k in ("id", "source", "name")}
    shown["cadence"] = iso_duration(seconds)
    shown["cadence_s"] = None if seconds is None else round(seconds)
    shown.update((k, v) for k, v in series.items() if k not in shown)
    return shown


def iso_duration(seconds: float | None) -> str | None:
    """ISO 8601 duration of whole seconds: 86400 → P1D, 900 → PT15M, 90061 → P1DT1H1M1S."""
    if seconds is None:
        return None
    days, rest = divmod(round(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date = f"{days}D" if days else ""
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not date and not time:
        return "PT0S"
    return f"P{date}" + (f"T{time}" if time else "")


def summary(conn: Conn, *, firing_shown: int = 3) -> dict[str, Any]:
    """What /health says of data health: firing alerts (by alerts_state_idx), the first high-
    priority unsuppressed ones, series by status, the last evaluation, and whether any file is
    in the ledger. Each part reads an index or a small table, never readings."""
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE priority = 'high'),"
        " count(*) FILTER (WHERE priority = 'high' AND suppressed_by IS NULL)"
        " FROM alerts WHERE state = 'firing'"
    ).fetchone()
    firing, high, loud = row if row else (0, 0, 0)
    summaries = [
        r[0]
        for r in conn.execute(
            "SELECT summary FROM alerts WHERE state = 'firing' AND priority = 'high'"
            " AND suppressed_by IS NULL ORDER BY fired_at, id LIMIT %s",
            (firing_shown,),
        )
    ]
    series = dict.fromkeys(("overdue", "ok", "historical"), 0)
    for status, n in conn.execute("SELECT status, count(*) FROM report_series GROUP BY status"):
        if status in series:
            series[status] = n
    state = conn.execute(
        "SELECT evaluated_at, (SELECT EXISTS (SELECT FROM files)), period_s FROM health_state"
    ).fetchone()
    return {
        "alerts": {"firing": firing, "high": high},
        "loud": loud,
        "loud_summaries": summaries,
        "series": series,
        "evaluated_at": state[0] if state else None,
        "files": bool(state and state[1]),
        "period_s": state[2] if state else None,  # the daemon's ENERGY_HEALTH_SECONDS
    }
