"""The `energy-ingest` command line: library errors become one clear message and an exit code.

catalog_commands.py  `energy-ingest catalog` (apply, coverage, show)
catalog_report.py    what `catalog coverage` and `show` read from the catalog
rollup_commands.py   `energy-ingest rollups status|rebuild`
import_command.py    `energy-ingest import`
meter.py             how far a long command got: a bar on a terminal, a line now and then off one
psql_command.py      `energy-ingest psql`
retention_command.py `energy-ingest retention`
health_commands.py   `energy-ingest series` and `alerts`
demo_commands.py     `energy-ingest demo`: the demo campus through the spool and daemon
boundary.py          the one error boundary: our errors and the database's become one line
"""

from __future__ import annotations

import contextlib
import json
import stat
import sys
from pathlib import Path
from typing import Any

import click
import psycopg

from energy_ingest.check import check
from energy_ingest.cli.boundary import friendly
from energy_ingest.cli.catalog_commands import catalog
from energy_ingest.cli.demo_commands import demo
from energy_ingest.cli.health_commands import alerts, health_line, series
from energy_ingest.cli.import_command import import_
from energy_ingest.cli.meter import Meter, meter
from energy_ingest.cli.psql_command import psql
from energy_ingest.cli.retention_command import retention
from energy_ingest.cli.rollup_commands import metered, rollups
from energy_ingest.cli.status_lines import last_file
from energy_ingest.config import Settings, configure_logging
from energy_ingest.errors import EnergyError
from energy_ingest.file_kinds import SOURCES
from energy_ingest.spool import NOTE_SUFFIX, Spool, is_report_name, printable_name
from energy_ingest.spool.files import place
from energy_ingest.store import db
from energy_ingest.store.embedded import EmbeddedPostgres
from energy_ingest.store.migrate import migrate as apply_migrations
from energy_ingest.write.rollup_rebuild import Rebuilt

WAIT_SECONDS = 60.0  # how long `status --wait` waits at most, by default


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="energy", prog_name="energy-ingest", message="%(prog)s %(version)s"
)
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


@main.command(short_help="Bring the database schema up to date.")
@click.pass_obj
@friendly
def migrate(settings: Settings) -> None:
    """Bring the database schema up to date (safe to run again, or twice at once): move readings
    into yearly partitions, and build the rollups of readings stored before rollups existed, each
    with a progress bar (a `migrate` stopped midway goes on from where it was when run again)."""
    built: list[Rebuilt] = []
    bars = contextlib.ExitStack()
    moving: Meter | None = None

    def moved(done: int, total: int) -> None:
        nonlocal moving
        if moving is None:
            moving = bars.enter_context(
                meter(
                    "moving readings into yearly partitions",
                    total,
                    settings.progress_seconds,
                    lambda n, _: f"{n:,} of about {total:,} readings",
                )
            )
        moving.to(done)

    def build(conn: psycopg.Connection[Any]) -> None:
        bars.close()
        built.append(metered(conn, settings, "building rollups"))

    with bars, db.connect(db.database_url(settings)) as conn:
        done = apply_migrations(conn, settings.timezone, then=build, progress=moved)
    for name in done:
        click.echo(f"applied {name}")
    for rollups_built in built:
        click.echo(
            f"built the rollups of {rollups_built.points:,} points ({rollups_built.readings:,}"
            f" readings) in {rollups_built.seconds:.1f} s; days are local to"
            f" {rollups_built.day_zone}"
        )
    if not done and not built:
        click.echo("database is up to date")


@main.group(short_help="Start, stop or delete the embedded development PostgreSQL.")
def devdb() -> None:
    """The embedded development PostgreSQL under ./var/pgdata (when ENERGY_DATABASE_URL is unset).

    Only `devdb start` (and `make run`) create or start it; other commands use it while it runs.
    """


