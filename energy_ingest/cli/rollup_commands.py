"""`energy-ingest rollups status|rebuild`: whether rollups are complete; recompute them from
readings, for data loaded outside the loader (a psql COPY, a restore) or to move daily and monthly
rollups to a new ENERGY_TIMEZONE."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click
import psycopg

from energy_ingest.cli.boundary import friendly
from energy_ingest.cli.meter import meter
from energy_ingest.config import Settings, lookup_zone
from energy_ingest.store import db
from energy_ingest.store.migrate import require_current
from energy_ingest.store.rollup_state import read_state
from energy_ingest.write import rollup_rebuild


@click.group(short_help="Rollups: say whether they are complete; rebuild them from readings.")
def rollups() -> None:
    """Hourly, daily and monthly rollups of every point's readings, kept exact by the loader
    (docs/scaling.md). `rollups status` says whether they are complete; rebuild them after
    writing readings by other means (`rollups rebuild`)."""


@rollups.command("status", short_help="Say whether rollups are complete (exit status 3 if not).")
@click.pass_obj
@friendly
def rollups_status(settings: Settings) -> None:
    """Say whether the rollups are complete, as `energy-ingest status` does on its rollups line,
    and what to run if not; exit status 3 when they are stale (the API then answers from
    readings alone)."""
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        state = read_state(conn)
    if state is None:
        raise click.ClickException("no rollup state: run `energy-ingest migrate`")
    click.echo(state.describe(settings.timezone))
    if state.stale_since is not None:
        sys.exit(3)


@rollups.command(short_help="Recompute rollups from readings, with a progress bar.")
@click.option("--points", "names", multiple=True, metavar="NAME", help="Only this point (repeat).")
@click.option(
    "--since",
    metavar="WHEN",
    help="Only buckets from this date or instant on (ISO 8601; local in ENERGY_TIMEZONE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
@friendly
def rebuild(settings: Settings, names: tuple[str, ...], since: str | None, as_json: bool) -> None:
    """Recompute the rollups of every point (or those of --points) from readings, for all time
    (or from --since on). The API answers from readings alone until it is done; the loader may
    keep loading meanwhile."""
    start = _instant(since, settings.timezone) if since else None
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        ids = rollup_rebuild.point_ids(conn, names) if names else None
        done = metered(conn, settings, "rebuilding rollups", ids, start)
    if as_json:
        click.echo(json.dumps(done.__dict__, indent=2))
        return
    click.echo(
        f"rebuilt the rollups of {done.points:,} points ({done.readings:,} readings,"
        f" {done.hourly:,} hours) in {done.seconds:.1f} s; days are local to {done.day_zone}"
    )
    if not done.complete:
        click.echo(
            "still STALE: readings were written outside the loader meanwhile; rebuild again",
            err=True,
        )


def metered(
    conn: psycopg.Connection[Any],
    settings: Settings,
    label: str,
    ids: list[int] | None = None,
    start: datetime | None = None,
) -> rollup_rebuild.Rebuilt:
    """The rollup rebuild of points `ids` (None: all) from `start`, with a progress bar."""
    total = len(ids) if ids is not None else len(rollup_rebuild.point_ids(conn))

    def how_far(done: int, _: str) -> str:
        return f"{done:,} of {total:,} points"

    with meter(label, total, settings.progress_seconds, how_far) as progress:
        points = 0

        def batch_done(n: int) -> None:
            nonlocal points
            points += n
            progress.to(points, f"{points:,} points")

        return rollup_rebuild.rebuild(conn, settings.timezone, ids, start, batch_done)


def _instant(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or instant like 2024-11-03 or 2024-11-03T06:00-06:00",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=lookup_zone(timezone))
