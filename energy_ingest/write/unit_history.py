"""Each point's earlier recording units (store/sql/0009_unit_history.sql): kept when an export
changes the unit the BAS reports, and each one's meaning and conversion into the point's current
unit, written whenever the point is resolved (write.resolution)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.catalog.units import fold

Conn = psycopg.Connection[Any]

# (point id, until, unit id, scale, shift): what an earlier unit means with the site applied
Meaning = tuple[int, datetime, int | None, float | None, float | None]


def recording_unit(defined: str | None, trend: str | None) -> str | None:
    """The unit the BAS reports for a point: its export's, else its trend report's."""
    return defined if defined and defined.strip() else trend


def changed(before: str | None, after: str | None) -> bool:
    """Whether the readings' unit moved from one unit string to another. A unit appearing or
    going (a point's first export, an export without one) is no new recording unit, nor is a
    respelling that folds alike (`DEG F`, `deg  F`)."""
    if not (before and before.strip() and after and after.strip()):
        return False
    return fold(before) != fold(after)


def keep_earlier(conn: Conn, earlier: list[tuple[int, str]], file_id: int) -> None:
    """Keep each point's earlier unit (point id, unit string) until this second, the load of
    the export `file_id` that changed it. A second change within the same second leaves the
    row: the unit in between applied to no time."""
    if not earlier:
        return
    ids = [pid for pid, _ in earlier]
    conn.execute(
        "INSERT INTO unit_history (point_id, until, unit, changed_by)"
        " SELECT t.id, date_trunc('second', now()), t.unit, %s"
        " FROM unnest(%s::int[], %s::text[]) AS t(id, unit)"
        " ON CONFLICT (point_id, until) DO NOTHING",
        (file_id, ids, [unit for _, unit in earlier]),
    )
    conn.execute(
        "UPDATE points SET unit_since = date_trunc('second', now()) WHERE id = ANY(%s)", (ids,)
    )


def earlier_units(conn: Conn, ids: Iterable[int] | None) -> dict[int, list[tuple[datetime, str]]]:
    """The earlier units (until, unit string) of the points `ids` (None: of all), oldest first."""
    query = "SELECT point_id, until, unit FROM unit_history"
    if ids is None:
        rows = conn.execute(query + " ORDER BY point_id, until").fetchall()
    else:
        rows = conn.execute(
            query + " WHERE point_id = ANY(%s) ORDER BY point_id, until", (list(ids),)
        ).fetchall()
    found: dict[int, list[tuple[datetime, str]]] = {}
    for pid, until, unit in rows:
        found.setdefault(pid, []).append((until, unit))
    return found


def write_meanings(conn: Conn, meanings: list[Meaning]) -> None:
    """Each earlier unit's meaning and conversion into its point's current unit, where changed."""
    if not meanings:
        return
    conn.execute(
        """
        UPDATE unit_history h SET unit_id = t.unit_id, scale = t.scale, shift = t.shift
        FROM unnest(%s::int[], %s::timestamptz[], %s::int[], %s::float8[], %s::float8[])
            AS t(point_id, until, unit_id, scale, shift)
        WHERE h.point_id = t.point_id AND h.until = t.until
            AND (h.unit_id, h.scale, h.shift) IS DISTINCT FROM (t.unit_id, t.scale, t.shift)
        """,
        tuple(list(column) for column in zip(*meanings, strict=True)),
    )
