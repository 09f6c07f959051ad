"""`energy-ingest retention`: raw readings older than ENERGY_RAW_RETENTION dropped, a yearly
partition at a time, their hourly, daily and monthly rollups kept (energy-retention.timer runs it
daily)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from energy_ingest.cli.boundary import friendly
from energy_ingest.config import Settings
from energy_ingest.localtime import local
from energy_ingest.store import db, partitions
from energy_ingest.store.migrate import require_current
from energy_ingest.store.rollup_state import read_state
from energy_ingest.write.rollup_rebuild import RollupError


@click.command(short_help="Drop raw readings older than ENERGY_RAW_RETENTION; keep their rollups.")
@click.option("--dry-run", is_flag=True, help="Say what would go; change nothing.")
@click.option(
    "--keep-tables",
    is_flag=True,
    help="Detach the partitions and keep them as <name>_detached (to dump or archive) instead.",
)
@click.pass_obj
@friendly
def retention(settings: Settings, dry_run: bool, keep_tables: bool) -> None:
    """Drop the yearly partitions of readings wholly older than ENERGY_RAW_RETENTION (e.g. 5y),
    keeping every hourly, daily and monthly rollup. Afterwards the API answers those years from
    the rollups (and refuses interval=raw there), and the loader refuses a file reaching back
    into them. Does nothing while ENERGY_RAW_RETENTION is unset."""
    years = settings.raw_retention_years
    if years is None:
        click.echo("ENERGY_RAW_RETENTION is not set: every raw reading is kept")
        return
    now = datetime.now(UTC)
    try:
        cutoff = now.replace(year=now.year - years)
    except ValueError:  # 29 February
        cutoff = now.replace(year=now.year - years, day=28)
    zone = settings.timezone
    click.echo(
        f"raw readings are kept {years} year{'s' * (years != 1)}: partitions wholly before"
        f" {local(cutoff, zone)} go"
    )
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        state = read_state(conn)
        conn.rollback()
        if state is not None and state.stale_since is not None:
            raise RollupError(
                "rollups are stale (readings were written outside the loader): run `energy-ingest"
                " rollups rebuild` first, or the raw readings' rollups would be lost with them"
            )
        if state is not None and state.day_zone != zone:
            raise RollupError(
                f"daily rollups are local to {state.day_zone}, not to ENERGY_TIMEZONE {zone}:"
                " run `energy-ingest rollups rebuild` first (it needs the raw readings)"
            )
        old = partitions.older_than(conn, cutoff)
        if not old:
            click.echo("nothing to drop")
        for part in old:
            size = f"about {part.readings:,} readings, {part.bytes / 2**30:.2f} GiB"
            if dry_run:
                click.echo(f"would drop {part.name} ({size})")
                continue
            kept = partitions.drop_raw(conn, part, keep_table=keep_tables)
            click.echo(
                f"{'detached' if kept else 'dropped'} {part.name} ({size})"
                + (f": kept as table {kept}" if kept else "")
            )
        state = read_state(conn)
        conn.rollback()
    since = state.raw_since if state is not None else None
    if since is not None:
        click.echo(
            f"raw readings are kept from {local(since, zone)}; the rollups keep every hour, day"
            " and month before it"
        )
