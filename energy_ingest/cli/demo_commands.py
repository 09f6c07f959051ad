"""`energy-ingest demo`: the demo campus (energy_ingest.demo) dropped into the spool, stage by
stage, and loaded by the daemon that watches it — or, when none is running, by the daemon's own
loop in this process until the files are in (as `energy-ingest run` would load them)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import click
import psycopg

from energy_ingest.cli.boundary import friendly
from energy_ingest.cli.health_commands import health_line
from energy_ingest.cli.status_lines import counted
from energy_ingest.config import Settings
from energy_ingest.daemon.activity import HEARTBEAT
from energy_ingest.demo import STAGES, DemoFile, demo_files
from energy_ingest.health.evaluate import summary as health_summary
from energy_ingest.spool import Spool, printable_name
from energy_ingest.spool.files import place
from energy_ingest.store import db
from energy_ingest.store.migrate import require_current

STALL_SECONDS = 60.0  # no file of the stage taken for this long: say so and stop
HEALTH_SECONDS = 30.0  # the daemon evaluates data health a second after its backlog empties


@click.command(short_help="Load a demo campus (a year of trends) through the spool and daemon.")
@click.option(
    "--files",
    "files_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only write the demo's files into this folder (siemens/, alc/); load nothing.",
)
@click.pass_obj
@friendly
def demo(settings: Settings, files_dir: Path | None) -> None:
    """Load a small demo campus: four buildings' point exports of both vendors, a year (2025)
    of 15-minute trends, the last days of a daily report that is now overdue, and a broken file.

    The files go into the spool's incoming/ folders (ENERGY_SPOOL_DIR) and the running daemon
    loads them; with no daemon running, this command runs its loop until they are in. Running
    it again is harmless: files already loaded are duplicates and are not dropped again.
    """
    started = time.monotonic()
    files = demo_files(datetime.now(UTC))
    if files_dir is not None:
        _write_files(files, files_dir)
        return
    with db.connect(db.database_url(settings), autocommit=True) as conn:
        require_current(conn)
        spool = Spool(settings.spool_dir)
        known = _in_ledger(conn, files)
        totals = _Totals()
        with _daemon(conn, settings, any(_sha(f) not in known for f in files)):
            for stage in STAGES:
                _load_stage(
                    conn, spool, [f for f in files if f.stage == stage], stage, known, totals
                )
            if totals.new:
                _wait_for_health(conn, totals.last_at)
        click.echo(f"health: {health_line(health_summary(conn), settings)}")
    click.echo(
        f"done: {len(files)} files ({totals.loaded} loaded, {totals.duplicate} already loaded, "
        f"{totals.failed} failed), {totals.readings:,} readings, "
        f"{time.monotonic() - started:.1f} s"
    )


def _sha(f: DemoFile) -> str:
    return sha256(f.data).hexdigest()


def _in_ledger(conn: psycopg.Connection[Any], files: list[DemoFile]) -> dict[str, str]:
    """The ledger's status (ingested, failed) of each demo file it has, by sha256."""
    rows = conn.execute(
        "SELECT sha256, status FROM files WHERE sha256 = ANY(%s)", ([_sha(f) for f in files],)
    )
    return {sha: status for sha, status in rows}


def _write_files(files: list[DemoFile], folder: Path) -> None:
    for f in files:
        (folder / f.source).mkdir(parents=True, exist_ok=True)
        (folder / f.source / f.name).write_bytes(f.data)
    size = sum(len(f.data) for f in files) / 1e6
    click.echo(
        f"wrote {len(files)} files ({size:.1f} MB, {sum(f.readings for f in files):,} readings) "
        f"to {printable_name(folder)}/siemens and /alc"
    )


@dataclasses.dataclass
class _Totals:
    loaded: int = 0
    duplicate: int = 0
    failed: int = 0
    readings: int = 0
    new: int = 0
    last_at: datetime | None = None


