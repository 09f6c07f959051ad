"""Retired points: an export speaks for its scope — an ALC Points List for the buildings its
Locations name (`/Campus/Building`), a Siemens Point Definition report for the panels it lists —
and a point an earlier export of that scope defined and this one leaves out (removed, or
renamed) is retired: never deleted, its readings kept, marked when and by which file. An export
that lists it again makes it current (write.importer)."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from energy_ingest.catalog.exports.point_export import PointExport

Conn = psycopg.Connection[Any]

# The scope an export speaks for: the ALC Locations' first two segments (`/Campus/Building`) it
# lists, the Siemens panels it lists ('' for records without a Panel Name).
ALC_SCOPE = "substring(coalesce(p.location, '') from '^/?[^/]*/?[^/]*')"
SIEMENS_SCOPE = "coalesce(p.extras->>'panel', '')"


def retire_left_out(conn: Conn, export: PointExport, file_id: int) -> int:
    """Retire (never delete) the points an earlier export of this one's scope defined and this
    one no longer lists: when, and by which file. How many it retired."""
    if export.source == "alc":
        scopes = sorted({_alc_scope(loc) for loc in export.records["location"]})
        scope_sql = ALC_SCOPE
    else:
        scopes = sorted({panel or "" for panel in export.records["panel"]})
        scope_sql = SIEMENS_SCOPE
    if not scopes:
        return 0
    rows = conn.execute(
        f"""
        UPDATE points p SET retired_at = now(), retired_by = %s, updated_at = now()
        WHERE p.source = %s AND p.retired_at IS NULL AND p.defined_in IS NOT NULL
            AND p.defined_in <> %s AND {scope_sql} = ANY(%s)
        RETURNING p.id
        """,
        (file_id, export.source, file_id, scopes),
    ).fetchall()
    return len(rows)


def _alc_scope(location: str | None) -> str:
    """`/Carleton College/Hulings Hall/Facility Summary/Basement` → `/Carleton College/Hulings
    Hall` (as ALC_SCOPE computes it in SQL)."""
    match = re.match(r"^/?[^/]*/?[^/]*", location or "")
    return match.group(0) if match else ""
