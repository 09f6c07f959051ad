"""The API's connection pool: opened lazily in the worker (after gunicorn forks), read-only sessions."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from energy_ingest.config import Settings
from energy_ingest.store.db import database_url


def session_options(settings: Settings) -> str:
    """libpq `options`: every transaction is read-only and no statement runs away."""
    return (
        "-c default_transaction_read_only=on"
        f" -c statement_timeout={settings.statement_timeout_ms}"
        " -c idle_in_transaction_session_timeout=600000"
        " -c jit=off"  # JIT compiles for tens of ms; these queries run in a few
    )


class Database:
    """Holds the pool; nothing connects until the first request of this process."""

    def __init__(self, settings: Settings, *, max_size: int = 8, timeout: float = 10.0) -> None:
        self.settings = settings
        self.max_size = max_size
        self.timeout = timeout  # seconds a request waits for a connection before a 503
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = self._open()
        return self._pool

    def _open(self) -> ConnectionPool[psycopg.Connection[Any]]:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            database_url(self.settings),
            min_size=1,
            max_size=self.max_size,
            kwargs={
                "options": session_options(self.settings),
                "application_name": "energy-api",
                "connect_timeout": 5,
            },
            check=ConnectionPool.check_connection,
            name="energy-api",
            open=False,
        )
        pool.open(wait=False)
        atexit.register(pool.close)
        return pool

    @contextmanager
    def connection(
        self, tz: str | None = None, timeout: float | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside a read-only transaction, its TimeZone set to `tz`."""
        wait = self.timeout if timeout is None else min(timeout, self.timeout)
        with self.pool.connection(timeout=wait) as conn:
            if tz:
                conn.execute("SELECT set_config('TimeZone', %s, true)", (tz,))
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
