"""`energy-ingest status`: backlog, files loading, unknown folders, stranded, failed, last files;
and `status --wait`: until the daemon has taken everything waiting in incoming/."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg

from energy_ingest.config import Settings
from energy_ingest.daemon.progress import in_progress
from energy_ingest.errors import EnergyError, first_line
from energy_ingest.file_kinds import SOURCES
from energy_ingest.health.evaluate import summary as health_summary
from energy_ingest.spool import Spool, is_report_name, printable_name, unknown_folder_advice
from energy_ingest.spool.stranded import stranded, walk_incoming
from energy_ingest.store import db
from energy_ingest.store.migrate import pending
from energy_ingest.store.rollup_state import read_state


def _backlog(spool: Spool) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Files the daemon will take, per source (a file directly in incoming/ is parsed as Siemens
    unless its content says otherwise); and the folders below incoming/ that are no source's,
    with the files waiting in each."""
    counts = dict.fromkeys(SOURCES, 0)
    waiting = dict.fromkeys(_unknown_folders(spool), 0)
    for entry in walk_incoming(spool.root):
        if entry.stranded is None:
            counts[spool.source_of(entry.path) or "siemens"] += 1
            folder = spool.unknown_folder(entry.path)
            if folder is not None:
                waiting[folder] = waiting.get(folder, 0) + 1
    unknown = [
        {"folder": f"incoming/{printable_name(f)}/", "files": n, "why": unknown_folder_advice(f)}
        for f, n in sorted(waiting.items())
    ]
    return counts, unknown


def _unknown_folders(spool: Spool) -> list[str]:
    """Folders directly below incoming/ that are no source's, even empty: the next drop there
    is misfiled too."""
    try:
        entries = list(os.scandir(spool.root / "incoming"))
    except FileNotFoundError:
        return []
    return [
        e.name
        for e in entries
        if e.is_dir(follow_symlinks=False)
        and spool.unknown_folder(Path(e.path) / "file") is not None  # as for a file in it
    ]


def failed_files(spool: Spool) -> int:
    """Files in failed/ (all sources)."""
    return sum(_failed(spool, s) for s in SOURCES)


def _failed(spool: Spool, source: str) -> int:
    try:
        return sum(
            1 for e in os.scandir(spool.failed(source)) if e.is_file() and is_report_name(e.name)
        )
    except FileNotFoundError:
        return 0


def gather(settings: Settings, last: int = 10) -> dict[str, Any]:
    spool = Spool(settings.spool_dir)
    backlog, unknown = _backlog(spool)
    out: dict[str, Any] = {
        "spool": printable_name(spool.root.resolve()),
        "backlog": backlog,
        "loading": in_progress(spool),
        "unknown_folders": unknown,
        "stranded": [
            {"path": printable_name(s.path.relative_to(spool.root)), "why": s.why, "fix": s.fix}
            for s in stranded(spool.root)
        ],
        "failed": {s: _failed(spool, s) for s in SOURCES},
        "database": {"reachable": False, "error": None},
        "last_files": [],
        "rollups": None,
        "health": None,
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
                state = read_state(conn)
                if state is not None:
                    out["rollups"] = state.as_dict(settings.timezone)
                out["health"] = health_summary(conn)
                out["database"]["reachable"] = True
    except (EnergyError, psycopg.Error) as exc:
        out["database"]["error"] = first_line(exc)
    return out


WAIT_STEP = 0.2  # seconds between two looks at the spool while `status --wait` waits


def wait_for_backlog(settings: Settings, seconds: float) -> int:
    """Wait until no file waits in incoming/ and none is being loaded (the daemon has taken, and
    committed or failed, everything that was there), at most `seconds`; the files still waiting
    then (0: done)."""
    spool = Spool(settings.spool_dir)
    deadline = time.monotonic() + seconds
    while True:
        waiting = sum(_backlog(spool)[0].values()) + len(in_progress(spool))
        if waiting == 0 or time.monotonic() >= deadline:
            return waiting
        time.sleep(WAIT_STEP)


def _last_files(conn: psycopg.Connection[Any], last: int) -> list[dict[str, Any]]:
    """The last files, newest first by when their transaction committed (`committed_at`;
    `ingested_at`, as before, when it began); a point export's `points_new` and
    `points_changed`: what it did to the catalog."""
    cur = conn.execute(
        """
        SELECT name, source, status, ingested_at, coalesce(committed_at, ingested_at) AS committed_at,
               format, points, points_new, points_changed, readings, inserted, updated,
               unchanged, rejected_rows, duplicates_seen, error
        FROM files ORDER BY coalesce(committed_at, ingested_at) DESC, id DESC LIMIT %s
        """,
        (last,),
    )
    names = [c.name for c in cur.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        for key in ("ingested_at", "committed_at"):
            row[key] = row[key].isoformat()  # with its offset
    return rows
