"""SQL for GET /api/v2/ingest: what the ingest daemons say they are doing (table ingest_activity,
which each daemon keeps fresh: energy_ingest.daemon.activity) and what the spool looked like at
the last evaluation of data health (health_state). Read only; the API never reads the spool."""

from __future__ import annotations

from typing import Any

from energy_api.sql.times import iso_sql
from energy_api.sql.where import Conn

# A daemon writes its row at least every 5 s (every second or so while a file loads); one silent
# for this long was killed or is stuck, and what its row says is no longer true.
STALE_SECONDS = 30

DAEMON_KEYS = ("host", "pid", "started_at", "updated_at", "backlog")
LOADING_KEYS = (
    *("path", "size", "bytes_read", "percent", "values", "started_at", "updated_at"),
    *("host", "pid"),
)


def ingest(conn: Conn) -> dict[str, Any]:
    """The backlog (the live daemons' count, else the last evaluation's), the files in progress,
    the files in failed/ (at the last evaluation) and the live daemons."""
    rows = conn.execute(
        f"""
        SELECT host, pid, {iso_sql("started_at")}, {iso_sql("updated_at")}, backlog, path, size,
               bytes_read, percent, values_parsed, {iso_sql("file_started_at")}
        FROM ingest_activity
        WHERE updated_at >= now() - make_interval(secs => %s)
        ORDER BY updated_at DESC, daemon
        """,
        (STALE_SECONDS,),
    ).fetchall()
    daemons = [dict(zip(DAEMON_KEYS, row[:5], strict=True)) for row in rows]
    loading = sorted(
        (
            dict(zip(LOADING_KEYS, (*row[5:], row[3], row[0], row[1]), strict=True))
            for row in rows
            if row[5] is not None
        ),
        key=lambda f: (f["started_at"] or "", f["path"]),
    )
    state = conn.execute(
        f"SELECT backlog, failed, {iso_sql('evaluated_at')} FROM health_state"
    ).fetchone()
    backlog, failed, evaluated_at = state if state else (None, None, None)
    if daemons:
        # Daemons sharing a spool each count the same files: the largest count, not their sum.
        backlog = max(d["backlog"] for d in daemons)
        backlog_at = daemons[0]["updated_at"]
    else:
        backlog_at = evaluated_at if backlog is not None else None
    return {
        "backlog": backlog,
        "backlog_at": backlog_at,
        "failed": failed,
        "failed_at": evaluated_at if failed is not None else None,
        "loading": loading,
        "daemons": daemons,
        "stale_after_s": STALE_SECONDS,
    }
