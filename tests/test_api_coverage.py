"""agg=coverage on /values (the share of each bucket's expected readings, buckets of their real
length) and /points/<ref>/gaps, on constructed 15-minute data whose holes are known."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from api_helpers import add_point, add_readings, every
from flask.testing import FlaskClient

from energy_ingest.write.rollup_rebuild import rebuild

CHICAGO = ZoneInfo("America/Chicago")
QUARTER = timedelta(minutes=15)


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CHICAGO)


def quarter_hours(
    db: psycopg.Connection[Any],
    point: int,
    start: datetime,
    end: datetime,
    *holes: tuple[datetime, datetime],
) -> int:
    """Readings every 15 minutes (absolute time) in [start, end) but in the holes; how many."""
    span = every(start.astimezone(UTC), end.astimezone(UTC), QUARTER)  # aware + is wall time
    stamps = [t for t in span if not any(a <= t < b for a, b in holes)]
    add_readings(db, point, ((t, float(i % 5)) for i, t in enumerate(stamps)))
    return len(stamps)


def values(client: FlaskClient, status: int = 200, **params: Any) -> Any:
    reply = client.get("/api/v2/values", query_string={"tz": "America/Chicago", **params})
    assert reply.status_code == status, reply.get_data(as_text=True)
    return reply.get_json() if reply.is_json else reply.get_data(as_text=True)


def series(body: Any) -> list[tuple[str, Any]]:
    return [(row[0], row[2]) for row in body["series"][0]["data"]]


@pytest.fixture
def sat(db: psycopg.Connection[Any]) -> int:
    """BOLIOU.SAT, every 15 minutes through 2026-03-02 (Chicago) but 10:00-11:00."""
    point = add_point(db, "BOLIOU.SAT", interval_s=900.0)
    hole = (local(2026, 3, 2, 10), local(2026, 3, 2, 11))
    assert quarter_hours(db, point, local(2026, 3, 2), local(2026, 3, 3), hole) == 92
    return point


def test_coverage_is_the_share_of_each_buckets_expected_readings(
    client: FlaskClient, sat: int
) -> None:
    day = values(
        client,
        points=sat,
        start="2026-03-02",
        end="2026-03-03",
        interval="1d",
        agg="coverage,count",
    )
    assert day["meta"]["agg"] == ["coverage", "count"]
    assert day["series"][0]["data"] == [["2026-03-02T00:00:00-06:00", 1772431200, 92 / 96, 92]]
    hours = series(
        values(
            client,
            points=sat,
            start="2026-03-02T08:00",
            end="2026-03-02T13:00",
            interval="1h",
            agg="coverage",
        )
    )
    assert hours == [  # the empty hour has no bucket, as for count
        ("2026-03-02T08:00:00-06:00", 1.0),
        ("2026-03-02T09:00:00-06:00", 1.0),
        ("2026-03-02T11:00:00-06:00", 1.0),
        ("2026-03-02T12:00:00-06:00", 1.0),
    ]
    # a bucket cut by the range counts only its part inside: 12 hours, 44 readings of 48
    half = values(
        client,
        points=sat,
        start="2026-03-02",
        end="2026-03-02T12:00",
        interval="1d",
        agg="coverage",
    )
    assert series(half) == [("2026-03-02T00:00:00-06:00", pytest.approx(44 / 48))]
    month = values(
        client, points=sat, start="2026-03-01", end="2026-04-01", interval="1mo", agg="coverage"
    )
    assert series(month) == [
        ("2026-03-01T00:00:00-06:00", pytest.approx(92 * 900 / (31 * 86400 - 3600)))
    ]


def test_a_dst_day_is_a_bucket_of_23_or_25_hours(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    point = add_point(db, "DST.SAT", interval_s=900.0)
    # each day complete but one missing hour: 88 of 92 on the 23-hour day, 96 of 100 on the 25
    spring = (local(2026, 3, 8, 12), local(2026, 3, 8, 13))
    assert quarter_hours(db, point, local(2026, 3, 8), local(2026, 3, 9), spring) == 88
    autumn = (local(2026, 11, 1, 12), local(2026, 11, 1, 13))
    assert quarter_hours(db, point, local(2026, 11, 1), local(2026, 11, 2), autumn) == 96
    body = values(
        client, points=point, start="2026-03-08", end="2026-03-09", interval="1d", agg="coverage"
    )
    assert series(body) == [("2026-03-08T00:00:00-06:00", pytest.approx(88 / 92))]
    body = values(
        client, points=point, start="2026-11-01", end="2026-11-02", interval="1d", agg="coverage"
    )
    assert series(body) == [("2026-11-01T00:00:00-05:00", pytest.approx(96 / 100))]


def test_coverage_from_rollups_equals_coverage_from_readings(
    client: FlaskClient, db: psycopg.Connection[Any], sat: int
) -> None:
    query = {
        "points": sat,
        "start": "2026-03-01",
        "end": "2026-03-04",
        "interval": "1d",
        "agg": "coverage",
    }
    reply = client.get("/api/v2/values", query_string={"tz": "America/Chicago", **query})
    assert reply.headers["X-Energy-Source"] == "readings"  # direct inserts left rollups stale
    rebuild(db, "America/Chicago")
    rolled = client.get("/api/v2/values", query_string={"tz": "America/Chicago", **query})
    assert rolled.headers["X-Energy-Source"] == "readings_daily"
    assert rolled.get_json()["series"] == reply.get_json()["series"]
    assert series(rolled.get_json()) == [("2026-03-02T00:00:00-06:00", pytest.approx(92 / 96))]


def test_coverage_in_csv_long_and_wide_for_number_and_enum_points(
    client: FlaskClient, db: psycopg.Connection[Any], sat: int
) -> None:
    mode = add_point(db, "BOLIOU.MODE", kind="enum", states=["OFF", "ON"], interval_s=1800.0)
    add_readings(
        db, mode, ((t, 1.0) for t in every(local(2026, 3, 2), local(2026, 3, 2, 12), 2 * QUARTER))
    )
    common: dict[str, Any] = {
        "points": f"{sat},{mode}",
        "start": "2026-03-02",
        "end": "2026-03-03",
        "interval": "1d",
    }
    long = values(client, format="csv", layout="long", agg="coverage,count", **common)
    rows = list(csv.reader(io.StringIO(long)))
    assert rows[0] == ["point", "ts", "t", "coverage", "count"]
    assert [(r[0], float(r[3]), r[4]) for r in rows[1:]] == [
        ("BOLIOU.SAT", pytest.approx(92 / 96), "92"),
        ("BOLIOU.MODE", 0.5, "24"),
    ]
    wide = list(
        csv.reader(
            io.StringIO(values(client, format="csv", layout="wide", agg="coverage", **common))
        )
    )
    assert wide[0] == ["ts", "t", "BOLIOU.SAT", "BOLIOU.MODE"]
    assert [float(v) for v in wide[1][2:]] == [pytest.approx(92 / 96), 0.5]
    json_wide = values(client, layout="wide", agg="coverage", **common)
    assert json_wide["data"][0][2:] == [pytest.approx(92 / 96), 0.5]


def test_coverage_is_null_without_an_interval_and_refused_for_raw(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    point = add_point(db, "COV.SAT")  # interval_s not learned yet
    add_readings(
        db, point, ((t, 1.0) for t in every(local(2026, 3, 2), local(2026, 3, 2, 2), QUARTER))
    )
    body = values(
        client, points=point, start="2026-03-02", end="2026-03-03", interval="1d", agg="coverage"
    )
    assert series(body) == [("2026-03-02T00:00:00-06:00", None)]
    error = values(client, 400, points=point, range="2026-03-02", agg="coverage")["error"]
    assert error["param"] == "agg"
    assert "interval" in error["message"] and "not raw" in error["message"]


# --- gaps --------------------------------------------------------------------------------------


def gaps(client: FlaskClient, ref: Any, status: int = 200, **params: Any) -> Any:
    reply = client.get(
        f"/api/v2/points/{ref}/gaps", query_string={"tz": "America/Chicago", **params}
    )
    assert reply.status_code == status, reply.get_data(as_text=True)
    return reply.get_json()


def test_gaps_are_listed_exactly_with_the_leading_and_trailing_ones(
    client: FlaskClient, sat: int
) -> None:
    # readings 00:00..23:45 but 10:00-10:45; asked from 23:00 the day before to 01:00 after
    body = gaps(client, "BOLIOU.SAT", start="2026-03-01T23:00", end="2026-03-03T01:00")
    assert body["meta"] == {
        "count": 3,
        "truncated": False,
        "interval_s": 900.0,
        "start": "2026-03-01T23:00:00-06:00",
        "end": "2026-03-03T01:00:00-06:00",
        "tz": "America/Chicago",
    }
    assert body["data"] == [
        {
            "start": "2026-03-01T23:00:00-06:00",
            "end": "2026-03-02T00:00:00-06:00",
            "missing": 4,
            "duration_s": 3600.0,
        },
        {
            "start": "2026-03-02T09:45:00-06:00",
            "end": "2026-03-02T11:00:00-06:00",
            "missing": 4,
            "duration_s": 4500.0,
        },
        {
            "start": "2026-03-02T23:45:00-06:00",
            "end": "2026-03-03T01:00:00-06:00",
            "missing": 4,
            "duration_s": 4500.0,
        },
    ]
    first = gaps(client, sat, start="2026-03-01T23:00", end="2026-03-03T01:00", limit=1)
    assert (first["meta"]["count"], first["meta"]["truncated"]) == (1, True)
    inside = gaps(client, sat, start="2026-03-02T06:00", end="2026-03-02T15:00", tz="UTC")
    assert (inside["data"], inside["meta"]["start"]) == ([], "2026-03-02T06:00:00+00:00")
    empty = gaps(client, sat, start="2026-03-05", end="2026-03-06")
    assert [(g["missing"], g["duration_s"]) for g in empty["data"]] == [(96, 86400.0)]


def test_gaps_need_a_known_interval_and_a_good_range(
    client: FlaskClient, db: psycopg.Connection[Any], sat: int
) -> None:
    add_point(db, "NO.INTERVAL")
    error = gaps(client, "NO.INTERVAL", 400)["error"]
    assert (error["param"], error["code"]) == ("ref", "interval_unknown")
    assert "no known interval" in error["message"]
    error = gaps(client, sat, 400, start="2026-03-03", end="2026-03-02")["error"]
    assert error["param"] in ("start", "end")
    assert gaps(client, sat, 400, limit=0)["error"]["param"] == "limit"
    assert gaps(client, "NO.SUCH.POINT", 404)["error"]["code"] == "unknown_point"
    # the point itself is still there by its name, beside its gaps
    assert client.get("/api/v2/points/BOLIOU.SAT").get_json()["data"]["id"] == sat
