"""What a notice says: the subject, the mail's text and the webhook's JSON, from alerts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from energy_ingest.config import Settings
from energy_ingest.health.alert_rows import Alert
from energy_ingest.health.alerts import full_link
from energy_ingest.health.findings import HIGH

SUBJECT_MAX = 180


@dataclasses.dataclass(frozen=True)
class Notice:
    kind: str  # immediate or digest
    subject: str
    body: str
    payload: dict[str, Any]


def immediate(
    new: Sequence[Alert],
    resolved: Sequence[Alert],
    reminded: Sequence[Alert],
    settings: Settings,
) -> Notice:
    """One message for one evaluation: every new high alert, every resolved alert someone had
    been told about, every reminder due."""
    new, resolved, reminded = _ordered(new), _ordered(resolved), _ordered(reminded)
    counts = [
        _count(len(new), "new high alert"),
        f"{len(resolved)} resolved" if resolved else "",
        _count(len(reminded), "reminder"),
    ]
    if new:
        headline = new[0].summary
    elif reminded:
        headline = f"still: {reminded[0].summary}"
    else:
        headline = f"back to normal: {resolved[0].summary}"
    subject = _subject(f"[energy] {', '.join(c for c in counts if c)} — {headline}")
    sections = [
        _section("New", new, settings),
        _section("Resolved — back to normal", resolved, settings),
        _section("Still firing (reminder)", reminded, settings),
    ]
    body = "\n".join(s for s in sections if s) + _footer(settings)
    payload = {
        "notice": "immediate",
        "subject": subject,
        "text": body,
        "new": [_json(a, settings) for a in new],
        "resolved": [_json(a, settings) for a in resolved],
        "reminded": [_json(a, settings) for a in reminded],
    }
    return Notice("immediate", subject, body, payload)


def digest(
    new: Sequence[Alert],
    resolved: Sequence[Alert],
    still_open: Sequence[Alert],
    suppressed: int,
    since: datetime,
    now: datetime,
    settings: Settings,
) -> Notice:
    """The daily digest: opened and resolved since `since`, and everything still open."""
    day = now.astimezone(settings.zone)
    counts = {
        "open": len(still_open),
        "new": len(new),
        "resolved": len(resolved),
        "suppressed": suppressed,
    }
    subject = (
        f"[energy] daily digest {day:%a} {day.day} {day:%b %Y}: {len(still_open)} open,"
        f" {len(new)} new, {len(resolved)} resolved"
    )
    intro = f"Alerts since {_local(since, settings)}.\n"
    if suppressed:
        intro += (
            f"{suppressed} more {'is' if suppressed == 1 else 'are'} not listed: stale points of"
            " report series that are overdue (the overdue alerts are).\n"
        )
    sections = [
        _section("Open", still_open, settings),
        _section("New since the last digest", new, settings),
        _section("Resolved since the last digest", resolved, settings),
    ]
    body = intro + "\n" + "\n".join(s for s in sections if s) + _footer(settings)
    payload = {
        "notice": "digest",
        "subject": subject,
        "text": body,
        "since": since.isoformat(),
        "counts": counts,
        "open": [_json(a, settings) for a in still_open],
        "new": [_json(a, settings) for a in new],
        "resolved": [_json(a, settings) for a in resolved],
    }
    return Notice("digest", subject, body, payload)


def _count(n: int, what: str) -> str:
    return "" if not n else f"{n} {what}" + ("" if n == 1 else "s")


def _subject(text: str) -> str:
    text = " ".join(text.split())  # a summary never breaks a mail header
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…"


def _section(title: str, alerts: Sequence[Alert], settings: Settings) -> str:
    if not alerts:
        return ""
    return f"{title} ({len(alerts)}):\n" + "".join(_line(a, settings) for a in _ordered(alerts))


def _ordered(alerts: Sequence[Alert]) -> list[Alert]:
    """High first, then the oldest: the subject names the first."""
    return sorted(alerts, key=lambda a: (a.priority != HIGH, a.opened_at, a.id))


def _line(alert: Alert, settings: Settings) -> str:
    when = f"since {_local(alert.fired_at or alert.opened_at, settings)}"
    if alert.resolved_at is not None:
        when += f", resolved {_local(alert.resolved_at, settings)}"
    elif alert.clear_since is not None:
        when += f", clear since {_local(alert.clear_since, settings)}"
    link = full_link(settings, alert.link)
    return (
        f"  [{alert.priority}] {alert.kind}: {alert.summary}\n"
        f"      {when}" + (f"\n      {link}" if link else "") + "\n"
    )


def _local(ts: datetime, settings: Settings) -> str:
    t = ts.astimezone(settings.zone)
    return f"{t:%a} {t.day} {t:%b %Y %H:%M %Z}"


def _footer(settings: Settings) -> str:
    where = f"{settings.public_url}/api/v2/alerts?status=open" if settings.public_url else ""
    return (
        "\n-- \nenergy-ingest data health (docs/health.md)."
        + (f" Open alerts: {where}" if where else " Open alerts: energy-ingest alerts")
        + "\n"
    )


def _json(alert: Alert, settings: Settings) -> dict[str, Any]:
    def iso(ts: datetime | None) -> str | None:
        return ts.isoformat() if ts is not None else None

    return {
        "id": alert.id,
        "kind": alert.kind,
        "subject": alert.subject,
        "priority": alert.priority,
        "state": alert.state,
        "summary": alert.summary,
        "details": alert.details,
        "link": full_link(settings, alert.link),
        "opened_at": iso(alert.opened_at),
        "fired_at": iso(alert.fired_at),
        "resolved_at": iso(alert.resolved_at),
        "clear_since": iso(alert.clear_since),
    }
