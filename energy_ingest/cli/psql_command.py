"""`energy-ingest psql`: psql on the database the processes use — ENERGY_DATABASE_URL, or the
embedded development cluster `make run` started — so no one has to find its URL."""

from __future__ import annotations

import glob
import os
import shutil

import click
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from energy_ingest.cli.boundary import friendly
from energy_ingest.config import Settings
from energy_ingest.store import db


@click.command(
    short_help="Run psql on the database the processes use.",
    # psql's own -h (a host) is not taken for help here
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": ["--help"],
    },
)
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED, metavar="[PSQL ARGS]...")
@click.pass_obj
@friendly
def psql(settings: Settings, psql_args: tuple[str, ...]) -> None:
    """Run psql on the database the daemon and the API use: ENERGY_DATABASE_URL, or else the
    embedded development cluster while it runs (`make run`, `devdb start`). PSQL ARGS go to
    psql as they are, e.g. `energy-ingest psql -c 'select count(*) from readings'`."""
    program = _psql()
    params = conninfo_to_dict(db.database_url(settings))
    password = params.pop("password", None)
    if password is not None:  # for psql alone, not on its command line where `ps` shows it
        os.putenv("PGPASSWORD", str(password))
    os.execv(program, [program, "--dbname", make_conninfo("", **params), *psql_args])


def _psql() -> str:
    found = shutil.which("psql") or max(glob.glob("/usr/lib/postgresql/*/bin/psql"), default=None)
    if found is None:
        raise click.ClickException(
            "psql is not installed: apt-get install postgresql-client (Debian, Ubuntu), "
            "then run this again"
        )
    return found
