"""/values keeps local time right: DST days have 25 and 23 hours, tz moves day boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from api_helpers import add_point, add_readings, every
from flask.testing import FlaskClient

from energy_api.timeparse import TimeError, parse_instant, parse_range, resolve
from energy_ingest.rollups.calendar import local_edges

CHICAGO = ZoneInfo("America/Chicago")
QUARTER = timedelta(minutes=15)


@pytest.fixture
def quarter_hours(db: psycopg.Connection[Any]) -> int:
    """One point with a sample every 15 minutes from 2024-03-01 to 2024-12-02 (UTC)."""
    point = add_point(db, "BOLIOU.AHU1.SAT", unit="degF")
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 12, 2, tzinfo=UTC)
    add_readings(db, point, ((ts, 1.0) for ts in every(start, end, QUARTER)))
    return point


def _values(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v2/values", query_string=params)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.parametrize(
    ("day", "hours", "samples"),
    [("2024-11-03", 25, 100), ("2024-03-10", 23, 92), ("2024-07-04", 24, 96)],
)
def test_a_local_day_has_as_many_hours_as_the_wall_clock_says(
    client: FlaskClient, quarter_hours: int, day: str, hours: int, samples: int
) -> None:
    raw = _values(client, points=quarter_hours, range=day)
    start = datetime.fromisoformat(raw["meta"]["start"])
    end = datetime.fromisoformat(raw["meta"]["end"])
    assert end - start == timedelta(hours=hours)
    assert raw["meta"]["start"].startswith(f"{day}T00:00:00-0")
    assert len(raw["series"][0]["data"]) == samples

    daily = _values(client, points=quarter_hours, range=day, interval="1d", agg="count")
    assert daily["series"][0]["data"] == [[raw["meta"]["start"], int(start.timestamp()), samples]]


def test_hourly_buckets_on_the_fall_back_day_show_the_repeated_hour_twice(
    client: FlaskClient, quarter_hours: int
) -> None:
    body = _values(client, points=quarter_hours, range="2024-11-03", interval="1h", agg="count")
    stamps = [row[0] for row in body["series"][0]["data"]]
    assert len(stamps) == 25
    assert stamps[1:3] == ["2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-06:00"]
    assert {row[2] for row in body["series"][0]["data"]} == {4}


def test_tz_utc_moves_the_day_boundaries(client: FlaskClient, quarter_hours: int) -> None:
    body = _values(
        client, points=quarter_hours, range="2024-11-03", tz="UTC", interval="1d", agg="count"
    )
    assert body["meta"]["start"] == "2024-11-03T00:00:00+00:00"
    assert body["meta"]["end"] == "2024-11-04T00:00:00+00:00"
    assert body["series"][0]["data"] == [["2024-11-03T00:00:00+00:00", 1730592000, 96]]
    chicago = _values(
        client, points=quarter_hours, start="2024-11-03T00:00:00Z", end="2024-11-03T06:00:00Z"
    )
    assert chicago["series"][0]["data"][0][0] == "2024-11-02T19:00:00-05:00"


def test_weeks_and_months_start_at_local_midnight(client: FlaskClient, quarter_hours: int) -> None:
    weeks = _values(
        client, points=quarter_hours, range="2024-11-01,2024-11-20", interval="1w", agg="count"
    )
    assert [r[0] for r in weeks["series"][0]["data"]] == [
        "2024-10-28T00:00:00-05:00",  # a Monday; only the samples from Nov 1 on are counted
        "2024-11-04T00:00:00-06:00",
        "2024-11-11T00:00:00-06:00",
        "2024-11-18T00:00:00-06:00",
    ]
    months = _values(
        client, points=quarter_hours, range="2024-10-01,2024-12-01", interval="1mo", agg="count"
    )
    assert months["series"][0]["data"] == [
        ["2024-10-01T00:00:00-05:00", 1727758800, 31 * 96],
        ["2024-11-01T00:00:00-05:00", 1730437200, 30 * 96 + 4],
    ]


INSTANT = datetime(2024, 11, 3, 6, 0, tzinfo=UTC)  # 2024-11-03 01:00 CDT, the first 1 a.m.


@pytest.mark.parametrize(
    "text",
    [
        "2024-11-03T06:00:00Z",
        "2024-11-03T06:00:00+00:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:00:00",  # naive: tz, first of the two 1 a.m.s
        "2024-11-03 01:00",
        "1730613600",
        "1730613600.0",
    ],
)
def test_every_accepted_time_form_parses_to_the_same_instant(text: str) -> None:
    assert parse_instant(text, CHICAGO) == INSTANT


def test_a_bare_date_is_local_midnight_and_through_the_api_every_form_agrees(
    client: FlaskClient, quarter_hours: int
) -> None:
    assert parse_instant("2024-11-03", CHICAGO) == datetime(2024, 11, 3, 5, tzinfo=UTC)
    starts = set()
    for text in (
        "2024-11-03T06:00:00Z",
        "2024-11-03T01:00:00",
        "1730613600",
        "2024-11-03T01:00:00-05:00",
    ):
        body = _values(client, points=quarter_hours, start=text, end="2024-11-04")
        starts.add((body["meta"]["start"], body["series"][0]["data"][0][1]))
    assert starts == {("2024-11-03T01:00:00-05:00", 1730613600)}


def test_relative_ranges_are_resolved_against_the_clock() -> None:
    now = datetime(2024, 11, 3, 12, 0, tzinfo=UTC)
    today = parse_range("today", CHICAGO, now)
    assert (today.start.astimezone(CHICAGO).isoformat(), today.end - today.start) == (
        "2024-11-03T00:00:00-05:00",
        timedelta(hours=25),
    )
    yesterday = parse_range("yesterday", CHICAGO, now)
    assert yesterday.start == datetime(2024, 11, 2, 5, tzinfo=UTC)
    assert parse_range("last_24h", CHICAGO, now).start == now - timedelta(hours=24)
    assert parse_range("last_7d", CHICAGO, now).start == now - timedelta(days=7)
    both = parse_range("2024-11-01,2024-11-03T12:00Z", CHICAGO, now)
    assert both.end == now


@pytest.mark.parametrize(
    ("start", "end", "range_", "param"),
    [
        ("yesterday-ish", None, None, "start"),
        ("2024-11-03", "2024-11-02", None, "end"),
        ("2024-11-03", "2024-11-03", None, "end"),
        (None, None, "tomorrow", "range"),
        ("2024-11-01", None, "today", "range"),
        ("1800-01-01", "1800-01-02", None, "start"),
        ("2024-01-01", "9999-12-31", None, "end"),
    ],
)
def test_bad_times_name_the_parameter(
    start: str | None, end: str | None, range_: str | None, param: str
) -> None:
    with pytest.raises(TimeError) as caught:
        resolve(start, end, range_, CHICAGO, datetime(2024, 11, 3, tzinfo=UTC))
    assert caught.value.param == param


def test_calendar_edges_are_local_midnights_past_dst_and_year_ends() -> None:
    def local(edges: list[datetime]) -> list[str]:
        return [e.astimezone(CHICAGO).isoformat() for e in edges]

    start = datetime(2024, 12, 15, 12, tzinfo=CHICAGO)
    months = local_edges(start, datetime(2025, 2, 1, 6, tzinfo=UTC), "1mo", CHICAGO)
    assert local(months) == [
        "2024-12-01T00:00:00-06:00",
        "2025-01-01T00:00:00-06:00",
        "2025-02-01T00:00:00-06:00",
    ]
    days = local_edges(
        datetime(2024, 11, 3, 5, tzinfo=UTC), datetime(2024, 11, 4, 6, tzinfo=UTC), "1d", CHICAGO
    )
    assert [b - a for a, b in pairwise(days)] == [timedelta(hours=25)]


@pytest.mark.parametrize(
    ("range_", "start", "end", "samples"),
    [
        # March 2024 springs forward: 31 local days, one of 23 hours
        ("2024-03", "2024-03-01T00:00:00-06:00", "2024-04-01T00:00:00-05:00", 31 * 96 - 4),
        # November 2024 falls back: 30 local days, one of 25 hours
        ("2024-11", "2024-11-01T00:00:00-05:00", "2024-12-01T00:00:00-06:00", 30 * 96 + 4),
        ("2024-07", "2024-07-01T00:00:00-05:00", "2024-08-01T00:00:00-05:00", 31 * 96),
    ],
)
def test_a_month_range_is_that_local_calendar_month_across_a_dst_change(
    client: FlaskClient, quarter_hours: int, range_: str, start: str, end: str, samples: int
) -> None:
    body = _values(client, points=quarter_hours, range=range_, interval="1mo", agg="count")
    assert (body["meta"]["start"], body["meta"]["end"]) == (start, end)
    assert [row[0] for row in body["series"][0]["data"]] == [start]
    assert body["series"][0]["data"][0][2] == samples


def test_a_year_range_is_that_local_calendar_year_and_tz_moves_its_bounds(
    client: FlaskClient, quarter_hours: int
) -> None:
    body = _values(client, points=quarter_hours, range="2024", interval="1d", agg="count")
    assert (body["meta"]["start"], body["meta"]["end"]) == (
        "2024-01-01T00:00:00-06:00",
        "2025-01-01T00:00:00-06:00",
    )
    utc = _values(client, points=quarter_hours, range="2024-01", tz="UTC", interval="1d")
    assert (utc["meta"]["start"], utc["meta"]["end"]) == (
        "2024-01-01T00:00:00+00:00",
        "2024-02-01T00:00:00+00:00",
    )


@pytest.mark.parametrize("range_", ["2024-13", "2024-00", "24-11", "2024-1", "99999", "2024/11"])
def test_a_bad_range_says_every_form_it_accepts(
    client: FlaskClient, quarter_hours: int, range_: str
) -> None:
    response = client.get("/api/v2/values", query_string={"points": quarter_hours, "range": range_})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["param"] == "range"
    for form in ("today", "last_7d", "2024-11-03", "2024-11", "2024", "START,END"):
        assert form in error["message"]
