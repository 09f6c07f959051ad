"""The `energy-ingest` command line: library errors become one clear message and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from energy_ingest import db
from energy_ingest.check import check
from energy_ingest.config import Settings, configure_logging
from energy_ingest.embedded import EmbeddedPostgres
from energy_ingest.errors import EnergyError
from energy_ingest.migrate import migrate as apply_migrations

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn our own errors into `Error: <what, where, what to do>` and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EnergyError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Load Siemens Insight and ALC WebCTRL trend reports into PostgreSQL.

    Configuration comes from ENERGY_* environment variables (see README).
    """
    try:
        settings = Settings.from_env()
    except EnergyError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging(settings)
    ctx.obj = settings


@main.command()
@click.pass_obj
@friendly
def migrate(settings: Settings) -> None:
    """Bring the database schema up to date (safe to run again, or twice at once)."""
    with db.connect(db.database_url(settings)) as conn:
        done = apply_migrations(conn)
    if done:
        for name in done:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


@main.group()
def devdb() -> None:
    """The embedded development PostgreSQL under ./var/pgdata (when ENERGY_DATABASE_URL is unset)."""


@devdb.command("start")
@click.pass_obj
@friendly
def devdb_start(settings: Settings) -> None:
    """Start (or reuse) the embedded cluster and print its connection string."""
    click.echo(EmbeddedPostgres(settings.pgdata_dir).ensure_running())


@devdb.command("stop")
@click.pass_obj
@friendly
def devdb_stop(settings: Settings) -> None:
    """Stop the embedded cluster (its data stays in ./var/pgdata)."""
    EmbeddedPostgres(settings.pgdata_dir).stop()
    click.echo(f"stopped embedded PostgreSQL in {settings.pgdata_dir}")


main.add_command(check)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
