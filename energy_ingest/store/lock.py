"""The writers' lock: trend loads, export imports, site applications and rollup rebuilds
serialise on one advisory lock held for their transaction — an import may reorder a point's
states, which the readings index, and a load recomputes rollups from what readings holds.
A rebuild's batches take it shared: two of them (of other points) run at once, no writer
meanwhile."""

from __future__ import annotations

from typing import Any

import psycopg

WRITERS_LOCK = 0x636174616C6F67  # "catalog"


def lock_writers(conn: psycopg.Connection[Any], *, shared: bool = False) -> None:
    """The writers' lock, held until the transaction ends."""
    if shared:
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITERS_LOCK,))
    else:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITERS_LOCK,))
