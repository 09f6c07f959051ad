"""The ledger (`files`): one row per distinct file (sha256 unique), claimed by the transaction
that loads the file and completed with what loading it did, or marked failed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.formats.report import MAX_STATES, Reject

MAX_STORED_REJECTS = 200
MAX_STORED_WARNINGS = 100  # a header with thousands of odd lines must not flood the ledger


@dataclass
class FileInfo:
    """What the spool knows about a file before it is loaded."""

    sha256: str
    name: str
    source: str
    size: int
    path: str | None = None
    received_at: datetime | None = None


def record_failure(conn: psycopg.Connection[Any], info: FileInfo, error: str) -> None:
    """Note a file that could not be ingested (it is moved to failed/ by the caller)."""
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO files (sha256, name, path, source, size_bytes, status, received_at, error)
            VALUES (%s, %s, %s, %s, %s, 'failed', %s, %s)
            ON CONFLICT (sha256) DO UPDATE SET
                status = 'failed', error = EXCLUDED.error, name = EXCLUDED.name,
                path = EXCLUDED.path, ingested_at = now()
            WHERE files.status = 'failed'
            """,
            (info.sha256, info.name, info.path, info.source, info.size, info.received_at, error),
        )


def claim_ledger_row(
    conn: psycopg.Connection[Any], info: FileInfo
) -> tuple[int, bool, datetime | None]:
    """Insert the ledger row; (id, True, its first_ts) if the same bytes were ingested before."""
    row = conn.execute(
        """
        INSERT INTO files (sha256, name, path, source, size_bytes, status, received_at)
        VALUES (%s, %s, %s, %s, %s, 'ingested', %s)
        ON CONFLICT (sha256) DO NOTHING RETURNING id
        """,
        (info.sha256, info.name, info.path, info.source, info.size, info.received_at),
    ).fetchone()
    if row:
        return row[0], False, None
    old = conn.execute(
        "SELECT id, status, first_ts FROM files WHERE sha256 = %s FOR UPDATE", (info.sha256,)
    ).fetchone()
    assert old is not None
    if old[1] == "ingested":
        conn.execute(
            "UPDATE files SET duplicates_seen = duplicates_seen + 1 WHERE id = %s", (old[0],)
        )
        return old[0], True, old[2]
    # It failed before (and was retried): this attempt replaces that ledger row.
    conn.execute(
        "UPDATE files SET status = 'ingested', error = NULL, name = %s, path = %s,"
        " ingested_at = now() WHERE id = %s",
        (info.name, info.path, old[0]),
    )
    return old[0], False, None


def first_warnings(warnings: list[str], most: int) -> list[str]:
    """The first `most` warnings, and a last one that says how many more there were."""
    if len(warnings) <= most:
        return list(warnings)
    return [
        *warnings[:most],
        f"… and {len(warnings) - most} more warnings (energy-ingest check shows them all)",
    ]


def over_cap_warning(count: int) -> str:
    return (
        f"{count} values were not stored: their point already has {MAX_STATES} distinct text "
        "states, more than an enumeration has (a free-text trend?)"
    )


def complete_ledger_row(
    conn: psycopg.Connection[Any],
    file_id: int,
    *,
    format: str,
    points: int,
    rejected: int,
    rejects: list[Reject],
    warnings: list[str],
    footer: bool | None,
    seconds: float,
    counts: tuple[int, int, int, int] = (0, 0, 0, 0),  # readings, inserted, updated, unchanged
    missing: dict[str, int] | None = None,
    span: tuple[datetime | None, datetime | None] = (None, None),
    points_changed: tuple[int, int] = (0, 0),  # an export's points created, and changed
) -> None:
    """Fill in the ledger row a load claimed: what the file was and what loading it did."""
    missing = missing or {}
    stored = [{"line": r.line, "reason": r.reason} for r in rejects[:MAX_STORED_REJECTS]]
    conn.execute(
        """
        UPDATE files SET format = %s, points = %s, readings = %s, inserted = %s, updated = %s,
            unchanged = %s, missing_no_data = %s, missing_data_loss = %s, missing_blank = %s,
            missing_error = %s, rejected_rows = %s, rejects = %s, warnings = %s, footer = %s,
            first_ts = %s, last_ts = %s, duration_ms = %s, points_new = %s, points_changed = %s,
            committed_at = clock_timestamp()  -- as it commits (ingested_at: as it began)
        WHERE id = %s
        """,
        (
            format,
            points,
            *counts,
            missing.get("no_data", 0),
            missing.get("data_loss", 0),
            missing.get("blank", 0),
            missing.get("error", 0),
            rejected,
            json.dumps(stored),
            first_warnings(warnings, MAX_STORED_WARNINGS + 3),
            footer,
            *span,
            int(seconds * 1000),
            *points_changed,
            file_id,
        ),
    )


def link_series(conn: psycopg.Connection[Any], file_id: int, point_ids: list[int]) -> None:
    """Note that the file's report series carries these points (0010_health.sql): the series row
    is made the first time and counts the file (with data) and its newest data; each point's
    newest file of the series is this one. Call it after the ledger row is complete."""
    conn.execute(
        """
        WITH s AS (
            INSERT INTO report_series AS s (source, name, files, last_data)
            SELECT source, series, (last_ts IS NOT NULL)::int, last_ts FROM files
            WHERE id = %(file)s AND series IS NOT NULL
            ON CONFLICT (source, name) DO UPDATE
                SET files = s.files + EXCLUDED.files,
                    last_data = greatest(s.last_data, EXCLUDED.last_data)
            RETURNING id
        )
        INSERT INTO series_points (series_id, point_id, file_id)
        SELECT s.id, u.id, %(file)s FROM s, unnest(%(ids)s::int[]) AS u(id)
        ON CONFLICT (series_id, point_id) DO UPDATE SET file_id = EXCLUDED.file_id
        """,
        {"file": file_id, "ids": sorted(point_ids)},
    )
