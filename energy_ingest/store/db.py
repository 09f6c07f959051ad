"""Database connections: resolve the URL (server or embedded) and translate connection failures."""

from __future__ import annotations

from typing import Any

import psycopg

from energy_ingest.config import Settings
from energy_ingest.errors import DatabaseUnavailable, first_line
from energy_ingest.store.embedded import EmbeddedPostgres


def database_url(settings: Settings) -> str:
    """ENERGY_DATABASE_URL, or the embedded development cluster if it is running.

    Only `make run` and `energy-ingest devdb start` create or start that cluster: a command run in
    a folder with none gets an EmbeddedDatabaseError saying so, not a new empty database.
    """
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.pgdata_dir).ensure_running(start=False)


def connect(conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(conninfo, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {first_line(exc)}") from exc
