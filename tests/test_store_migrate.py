"""`energy-ingest migrate`: creates the schema, is idempotent, and tolerates a concurrent twin."""

from __future__ import annotations

import psycopg
import pytest
from helpers import cli_process

from energy_ingest.store.migrate import available, migrate

TABLES = {"points", "readings", "files", "schema_migrations"}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_migrate_on_an_empty_database_creates_the_schema(empty_database_url: str) -> None:
    assert _tables(empty_database_url) == set()
    proc = cli_process(empty_database_url, "migrate")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "applied 0001_schema.sql" in out
    assert _tables(empty_database_url) >= TABLES


def test_a_second_migrate_is_a_no_op(empty_database_url: str) -> None:
    with psycopg.connect(empty_database_url) as conn:
        first = migrate(conn)
        second = migrate(conn)
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert first == [m.name for m in available()]
    assert second == []
    assert count == (len(available()),)
    proc = cli_process(empty_database_url, "migrate")
    out, _ = proc.communicate(timeout=60)
    assert "database is up to date" in out


@pytest.mark.slow
def test_two_concurrent_migrations_both_succeed_and_apply_each_once(
    empty_database_url: str,
) -> None:
    procs = [cli_process(empty_database_url, "migrate") for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    outs = "".join(out for out, _ in results)
    for m in available():
        assert outs.count(f"applied {m.name}") == 1
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version"
        ).fetchall()
    assert sorted(rows) == [(m.version, 1) for m in available()]


def test_the_schema_enforces_the_data_model(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        pid = conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES ('siemens', 'EV.HX2.ENA', 'enum', '{OFF,ON}') RETURNING id"
        ).fetchone()
        assert pid is not None
        conn.execute("INSERT INTO readings VALUES (%s, '2018-11-29 00:00-06', 1)", (pid[0],))
        try:
            with conn.transaction():
                conn.execute("INSERT INTO readings VALUES (%s, '2018-11-29 06:00Z', 0)", (pid[0],))
            raise AssertionError("the same instant twice must violate the primary key")
        except psycopg.errors.UniqueViolation:
            pass
        try:
            with conn.transaction():
                conn.execute("INSERT INTO points (source, name) VALUES ('siemens', 'EV.HX2.ENA')")
            raise AssertionError("(source, name) must be unique")
        except psycopg.errors.UniqueViolation:
            pass


def test_0008_gives_the_alc_points_list_points_already_stored_their_scope(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database of 0007 holds an ALC Points List point and trend points; 0008 scopes only the
    first (its Location and type), keeps every id, and a same-named point of another building
    can then be stored beside it."""
    import energy_ingest.store.migrate as migrations

    every = available()
    monkeypatch.setattr(migrations, "available", lambda: [m for m in every if m.version < 8])
    with psycopg.connect(empty_database_url) as conn:
        migrations.migrate(conn)
        conn.execute(
            "INSERT INTO points (source, name, location, control_program, alc_name, point_type)"
            " VALUES ('alc', 'HUL-FCU2 / Setpoint', '/C/Hulings Hall/B', 'HUL-FCU2', 'Setpoint',"
            " 'BSPTCS'), ('alc', '#ahu-1/sa_temp/trend_log', '/C/Hulings Hall', NULL, NULL, NULL),"
            " ('siemens', 'HU.R102.RMT', NULL, NULL, NULL, 'LAI')"
        )
        monkeypatch.undo()
        assert migrations.migrate(conn) == [m.name for m in every if m.version >= 8]
        rows = conn.execute("SELECT id, name, scope FROM points ORDER BY id").fetchall()
        assert rows == [
            (1, "HUL-FCU2 / Setpoint", '["/C/Hulings Hall/B", "BSPTCS"]'),
            (2, "#ahu-1/sa_temp/trend_log", ""),
            (3, "HU.R102.RMT", ""),
        ]
        conn.execute(
            "INSERT INTO points (source, name, scope) VALUES ('alc', 'HUL-FCU2 / Setpoint', %s)",
            ['["/C/Goodhue Hall/B", "BSPTCS"]'],
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO points (source, name) VALUES ('siemens', 'HU.R102.RMT')")