@devdb.command("start", short_help="Create or start the cluster; print its connection string.")
@click.pass_obj
@friendly
def devdb_start(settings: Settings) -> None:
    """Create or start the embedded cluster as needed and print its connection string."""
    click.echo(EmbeddedPostgres(settings.pgdata_dir).ensure_running())


@devdb.command("status", short_help="Say whether the cluster runs (exit status 3 if not).")
@click.pass_obj
@friendly
def devdb_status(settings: Settings) -> None:
    """Say whether the embedded cluster runs, and where; exit status 3 when it does not."""
    cluster = EmbeddedPostgres(settings.pgdata_dir)
    if cluster.is_running():
        click.echo(f"running in {cluster.where()}: {cluster.conninfo()}")
    elif cluster.exists():
        click.echo(f"not running: the development cluster in {cluster.where()}")
        sys.exit(3)
    else:
        click.echo(f"not running: there is no development cluster in {cluster.where()}")
        sys.exit(3)


@devdb.command("stop", short_help="Stop the cluster; its data stays.")
@click.pass_obj
@friendly
def devdb_stop(settings: Settings) -> None:
    """Stop the embedded cluster (its data stays where it is)."""
    cluster = EmbeddedPostgres(settings.pgdata_dir)
    if not cluster.exists():
        click.echo(f"nothing to stop: there is no development cluster in {cluster.where()}")
    elif cluster.stop():
        click.echo(f"stopped embedded PostgreSQL in {cluster.where()}")
    else:
        click.echo(f"embedded PostgreSQL in {cluster.where()} was not running")


@devdb.command("delete", short_help="Stop the cluster and delete all its data.")
@click.pass_obj
@friendly
def devdb_delete(settings: Settings) -> None:
    """Stop the embedded cluster and delete it with all its data (`make clean` does this)."""
    cluster = EmbeddedPostgres(settings.pgdata_dir)
    if cluster.delete():
        click.echo(f"deleted embedded PostgreSQL in {cluster.where()}")
    else:
        click.echo(f"nothing to delete: there is no development cluster in {cluster.where()}")


@main.command(short_help="Run the ingest daemon: watch the spool, load each file once.")
@click.pass_obj
@friendly
def run(settings: Settings) -> None:
    """Run the ingest daemon: watch the spool and load every complete file once.

    Runs in the foreground (systemd Type=notify); SIGTERM or Ctrl-C stops it cleanly.
    """
    from energy_ingest.daemon import Daemon

    sys.exit(Daemon(settings).run())


@main.command(short_help="Show the backlog, failed files, database and last files.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--last", default=10, show_default=True, help="How many recent files to show.")
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0),
    is_flag=False,
    flag_value=WAIT_SECONDS,
    default=None,
    metavar="[SECONDS]",
    help=f"First wait until the daemon has taken every file in incoming/ (at most SECONDS,"
    f" default {WAIT_SECONDS:g}); exit 1 if it has not by then.",
)
@click.pass_obj
@friendly
def status(settings: Settings, as_json: bool, last: int, wait: float | None) -> None:
    """Show the backlog, failed files, database reachability and the last files ingested.

    With --wait, first wait until no file waits in incoming/ and none is loading: what was
    uploaded is then committed (or failed) and can be read.
    """
    from energy_ingest.daemon.status import gather, wait_for_backlog

    waiting = wait_for_backlog(settings, wait) if wait is not None else 0
    info = gather(settings, last)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        database = info["database"]
        click.echo(
            f"database  {'reachable' if database['reachable'] else 'UNREACHABLE: ' + str(database['error'])}"
        )
        click.echo(f"spool     {info['spool']}")
        click.echo("backlog   " + ", ".join(f"{s} {n}" for s, n in info["backlog"].items()))
        for f in info["loading"]:
            click.echo(
                f"loading   {f['path']}: {f['percent']}% of {f['size'] / 1e6:,.1f} MB read, "
                f"{f['values']:,} values, {f['seconds']:.0f} s (pid {f['pid']})"
            )
        for folder in info["unknown_folders"]:
            files = folder["files"]
            click.echo(
                f"unknown   {folder['why']} ({files} {'file waits' if files == 1 else 'files wait'})"
            )
        if info["stranded"]:
            count = len(info["stranded"])
            click.echo(
                f"stranded  {count} {'file' if count == 1 else 'files'} the daemon will never take:"
            )
        for item in info["stranded"]:
            click.echo(f"  {item['path']}: {item['why']} — {item['fix']}")
        failed = ", ".join(f"{s} {n}" for s, n in info["failed"].items())
        hint = (
            "   (see failed/*/<name>.error; energy-ingest retry --all)"
            if any(info["failed"].values())
            else ""
        )
        click.echo(f"failed    {failed}{hint}")
        if info["rollups"]:
            click.echo(f"rollups   {info['rollups']['summary']}")
        if info["health"]:
            click.echo(f"health    {health_line(info['health'], settings)}")
        if info["last_files"]:
            click.echo("last files")
        for f in info["last_files"]:
            click.echo(last_file(f, settings.timezone))
    if waiting:
        click.echo(
            f"timed out after {wait:g} s: {waiting} {'file still waits' if waiting == 1 else 'files still wait'}"
            " in incoming/ (is the daemon running? `energy-ingest run`, or under systemd"
            " `systemctl status energy-ingest`)",
            err=True,
        )
    if waiting or not info["database"]["reachable"]:
        sys.exit(1)


