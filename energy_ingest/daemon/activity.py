"""What this daemon is doing, published in the database (table ingest_activity) for the API,
which never reads the spool: the file in progress with how far it got, and the backlog.

Through a connection of its own in autocommit, never the loader's: a file's transaction must not
hold the row, and the row must change while that transaction runs. A write is one upsert of one
row: when the file in progress starts or ends, at most every half second while anything changed
(Progress publishes about once a second), and every HEARTBEAT seconds regardless, so that a row
not updated for STALE_SECONDS (api: energy_api.sql.activity) means a daemon killed or stuck.
Any database error closes the connection and the next write waits RETRY_SECONDS: publishing is
never worth stalling a load for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from energy_ingest.daemon.progress import State, alive
from energy_ingest.errors import DatabaseUnavailable, first_line
from energy_ingest.store import db

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

MIN_GAP = 0.5  # seconds between writes while something changes (the file's percent, the backlog)
HEARTBEAT = 5.0  # seconds between writes when nothing changes
RETRY_SECONDS = 10.0  # after a database error
FORGET = timedelta(days=1)  # rows of other hosts' daemons gone this long are deleted at start

UPSERT = """
INSERT INTO ingest_activity AS a (daemon, host, pid, started_at, updated_at, backlog, path, size,
                                  bytes_read, percent, values_parsed, file_started_at)
VALUES (%(daemon)s, %(host)s, %(pid)s, %(started_at)s, now(), %(backlog)s, %(path)s, %(size)s,
        %(bytes_read)s, %(percent)s, %(values)s, %(file_started_at)s)
ON CONFLICT (daemon) DO UPDATE SET
    updated_at = now(), backlog = EXCLUDED.backlog, path = EXCLUDED.path, size = EXCLUDED.size,
    bytes_read = EXCLUDED.bytes_read, percent = EXCLUDED.percent,
    values_parsed = EXCLUDED.values_parsed, file_started_at = EXCLUDED.file_started_at
"""


class Activity:
    def __init__(self) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.daemon = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"  # daemons in one process too
        self.started_at = datetime.now(UTC)
        self.conninfo = ""
        self.conn: psycopg.Connection[Any] | None = None
        self._last: tuple[State | None, int] | None = None  # what the row says
        self._written = 0.0  # time.monotonic() of the last write
        self._retry_at = 0.0

    def start(self, conninfo: str) -> None:
        """Forget the rows of this host's daemons that are gone (killed: they could not delete
        theirs) and of other hosts' long silent ones."""
        self.conninfo = conninfo
        conn = self._connect()
        if conn is None:
            return
        try:
            rows = conn.execute(
                "SELECT daemon, pid FROM ingest_activity WHERE host = %s", (self.host,)
            ).fetchall()
            gone = [daemon for daemon, pid in rows if not alive(pid)]
            conn.execute(
                "DELETE FROM ingest_activity WHERE daemon = ANY(%s)"
                " OR (host <> %s AND updated_at < now() - %s)",
                (gone, self.host, FORGET),
            )
        except psycopg.Error as exc:
            self._failed(exc)

    def update(self, loading: State | None, backlog: int) -> None:
        """The row as it is now, unless it said the same (or nearly) a moment ago."""
        now = time.monotonic()
        if self._last is not None:
            same_file = _file(loading) == _file(self._last[0])
            changed = (loading, backlog) != self._last
            gap = MIN_GAP if changed else HEARTBEAT
            if same_file and now < self._written + gap:
                return
        if now < self._retry_at:
            return
        conn = self._connect()
        if conn is None:
            return
        row = {
            "daemon": self.daemon,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at,
            "backlog": backlog,
            "path": loading.path if loading else None,
            "size": loading.size if loading else None,
            "bytes_read": loading.bytes_read if loading else None,
            "percent": loading.percent if loading else None,
            "values": loading.values if loading else None,
            "file_started_at": loading.started_at if loading else None,
        }
        try:
            conn.execute(UPSERT, row)
        except psycopg.Error as exc:
            self._failed(exc)
            return
        self._last, self._written = (loading, backlog), now

    def stop(self) -> None:
        """Delete the row (a clean stop), and close the connection."""
        if self.conn is not None:  # else a row it wrote goes stale: the next start deletes it
            try:
                self.conn.execute("DELETE FROM ingest_activity WHERE daemon = %s", (self.daemon,))
            except psycopg.Error as exc:
                log.debug("could not delete this daemon's activity row: %s", first_line(exc))
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
            self.conn = None

    def _connect(self) -> psycopg.Connection[Any] | None:
        if self.conn is not None and not self.conn.closed:
            return self.conn
        if not self.conninfo or time.monotonic() < self._retry_at:
            return None
        try:
            conn = db.connect(self.conninfo, autocommit=True)
            # never wait long on the database for the sake of a status display
            conn.execute("SET statement_timeout = '5s'")
            conn.execute("SET lock_timeout = '2s'")
        except (DatabaseUnavailable, psycopg.Error) as exc:
            self._failed(exc)
            return None
        self.conn = conn
        return conn

    def _failed(self, exc: BaseException) -> None:
        log.debug(
            "could not publish this daemon's activity (%s); trying again in %.0f s",
            first_line(exc),
            RETRY_SECONDS,
        )
        self.close()
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._last = None  # the next write is a full one


def _file(state: State | None) -> tuple[str, str] | None:
    return (state.path, state.started_at) if state else None
