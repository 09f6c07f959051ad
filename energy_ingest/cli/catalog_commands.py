"""`energy-ingest catalog coverage|show|apply`: what the catalog knows, one point in full, and a
site-file edit taking effect — as text, or JSON with --json."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from energy_ingest.cli import catalog_report
from energy_ingest.cli.boundary import friendly
from energy_ingest.config import Settings
from energy_ingest.localtime import local
from energy_ingest.store import db
from energy_ingest.store.migrate import require_current
from energy_ingest.write.applied_site import apply_site_file

JSON_HELP = "Print JSON instead of text."
EXPORTED = {"representation", "decimals", "cov_limit", "text_table", "control_program", "alc_name"}
EXPORTED |= {"io_type"}


@click.group(short_help="The point catalog: coverage, one point, apply the site file.")
def catalog() -> None:
    """The point catalog: buildings, rooms, devices, units and tags of every point
    (docs/catalog.md)."""


@catalog.command(short_help="How much of the catalog is resolved; names no rule matches.")
@click.option("--top", default=10, show_default=True, help="Name shapes to list.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
@friendly
def coverage(settings: Settings, top: int, as_json: bool) -> None:
    """How many points have a building, room, floor, device, unit, type and tags; how many are
    retired; the unit strings pint could not read; the point types it does not know; the most
    common shapes of names no naming rule matched; the same per building and source; and per
    site rule the points it placed and the later rules it shadows."""
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        info = catalog_report.coverage(conn, top)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    site = info["site_file"]
    click.echo(
        f"site file  {site['path']} (sha256 {site['sha256'][:12]}, "
        f"applied {local(datetime.fromisoformat(site['applied_at']), settings.timezone)})"
        if site
        else "site file  never applied: run `energy-ingest catalog apply`"
    )
    sources = ", ".join(f"{s} {n:,}" for s, n in info["by_source"].items())
    click.echo(f"points     {info['points']:,}" + (f" ({sources})" if sources else ""))
    for name, have in info["with"].items():
        click.echo(f"  {name:<9}{have['points']:>7,}  {have['percent']:5.1f} %")
    if info["retired"]:
        click.echo(f"retired    {info['retired']:,} (newer exports leave them out)")
    if info["unresolved_units"]:
        click.echo("unit strings pint could not read (add them to [units]):")
        for u in info["unresolved_units"]:
            click.echo(f"  {u['unit']!r}: {u['points']:,} point{'s' if u['points'] != 1 else ''}")
    if info["unknown_types"]:
        click.echo(
            "point types the catalog does not know (a number unless the export gave states):"
        )
        for t in info["unknown_types"]:
            click.echo(f"  {t['type']!r}: {t['points']:,} point{'s' if t['points'] != 1 else ''}")
    if info["unmatched_shapes"]:
        click.echo(f"names without a building ({info['without_building']:,}), most common shapes:")
        for s in info["unmatched_shapes"]:
            click.echo(f"  {s['points']:>6,}  {s['source']:<8} {s['shape']}   e.g. {s['example']}")
    _by_building(info["by_building"])
    _rules(info["rules"])


def _by_building(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    heads = list(rows[0]["percent"])
    click.echo(
        "by building          points  "
        + "  ".join(f"{h:>8}" for h in heads)
        + "  retired  unknown types"
    )
    for row in rows:
        label = f"{row['building'] or '(none)'} {row['source']}"
        click.echo(
            f"  {label:<18}{row['points']:>7,}  "
            + "  ".join(f"{row['percent'][h]:7.1f}%" for h in heads)
            + f"  {row['retired']:>7,}  {row['unknown_types']:>13,}"
        )


def _rules(rules: list[dict[str, Any]]) -> None:
    if not rules:
        return
    click.echo("site rules, in file order (points each placed; later rules it shadows):")
    for rule in rules:
        shadows = ", ".join(f"line {s['line']} ({s['points']:,})" for s in rule["shadows"])
        click.echo(
            f"  line {rule['line']:<5} {'[[' + rule['table'] + ']]':<12}{rule['points']:>6,}"
            f" point{'s' if rule['points'] != 1 else ''}"
            + (f"; shadows {shadows}" if shadows else "")
        )


@catalog.command(short_help="Every attribute of one point and where it came from.")
@click.argument("point")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
@friendly
def show(settings: Settings, point: str, as_json: bool) -> None:
    """Every attribute of POINT (an id or an exact name) and its origin: trend report, definition
    report, points list, a site rule's line or an override's."""
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        info = catalog_report.show(conn, point)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False, default=_iso))
        return
    origins: dict[str, str] = info.pop("origins")
    tags = info.pop("tags")
    extras = info.pop("extras")
    for key, value in info.items():
        if value is None or value == [] or (key == "states" and info["kind"] != "enum"):
            continue
        origin = origins.get(key) or origins.get(key.removesuffix("_name"))
        if origin is None and key.startswith(("unit", "quantity")):
            origin = origins.get("unit")
        if origin is None and key in EXPORTED and info["defined_in"]:
            origin = "points list" if info["source"] == "alc" else "definition report"
        if isinstance(value, datetime):
            value = local(value, settings.timezone)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        click.echo(f"{key:<17}{shown}" + (f"   ({origin})" if origin else ""))
    if tags:
        click.echo(
            f"{'tags':<17}" + ", ".join(f"{t['tag']} ({t['level']})" for t in tags)
            + (f"   ({origins['tags']})" if "tags" in origins else "")
        )  # fmt: skip
    for key, value in extras.items():
        click.echo(f"  {key}: {value}")


@catalog.command(short_help="Apply the site file: re-resolve every point in one transaction.")
@click.option(
    "--site-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The site file [default: ENERGY_SITE_FILE].",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
@friendly
def apply(settings: Settings, site_file: Path | None, as_json: bool) -> None:
    """Check the site file (every problem, with its line) and re-resolve every point with it in
    one transaction; ids never change. The daemon does the same when it starts."""
    path = site_file or settings.site_file
    if path is None:
        raise click.UsageError("no site file: set ENERGY_SITE_FILE or give --site-file PATH")
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        applied = apply_site_file(conn, path)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(applied), indent=2, ensure_ascii=False))
        return
    click.echo(
        f"applied {applied.path} (sha256 {applied.sha256[:12]}): {applied.points:,} points "
        f"resolved, {applied.changed:,} changed, {applied.seconds:.2f} s"
    )
    for line in applied.changes:
        click.echo(f"  {line}")
    if applied.changed > len(applied.changes):
        click.echo(f"  … and {applied.changed - len(applied.changes):,} more")
    if applied.retired:
        click.echo(
            "no longer in the site file (kept, ids unchanged): " + ", ".join(applied.retired)
        )
    for line in applied.unmatched:
        click.echo(f"warning: {line}", err=True)


def _iso(value: object) -> str:
    """JSON for what json cannot write: a time in ISO 8601 with its offset, anything else as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
