"""Shared fixtures: a real PostgreSQL (server or embedded), fresh databases per test, real spools."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from helpers import Daemon
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from energy_ingest.config import Settings
from energy_ingest.store.embedded import EmbeddedPostgres
from energy_ingest.store.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT.parent / "shared" / "samples"
_counter = itertools.count()


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


def _create(server: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        conn.execute(query)
    return make_conninfo(server, dbname=name)


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_db(server_conninfo: str) -> Iterator[str]:
    """A migrated database that per-test databases are cloned from; dropped at the end."""
    name = f"energy_test_tmpl_{uuid.uuid4().hex[:12]}"
    url = _create(server_conninfo, name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    yield name
    _drop(server_conninfo, name)


@pytest.fixture
def database_url(server_conninfo: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated, isolated database for one test (never the developer's data)."""
    name = f"energy_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    url = _create(server_conninfo, name, template=template_db)
    yield url
    _drop(server_conninfo, name)


@pytest.fixture
def empty_database_url(server_conninfo: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    name = f"energy_test_empty_{uuid.uuid4().hex[:12]}"
    url = _create(server_conninfo, name)
    yield url
    _drop(server_conninfo, name)


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
def settings(database_url: str, spool_dir: Path) -> Settings:
    return Settings(
        database_url=database_url, spool_dir=spool_dir, settle_seconds=0.2, rescan_seconds=1.0
    )


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
