"""The API cannot write: its sessions are read-only, and the energy_reader role can only SELECT."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from api_helpers import add_point
from flask import Flask
from psycopg import sql
from psycopg.conninfo import make_conninfo

from energy_api import create_app
from energy_ingest.config import Settings
from energy_ingest.store.migrate import available

INSERT = "INSERT INTO points (source, name) VALUES ('siemens', 'INTRUDER.X')"


def test_an_insert_through_the_apis_own_connection_fails_as_read_only(
    app: Flask, db: psycopg.Connection[Any]
) -> None:
    with app.app_context(), app.extensions["energy_db"].connection() as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(INSERT)
        conn.rollback()
        timeout = conn.execute("SHOW statement_timeout").fetchone()
    assert timeout == ("30s",)
    assert db.execute("SELECT count(*) FROM points").fetchone() == (0,)


@pytest.fixture
def reader_login(server_conninfo: str, database_url: str) -> Iterator[str]:
    """A throwaway login role that is a member of energy_reader (as the README suggests)."""
    name = f"energy_api_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE energy_reader").format(sql.Identifier(name))
        )
    try:
        yield make_conninfo(database_url, user=name)
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_as_energy_reader_even_a_read_write_transaction_cannot_insert(
    api_settings: Settings, reader_login: str, db: psycopg.Connection[Any]
) -> None:
    add_point(db, "BOLIOU.AHU1.SAT")
    app = create_app(dataclasses.replace(api_settings, database_url=reader_login))
    try:
        client = app.test_client()
        assert [p["name"] for p in client.get("/api/v2/points").get_json()["data"]] == [
            "BOLIOU.AHU1.SAT"
        ]
        assert client.get("/api/v2/health").get_json()["status"] == "ok"
        with app.app_context(), app.extensions["energy_db"].connection() as conn:
            conn.rollback()
            conn.execute("BEGIN READ WRITE")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(INSERT)
            conn.rollback()
    finally:
        app.extensions["energy_db"].close()


def test_the_reader_role_migration_is_safe_when_the_role_exists(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        script = next(m.sql for m in available() if m.name == "0002_reader_role.sql")
        conn.execute(script.encode())  # the role exists (cluster-wide): no error, grants again
        privileges = conn.execute(
            "SELECT has_table_privilege('energy_reader', t, 'SELECT'),"
            " has_table_privilege('energy_reader', t, 'INSERT'),"
            " has_table_privilege('energy_reader', t, 'UPDATE')"
            " FROM unnest(ARRAY['points', 'readings', 'files', 'schema_migrations']) AS t"
        ).fetchall()
        login = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'energy_reader'"
        ).fetchone()
    assert privileges == [(True, False, False)] * 4
    assert login == (False,)
