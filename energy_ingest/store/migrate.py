"""Versioned SQL migrations from energy_ingest/store/sql/, applied in order, each in its own transaction."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from energy_ingest.errors import MigrationError
from energy_ingest.store import partitions

# pg_advisory_lock key: two `migrate` processes serialise instead of colliding.
LOCK_KEY = 0x656E65726779  # "energy"
NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# Migrations whose script only prepares: their rows move afterwards, in batches that each commit,
# and the finisher records the migration in its last transaction. Their scripts run again (they
# are written to) when a `migrate` stopped midway is run again.
FINISH = {17: partitions.convert}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("energy_ingest.store").joinpath("sql").iterdir():
        match = NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number: {[m.name for m in found]}")
    return found


def pending(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Migrations not yet applied (all of them on an empty database)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    applied: set[int] = set()
    if exists and exists[0]:
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    conn.rollback()
    return [m for m in available() if m.version not in applied]


def require_current(conn: psycopg.Connection[Any]) -> None:
    """A MigrationError saying what to run when the schema is behind (for commands that read it)."""
    behind = pending(conn)
    if behind:
        raise MigrationError(
            f"the database schema is behind ({', '.join(m.name for m in behind)} not applied): "
            "run `energy-ingest migrate` first"
        )


def migrate(
    conn: psycopg.Connection[Any],
    timezone: str = "America/Chicago",
    then: Callable[[psycopg.Connection[Any]], None] | None = None,
    progress: partitions.Progress | None = None,
) -> list[str]:
    """Apply what is pending; return the names applied (empty when already up to date).
    `timezone` (ENERGY_TIMEZONE) is the zone of the daily rollups a migration builds.
    `then` builds the rollups of readings stored before migration 0006 (the CLI passes the
    rollup rebuild, in the write layer): it runs, under the same lock, when rollup_state says
    they were never built (stale with no built_at) — after the migrations that made them so, or
    in the next `migrate` if one was stopped before it finished. `progress` hears how far a
    finisher (FINISH) got."""
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    conn.execute("SELECT set_config('energy.timezone', %s, false)", (timezone,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.autocommit = False
        done = []
        for migration in pending(conn):
            finish = FINISH.get(migration.version)

            def record(m: Migration = migration) -> None:
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (m.version, m.name),
                )

            try:
                with conn.transaction():
                    conn.execute(migration.sql.encode())  # a multi-statement script, not a literal
                    if finish is None:
                        record()
                if finish is not None:
                    finish(conn, record, progress)
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.name} failed and was rolled back: {exc}"
                ) from exc
            done.append(migration.name)
        if then is not None and never_built(conn):
            then(conn)
        return done
    finally:
        conn.rollback()
        conn.autocommit = True
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def never_built(conn: psycopg.Connection[Any]) -> bool:
    """Whether rollups await their first build (migration 0006 on a database with readings)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM rollup_state WHERE stale_since IS NOT NULL AND built_at IS NULL)"
    ).fetchone()
    conn.rollback()
    return bool(row and row[0])
