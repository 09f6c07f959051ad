"""`energy-ingest series` and `energy-ingest alerts`: data health as the daemon last evaluated it
(or now, with `alerts --evaluate`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from energy_ingest.cli.boundary import friendly
from energy_ingest.config import Settings
from energy_ingest.health.evaluate import evaluate
from energy_ingest.health.series import every
from energy_ingest.localtime import local
from energy_ingest.store import db
from energy_ingest.store.migrate import require_current
from energy_ingest.write.applied_site import AppliedSite

SERIES_SQL = """
    SELECT s.id, s.source, s.name, s.status, extract(epoch FROM s.cadence)::float8, s.last_run,
           s.expected_next, s.last_arrival, s.files,
           (SELECT count(*) FROM series_points sp WHERE sp.series_id = s.id), s.evaluated_at
    FROM report_series s
    ORDER BY s.status = 'overdue' DESC, s.status = 'historical', s.source, s.name
"""
SERIES_KEYS = (
    *("id", "source", "name", "status", "cadence_s", "last_run", "expected_next"),
    *("last_arrival", "files", "points", "evaluated_at"),
)
ALERTS_SQL = """
    SELECT a.id, a.kind, a.priority, a.state, a.summary, a.link, a.opened_at, a.fired_at,
           a.resolved_at, a.suppressed_by, a.details
    FROM alerts a WHERE %(status)s = 'all' OR (%(status)s = 'open') = (a.state <> 'resolved')
    ORDER BY a.state <> 'resolved' DESC, a.priority = 'high' DESC, a.opened_at DESC, a.id DESC
    LIMIT %(limit)s
"""
ALERT_KEYS = (
    *("id", "kind", "priority", "state", "summary", "link", "opened_at", "fired_at"),
    *("resolved_at", "suppressed_by", "details"),
)


def health_line(health: dict[str, Any], settings: Settings) -> str:
    """`status`'s line: '1 series overdue, 3 ok; alerts: 2 firing (1 high), 0 pending'."""
    series = health["series"]
    parts = [f"{n} {status}" for status, n in sorted(series.items())] or ["no report series yet"]
    alerts = health["alerts"]
    high = f" ({alerts['high']} high)" if alerts["high"] else ""
    when = _local(health["evaluated_at"], settings) if health["evaluated_at"] else "never"
    return (
        f"series {', '.join(parts)}; alerts {alerts['firing']} firing{high},"
        f" {alerts['pending']} pending (evaluated {when})"
    )


def _rows(conn: Any, query: str, keys: tuple[str, ...], **params: Any) -> list[dict[str, Any]]:
    rows = [dict(zip(keys, row, strict=True)) for row in conn.execute(query, params)]
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = value.isoformat()
    return rows


def _local(value: str | None, settings: Settings) -> str:
    return "-" if value is None else local(datetime.fromisoformat(value), settings.timezone)


def _every(seconds: float | None) -> str:
    return "?" if seconds is None else every(seconds)


@click.command(short_help="Show each report series: cadence, last run, expected next, status.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@friendly
def series(settings: Settings, as_json: bool) -> None:
    """Show each report series (a source and a file name without its run time) as the daemon
    last evaluated it: how often it arrives, its last run, when the next is expected, and
    whether it is ok, overdue or historical (old data, watched no more)."""
    with db.connect(db.database_url(settings)) as conn:
        require_current(conn)
        rows = _rows(conn, SERIES_SQL, SERIES_KEYS)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no report series yet: they appear as trend reports are loaded")
        return
    for r in rows:
        click.echo(
            f"{r['status']:<10}  {r['source']}/{r['name']}  every {_every(r['cadence_s'])},"
            f" last run {_local(r['last_run'], settings)},"
            f" next {_local(r['expected_next'], settings)}; {r['files']} files, {r['points']} points"
        )


@click.command(short_help="Show open (or resolved) alerts; --evaluate checks data health first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "all"]),
    default="open",
    show_default=True,
    help="Which alerts to show.",
)
@click.option("--limit", default=100, show_default=True, help="At most this many alerts.")
@click.option(
    "--evaluate",
    "evaluate_first",
    is_flag=True,
    help="Evaluate data health now first (as the daemon does on its timer), and send notices.",
)
@click.pass_obj
@friendly
def alerts(
    settings: Settings, as_json: bool, status: str, limit: int, evaluate_first: bool
) -> None:
    """Show alerts: overdue report series, stale, flat, out-of-range or spiking points, and the
    site file's rules. Pending alerts have been found but not yet for long enough to tell anyone;
    firing ones have been (or will be) notified; resolved ones are back to normal."""
    # autocommit: the evaluation is a transaction of its own, and its notices go after it
    with db.connect(db.database_url(settings), autocommit=True) as conn:
        require_current(conn)
        if evaluate_first:
            done = evaluate(conn, settings, AppliedSite().current, datetime.now(UTC))
            if not as_json:
                click.echo(
                    f"evaluated in {done.seconds:.2f} s: {done.findings} findings, "
                    f"{done.fired} newly firing, {done.resolved} resolved, "
                    f"{done.sent} notices sent"
                    + (f", {done.unsent} not sent" if done.unsent else "")
                    if done.ran
                    else "another process is evaluating right now; showing what it last stored"
                )
        rows = _rows(conn, ALERTS_SQL, ALERT_KEYS, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no {'' if status == 'all' else status + ' '}alerts")
        return
    for a in rows:
        since = a["resolved_at"] if a["state"] == "resolved" else a["opened_at"]
        muted = f" (suppressed by alert {a['suppressed_by']})" if a["suppressed_by"] else ""
        click.echo(
            f"{a['state']:<8}  {a['priority']:<6}  {a['kind']:<14}  {a['summary']}"
            f"  [since {_local(since, settings)}]{muted}"
        )
