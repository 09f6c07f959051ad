"""Retired points: an export supersedes an earlier one when it lists again at least half of the
points that earlier export still defines (a newer run of the same report, for its building,
panels or campus); the points the superseded export defined and this one leaves out (removed, or
renamed) are retired — never deleted, their readings kept, marked when and by which file. An
export that lists a point again makes it current (write.importer). Exports of other buildings or
other parts of a campus list none of each other's points, so they retire nothing of each other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def retire_superseded(conn: Conn, file_id: int, relisted: Mapping[int, int]) -> int:
    """Retire what the exports this one supersedes still define: `relisted` counts, per earlier
    export (its ledger id), the points this one listed again. How many it retired."""
    if not relisted:
        return 0
    left = conn.execute(
        "SELECT defined_in, count(*) FROM points WHERE defined_in = ANY(%s)"
        " AND retired_at IS NULL GROUP BY defined_in",
        (list(relisted),),
    ).fetchall()
    superseded = [earlier for earlier, n in left if relisted[earlier] >= n]
    if not superseded:
        return 0
    rows = conn.execute(
        "UPDATE points SET retired_at = now(), retired_by = %s, updated_at = now()"
        " WHERE defined_in = ANY(%s) AND retired_at IS NULL RETURNING id",
        (file_id, superseded),
    ).fetchall()
    return len(rows)
