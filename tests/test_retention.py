"""Raw retention (ENERGY_RAW_RETENTION, `energy-ingest retention`): raw partitions older than the
horizon go, their rollups and the answers made of them stay; interval=raw there is refused, the
loader refuses files reaching back there, and a rebuild keeps those rollups."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

import psycopg
import pytest
from helpers import insight_report, load_report, scalar

from energy_api import create_app
from energy_ingest.config import Settings
from energy_ingest.errors import ParseError
from energy_ingest.write.rollup_rebuild import rebuild

pytestmark = pytest.mark.slow

ZONE = "America/Chicago"
ROLLUPS = ("readings_hours", "readings_daily", "readings_monthly")


def _cli(url: str, *args: str, retention: str = "5y") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENERGY_DATABASE_URL": url, "ENERGY_TIMEZONE": ZONE}
    env["ENERGY_RAW_RETENTION"] = retention
    return subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "retention", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rollups(url: str) -> dict[str, str]:
    """Each rollup table's rows, as one digest."""
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                f"SELECT md5(string_agg(x::text, ';' ORDER BY x::text)) FROM {t} x"
            ).fetchone()[0]  # type: ignore[index]
            for t in ROLLUPS
        }


def _client(url: str, settings: Settings) -> Any:
    app = create_app(dataclasses.replace(settings, database_url=url, timezone=ZONE))
    return app.test_client()


@pytest.fixture
def years(database_url: str) -> str:
    """Two points read hourly from 2019 to 2026 (UTC), rollups built."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO points (source, name) VALUES ('siemens', 'RT.A'), ('siemens', 'RT.B')"
        )
        conn.execute(
            "INSERT INTO readings SELECT p.id, t, p.id * 10 + extract(hour FROM t) / 4"
            " FROM points p, generate_series('2019-01-01Z'::timestamptz, '2026-06-30Z', '1 hour') t"
        )
        conn.commit()
        rebuild(conn, ZONE)
    return database_url


def test_retention_drops_old_raw_years_and_keeps_their_rollups_and_answers(
    years: str, settings: Settings
) -> None:
    url = years
    client = _client(url, settings)
    daily = "/api/v2/values?points=RT.A&start=2019-03-01&end=2019-04-01&interval=1d&agg=avg,min,max"
    before = client.get(daily).get_json()
    assert len(before["series"][0]["data"]) == 31
    monthly = client.get("/api/v2/values?points=RT.B&start=2019-01-01&end=2021-01-01&interval=1mo")
    rollups = _rollups(url)
    count_2021 = scalar(url, "SELECT count(*) FROM readings WHERE ts >= '2021-01-01Z'")

    dry = _cli(url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would drop readings_2019" in dry.stdout and "would drop readings_2020" in dry.stdout
    assert "readings_2021" not in dry.stdout
    assert scalar(url, "SELECT to_regclass('readings_2019') IS NOT NULL") is True

    done = _cli(url)
    assert done.returncode == 0, done.stderr
    assert "dropped readings_2019" in done.stdout and "dropped readings_2020" in done.stdout
    assert "raw readings are kept from 2020-12-31 18:00" in done.stdout
    assert scalar(url, "SELECT to_regclass('readings_2019')") is None
    assert scalar(url, "SELECT count(*) FROM readings WHERE ts < '2021-01-01Z'") == 0
    assert scalar(url, "SELECT count(*) FROM readings") == count_2021
    assert _rollups(url) == rollups  # every hour, day and month kept as it was

    after = client.get(daily).get_json()
    assert after["series"] == before["series"]
    assert after["meta"]["raw_since"] == "2020-12-31T18:00:00-06:00"
    assert "no longer kept" in after["meta"]["note"]
    again = client.get("/api/v2/values?points=RT.B&start=2019-01-01&end=2021-01-01&interval=1mo")
    assert again.get_json()["series"] == monthly.get_json()["series"]

    raw = client.get("/api/v2/values?points=RT.A&start=2019-03-01&end=2019-03-02")
    assert raw.status_code == 400
    error = raw.get_json()["error"]
    assert error["param"] == "start" and "interval=1h, 1d or 1mo" in error["message"]
    # a partial first day is left out, and the answer says where it starts
    edge = client.get(
        "/api/v2/values?points=RT.A&start=2019-03-01T12:00&end=2019-03-05&interval=1d"
    ).get_json()
    assert edge["meta"]["start"] == "2019-03-02T00:00:00-06:00"
    assert edge["series"][0]["data"][0][0] == "2019-03-02T00:00:00-06:00"
    assert "whole buckets" in edge["meta"]["note"]
    csv = client.get(daily + "&format=csv")  # a CSV says it in a header
    assert (
        csv.status_code == 200 and csv.headers["X-Energy-Raw-Since"] == "2020-12-31T18:00:00-06:00"
    )
    # a range after the horizon says nothing of it
    recent = client.get("/api/v2/values?points=RT.A&start=2024-03-01&end=2024-03-02").get_json()
    assert "raw_since" not in recent["meta"]

    # a file reaching back before the horizon is refused, whole; a rebuild keeps the old rollups
    with pytest.raises(ParseError, match="before 2021-01-01 00:00:00-06:00: raw readings before"):
        load_report(url, "old.csv", insight_report(["RT.A"], datetime(2020, 12, 31, 22), 12))
    with psycopg.connect(url) as conn:
        rebuild(conn, ZONE)
    assert _rollups(url) == rollups
    load_report(url, "new.csv", insight_report(["RT.A"], datetime(2021, 1, 1), 8))  # from it: loads
    assert _cli(url).stdout.splitlines()[1] == "nothing to drop"


def test_retention_keeps_the_tables_when_asked_and_does_nothing_while_unset(
    years: str,
) -> None:
    off = _cli(years, retention="")
    assert off.returncode == 0 and "ENERGY_RAW_RETENTION is not set" in off.stdout
    kept = _cli(years, "--keep-tables", retention="6y")
    assert kept.returncode == 0, kept.stderr
    assert "detached readings_2019" in kept.stdout
    assert scalar(years, "SELECT count(*) FROM readings_2019_detached") == 365 * 24 * 2
    assert scalar(years, "SELECT count(*) FROM readings WHERE ts < '2020-01-01Z'") == 0
    bad = _cli(years, retention="5 decades")
    assert (
        bad.returncode != 0
        and "ENERGY_RAW_RETENTION='5 decades' is not a number of years" in bad.stderr
    )
