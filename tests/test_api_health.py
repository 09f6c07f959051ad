"""GET /api/v2/health: `status`, its `reason` (null when ok), and `database` about the database only."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from api_helpers import add_file
from flask.testing import FlaskClient
from helpers import wait_until

from energy_api import create_app
from energy_api.openapi.v2 import HEALTH
from energy_ingest.config import Settings


def health(client: FlaskClient, status: int) -> dict[str, Any]:
    """The answer, checked against the OpenAPI document's schema for it."""
    reply = client.get("/api/v2/health")
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = reply.get_json()
    jsonschema.validate(body, HEALTH)
    return body


def evaluated_now(db: psycopg.Connection[Any]) -> None:
    """The daemon has just evaluated data health (else files without an evaluation degrade)."""
    db.execute("UPDATE health_state SET evaluated_at = now()")


@pytest.fixture
def other_app(api_settings: Settings) -> Iterator[Any]:
    made: list[Any] = []

    def make(**changes: Any) -> FlaskClient:
        flask_app = create_app(dataclasses.replace(api_settings, **changes))
        flask_app.extensions["energy_db"].timeout = 1.0
        made.append(flask_app)
        return flask_app.test_client()

    yield make
    for flask_app in made:
        flask_app.extensions["energy_db"].close()


def test_ok_has_no_reason_and_the_database_ok(client: FlaskClient) -> None:
    body = health(client, 200)
    assert (body["status"], body["reason"], body["database"]) == ("ok", None, "ok")


def test_a_failed_newest_file_is_degraded_with_its_reason_and_the_database_still_ok(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    add_file(db, "bad.csv", status="failed", error="truncated")
    evaluated_now(db)
    body = health(client, 200)
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["reason"] == (
        "the most recent file failed to ingest: see /api/v2/files?status=failed"
    )


def test_pending_migrations_are_degraded_the_database_names_them_and_the_reason_says_what_to_do(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    db.execute("DELETE FROM schema_migrations WHERE version = 3")
    add_file(db, "bad.csv", status="failed", error="truncated")
    evaluated_now(db)
    body = health(client, 200)
    assert body["status"] == "degraded"
    assert body["database"] == "migrations pending: 0003_readings_without_fk.sql"
    assert body["reason"] == (
        "migrations pending: 0003_readings_without_fk.sql; run `energy-ingest migrate`;"
        " the most recent file failed to ingest: see /api/v2/files?status=failed"
    )


@pytest.mark.slow
def test_an_unreachable_database_is_down_503_with_the_cause_in_both_fields(other_app: Any) -> None:
    body = health(other_app(database_url="postgresql://postgres@127.0.0.1:1/nope"), 503)
    assert body["status"] == "down"
    assert body["database"].startswith("unreachable: ")
    assert body["reason"].startswith("the database cannot be reached: ")
    assert body["reason"].removeprefix("the database cannot be reached: ") == body[
        "database"
    ].removeprefix("unreachable: ")
    assert (body["last_ingest"], body["readings"]) == (None, None)


@pytest.mark.no_database
def test_no_dev_cluster_is_down_and_says_how_to_start_one(other_app: Any, tmp_path: Path) -> None:
    body = health(other_app(database_url=None, pgdata_dir=tmp_path / "pgdata"), 503)
    assert body["status"] == "down" and body["database"].startswith("unreachable: ")
    assert "energy-ingest devdb start" in body["reason"]


@pytest.mark.no_database
def test_a_database_without_the_schema_is_down_and_says_to_migrate(
    other_app: Any, empty_database_url: str
) -> None:
    body = health(other_app(database_url=empty_database_url), 503)
    assert body["status"] == "down"
    assert body["database"] == "schema missing"
    assert body["reason"] == "the database has no energy schema: run `energy-ingest migrate`"


def _scans(db: psycopg.Connection[Any], tables: tuple[str, ...] = ("readings",)) -> int:
    """Scans of `tables` so far (sequential and index), once every other session of the database
    has ended (a session's statistics reach the shared ones when it exits)."""
    wait_until(
        lambda: (
            not db.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        ),  # type: ignore[index]
        what="the API's sessions to end",
    )
    db.execute("SELECT pg_stat_force_next_flush()")  # this session's own too (DDL, inserts)
    db.execute("SELECT pg_stat_clear_snapshot()")
    row = db.execute(
        "SELECT sum(seq_scan + coalesce(idx_scan, 0)) FROM pg_stat_user_tables"
        " WHERE relname = ANY(%s)",
        (list(tables),),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_readings_is_an_estimate_that_never_scans_a_large_table_analysed_or_not(
    other_app: Any, db: psycopg.Connection[Any]
) -> None:
    """The parent of partitions has no size and autovacuum never analyses it: the size and the
    statistics are its partitions', in health and in /metrics."""
    db.execute(
        "INSERT INTO readings (point_id, ts, value)"
        " SELECT i % 50 + 1, timestamptz '2023-12-01' + (i / 50) * interval '1 minute', i"
        " FROM generate_series(0, 249999) AS i"
    )  # 72,000 in 2023, the rest in 2024
    partitions = ("readings_2023", "readings_2024")
    for name in partitions:  # they stay never analysed
        db.execute(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")
    for analysed in (False, True):
        if analysed:
            db.execute("ANALYZE readings")
        row = db.execute(
            "SELECT sum(reltuples) FROM pg_class WHERE relname = ANY(%s)", (list(partitions),)
        ).fetchone()
        assert row is not None and row[0] == (250_000 if analysed else -2)
        before = _scans(db, partitions)
        client = other_app()
        counts = [health(client, 200)["readings"] for _ in range(3)]
        scraped = client.get("/metrics").get_data(as_text=True)
        client.application.extensions["energy_db"].close()
        assert _scans(db, partitions) == before, f"readings were scanned (analysed: {analysed})"
        assert all(abs(n - 250_000) <= 25_000 for n in counts), counts
        estimate = next(
            float(line.split()[1])
            for line in scraped.splitlines()
            if line.startswith("energy_readings_estimate ")
        )
        assert abs(estimate - 250_000) <= 25_000, estimate


def test_readings_is_exact_for_a_small_table(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    assert health(client, 200)["readings"] == 0
    db.execute(
        "INSERT INTO readings (point_id, ts, value)"
        " SELECT 1, timestamptz '2024-01-01' + i * interval '1 minute', i"
        " FROM generate_series(1, 1234) AS i"
    )
    assert health(client, 200)["readings"] == 1234