@main.command(short_help="Move failed files back to incoming/ to try them again.")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Retry every failed file.")
@click.pass_obj
@friendly
def retry(settings: Settings, names: tuple[str, ...], everything: bool) -> None:
    """Move failed files back to incoming/ so the daemon tries them again."""
    spool = Spool(settings.spool_dir)
    failed = {
        f"{source}/{printable_name(path.name)}": path
        for source in SOURCES
        if spool.failed(source).is_dir()
        for path in sorted(spool.failed(source).iterdir())
        if stat.S_ISREG(path.lstat().st_mode) and is_report_name(path.name)
    }
    if not names and not everything:
        raise click.UsageError(
            "name the failed files to retry (NAME or SOURCE/NAME), or pass --all"
        )
    wanted = list(failed) if everything else [_failed_key(name, failed) for name in names]
    for key in wanted:
        source = key.partition("/")[0]
        path = failed[key]
        target = _move_back(path, spool.incoming(source))
        click.echo(f"retrying {key} → incoming/{source}/{printable_name(target.name)}")
    if not wanted:
        click.echo("no failed files")


def _move_back(path: Path, incoming: Path) -> Path:
    """Drop the note first, then move the file: once the file is back, the daemon may fail it
    again at once, and the note it writes then is the one that must stay."""
    note = path.with_name(path.name + NOTE_SUFFIX)
    try:
        text = note.read_bytes()
    except FileNotFoundError:
        text = None
    try:
        note.unlink(missing_ok=True)
        return place(path, incoming, path.name)
    except OSError as exc:
        if text is not None and not note.exists():
            note.write_bytes(text)
        raise click.ClickException(f"could not move {printable_name(path)} back: {exc}") from exc


def _failed_key(name: str, failed: dict[str, Path]) -> str:
    """`siemens/x.csv` as given, or the one failed file called `x.csv` (ambiguous: say so).
    Names are matched as `status` and the notes show them (`spool.printable_name`) or as typed raw."""
    given = {name, printable_name(name)}
    matches = [k for k in failed if k in given or k.split("/", 1)[1] in given]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(failed) or "none"
    if not matches:
        raise click.ClickException(
            f"not in failed/: {printable_name(name)} (failed files: {listing})"
        )
    raise click.ClickException(
        f"{printable_name(name)} failed in several sources: say which, e.g. {matches[0]}"
    )


main.add_command(import_)
main.add_command(check)
main.add_command(catalog)
main.add_command(rollups)
main.add_command(series)
main.add_command(alerts)
main.add_command(demo)
main.add_command(psql)
main.add_command(retention)
