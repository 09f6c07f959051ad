"""The read API on a hot standby: a primary and a standby streaming from it (pg_basebackup -R),
the daemon loading the demo campus on the primary, and the same answers read through the API
from both, before and after more files arrive; the standby's replay lag in /api/v2/health and
/metrics, degraded while replay is paused behind a write."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from helpers import Daemon, wait_until
from replica_helpers import Server, caught_up, streaming_pair

from energy_api import create_app
from energy_ingest.config import Settings
from energy_ingest.demo import STAGES, demo_files, live_files

pytestmark = [pytest.mark.daemon, pytest.mark.slow]  # two clusters and a daemon
DB = "energy"
ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "examples" / "site.toml"
NOW = datetime.now(UTC)
POINTS = "EV.R201.RMT,GH.R110.RMT,BOLIOU.ELEC.KW"


@dataclasses.dataclass
class Campus:
    primary: Server
    standby: Server
    spool: Path
    apps: dict[str, Flask]

    def answers(self, url: str) -> dict[str, tuple[int, Any]]:
        out = {}
        for role, app in self.apps.items():
            response = app.test_client().get(url)
            body = response.get_json() if response.is_json else response.get_data(as_text=True)
            out[role] = (response.status_code, body)
        return out

    def drop(self, source: str, name: str, data: bytes) -> None:
        folder = self.spool / "incoming" / source
        (folder / f".{name}.part").write_bytes(data)
        (folder / f".{name}.part").rename(folder / name)

    def loaded(self, count: int) -> None:
        def done() -> bool:
            with psycopg.connect(self.primary.url(DB)) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM files WHERE status <> 'pending'"
                ).fetchone()
            return bool(row and row[0] >= count)

        wait_until(done, 120, f"{count} files loaded")
        caught_up(self.primary, self.standby, DB)


def _cli(url: str, *args: str) -> None:
    env = {**os.environ, "ENERGY_DATABASE_URL": url, "ENERGY_SITE_FILE": str(SITE)}
    done = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campus]:
    with streaming_pair() as (primary, standby):
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB}")
        _cli(primary.url(DB), "migrate")
        spool = tmp_path_factory.mktemp("spool")
        daemon = Daemon(
            primary.url(DB), spool, spool.parent / "daemon.log", ENERGY_SITE_FILE=str(SITE)
        )
        daemon.start()
        apps = {
            role: create_app(
                Settings(database_url=server.url(DB), timezone="America/Chicago", spool_dir=spool)
            )
            for role, server in (("primary", primary), ("standby", standby))
        }
        try:
            wait_until(lambda: (spool / "incoming" / "siemens").is_dir(), 30, "the daemon")
            found = Campus(primary, standby, spool, apps)
            files = [f for f in demo_files(NOW) if f.stage != STAGES[3]]
            for f in files:
                found.drop(f.source, f.name, f.data)
            found.loaded(len(files))
            yield found
        finally:
            for app in apps.values():
                app.extensions["energy_db"].close()
            daemon.kill()


def _urls(campus: Campus) -> list[str]:
    points = campus.answers("/api/v2/points?limit=500")["primary"][1]["data"]
    ids = [str(p["id"]) for p in points]
    span = "start=2025-01-01&end=2026-01-01"
    recent = f"start={(NOW - timedelta(days=4)).date()}&end={(NOW + timedelta(days=1)).date()}"
    return [
        "/api/v2/points?limit=500",
        f"/api/v2/points/{ids[0]}",
        *(f"/api/v2/values?points={POINTS}&{span}&interval={i}" for i in ("1h", "1d", "1mo")),
        f"/api/v2/values?points={POINTS}&start=2025-03-01&end=2025-03-15",
        f"/api/v2/values?points={POINTS}&{recent}&interval=1h",
        f"/api/v2/values?points={POINTS}&{span}&interval=1d&format=csv",
        f"/api/v2/latest?points={','.join(ids)}",
        *(f"/api/v2/{c}" for c in ("buildings", "floors", "rooms", "devices", "tags", "units")),
        "/api/v2/series",
        "/api/v2/alerts",
        "/api/v2/coverage",
        "/api/buildings",
        "/api/points",
        "/api/rooms",
        "/api/units",
        f"/api/values?{'&'.join(f'point_ids[]={i}' for i in ids[:3])}"
        f"&start_time={int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())}"
        f"&end_time={int(datetime(2025, 6, 3, tzinfo=UTC).timestamp())}",
    ]


def _same(campus: Campus) -> None:
    for url in _urls(campus):
        found = campus.answers(url)
        assert found["primary"][0] == 200, (url, found["primary"])
        assert found["standby"] == found["primary"], url


def test_a_standby_answers_as_its_primary_before_and_after_more_files(campus: Campus) -> None:
    _same(campus)
    newer = live_files(NOW + timedelta(days=2))[-2:]  # two days the standby has not seen
    for f in newer:
        campus.drop(f.source, f.name, f.data)
    with psycopg.connect(campus.primary.url(DB)) as conn:
        row = conn.execute("SELECT count(*) FROM files").fetchone()
    assert row is not None
    campus.loaded(row[0] + len(newer))
    recent = f"/api/v2/values?points=EV.R201.RMT&start={NOW.date()}&end={(NOW + timedelta(days=3)).date()}"
    assert campus.answers(recent)["standby"][1]["meta"]["rows"] > 0  # the new day, replayed
    _same(campus)


def test_health_and_metrics_say_how_far_the_standby_trails(campus: Campus) -> None:
    health = {role: body for role, (_, body) in campus.answers("/api/v2/health").items()}
    assert health["primary"]["replica"] is None
    replica = health["standby"]["replica"]
    assert replica["streaming"] is True and replica["lag_s"] == 0
    assert "standby" not in (health["standby"]["reason"] or "")
    metrics = campus.answers("/metrics")
    assert "energy_standby 0.0" in metrics["primary"][1]
    assert "energy_standby 1.0" in metrics["standby"][1]
    assert "energy_replica_lag_seconds 0.0" in metrics["standby"][1]

    strict = create_app(
        Settings(
            database_url=campus.standby.url(DB),
            timezone="America/Chicago",
            api_max_lag_seconds=1.0,
        )
    )
    with psycopg.connect(campus.standby.url(DB), autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with psycopg.connect(campus.primary.url(DB), autocommit=True) as primary:
                primary.execute("UPDATE health_state SET backlog = backlog")  # a commit to replay
            wait_until(
                lambda: bool(
                    standby.execute(
                        "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
                    ).fetchone()[0]  # type: ignore[index]
                ),
                30,
                "the write received",
            )
            time.sleep(1.1)
            body = strict.test_client().get("/api/v2/health").get_json()
            assert body["status"] == "degraded"
            assert body["replica"]["lag_s"] > 1
            assert (
                "standby's replay is" in body["reason"]
                and "ENERGY_API_MAX_LAG 1 s" in body["reason"]
            )
            answer = strict.test_client().get(f"/api/v2/values?points={POINTS}&range=today")
            assert answer.status_code == 200 and float(answer.headers["X-Energy-Replica-Lag"]) > 1
            text = strict.test_client().get("/metrics").get_data(as_text=True)
            lag = next(x for x in text.splitlines() if x.startswith("energy_replica_lag_seconds "))
            assert float(lag.split()[1]) > 1
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
            strict.extensions["energy_db"].close()
    caught_up(campus.primary, campus.standby, DB)
    assert campus.answers("/api/v2/health")["standby"][1]["replica"]["lag_s"] == 0
    url = f"/api/v2/values?points={POINTS}&start=2025-01-01&end=2025-02-01"
    on = {role: app.test_client().get(url) for role, app in campus.apps.items()}
    assert "X-Energy-Replica-Lag" not in on["primary"].headers
    assert on["standby"].headers["X-Energy-Replica-Lag"] == "0.000"
    assert on["standby"].headers["Last-Modified"] == on["primary"].headers["Last-Modified"]


def test_every_route_answers_from_a_standby_which_refuses_any_write(campus: Campus) -> None:
    # by construction: the standby refuses a write from any session, so a route that wrote
    # would fail there (a 500 or 503); every GET route without a path parameter answers
    with (
        psycopg.connect(campus.standby.url(DB), autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("INSERT INTO points (source, name) VALUES ('siemens', 'X')")
    app = campus.apps["standby"]
    routes = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint != "static"
    )
    assert "/api/v2/health" in routes and "/api/buildings" in routes and len(routes) > 40
    for url in routes:
        status, body = campus.answers(url)["standby"]
        assert status < 500, (url, body)
