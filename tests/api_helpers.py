"""Fixtures for the API tests: load points, readings and ledger rows with direct SQL."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from energy_api import create_app
from energy_ingest.config import Settings

_files = itertools.count()


def add_point(
    conn: psycopg.Connection[Any],
    name: str,
    *,
    kind: str = "number",
    states: Iterable[str] = (),
    source: str = "siemens",
    unit: str | None = None,
    building: str | None = None,
    room: str | None = None,
    description: str | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO points (source, name, kind, states, unit, building, room, description)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (source, name, kind, list(states), unit, building or name.split(".")[0], room, description),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_readings(
    conn: psycopg.Connection[Any], point_id: int, rows: Iterable[tuple[datetime, float]]
) -> None:
    with conn.cursor().copy("COPY readings (point_id, ts, value) FROM STDIN") as copy:
        for ts, value in rows:
            copy.write_row((point_id, ts, value))


def every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """Instants from start (inclusive) to end (exclusive), `step` apart in absolute time."""
    moment = start
    while moment < end:
        yield moment
        moment = moment + step


def add_file(
    conn: psycopg.Connection[Any],
    name: str = "",
    *,
    status: str = "ingested",
    source: str = "siemens",
    ingested_at: datetime | None = None,
    error: str | None = None,
) -> int:
    n = next(_files)
    name = name or f"report_{n}.csv"
    row = conn.execute(
        "INSERT INTO files (sha256, name, source, size_bytes, status, ingested_at, error)"
        " VALUES (%s, %s, %s, 100, %s, coalesce(%s, now()), %s) RETURNING id",
        (
            hashlib.sha256(f"{name}{n}".encode()).hexdigest(),
            name,
            source,
            status,
            ingested_at,
            error,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A writable connection for loading fixtures (autocommit: the API sees rows at once)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, cors_origins=("https://dash.example.edu",), timezone="America/Chicago"
    )


@pytest.fixture
def app(api_settings: Settings) -> Iterator[Flask]:
    app = create_app(api_settings)
    yield app
    app.extensions["energy_db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
