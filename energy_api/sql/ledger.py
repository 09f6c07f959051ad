"""SQL for the ingest ledger: files, health, and the watermark behind every ETag."""

from __future__ import annotations

from typing import Any

from energy_api.sql.replica import LAG_OR_NULL
from energy_api.sql.times import iso_sql
from energy_api.sql.where import Conn, Where, page

# readings up to this size (~100,000 rows) are counted exactly for /health, larger ones estimated
EXACT_COUNT_BYTES = 8 * 1024 * 1024
# The tables that hold readings: readings itself, or its partitions when it is partitioned
# (docs/scaling.md; pg_partition_tree lists none for a plain table, the parent has no rows)
READINGS_TABLES = (
    "pg_class WHERE relkind = 'r' AND (oid = 'readings'::regclass"
    " OR oid IN (SELECT relid FROM pg_partition_tree('readings')))"
)

FILE_KEYS = (
    "id",
    "sha256",
    "name",
    "path",
    "source",
    "format",
    "size_bytes",
    "status",
    "received_at",
    "ingested_at",
    "duration_ms",
    "points",
    "readings",
    "inserted",
    "updated",
    "unchanged",
    "missing_no_data",
    "missing_data_loss",
    "missing_blank",
    "missing_error",
    "rejected_rows",
    "rejects",
    "warnings",
    "first_ts",
    "last_ts",
    "duplicates_seen",
    "error",
)
_TIME_KEYS = {"received_at", "ingested_at", "first_ts", "last_ts"}
FILE_COLUMNS = ", ".join(iso_sql(k) if k in _TIME_KEYS else k for k in FILE_KEYS)


def list_files(
    conn: Conn, *, status: str | None, source: str | None, limit: int, offset: int
) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    where = Where()
    where.equals("status", status)
    where.equals("source", source)
    counts = file_counts(conn)
    # without a source the page's total is one of the counts, not a second count of the ledger
    known = None if source else counts[status] if status else sum(counts.values())
    order = "ingested_at DESC, id DESC"
    total, rows = page(conn, "files", FILE_COLUMNS, where, order, limit, offset, total=known)
    return total, counts, [dict(zip(FILE_KEYS, row, strict=True)) for row in rows]


def file_counts(conn: Conn) -> dict[str, int]:
    """The ledger's files by status (ingested or failed: the only two), exact, in one index-only
    count of every file and a range of files_status_idx for the few failed ones, rather than a
    count of each status over the whole ledger."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM files WHERE status = 'failed')"
    ).fetchone()
    every, failed = row if row else (0, 0)
    return {"ingested": every - failed, "failed": failed}


def watermark(conn: Conn, *, evaluations: bool = False) -> tuple[str, Any, float | None]:
    """What changes whenever the ingest commits a file, `catalog apply` re-resolves the catalog or
    an evaluation of data health changes what it shows (health_state.changed_at; with
    `evaluations`, every evaluation: for answers that show its time): (max(files.id),
    max(ingested_at), the applied site file, the health mark) as text, the latest instant, and
    on a hot standby its replay lag in seconds (None on a primary; sql.replica)."""
    column = "h.evaluated_at" if evaluations else "h.changed_at"
    row = conn.execute(
        f"SELECT f.max_id, f.max_at, s.sha256, s.applied_at, {column}, {LAG_OR_NULL}"
        " FROM (SELECT max(id) AS max_id, max(ingested_at) AS max_at FROM files) f"
        " LEFT JOIN catalog_site s ON true LEFT JOIN health_state h ON true"
    ).fetchone()
    if row is None:
        return "", None, None
    max_id, max_at, sha256, applied_at, health_at, lag = row
    instants = [t for t in (max_at, applied_at, health_at) if t is not None]
    mark = f"{max_id}|{max_at}|{sha256}|{applied_at}|{health_at}"
    return mark, max(instants) if instants else None, None if lag is None else float(lag)


def health(conn: Conn) -> dict[str, Any]:
    """Last ingest, the latest file's status, and the readings count (estimated when large)."""
    last = conn.execute(
        f"SELECT {iso_sql('ingested_at')}, status FROM files ORDER BY ingested_at DESC, id DESC LIMIT 1"
    ).fetchone()
    return {
        "last_ingest": last[0] if last else None,
        "last_status": last[1] if last else None,
        "readings": readings_count(conn),
    }


def readings_count(conn: Conn) -> int:
    """Exact while readings is small (counting it is then as cheap as planning), else the
    planner's estimate, partition by partition: it never scans the table, and it holds before
    the first ANALYZE too (reltuples -1), scaled from the table's current size as the planner
    does. An empty partition (next year's, made ahead) counts 0, not the ten pages the planner
    assumes of a table never analysed."""
    parts = conn.execute(
        "SELECT oid::regclass::text, reltuples, relpages,"
        " pg_relation_size(oid) / current_setting('block_size')::int, pg_relation_size(oid)"
        f" FROM {READINGS_TABLES}"
    ).fetchall()
    if sum(p[4] for p in parts) <= EXACT_COUNT_BYTES:
        exact = conn.execute("SELECT count(*) FROM readings").fetchone()
        return int(exact[0]) if exact else 0
    total = 0.0
    for name, tuples, pages, now_pages, _ in parts:
        if now_pages == 0:
            continue
        if tuples >= 0 and pages > 0:
            total += tuples / pages * now_pages
        else:
            plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT FROM {name}").fetchone()
            total += plan[0][0]["Plan"]["Plan Rows"] if plan else 0
    return int(total)
