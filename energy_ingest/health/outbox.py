"""The outbox: notices stored in the evaluation's transaction, sent after it commits, retried
until the mail server or webhook takes them — nothing lost, nothing sent twice."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from energy_ingest.config import Settings
from energy_ingest.errors import NoticeNotSent
from energy_ingest.health import alert_rows
from energy_ingest.health.alerts import Changes
from energy_ingest.health.findings import HIGH
from energy_ingest.health.notices import compose, digest, mail, webhook

log = logging.getLogger("energy_ingest.health")

Conn = psycopg.Connection[Any]

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
"""The wait after the 1st, 2nd and 3rd failed attempt at a notice; hourly after that."""
LATER = timedelta(hours=1)


def channels(settings: Settings) -> list[str]:
    return [
        c for c, on in (("mail", mail.configured), ("webhook", webhook.configured)) if on(settings)
    ]


def queue(conn: Conn, changes: Changes, now: datetime, settings: Settings) -> int:
    """Store this evaluation's notices (one immediate notice, and the daily digest when due) for
    each channel, in the caller's transaction; the alerts told about are marked notified.
    Returns how many notices were stored."""
    ways = channels(settings)
    if not ways:
        _say_off()
        return 0
    new = [a for a in changes.fired if a.priority == HIGH]  # normal ones wait for the digest
    resolved = [a for a in changes.resolved if a.notified_at is not None]
    reminded = changes.reminded
    out: list[compose.Notice] = []
    if new or resolved or reminded:
        out.append(compose.immediate(new, resolved, reminded, settings))
        alert_rows.mark_notified(conn, [a.id for a in [*new, *reminded]], now)
    daily = digest.take(conn, now, settings)
    if daily is not None:
        out.append(daily)
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO notices (channel, kind, created_at, subject, body, payload, next_try)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            [(c, n.kind, now, n.subject, n.body, Jsonb(n.payload), now) for n in out for c in ways],
        )
    return len(out) * len(ways)


@functools.cache
def _say_off() -> None:
    log.info(
        "alert notices are off: set ENERGY_SMTP_URL and ENERGY_ALERT_TO (mail) or"
        " ENERGY_WEBHOOK_URL (webhook) to send them; alerts are still kept and logged"
    )


def deliver(
    conn: Conn,
    settings: Settings,
    now: datetime,
    *,
    ping: Callable[[], None] = lambda: None,
    most: int = 50,
) -> tuple[int, int]:
    """Send the notices that are due, oldest first, each in its own transaction that commits as
    soon as the server took it; a failure is logged and tried again later (BACKOFF), and the
    channel's later notices wait until it has gone (so they arrive in order). At most `most` per
    call; `ping` is called before each send (the daemon's systemd watchdog). Returns (sent,
    failed).

    Call it with no transaction open (after the evaluation committed)."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("outbox.deliver() needs a connection with no transaction open")
    sent = failed = 0
    done: list[str] = []  # channels with nothing more to send now
    while sent + failed < most:
        with conn.transaction():
            row = conn.execute(
                """
                SELECT id, channel, kind, created_at, subject, body, payload, attempts, next_try
                FROM notices
                WHERE sent_at IS NULL AND channel <> ALL(%s)
                ORDER BY id LIMIT 1
                FOR UPDATE SKIP LOCKED
                """,
                (done,),
            ).fetchone()
            if row is None:
                break
            notice_id, channel, kind, created_at, subject, body, payload, attempts, due = row
            if due > now:  # the channel's oldest waits for its retry: so do the later ones
                done.append(channel)
                continue
            ping()
            try:
                _send(notice_id, channel, created_at, subject, body, payload, settings)
            except Exception as exc:  # whatever the cause, the notice stays and is tried again
                why = str(exc) if isinstance(exc, NoticeNotSent) else f"{type(exc).__name__}: {exc}"
                failed += 1
                done.append(channel)
                _postpone(conn, notice_id, kind, channel, subject, attempts + 1, why, now)
                continue
            conn.execute(
                "UPDATE notices SET sent_at = %s, attempts = attempts + 1, last_error = NULL"
                " WHERE id = %s",
                (now, notice_id),
            )
            sent += 1
            log.info("notice %d (%s, %s) sent: %s", notice_id, kind, channel, subject)
    return sent, failed


def _send(
    notice_id: int,
    channel: str,
    created_at: datetime,
    subject: str,
    body: str,
    payload: dict[str, Any],
    settings: Settings,
) -> None:
    if channel == "webhook":
        webhook.send(notice_id, payload, settings)
        return
    refused = mail.send(mail.build(notice_id, created_at, subject, body, settings), settings)
    if refused:
        log.warning(
            "notice %d: mail server %s took it but refused %s: check ENERGY_ALERT_TO",
            notice_id,
            mail.server(settings),
            ", ".join(refused),
        )


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return BACKOFF[attempts - 1] if 0 < attempts <= len(BACKOFF) else LATER


def _postpone(
    conn: Conn,
    notice_id: int,
    kind: str,
    channel: str,
    subject: str,
    attempts: int,
    error: str,
    now: datetime,
) -> None:
    wait = backoff(attempts)
    conn.execute(
        "UPDATE notices SET attempts = %s, next_try = %s, last_error = %s WHERE id = %s",
        (attempts, now + wait, error, notice_id),
    )
    minutes = int(wait.total_seconds() // 60)
    log.warning(
        "notice %d (%s by %s, %r) not sent (attempt %d): %s; it stays in the outbox and is"
        " tried again in %d min",
        notice_id,
        kind,
        channel,
        subject,
        attempts,
        error,
        minutes,
    )
