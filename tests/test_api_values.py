"""/values: every aggregate for each kind, every layout and format, and the `next` cursor."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pytest
from api_helpers import add_point, add_readings
from flask.testing import FlaskClient

from energy_api import create_app
from energy_api.sql.points import PointRef
from energy_api.values.plan import Agg, Plan
from energy_ingest.config import Settings

CHICAGO = ZoneInfo("America/Chicago")
T0 = datetime(2024, 7, 4, tzinfo=CHICAGO)
HOUR0, HOUR1 = "2024-07-04T00:00:00-05:00", "2024-07-04T01:00:00-05:00"
NUMBERS = [1.0, 2.0, 3.0, 10.0, 4.0, 4.0, 4.0, 4.0]
MODES = [0, 1, 1, 2, 1, 1, 1, 1]  # OFF ON ON AUTO | ON ON ON ON
RANGE = {"start": "2024-07-04T00:00", "end": "2024-07-04T02:00"}


@pytest.fixture
def two_points(db: psycopg.Connection[Any]) -> tuple[int, int]:
    """A number and an enum point, 8 quarter-hour samples each from local midnight."""
    sat = add_point(db, "BOLIOU.AHU1.SAT", unit="degF")
    mode = add_point(db, "BOLIOU.AHU1.MODE", kind="enum", states=["OFF", "ON", "AUTO"])
    stamps = [T0 + timedelta(minutes=15 * i) for i in range(8)]
    add_readings(db, sat, zip(stamps, NUMBERS, strict=True))
    add_readings(db, mode, zip(stamps, map(float, MODES), strict=True))
    return sat, mode


def _get(client: FlaskClient, status: int = 200, **params: Any) -> Any:
    with client.get("/api/v2/values", query_string={**RANGE, **params}) as response:
        assert response.status_code == status, response.get_data(as_text=True)
        if response.mimetype == "application/json":
            return response.get_json()
        return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("agg", "hour0", "hour1"),
    [
        ("avg", 4.0, 4.0),
        ("min", 1.0, 4.0),
        ("max", 10.0, 4.0),
        ("sum", 16.0, 16.0),
        ("count", 4, 4),
        ("first", 1.0, 4.0),
        ("last", 10.0, 4.0),
    ],
)
def test_every_number_aggregate(
    client: FlaskClient, two_points: tuple[int, int], agg: str, hour0: float, hour1: float
) -> None:
    body = _get(client, points=two_points[0], interval="1h", agg=agg)
    assert body["meta"]["agg"] == [agg]
    assert body["series"][0]["data"] == [[HOUR0, 1720069200, hour0], [HOUR1, 1720072800, hour1]]


@pytest.mark.parametrize(
    ("agg", "hour0", "hour1"),
    [
        ("last", "AUTO", "ON"),
        ("first", "OFF", "ON"),
        ("count", 4, 4),
        ("fraction:ON", 0.5, 1.0),
        ("fraction:OFF", 0.25, 0.0),
    ],
)
def test_every_enum_aggregate(
    client: FlaskClient, two_points: tuple[int, int], agg: str, hour0: Any, hour1: Any
) -> None:
    body = _get(client, points="BOLIOU.AHU1.MODE", interval="1h", agg=agg)
    assert [row[2] for row in body["series"][0]["data"]] == [hour0, hour1]


def test_raw_enum_values_are_state_labels_and_defaults_follow_the_kind(
    client: FlaskClient, two_points: tuple[int, int]
) -> None:
    raw = _get(client, points=f"{two_points[1]}")
    assert [row[2] for row in raw["series"][0]["data"]] == [
        "OFF",
        "ON",
        "ON",
        "AUTO",
        "ON",
        "ON",
        "ON",
        "ON",
    ]
    assert raw["series"][0]["point"]["states"] == ["OFF", "ON", "AUTO"]
    both = _get(client, points=f"{two_points[0]},{two_points[1]}", interval="1h")
    assert [s["agg"] for s in both["series"]] == [["avg"], ["last"]]
    assert [[r[2] for r in s["data"]] for s in both["series"]] == [[4.0, 4.0], ["AUTO", "ON"]]


def test_several_aggregates_at_once(client: FlaskClient, two_points: tuple[int, int]) -> None:
    body = _get(client, points=two_points[0], interval="1h", agg="min,max,count")
    assert body["series"][0]["data"][0] == [HOUR0, 1720069200, 1.0, 10.0, 4]
    mixed = _get(client, points=",".join(map(str, two_points)), interval="1d", agg="count,last")
    assert [s["data"][0][2:] for s in mixed["series"]] == [[8, 4.0], [8, "ON"]]


@pytest.mark.parametrize(
    ("points", "agg", "needle"),
    [
        ("BOLIOU.AHU1.MODE", "avg", "not defined for enum points"),
        ("BOLIOU.AHU1.SAT", "fraction:ON", "only for enum points"),
        ("BOLIOU.AHU1.MODE", "fraction:HAND", "not a state of point"),
        ("BOLIOU.AHU1.SAT", "median", "unknown aggregate"),
        ("BOLIOU.AHU1.SAT", "avg,avg", "listed twice"),
    ],
)
def test_an_aggregate_that_does_not_fit_the_kind_is_a_400(
    client: FlaskClient, two_points: tuple[int, int], points: str, agg: str, needle: str
) -> None:
    body = _get(client, 400, points=points, interval="1h", agg=agg)
    assert body["error"]["param"] == "agg"
    assert needle in body["error"]["message"]


def test_json_layouts_series_long_and_wide(
    client: FlaskClient, two_points: tuple[int, int]
) -> None:
    points = "BOLIOU.AHU1.SAT,BOLIOU.AHU1.MODE"
    long = _get(client, points=points, layout="long", interval="1h", agg="count")
    assert long["columns"] == ["point", "ts", "t", "value"]
    assert long["data"][0] == ["BOLIOU.AHU1.SAT", HOUR0, 1720069200, 4]
    assert long["data"][2] == ["BOLIOU.AHU1.MODE", HOUR0, 1720069200, 4]
    wide = _get(client, points=points, layout="wide")
    assert wide["columns"] == ["ts", "t", "BOLIOU.AHU1.SAT", "BOLIOU.AHU1.MODE"]
    assert wide["data"][3] == ["2024-07-04T00:45:00-05:00", 1720071900, 10.0, "AUTO"]
    assert wide["meta"]["rows"] == 8


def test_csv_long_and_wide_and_csv_by_accept(
    client: FlaskClient, two_points: tuple[int, int]
) -> None:
    points = "BOLIOU.AHU1.SAT,BOLIOU.AHU1.MODE"
    long = list(csv.reader(io.StringIO(_get(client, points=points, format="csv", layout="long"))))
    assert long[0] == ["point", "ts", "t", "value"]
    assert long[1] == ["BOLIOU.AHU1.SAT", "2024-07-04T00:00:00-05:00", "1720069200", "1"]
    assert long[9] == ["BOLIOU.AHU1.MODE", "2024-07-04T00:00:00-05:00", "1720069200", "OFF"]
    assert len(long) == 17
    with client.get(
        "/api/v2/values", query_string={**RANGE, "points": points}, headers={"Accept": "text/csv"}
    ) as response:
        assert response.mimetype == "text/csv"
        wide = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert wide[0] == ["ts", "t", "BOLIOU.AHU1.SAT", "BOLIOU.AHU1.MODE"]
    assert wide[4] == ["2024-07-04T00:45:00-05:00", "1720071900", "10", "AUTO"]
    multi = list(
        csv.reader(
            io.StringIO(_get(client, points=points, format="csv", interval="1h", agg="count,first"))
        )
    )
    assert multi[0] == [
        "ts",
        "t",
        "BOLIOU.AHU1.SAT:count",
        "BOLIOU.AHU1.SAT:first",
        "BOLIOU.AHU1.MODE:count",
        "BOLIOU.AHU1.MODE:first",
    ]
    assert multi[1] == [HOUR0, "1720069200", "4", "1", "4", "OFF"]
    assert (
        _get(client, 400, points=points, format="csv", layout="series")["error"]["param"]
        == "layout"
    )


def test_post_takes_the_same_parameters_as_a_form(
    client: FlaskClient, two_points: tuple[int, int]
) -> None:
    response = client.post(
        "/api/v2/values", data={**RANGE, "points": "BOLIOU.AHU1.SAT", "interval": "1h"}
    )
    assert response.status_code == 200
    assert len(response.get_json()["series"][0]["data"]) == 2


@pytest.mark.parametrize("interval", ["raw", "15min", "30min", "1h"])
@pytest.mark.parametrize("layout", ["series", "long", "wide"])
def test_the_next_cursor_returns_every_row_exactly_once(
    api_settings: Settings, two_points: tuple[int, int], layout: str, interval: str
) -> None:
    app = create_app(dataclasses.replace(api_settings, api_max_rows=3))
    try:
        client = app.test_client()
        params = {
            **RANGE,
            "points": "BOLIOU.AHU1.SAT,BOLIOU.AHU1.MODE",
            "layout": layout,
            "interval": interval,
            "agg": "count,last",
            "range": None,
        }
        params = {k: v for k, v in params.items() if v is not None}

        def lines(body: dict[str, Any]) -> list[tuple[Any, ...]]:
            if layout == "series":
                return [(s["point"]["name"], *r) for s in body["series"] for r in s["data"]]
            return [tuple(r) for r in body["data"]]

        with create_app(api_settings).test_client() as whole:
            expected = lines(_get(whole, **params))
        rows, pages, cursor = [], 0, None
        while True:
            body = _get(client, **params, **({"cursor": cursor} if cursor else {}))
            pages += 1
            assert body["meta"]["rows"] <= 3
            rows += lines(body)
            cursor = body["meta"]["next"]
            if cursor is None:
                break
        assert len(expected) >= 2 and rows == expected
        if interval == "raw":  # two points × 8 quarter-hours; 8 instants in the wide layout
            assert len(rows) == (16 if layout != "wide" else 8)
        assert pages == -(-len(expected) // 3)
        raw = {**params, "interval": "raw"}  # always more than a page
        mismatch = _get(
            client,
            400,
            **{**raw, "layout": "long" if layout != "long" else "wide"},
            cursor=body_cursor(client, raw),
        )
        assert mismatch["error"]["param"] == "cursor"
        assert _get(client, 400, **params, cursor="garbage!")["error"]["param"] == "cursor"
    finally:
        app.extensions["energy_db"].close()


def body_cursor(client: FlaskClient, params: dict[str, Any]) -> str:
    cursor: str = _get(client, **params)["meta"]["next"]
    return cursor


def test_csv_quotes_names_and_state_labels_that_need_it(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    odd = add_point(db, 'HALL "A", FAN', kind="enum", states=["OFF", 'ON, "HAND"'])
    add_readings(db, odd, [(T0, 1.0), (T0 + timedelta(minutes=15), 0.0)])
    for layout in ("long", "wide"):
        text = _get(client, points=odd, format="csv", layout=layout)
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[1][-1] == 'ON, "HAND"'
        assert rows[2][-1] == "OFF"
        assert 'HALL "A", FAN' in (rows[1][0], rows[0][-1])
    values = _get(client, points=odd, format="csv", layout="long", interval="1h", agg="count,last")
    assert list(csv.reader(io.StringIO(values)))[1][3:] == ["2", "OFF"]


@pytest.mark.parametrize("layout", ["series", "long", "wide"])
@pytest.mark.parametrize("interval", ["raw", "15min"])
def test_a_page_holds_the_rows_that_fit_in_its_bytes(
    api_settings: Settings, two_points: tuple[int, int], layout: str, interval: str
) -> None:
    """ENERGY_API_MAX_BYTES pages: each page's rows fit in it (counted as JSON), and following
    meta.next gives exactly the rows of the answer in one page."""
    params = {**RANGE, "points": "BOLIOU.AHU1.SAT,BOLIOU.AHU1.MODE", "layout": layout}
    params |= {"interval": interval, "agg": "count,last"}
    with create_app(api_settings).test_client() as whole:
        one = _get(whole, **params)
    assert one["meta"]["next"] is None
    app = create_app(dataclasses.replace(api_settings, api_max_bytes=400))
    try:
        client = app.test_client()
        rows: list[Any] = []
        pages, cursor = 0, None
        while True:
            body = _get(client, **params, **({"cursor": cursor} if cursor else {}))
            pages += 1
            page = _rows(body)
            assert 1 <= len(page) == body["meta"]["rows"]
            assert sum(len(orjson.dumps(row)) + 1 for row in page) <= 400
            rows += page
            cursor = body["meta"]["next"]
            if cursor is None:
                break
        assert pages > 1 and rows == _rows(one)
    finally:
        app.extensions["energy_db"].close()


def _rows(body: dict[str, Any]) -> list[Any]:
    """A page's rows as JSON writes them; series rows with their point's name first."""
    if "series" in body:
        return [[s["point"]["name"], *r] for s in body["series"] for r in s["data"]]
    return list(body["data"])


def test_a_year_of_days_of_a_campus_is_one_page(
    api_settings: Settings, db: psycopg.Connection[Any]
) -> None:
    """By default a page holds what the old 100,000-row cap split in two: here 2 points × 60,000
    readings, and (by the same count) 450 points × a year of days."""
    ids = [add_point(db, f"B.P{k}") for k in range(2)]
    start = datetime(2020, 1, 1, 6, tzinfo=UTC)  # a Chicago midnight; quarter-hours in UTC
    for point in ids:
        add_readings(db, point, ((start + timedelta(minutes=15 * i), i / 4) for i in range(60_000)))
    app = create_app(dataclasses.replace(api_settings, api_max_rows=None))
    try:
        with app.test_client() as client:
            body = _get(client, points="B.P0,B.P1", start="2020-01-01", end="2022-01-01")
        assert body["meta"]["rows"] == 120_000 and body["meta"]["next"] is None
        assert body["series"][1]["data"][-1][2] == 59_999 / 4
    finally:
        app.extensions["energy_db"].close()
    campus = tuple(
        PointRef(k, f"B{k}.AHU1.SAT", "siemens", "number", (), "degF") for k in range(450)
    )
    plan = Plan.build(
        campus,
        start,
        start + timedelta(days=366),
        CHICAGO,
        "1d",
        ([Agg("avg")], [Agg("last")]),
        "series",
    )
    assert plan.paged(None, api_settings.api_max_bytes).limit >= 450 * 366
