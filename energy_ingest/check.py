"""`energy-ingest check PATH...`: parse reports without a database and say what would be loaded."""

from __future__ import annotations

import json
import os
import zoneinfo
from pathlib import Path
from typing import Any

import click

from energy_ingest.config import Settings, ZoneNameError, lookup_zone
from energy_ingest.errors import ParseError
from energy_ingest.file_kinds import SOURCES
from energy_ingest.formats.report import MISSING_KINDS, Description
from energy_ingest.parsing import parse_file
from energy_ingest.spool import printable_name
from energy_ingest.spool.files import NotRegularFile, open_regular
from energy_ingest.spool.stranded import Stranded, report_files


def describe(path: Path, tz: str) -> Description:
    """What one file would load, or why it would not (its `errors`)."""
    name = printable_name(path)
    hint = path.parent.name if path.parent.name in SOURCES else None
    try:
        # A file named on the command line may be a link the user chose; never a FIFO.
        with os.fdopen(open_regular(path.resolve()), "rb") as f:
            return parse_file(f, name, tz=tz, hint=hint).describe(name, zoneinfo.ZoneInfo(tz))
    except ParseError as exc:
        error = exc.detailed()
    except NotRegularFile:
        error = f"{name}: not a regular file"
    except OSError as exc:
        error = f"{name}: cannot read: {exc.strerror or exc}"
    facts: dict[str, Any] = {
        "file": name,
        "format": None,
        "points": 0,
        "rows": 0,
        "values": 0,
        "missing": dict.fromkeys(MISSING_KINDS, 0),
        "rejected": 0,
        "refused": 0,
        "first_ts": None,
        "last_ts": None,
        "footer": None,
        "errors": [error],
    }
    return Description(facts, [f"ERROR {error}"])


@click.command(short_help="Parse reports without a database; list what would fail.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per file.")
@click.option("--tz", default=None, help="Time zone of the reports [default: ENERGY_TIMEZONE].")
@click.pass_obj
def check(
    settings: Settings | None, paths: tuple[Path, ...], as_json: bool, tz: str | None
) -> None:
    """Parse reports (files or folders, recursively) without a database; exit 1 if any would fail."""
    zone_name = tz or (settings.timezone if settings else "America/Chicago")
    try:
        lookup_zone(zone_name)
    except ZoneNameError as exc:
        raise click.BadParameter(str(exc), param_hint="--tz") from None
    failed = 0
    seen = 0
    skipped: list[Stranded] = []
    for path in report_files(paths, skipped):
        seen += 1
        described = describe(path, zone_name)
        failed += bool(described.facts["errors"])
        if as_json:
            click.echo(json.dumps(described.facts, ensure_ascii=False))
        else:
            for line in described.lines:
                click.echo(line)
    for entry in skipped:
        click.echo(f"skipped {printable_name(entry.path)}: {entry.why}", err=True)
    if not seen:
        raise click.ClickException("no files found under " + ", ".join(map(printable_name, paths)))
    if failed:
        if not as_json:
            click.echo(f"{failed} of {seen} file(s) would not load", err=True)
        raise SystemExit(1)
