"""`energy-ingest import`: report files or folders loaded where they lie, through the daemon's
loader and ledger, each file saying what the daemon's log says of it (pipeline.summary and
pipeline.notes), with progress by bytes and a summary that counts it all."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import psycopg

from energy_ingest.cli.boundary import friendly
from energy_ingest.cli.meter import meter
from energy_ingest.cli.status_lines import counted
from energy_ingest.config import Settings
from energy_ingest.errors import EnergyError, ParseError, SourceChanged, first_line
from energy_ingest.file_kinds import SOURCES
from energy_ingest.formats.source import HEAD_BYTES
from energy_ingest.parsing import recognised
from energy_ingest.pipeline import (
    Loaded,
    describe_file,
    notes,
    parse_and_load,
    summary,
    warning_count,
)
from energy_ingest.spool import printable_name
from energy_ingest.spool.files import NotRegularFile, open_regular
from energy_ingest.spool.stranded import Stranded, report_files
from energy_ingest.store import db
from energy_ingest.store.migrate import require_current
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.importer import ExportResult

log = logging.getLogger("energy_ingest.import")
NOT_A_REPORT = "not a trend report or point export (import reads only those)"


@dataclass
class Tally:
    """What the files did, for the summary line."""

    files: int = 0
    status: dict[str, int] = field(
        default_factory=lambda: {"ingested": 0, "duplicate": 0, "failed": 0}
    )
    skipped: int = 0
    readings: int = 0
    inserted: int = 0
    changed: int = 0
    points: int = 0  # of point exports
    points_new: int = 0
    points_changed: int = 0
    rejected: int = 0
    warnings: int = 0

    def add(self, loaded: Loaded) -> None:
        r = loaded.result
        self.status[r.status] += 1
        self.readings += r.readings
        self.inserted += r.inserted
        self.changed += r.changed_values
        if isinstance(r, ExportResult):
            self.points += r.points
            self.points_new += r.created
            self.points_changed += r.updated
        if r.status == "ingested":
            self.rejected += loaded.report.rejected
        self.warnings += warning_count(loaded)

    def line(self) -> str:
        """`imported 3 files: 2 ingested, 0 duplicate, 1 failed, 2 skipped; 576 readings (576 new,
        0 changed), 4 rejected rows, 1 warnings` (points only when an export was among them)."""
        s = self.status
        text = (
            f"imported {counted(self.files, 'file')}: {s['ingested']} ingested, {s['duplicate']} duplicate, "
            f"{s['failed']} failed, {self.skipped} skipped; {self.readings:,} readings "
            f"({self.inserted:,} new, {self.changed:,} changed)"
        )
        if self.points:
            text += (
                f", {self.points:,} points ({self.points_new:,} new,"
                f" {self.points_changed:,} changed)"
            )
        return (
            text
            + f", {counted(self.rejected, 'rejected row')}, {counted(self.warnings, 'warning')}"
        )


@click.command("import", short_help="Load report files or folders directly (backfill).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--source", type=click.Choice(SOURCES), help="Expected source (the content decides).")
@click.pass_obj
@friendly
def import_(settings: Settings, paths: tuple[Path, ...], source: str | None) -> None:
    """Load report files or folders directly (backfill), leaving them where they are.

    Uses the same loader and ledger as the daemon: a file already ingested is a duplicate. Below
    a folder, what is no report or point export (a README, a site file, a .error note) is
    skipped. Exit status 1 if any file failed.
    """
    tally = Tally()
    files = _files(paths, tally)
    if not files:
        raise click.ClickException(
            "no report files found under " + ", ".join(printable_name(p) for p in paths)
        )
    tally.files = len(files)
    problems: list[str] = []
    site = AppliedSite()  # the applied site file, parsed once for all the files
    sizes = [_size(path) for path in files]
    total = sum(sizes)

    def how_far(done: int, what: str) -> str:
        return f"{100 * done // max(total, 1)}% of {total / 1e6:,.1f} MB read ({what})"

    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        with meter("importing", total, settings.progress_seconds, how_far) as progress:
            before = 0
            for n, path in enumerate(files):
                name = printable_name(path)
                what = f"file {n + 1} of {len(files)}: {printable_name(path.name)}"

                def read(so_far: int, before: int = before, what: str = what) -> None:
                    progress.to(before + so_far, what)

                # The per-file boundary: whatever happens to one file, the others go on.
                try:
                    loaded = _import_one(conn, path, settings, source, site, read)
                except psycopg.Error as exc:
                    if conn.broken or conn.closed:
                        raise click.ClickException(
                            f"lost the database after {n} of {len(files)} files ({first_line(exc)}); "
                            "run the same command again: files already imported are skipped as duplicates"
                        ) from exc
                    problems.append(f"{name}: the database refused it: {first_line(exc)}")
                except Exception as exc:
                    problems.append(_problem(path, exc))
                else:
                    tally.add(loaded)
                    log.info("%s", summary(loaded, settings.timezone, name))
                    for level, note in notes(loaded):
                        log.log(level, "%s: %s", name, note)
                before += sizes[n]
                progress.to(before, what)
    tally.status["failed"] = len(problems)
    for problem in problems:
        click.echo(f"failed: {problem}", err=True)
    click.echo(tally.line())
    if problems:
        sys.exit(1)


def _files(paths: tuple[Path, ...], tally: Tally) -> list[Path]:
    """The files to import, each skipped one said in a line (and counted): below a folder, names
    the daemon would not take and files that are no report or point export, by their first bytes
    (a .csv is taken all the same: a broken report fails, it is not skipped). A file named on
    the command line is always read."""
    skipped: list[Stranded] = []
    named = {p for p in paths if not p.is_dir()}
    files = []
    for path in report_files(paths, skipped):
        if path in named or path.suffix.lower() == ".csv" or _recognised(path):
            files.append(path)
        else:
            click.echo(f"skipped {printable_name(path)}: {NOT_A_REPORT}", err=True)
            tally.skipped += 1
    for entry in skipped:
        click.echo(f"skipped {printable_name(entry.path)}: {entry.why}", err=True)
    tally.skipped += len(skipped)
    return files


def _recognised(path: Path) -> bool:
    """A file that cannot be opened is imported, to fail with the reason."""
    try:
        with os.fdopen(open_regular(path), "rb") as fp:
            return recognised(fp.read(HEAD_BYTES))
    except OSError:
        return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _import_one(
    conn: psycopg.Connection[Any],
    path: Path,
    settings: Settings,
    source: str | None,
    site: AppliedSite,
    read: Callable[[int], None],
) -> Loaded:
    # A file named on the command line may be a link the operator chose; below it, never.
    with os.fdopen(open_regular(path.resolve()), "rb") as fp:
        before = os.fstat(fp.fileno())

        def still_same() -> bool:
            now = os.fstat(fp.fileno())
            return (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

        def between_chunks() -> bool:
            read(os.lseek(fp.fileno(), 0, os.SEEK_CUR))
            return False

        info = describe_file(fp, path, source or "siemens")
        return parse_and_load(
            conn,
            fp,
            info,
            tz=settings.timezone,
            hint=source,
            site=site,
            should_stop=between_chunks,
            still_same=still_same,
        )


def _problem(path: Path, exc: Exception) -> str:
    """What went wrong with one imported file, for the summary."""
    name = printable_name(path)
    if isinstance(exc, ParseError):
        return exc.with_file(name).detailed()
    if isinstance(exc, SourceChanged):
        return f"{name}: it changed while it was being imported (rolled back); import it again once it is complete"
    if isinstance(exc, NotRegularFile):
        return f"{name}: not a regular file"
    if isinstance(exc, OSError):
        return f"{name}: cannot be read: {exc.strerror or exc}"
    if isinstance(exc, EnergyError):
        return f"{name}: {exc}"
    return f"{name}: internal error ({type(exc).__name__}: {exc}); please report it"
