"""What `energy-ingest status` reports: spool backlog and failures, the ledger's last files."""

from __future__ import annotations

import os
from typing import Any

import psycopg

from energy_ingest import db
from energy_ingest.config import Settings
from energy_ingest.errors import EnergyError, first_line
from energy_ingest.migrate import pending
from energy_ingest.spool import SOURCES, Spool, is_temporary


def _count(top: os.PathLike[str] | str, *, errors: bool = False) -> int:
    n = 0
    for _dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        n += sum(1 for f in filenames if not is_temporary(f) and f.endswith(".error") == errors)
    return n


def gather(settings: Settings, last: int = 10) -> dict[str, Any]:
    spool = Spool(settings.spool_dir)
    out: dict[str, Any] = {
        "spool": str(spool.root.resolve()),
        "backlog": {s: _count(spool.incoming(s)) for s in SOURCES},
        "failed": {s: _count(spool.failed(s)) for s in SOURCES},
        "database": {"reachable": False, "error": None},
        "last_files": [],
    }
    try:
        with db.connect(db.database_url(settings)) as conn:
            behind = pending(conn)
            if behind:
                out["database"]["error"] = (
                    f"schema is behind ({', '.join(m.name for m in behind)} not applied): "
                    "run `energy-ingest migrate`"
                )
            else:
                out["last_files"] = _last_files(conn, last)
                out["database"]["reachable"] = True
    except (EnergyError, psycopg.Error) as exc:
        out["database"]["error"] = first_line(exc)
    return out


def _last_files(conn: psycopg.Connection[Any], last: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        """
        SELECT name, source, status, ingested_at, readings, inserted, updated, unchanged,
               rejected_rows, duplicates_seen, error
        FROM files ORDER BY ingested_at DESC, id DESC LIMIT %s
        """,
        (last,),
    )
    names = [c.name for c in cur.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["ingested_at"] = row["ingested_at"].isoformat()
    return rows