@contextlib.contextmanager
def _daemon(conn: psycopg.Connection[Any], settings: Settings, needed: bool) -> Iterator[None]:
    """The running daemon (a fresh row in ingest_activity), or the daemon's loop in a thread;
    none when nothing is to be loaded."""
    if not needed:
        yield
        return
    row = conn.execute(
        "SELECT host, pid FROM ingest_activity WHERE updated_at > now() - make_interval(secs => %s)"
        " ORDER BY updated_at DESC LIMIT 1",
        (3 * HEARTBEAT,),
    ).fetchone()
    if row is not None:
        click.echo(f"daemon: pid {row[1]} on {row[0]} is running; the files go to its spool")
        yield
        return
    from energy_ingest.daemon import Daemon

    click.echo("daemon: none is running; loading in this process, as `energy-ingest run` would")
    daemon = Daemon(dataclasses.replace(settings, settle_seconds=0.2))
    # Its lines per file and per alert: this command says the same in one line per stage.
    quiet = [logging.getLogger(f"energy_ingest.{name}") for name in ("daemon", "health")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    thread = threading.Thread(target=daemon.run, name="demo-daemon", daemon=True)
    thread.start()
    try:
        yield
    finally:
        daemon.stop.set()
        thread.join(timeout=30)
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _load_stage(
    conn: psycopg.Connection[Any],
    spool: Spool,
    files: list[DemoFile],
    stage: str,
    known: dict[str, str],
    totals: _Totals,
) -> None:
    """Drop the stage's files the ledger does not have, wait until they are taken, say how it went."""
    stage_started = time.monotonic()
    new = [f for f in files if _sha(f) not in known]
    old = [f for f in files if _sha(f) in known]
    totals.duplicate += sum(known[_sha(f)] == "ingested" for f in old)
    totals.failed += sum(known[_sha(f)] != "ingested" for f in old)
    if old:
        set_aside = (
            " (set aside in failed/ then)" if any(known[_sha(f)] != "ingested" for f in old) else ""
        )
        click.echo(
            f"{stage}: {counted(len(old), 'file')} already loaded{set_aside}: not dropped again"
        )
    if not new:
        return
    _wait_taken([_drop(spool, f) for f in new], stage)
    rows = conn.execute(
        "SELECT sha256, status, readings, points, error, coalesce(committed_at, ingested_at)"
        " FROM files WHERE sha256 = ANY(%s)",
        ([_sha(f) for f in new],),
    ).fetchall()
    loaded = [r for r in rows if r[1] == "ingested"]
    failed = [r for r in rows if r[1] != "ingested"]
    readings = sum(r[2] or 0 for r in loaded)
    totals.new += len(new)
    totals.loaded += len(loaded)
    totals.failed += len(new) - len(loaded)
    totals.readings += readings
    totals.last_at = max(filter(None, [totals.last_at, *(r[5] for r in rows)]), default=None)
    if loaded:
        what = f"{readings:,} readings" if readings else f"{sum(r[3] or 0 for r in loaded)} points"
        seconds = time.monotonic() - stage_started
        click.echo(f"{stage}: {counted(len(loaded), 'file')} loaded, {what}, {seconds:.1f} s")
    for r in failed:
        click.echo(f"{stage}: set aside in failed/: {r[4] or 'see its .error note'}")


def _drop(spool: Spool, f: DemoFile) -> Path:
    """Written beside the spool, then moved into incoming/ whole: the daemon never sees a part."""
    spool.tmp.mkdir(parents=True, exist_ok=True)
    tmp = spool.temp_path("demo")
    tmp.write_bytes(f.data)
    return place(tmp, spool.incoming(f.source), f.name)


def _wait_taken(paths: list[Path], stage: str) -> None:
    """Until the daemon has moved every one of `paths` out of incoming/ (archive/ or failed/)."""
    waiting = set(paths)
    progress = time.monotonic()
    while waiting:
        gone = {p for p in waiting if not os.path.lexists(p)}
        if gone:
            waiting -= gone
            progress = time.monotonic()
        elif time.monotonic() - progress > STALL_SECONDS:
            names = ", ".join(printable_name(p.name) for p in sorted(waiting)[:3])
            raise click.ClickException(
                f"{stage}: no file was taken for {STALL_SECONDS:.0f} s ({len(waiting)} still in "
                f"incoming/, e.g. {names}); is the daemon watching this spool (ENERGY_SPOOL_DIR)? "
                "`energy-ingest status` shows what it is doing"
            )
        time.sleep(0.05)


def _wait_for_health(conn: psycopg.Connection[Any], after: datetime | None) -> None:
    """Until data health was evaluated after the last file was loaded."""
    deadline = time.monotonic() + HEALTH_SECONDS
    while time.monotonic() < deadline:
        row = conn.execute("SELECT evaluated_at FROM health_state").fetchone()
        if row and row[0] is not None and (after is None or row[0] >= after):
            return
        time.sleep(0.1)
    click.echo(f"health: not evaluated within {HEALTH_SECONDS:.0f} s of the last file", err=True)
