"""`energy-ingest check PATH...`: parse reports without a database and say what would be loaded."""

from __future__ import annotations

import json
import os
import zoneinfo
from pathlib import Path
from typing import Any

import click

from energy_ingest.catalog.export import PointExport
from energy_ingest.config import Settings, ZoneNameError, lookup_zone
from energy_ingest.errors import ParseError
from energy_ingest.file_kinds import SOURCES
from energy_ingest.formats.report import MISSING_KINDS, Report
from energy_ingest.parsing import parse_file
from energy_ingest.spool import printable_name
from energy_ingest.spool.files import NotRegularFile, open_regular
from energy_ingest.spool.stranded import Stranded, report_files

SHOW_REJECTS = 5


def summarize(path: Path, tz: str) -> tuple[dict[str, Any], Report | None]:
    """The JSON summary of one file (and the parsed report, with its chunks consumed)."""
    name = printable_name(path)
    summary: dict[str, Any] = {
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
        "errors": [],
    }
    hint = path.parent.name if path.parent.name in SOURCES else None
    try:
        # A file named on the command line may be a link the user chose; never a FIFO.
        with os.fdopen(open_regular(path.resolve()), "rb") as f:
            parsed = parse_file(f, name, tz=tz, hint=hint)
            if isinstance(parsed, PointExport):
                return _export_summary(name, parsed), None
            report = parsed
            for _ in report.chunks():
                pass
    except ParseError as exc:
        summary["errors"].append(exc.detailed())
        return summary, None
    except NotRegularFile:
        summary["errors"].append(f"{name}: not a regular file")
        return summary, None
    except OSError as exc:
        summary["errors"].append(f"{name}: cannot read: {exc.strerror or exc}")
        return summary, None
    zone = zoneinfo.ZoneInfo(tz)
    summary.update(
        format=report.format,
        points=len(report.points),
        rows=report.rows,
        values=report.values,
        missing=report.missing_totals(),
        rejected=report.rejected,
        refused=report.refused,
        first_ts=report.first_ts.tz_convert(zone).isoformat() if report.first_ts else None,
        last_ts=report.last_ts.tz_convert(zone).isoformat() if report.last_ts else None,
        footer=report.footer,
    )
    return summary, report


def _export_summary(name: str, export: PointExport) -> dict[str, Any]:
    """A point export: what the catalog would import (records, one per point), what it rejects."""
    return {
        "file": name,
        "format": export.format,
        "records": len(export.records),
        "rejected": export.rejected,
        "rejects": [{"line": r.line, "reason": r.reason} for r in export.rejects[:SHOW_REJECTS]],
        "fields_seen": list(export.fields_seen),
        "footer": export.complete if export.source == "siemens" else None,
        "warnings": export.warnings,
        "errors": [],
    }


def _export_lines(summary: dict[str, Any]) -> list[str]:
    footer = {True: "footer seen", False: "NO footer", None: "no footer in this format"}
    lines = [
        f"{summary['file']}: {summary['format']} (point export for the catalog), "
        f"{summary['records']} records, {summary['rejected']} rejected, {footer[summary['footer']]}",
        f"  fields seen: {', '.join(summary['fields_seen']) or 'none'}",
    ]
    lines += [f"  warning: {w}" for w in summary["warnings"]]
    lines += [f"  rejected line {r['line']}: {r['reason']}" for r in summary["rejects"]]
    if summary["rejected"] > SHOW_REJECTS:
        lines.append(f"  … and {summary['rejected'] - SHOW_REJECTS} more rejected records")
    return lines


def human(summary: dict[str, Any], report: Report | None) -> list[str]:
    name = summary["file"]
    if "records" in summary:
        return _export_lines(summary)
    if report is None:
        return [f"ERROR {e}" for e in summary["errors"]]
    missing = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary["missing"].items() if v)
    footer = {True: "footer seen", False: "NO footer", None: "no footer in this format"}
    refused = (
        f" ({summary['refused']} text values over the state limits)" if summary["refused"] else ""
    )
    lines = [
        f"{name}: {summary['format']}, {summary['points']} points, {summary['rows']} rows, "
        f"{summary['values']} values, missing: {missing or 'none'}, "
        f"{summary['rejected']} rejected{refused}, {summary['first_ts']} → {summary['last_ts']}, "
        f"{footer[summary['footer']]}"
    ]
    if report.reports > 1:
        lines.append(f"  {report.reports} appended reports in one file")
    lines += [f"  warning: {w}" for w in report.warnings]
    lines += [f"  rejected line {r.line}: {r.reason}" for r in report.rejects[:SHOW_REJECTS]]
    if report.rejected > SHOW_REJECTS:
        lines.append(f"  … and {report.rejected - SHOW_REJECTS} more rejected rows")
    return lines


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
        summary, report = summarize(path, zone_name)
        failed += bool(summary["errors"])
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False))
        else:
            for line in human(summary, report):
                click.echo(line)
    for entry in skipped:
        click.echo(f"skipped {printable_name(entry.path)}: {entry.why}", err=True)
    if not seen:
        raise click.ClickException("no files found under " + ", ".join(map(printable_name, paths)))
    if failed:
        if not as_json:
            click.echo(f"{failed} of {seen} file(s) would not load", err=True)
        raise SystemExit(1)
