"""SQL for a point's gaps: spans of [start, end) longer than 1.5 × its interval without a reading,
found in one pass over its readings by the primary key (lag() gives each reading's previous)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_api.sql.times import iso_sql
from energy_api.sql.where import Conn

# Between two readings a and b, round((b - a) / interval) - 1 readings are missing; before the
# first reading, the readings that would fit from start on (floor); after the last, those that
# would fit before end, which is excluded (ceil - 1). No reading at all: one gap, start to end.
GAPS = f"""
WITH r AS (
    SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM readings
    WHERE point_id = %(id)s AND ts >= %(start)s AND ts < %(end)s
),
b AS (SELECT min(ts) AS first, max(ts) AS last FROM r),
g AS (
    SELECT prev AS s, ts AS e, round(date_part('epoch', ts - prev) / %(i)s) - 1 AS missing
    FROM r WHERE date_part('epoch', ts - prev) > 1.5 * %(i)s
    UNION ALL
    SELECT %(start)s, coalesce(first, %(end)s),
        floor(date_part('epoch', coalesce(first, %(end)s) - %(start)s) / %(i)s)
    FROM b WHERE date_part('epoch', coalesce(first, %(end)s) - %(start)s) > 1.5 * %(i)s
    UNION ALL
    SELECT last, %(end)s, ceil(date_part('epoch', %(end)s - last) / %(i)s) - 1
    FROM b WHERE date_part('epoch', %(end)s - last) > 1.5 * %(i)s
)
SELECT {iso_sql("g.s")}, {iso_sql("g.e")}, g.missing::bigint, date_part('epoch', g.e - g.s)
FROM g ORDER BY g.s LIMIT %(limit)s
"""
GAP_KEYS = ("start", "end", "missing", "duration_s")


def interval_of(conn: Conn, point_id: int) -> float | None:
    """The point's expected seconds between readings (points.interval_s; None: not known)."""
    row = conn.execute("SELECT interval_s FROM points WHERE id = %s", (point_id,)).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def gaps(
    conn: Conn, point_id: int, interval_s: float, start: datetime, end: datetime, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """(the first `limit` gaps in time order, whether there are more)."""
    params = {
        "id": point_id,
        "start": start,
        "end": end,
        "i": interval_s,
        "limit": limit + 1,
    }
    rows = conn.execute(GAPS, params).fetchall()
    found = [dict(zip(GAP_KEYS, row, strict=True)) for row in rows[:limit]]
    return found, len(rows) > limit
