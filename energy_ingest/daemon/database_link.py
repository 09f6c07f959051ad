"""The daemon's one database connection: connect, notice an outage, back off, say when it ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg

from energy_ingest.errors import DatabaseUnavailable, first_line
from energy_ingest.store import db

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

MAX_BACKOFF = 60.0


class DatabaseLink:
    """`conn` while PostgreSQL answers; while it does not, `down_since` and a capped backoff."""

    def __init__(self, conninfo: str, backlog: Callable[[], int]) -> None:
        self.conninfo = conninfo
        self.backlog = backlog  # how many files wait: for the outage's log line
        self.conn: psycopg.Connection[Any] | None = None
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.backoff = 1.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def due(self) -> bool:
        """Down, and time to try again."""
        return self.down and time.monotonic() >= self.retry_at

    def reconnect(self) -> None:
        self.close()
        try:
            self.conn = db.connect(self.conninfo)
            # Waiting on another loader's locks ends in an error (the file is retried later),
            # never in a silence long enough for systemd's watchdog to kill us.
            self.conn.execute("SET lock_timeout = '60s'")
            self.conn.commit()
        except (DatabaseUnavailable, psycopg.Error) as exc:
            self.mark_down(exc)
            return
        if self.down_since is not None:
            log.info(
                "database is reachable again after %.0f s; resuming",
                time.monotonic() - self.down_since,
            )
        self.down_since = None
        self.backoff = 1.0

    def mark_down(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error(
                "database unavailable (%s); %d files wait in incoming/, retrying with backoff up to %.0f s",
                first_line(exc),
                self.backlog(),
                MAX_BACKOFF,
            )
        self.retry_at = time.monotonic() + self.backoff
        self.backoff = min(MAX_BACKOFF, self.backoff * 2)
        self.close()

    def broken(self) -> bool:
        return self.conn is None or self.conn.broken or self.conn.closed

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
