"""Alerts: each finding's pending → firing → resolved, with hysteresis, inhibition and reminders."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg

from energy_ingest.config import Settings
from energy_ingest.health import alert_rows, grouping
from energy_ingest.health.alert_rows import Alert
from energy_ingest.health.findings import HIGH, Finding

log = logging.getLogger("energy_ingest.health")

Conn = psycopg.Connection[Any]
Key = tuple[str, str]

__all__ = ["TIMINGS", "Alert", "Changes", "Timing", "full_link", "timing", "update"]


@dataclasses.dataclass(frozen=True)
class Timing:
    """How long a condition must hold before anyone is told (`pending`), and how long it must be
    gone before it counts as over (`clear`: hysteresis, so a value hovering at a limit does not
    fire and resolve on alternate evaluations)."""

    pending: timedelta
    clear: timedelta


_MINUTE = timedelta(minutes=1)
_POINT = Timing(pending=10 * _MINUTE, clear=15 * _MINUTE)

TIMINGS: dict[str, Timing] = {
    # The series' grace (ENERGY_SERIES_GRACE) has already waited, and a report arriving is
    # definitive: fire and resolve at once.
    "overdue": Timing(pending=timedelta(0), clear=timedelta(0)),
    # A point's condition must hold over ~3 evaluations (ENERGY_HEALTH_SECONDS, 5 min) so that one
    # odd evaluation mails nobody, and be gone for 15 minutes before it is back to normal.
    "stale": _POINT,
    "building_stale": _POINT,
    "flat": _POINT,
    "out_of_range": _POINT,
    "spike": _POINT,
    "rule": _POINT,
}


def timing(kind: str) -> Timing:
    """The kind's times; a kind not in TIMINGS is treated like a point's condition."""
    return TIMINGS.get(kind, _POINT)


@dataclasses.dataclass
class Changes:
    """What one evaluation changed that someone may need to hear about."""

    fired: list[Alert] = dataclasses.field(default_factory=list)
    """Newly firing and not suppressed (or no longer suppressed while still holding)."""
    resolved: list[Alert] = dataclasses.field(default_factory=list)
    """Resolved now (notify those with `notified_at`: they had been told)."""
    reminded: list[Alert] = dataclasses.field(default_factory=list)
    """Firing, not suppressed, and last told more than ENERGY_ALERT_REPEAT ago."""
    suppressed: list[Alert] = dataclasses.field(default_factory=list)
    """Newly firing but inhibited (their series is overdue): logged, never notified."""


def update(conn: Conn, findings: list[Finding], now: datetime, settings: Settings) -> Changes:
    """Bring the alerts table in line with this evaluation's findings, in the caller's
    transaction; return what changed. Evaluations serialize on a transaction lock."""
    alert_rows.lock(conn)
    findings = grouping.group_buildings(conn, findings)
    found = {(f.kind, f.subject): f for f in findings}
    before = {(a.kind, a.subject): a for a in alert_rows.open_alerts(conn)}
    inserted = alert_rows.insert(conn, [f for k, f in found.items() if k not in before], now)
    stored = before | {(a.kind, a.subject): a for a in inserted}
    after = dict(stored)
    for key in found.keys() & before.keys():
        after[key] = _refreshed(before[key], found[key], now)
    for key, alert in before.items():
        if key not in found:
            after[key] = _clearing(alert, now)

    _fire_due(after, now)
    # Only firing overdue alerts inhibit (overdue fires at once: the series' grace has waited).
    inhibitors = grouping.inhibitors(conn, findings, _firing_overdue(after))
    for key, alert in after.items():
        if key in found:
            after[key] = dataclasses.replace(alert, suppressed_by=inhibitors.get(key))

    changes = _changes(before, after, found, now, settings)
    alert_rows.write(conn, stored, after)
    _log(changes, after, settings)
    return changes


def _refreshed(alert: Alert, finding: Finding, now: datetime) -> Alert:
    return dataclasses.replace(
        alert,
        priority=finding.priority,
        summary=finding.summary,
        details=finding.details,
        link=finding.link,
        series_id=finding.series_id,
        point_id=finding.point_id,
        building_id=finding.building_id,
        rule_id=finding.rule_id,
        last_seen=now,
        clear_since=None,  # found again before it counted as resolved: it never was
    )


def _clearing(alert: Alert, now: datetime) -> Alert:
    """An open alert this evaluation did not find: a pending one is forgotten (nobody was told;
    state 'deleted' here), a firing one resolves once it has been clear long enough."""
    if alert.state == "pending":
        return dataclasses.replace(alert, state="deleted")
    since = alert.clear_since or now
    if now - since >= timing(alert.kind).clear:
        return dataclasses.replace(alert, state="resolved", clear_since=since, resolved_at=now)
    return dataclasses.replace(alert, clear_since=since)


def _fire_due(after: dict[Key, Alert], now: datetime) -> None:
    for key, alert in after.items():
        if alert.state == "pending" and now - alert.opened_at >= timing(alert.kind).pending:
            after[key] = dataclasses.replace(alert, state="firing", fired_at=now)


def _firing_overdue(after: dict[Key, Alert]) -> dict[int, int]:
    """series id → the id of its firing overdue alert."""
    return {
        a.series_id: a.id
        for a in after.values()
        if a.kind == "overdue" and a.state == "firing" and a.series_id is not None
    }


def _changes(
    before: dict[Key, Alert],
    after: dict[Key, Alert],
    found: dict[Key, Finding],
    now: datetime,
    settings: Settings,
) -> Changes:
    changes = Changes()
    repeat = timedelta(seconds=settings.alert_repeat_seconds)
    for key, alert in after.items():
        old = before.get(key)
        was_firing = old is not None and old.state == "firing"
        was_quiet = old is not None and old.suppressed_by is not None
        if alert.state == "resolved":
            changes.resolved.append(alert)
        elif alert.state != "firing" or key not in found:
            continue  # pending, or firing but clearing: nothing to say yet
        elif alert.suppressed_by is not None:
            if not was_firing:
                changes.suppressed.append(alert)
        elif not was_firing or was_quiet:
            changes.fired.append(alert)  # new, or its inhibitor is gone and it still holds
        elif alert.notified_at is not None and now - alert.notified_at >= repeat:
            changes.reminded.append(alert)
    return changes


def full_link(settings: Settings, link: str | None) -> str | None:
    """An alert's link as a reader can follow it: API paths under ENERGY_PUBLIC_URL when set."""
    if link and link.startswith("/") and settings.public_url:
        return settings.public_url + link
    return link


def _log(changes: Changes, after: dict[Key, Alert], settings: Settings) -> None:
    by_id = {a.id: a for a in after.values()}
    for alert in changes.fired:
        level = logging.ERROR if alert.priority == HIGH else logging.WARNING
        log.log(level, "alert %d firing: %s%s", alert.id, alert.summary, _see(settings, alert))
    for alert in changes.suppressed:
        cause = by_id.get(alert.suppressed_by or 0)
        log.info(
            "alert %d firing but not notified while alert %d holds (%s): %s",
            alert.id,
            alert.suppressed_by,
            cause.summary if cause else "overdue",
            alert.summary,
        )
    for alert in changes.resolved:
        log.info("alert %d resolved: %s%s", alert.id, alert.summary, _see(settings, alert))


def _see(settings: Settings, alert: Alert) -> str:
    link = full_link(settings, alert.link)
    return f" — {link}" if link else ""
