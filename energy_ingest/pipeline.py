"""One file end to end, shared by the daemon and `energy-ingest import`: hash, parse, load, describe."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import psycopg

from energy_ingest.catalog.exports.point_export import PointExport
from energy_ingest.formats.report import Report
from energy_ingest.localtime import span
from energy_ingest.parsing import parse_file
from energy_ingest.spool import printable_name
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.importer import ExportResult, import_export
from energy_ingest.write.ledger import FileInfo, first_warnings
from energy_ingest.write.readings import LoadResult, load_report

SHOW_REJECTS = 3  # rejected rows shown with their line and reason; the ledger keeps more
SHOW_WARNINGS = 20  # warnings shown per file; the ledger keeps more


@dataclass
class Loaded:
    report: Report | PointExport
    result: LoadResult | ExportResult
    info: FileInfo


def describe_file(fp: BinaryIO, path: Path, source: str, rel: str | None = None) -> FileInfo:
    """sha256 of the whole file, its size and mtime (read through the already open `fp`); the
    name and path as `spool.printable_name` writes them (any bytes, safe to store and log)."""
    digest = hashlib.sha256()
    fp.seek(0)
    size = 0
    while block := fp.read(1 << 20):
        digest.update(block)
        size += len(block)
    fp.seek(0)
    mtime = os.fstat(fp.fileno()).st_mtime
    return FileInfo(
        sha256=digest.hexdigest(),
        name=printable_name(path.name),
        source=source,
        size=size,
        path=rel if rel is not None else printable_name(path),
        received_at=datetime.fromtimestamp(mtime, UTC),
    )


def parse_and_load(
    conn: psycopg.Connection[Any],
    fp: BinaryIO,
    info: FileInfo,
    *,
    tz: str,
    hint: str | None,
    site: AppliedSite | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    still_same: Callable[[], bool] = lambda: True,
) -> Loaded:
    """Parse `fp` and load it; raises ParseError for a bad file, psycopg errors for the database."""
    report = parse_file(fp, info.name, tz=tz, hint=hint)
    return load(
        conn, report, info, tz=tz, site=site, should_stop=should_stop, still_same=still_same
    )


def load(
    conn: psycopg.Connection[Any],
    report: Report | PointExport,
    info: FileInfo,
    *,
    tz: str,
    site: AppliedSite | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    still_same: Callable[[], bool] = lambda: True,
) -> Loaded:
    """A trend report's readings, or a point export into the catalog: one transaction; new
    points are resolved with `site` (the process's copy of the applied site file). The file's
    source is its content's, not its folder's; `tz` is the zone of the times its notes name."""
    info.source = report.source
    if isinstance(report, PointExport):
        result = import_export(conn, report, info, site=site, still_same=still_same)
        return Loaded(report, result, info)
    loaded = load_report(
        conn, report, info, zone=tz, site=site, should_stop=should_stop, still_same=still_same
    )
    return Loaded(report, loaded, info)


def summary(loaded: Loaded, tz: str, label: str) -> str:
    """The one log line of a file: what loading or importing it did, or that it was a duplicate."""
    r, report = loaded.result, loaded.report
    if r.status == "duplicate":
        return f"duplicate {label}: byte-identical to a file already ingested (ledger id {r.file_id}); nothing changed"
    return r.summary(label, report.format, time_span(report.first_ts, report.last_ts, tz))


def notes(loaded: Loaded) -> list[tuple[int, str]]:
    """What else an ingested file's parse and load found worth saying, after its `summary`, as
    (logging level, text): the rows rejected with the first reasons, the parser's warnings (a
    missing End of Report footer, in-file duplicates, …) and the load's (stored values changed,
    …). The one rule for the daemon's log and `import`; each line is said as `<label>: <text>`."""
    report, result = loaded.report, loaded.result
    if result.status != "ingested":
        return []
    out = []
    if report.rejected:
        shown = "; ".join(f"line {r.line}: {r.reason}" for r in report.rejects[:SHOW_REJECTS])
        more = report.rejected - min(SHOW_REJECTS, len(report.rejects))
        out.append(
            (
                logging.WARNING,
                f"{report.rejected} rows rejected — {shown}"
                + (f" (and {more} more)" if more > 0 else ""),
            )
        )
    out += [(logging.WARNING, w) for w in first_warnings(report.warnings, SHOW_WARNINGS)]
    return out + result.notes()


def warning_count(loaded: Loaded) -> int:
    """How many warnings a file gave (its rejected rows aside): the parser's and the load's."""
    if loaded.result.status != "ingested":
        return 0
    load_warnings = sum(level >= logging.WARNING for level, _ in loaded.result.notes())
    return len(loaded.report.warnings) + load_warnings


def time_span(first: pd.Timestamp | None, last: pd.Timestamp | None, tz: str) -> str:
    """The report's range in local time with its offset (energy_ingest.localtime.span)."""
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return ""
    return span(first.to_pydatetime(), last.to_pydatetime(), tz)
