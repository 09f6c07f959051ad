"""What `energy-ingest status` reports: spool backlog, stranded and failed files, the ledger's last files."""

from __future__ import annotations

import os
from typing import Any

import psycopg

from energy_ingest.config import Settings
from energy_ingest.errors import EnergyError, first_line
from energy_ingest.spool import SOURCES, Spool, shown, takes
from energy_ingest.spool.stranded import stranded, walk_incoming
from energy_ingest.store import db
from energy_ingest.store.migrate import pending


def _backlog(spool: Spool) -> dict[str, int]:
    """Files the daemon will take, per source (a file directly in incoming/ is parsed as Siemens
    unless its content says otherwise)."""
    counts = dict.fromkeys(SOURCES, 0)
    for entry in walk_incoming(spool.root):
        if entry.stranded is None:
            counts[spool.source_of(entry.path) or "siemens"] += 1
    return counts


def _failed(spool: Spool, source: str) -> int:
    try:
        return sum(1 for e in os.scandir(spool.failed(source)) if e.is_file() and takes(e.name))
    except FileNotFoundError:
        return 0


def gather(settings: Settings, last: int = 10) -> dict[str, Any]:
    spool = Spool(settings.spool_dir)
    out: dict[str, Any] = {
        "spool": shown(spool.root.resolve()),
        "backlog": _backlog(spool),
        "stranded": [
            {"path": shown(s.path.relative_to(spool.root)), "why": s.why, "fix": s.fix}
            for s in stranded(spool.root)
        ],
        "failed": {s: _failed(spool, s) for s in SOURCES},
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
