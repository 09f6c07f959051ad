"""Shared fixtures: a real PostgreSQL (server or embedded), fresh databases per test, real spools."""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import Clones, Daemon, create_database, drop_database
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from energy_api import create_app
from energy_ingest.config import Settings
from energy_ingest.store.embedded import EmbeddedPostgres
from energy_ingest.store.migrate import migrate

# campus_url, campus_app, legacy (legacy_campus.py); ui_campus, ui_server, browser, open_page (ui_campus.py)
pytest_plugins = ("legacy_campus", "ui_campus")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT.parent / "shared" / "samples"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts the daemon through `daemons` is a `daemon` test."""
    for item in items:
        if "daemons" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.daemon)


def pytest_report_header() -> str:
    if os.environ.get("ENERGY_TEST_DATABASE_URL"):
        return "database: ENERGY_TEST_DATABASE_URL"
    return f"database: embedded PostgreSQL in {EmbeddedPostgres(_embedded_pgdata()).where()}"


def _embedded_pgdata() -> Path:
    return Path(os.environ.get("ENERGY_PGDATA") or ROOT / "var" / "pgdata")


@pytest.fixture(scope="session")
def server_conninfo() -> Iterator[str]:
    """Maintenance connection: ENERGY_TEST_DATABASE_URL, else the embedded cluster (ENERGY_PGDATA,
    by default the checkout's var/pgdata), stopped at the end if this session started it."""
    url = os.environ.get("ENERGY_TEST_DATABASE_URL")
    if url:
        yield make_conninfo(url, dbname=conninfo_to_dict(url).get("dbname") or "postgres")
        return
    cluster = EmbeddedPostgres(_embedded_pgdata())
    yield cluster.ensure_running("postgres")
    if cluster.started:
        cluster.stop()


@pytest.fixture(scope="session")
def template_db(server_conninfo: str) -> Iterator[str]:
    """A migrated database that per-test databases are cloned from; dropped at the end."""
    name = f"energy_test_tmpl_{uuid.uuid4().hex[:12]}"
    url = create_database(server_conninfo, name)
    with psycopg.connect(url) as conn:
        migrate(conn)
        # Loads make the yearly partitions of readings they need; tests that write readings
        # with SQL, as an analyst with psql would, need them made first (docs/scaling.md).
        conn.execute("SELECT energy_readings_partitions(ARRAY(SELECT generate_series(2000, 2031)))")
    yield name
    drop_database(server_conninfo, name)


@pytest.fixture(scope="session")
def clones(server_conninfo: str, template_db: str) -> Iterator[Clones]:
    pool = Clones(server_conninfo, template_db)
    yield pool
    pool.close()


@pytest.fixture
def database_url(server_conninfo: str, clones: Clones) -> Iterator[str]:
    """A fresh, migrated, isolated database for one test (never the developer's data)."""
    name = clones.take()
    yield make_conninfo(server_conninfo, dbname=name)
    clones.drop(name)


@pytest.fixture(scope="module")
def module_database_url(server_conninfo: str, clones: Clones) -> Iterator[str]:
    """One fresh database for a whole module whose tests only read what its fixtures loaded."""
    name = clones.take()
    yield make_conninfo(server_conninfo, dbname=name)
    clones.drop(name)


@pytest.fixture
def empty_database_url(server_conninfo: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    name = f"energy_test_empty_{uuid.uuid4().hex[:12]}"
    url = create_database(server_conninfo, name)
    yield url
    drop_database(server_conninfo, name)


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """A pgdata path for a cluster of the test's own, under the repository's var/: there the
    `postgres` user of a root shell can usually reach it; in a checkout it cannot reach (inside
    a 0700 folder) the cluster is relocated, and removed here too."""
    where = ROOT / "var" / f"t-{uuid.uuid4().hex[:8]}"
    yield where / "pgdata"
    EmbeddedPostgres(where / "pgdata").delete()
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def settings(request: pytest.FixtureRequest, spool_dir: Path) -> Settings:
    """Settings on a fresh database, or (a test marked `no_database`) on a database name that
    does not exist, so that a test claiming to need none fails if it connects after all."""
    if request.node.get_closest_marker("no_database"):
        server = request.getfixturevalue("server_conninfo")
        url = make_conninfo(server, dbname="energy_test_no_such_database")
    else:
        url = request.getfixturevalue("database_url")
    return Settings(database_url=url, spool_dir=spool_dir, settle_seconds=0.2, rescan_seconds=1.0)


@pytest.fixture
def daemons(database_url: str, spool_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(url: str = database_url, **env: str) -> Daemon:
        d = Daemon(url, spool_dir, tmp_path / f"daemon{len(started)}.log", **env).start()
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc and d.proc.poll() is None:
            d.kill()


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


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose transactions the test commits itself (not autocommit)."""
    with psycopg.connect(database_url) as c:
        yield c
