"""The `energy-ingest` command line: library errors become one clear message and an exit code.

catalog_commands.py  `energy-ingest catalog` (apply, coverage, show)
catalog_report.py    what `catalog coverage` and `show` read from the catalog
rollup_commands.py   `energy-ingest rollups status|rebuild`
psql_command.py      `energy-ingest psql`
health_commands.py   `energy-ingest series` and `alerts`
boundary.py          the one error boundary: our errors and the database's become one line
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import psycopg

from energy_ingest.check import check
from energy_ingest.cli.boundary import friendly
from energy_ingest.cli.catalog_commands import catalog
from energy_ingest.cli.health_commands import alerts, health_line, series
from energy_ingest.cli.psql_command import psql
from energy_ingest.cli.rollup_commands import rollups
from energy_ingest.config import Settings, configure_logging
from energy_ingest.errors import EnergyError, ParseError, SourceChanged, first_line
from energy_ingest.file_kinds import SOURCES
from energy_ingest.pipeline import Loaded, describe_file, parse_and_load, summary
from energy_ingest.spool import NOTE_SUFFIX, Spool, is_report_name, printable_name
from energy_ingest.spool.files import NotRegularFile, open_regular, place
from energy_ingest.spool.stranded import Stranded, report_files
from energy_ingest.store import db
from energy_ingest.store.embedded import EmbeddedPostgres
from energy_ingest.store.migrate import migrate as apply_migrations
from energy_ingest.store.migrate import require_current
from energy_ingest.write.applied_site import AppliedSite

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


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
    """Bring the database schema up to date (safe to run again, or twice at once)."""
    with db.connect(db.database_url(settings)) as conn:
        done = apply_migrations(conn, settings.timezone)
    if done:
        for name in done:
            click.echo(f"applied {name}")
    else:
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


@main.command("import", short_help="Load report files or folders directly (backfill).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--source", type=click.Choice(SOURCES), help="Expected source (the content decides).")
@click.pass_obj
@friendly
def import_(settings: Settings, paths: tuple[Path, ...], source: str | None) -> None:
    """Load report files or folders directly (backfill), leaving them where they are.

    Uses the same loader and ledger as the daemon: a file already ingested is a duplicate.
    """
    skipped: list[Stranded] = []
    files = list(report_files(paths, skipped))
    for entry in skipped:
        click.echo(f"skipped {printable_name(entry.path)}: {entry.why}", err=True)
    if not files:
        raise click.ClickException(
            "no report files found under " + ", ".join(printable_name(p) for p in paths)
        )
    totals = {"ingested": 0, "duplicate": 0, "failed": 0}
    readings = inserted = updated = 0
    problems: list[str] = []
    site = AppliedSite()  # the applied site file, parsed once for all the files
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        with (
            click.progressbar(
                files, label="importing", file=sys.stderr, item_show_func=_name, width=BAR_WIDTH
            ) as bar,
            _logs_above(bar),
        ):
            for n, path in enumerate(bar):
                # The per-file boundary: whatever happens to one file, the others go on.
                try:
                    loaded = _import_one(conn, path, settings, source, site)
                except psycopg.Error as exc:
                    if conn.broken or conn.closed:
                        raise click.ClickException(
                            f"lost the database after {n} of {len(files)} files ({first_line(exc)}); "
                            "run the same command again: files already imported are skipped as duplicates"
                        ) from exc
                    problems.append(
                        f"{printable_name(path)}: the database refused it: {first_line(exc)}"
                    )
                except Exception as exc:
                    problems.append(_problem(path, exc))
                else:
                    totals[loaded.result.status] += 1
                    readings += loaded.result.readings
                    inserted += loaded.result.inserted
                    updated += loaded.result.changed_values
                    logging.getLogger("energy_ingest.import").info(
                        "%s", summary(loaded, settings.timezone, printable_name(path))
                    )
    totals["failed"] = len(problems)
    for problem in problems:
        click.echo(f"failed: {problem}", err=True)
    click.echo(
        f"imported {len(files)} files: {totals['ingested']} ingested, {totals['duplicate']} duplicate, "
        f"{totals['failed']} failed; {readings:,} readings ({inserted:,} new, {updated:,} changed)"
    )
    if problems:
        sys.exit(1)


def _import_one(
    conn: psycopg.Connection[Any],
    path: Path,
    settings: Settings,
    source: str | None,
    site: AppliedSite,
) -> Loaded:
    # A file named on the command line may be a link the operator chose; below it, never.
    with os.fdopen(open_regular(path.resolve()), "rb") as fp:
        before = os.fstat(fp.fileno())

        def still_same() -> bool:
            now = os.fstat(fp.fileno())
            return (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

        info = describe_file(fp, path, source or "siemens")
        return parse_and_load(
            conn, fp, info, tz=settings.timezone, hint=source, site=site, still_same=still_same
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


# The bar's line must fit 80 columns (a wrapped line cannot be redrawn in place): the label, a
# bar of BAR_WIDTH, the percentage and the ETA take 55, the file's name at most SHOW_NAME.
BAR_WIDTH = 24
SHOW_NAME = 24
CLEAR_LINE = "\r\x1b[K"


def _name(path: Path | None) -> str:
    name = printable_name(path.name) if path else ""
    return name if len(name) <= SHOW_NAME else "…" + name[1 - SHOW_NAME :]


@contextlib.contextmanager
def _logs_above(bar: ProgressBar[Path]) -> Iterator[None]:
    """On a terminal, a log line is printed above the bar, which is drawn again below it (as
    pip and cargo do): every file's line stays, whole, and the bar stays the last line. Off a
    terminal click prints only the bar's label, and the log lines go out as they are."""
    if not bar.file.isatty():
        yield
        return
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers[:] = [
        _AboveTheBar(bar, h) if isinstance(h, logging.StreamHandler) and h.stream is bar.file else h
        for h in kept
    ]
    try:
        yield
    finally:
        root.handlers[:] = kept


class _AboveTheBar(logging.Handler):
    """Writes each record, formatted as `handler` would, over the bar's line; redraws the bar."""

    def __init__(self, bar: ProgressBar[Path], handler: logging.Handler) -> None:
        super().__init__(handler.level)
        self.bar = bar
        self.setFormatter(handler.formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bar.file.write(CLEAR_LINE + self.format(record) + "\n")
            self.bar._last_line = None  # click redraws only a changed line; this one was wiped
            self.bar.render_progress()
        except Exception:
            self.handleError(record)


@main.command(short_help="Show the backlog, failed files, database and last files.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--last", default=10, show_default=True, help="How many recent files to show.")
@click.pass_obj
@friendly
def status(settings: Settings, as_json: bool, last: int) -> None:
    """Show the backlog, failed files, database reachability and the last files ingested."""
    from energy_ingest.daemon.status import gather

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
            what = (
                f"{f['readings']:,} readings ({f['inserted']:,} new, {f['updated']:,} changed)"
                if f["status"] == "ingested"
                else (f["error"] or "")
            )
            click.echo(
                f"  {f['ingested_at'][:19]}  {f['status']:<8}  {f['source']:<7}  {f['name']}  {what}"
            )
    if not info["database"]["reachable"]:
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


main.add_command(check)
main.add_command(catalog)
main.add_command(rollups)
main.add_command(series)
main.add_command(alerts)
main.add_command(psql)
