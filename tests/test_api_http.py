"""HTTP behaviour of /api/v2: points, latest, files, health, errors, conditional requests, CORS."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_helpers import add_file, add_point, add_readings
from flask.testing import FlaskClient

from energy_api import create_app
from energy_ingest.config import Settings

T0 = datetime(2024, 7, 4, 5, tzinfo=UTC)


@pytest.fixture
def campus(db: psycopg.Connection[Any]) -> dict[str, int]:
    ids = {
        "sat": add_point(db, "BOLIOU.AHU1.SAT", unit="degF", description="Supply air temp"),
        "rat": add_point(db, "BOLIOU.AHU1.RAT", unit="degF", description="Return air"),
        "mode": add_point(db, "BOLIOU.AHU1.MODE", kind="enum", states=["OFF", "ON"]),
        "alc": add_point(db, "CMC.CH1.KW", source="alc", unit="kW"),
    }
    add_readings(db, ids["sat"], [(T0, 55.0), (T0 + timedelta(minutes=15), 56.5)])
    add_readings(db, ids["mode"], [(T0, 1.0)])
    add_file(db, "boliou.csv", ingested_at=T0)
    return ids


def _json(client: FlaskClient, url: str, status: int = 200, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_points_filter_by_substring_glob_source_and_kind(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    def names(**params: Any) -> list[str]:
        return [p["name"] for p in _json(client, "/api/v2/points", query_string=params)["data"]]

    assert names() == ["BOLIOU.AHU1.MODE", "BOLIOU.AHU1.RAT", "BOLIOU.AHU1.SAT", "CMC.CH1.KW"]
    assert names(q="supply AIR") == ["BOLIOU.AHU1.SAT"]
    assert names(q="ahu1.r") == ["BOLIOU.AHU1.RAT"]
    assert names(name="BOLIOU.*.?AT") == ["BOLIOU.AHU1.RAT", "BOLIOU.AHU1.SAT"]
    assert names(name="BOLIOU_AHU1*") == []  # _ is literal, not a LIKE wildcard
    assert names(source="alc") == ["CMC.CH1.KW"]
    assert names(kind="enum") == ["BOLIOU.AHU1.MODE"]
    page = _json(client, "/api/v2/points", query_string={"limit": 2, "offset": 1})
    assert page["meta"] == {
        "count": 2,
        "total": 4,
        "limit": 2,
        "offset": 1,
        "tz": "America/Chicago",
    }


def test_a_point_has_the_documented_shape_and_latest_on_request(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    body = _json(client, "/api/v2/points", query_string={"name": "*.SAT", "include": "latest"})
    assert body["data"] == [
        {
            "id": campus["sat"],
            "name": "BOLIOU.AHU1.SAT",
            "source": "siemens",
            "kind": "number",
            "states": None,
            "unit": "degF",
            # not in the catalog (tests/test_api_catalog.py has points that are)
            "unit_id": None,
            "unit_name": None,
            "quantity": None,
            "building": None,
            "building_id": None,
            "building_name": None,
            "floor": None,
            "room": None,
            "room_id": None,
            "device": None,
            "device_id": None,
            "tags": [],
            "description": "Supply air temp",
            "descriptor": None,
            "point_type": None,
            "alias": None,
            "retired": None,
            "first_ts": "2024-07-04T00:00:00-05:00",
            "last_ts": "2024-07-04T00:15:00-05:00",
            "status": None,  # not evaluated yet (tests/test_api_health_alerts.py has some)
            "status_since": None,
            "interval_s": None,
            "latest": {"ts": "2024-07-04T00:15:00-05:00", "t": 1720070100, "value": 56.5},
        }
    ]


def test_one_point_by_id_or_exact_name_and_404_otherwise(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    by_id = _json(client, f"/api/v2/points/{campus['mode']}")["data"]
    by_name = _json(client, "/api/v2/points/BOLIOU.AHU1.MODE")["data"]
    assert by_id == by_name and by_id["states"] == ["OFF", "ON"]
    latest = _json(client, "/api/v2/points/BOLIOU.AHU1.MODE?include=latest&tz=UTC")["data"]
    assert latest["latest"] == {"ts": "2024-07-04T05:00:00+00:00", "t": 1720069200, "value": "ON"}
    error = _json(client, "/api/v2/points/NOPE.X", 404)["error"]
    assert error["code"] == "unknown_point" and "NOPE.X" in error["message"]


def test_latest_per_point_in_the_order_asked_get_and_post(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    body = _json(
        client,
        "/api/v2/latest",
        query_string={"points": "BOLIOU.AHU1.MODE,BOLIOU.AHU1.SAT,BOLIOU.AHU1.RAT"},
    )
    assert [(p["name"], p["latest"] and p["latest"]["value"]) for p in body["data"]] == [
        ("BOLIOU.AHU1.MODE", "ON"),
        ("BOLIOU.AHU1.SAT", 56.5),
        ("BOLIOU.AHU1.RAT", None),
    ]
    posted = client.post("/api/v2/latest", data={"points": f"{campus['sat']}"})
    assert [p["latest"]["t"] for p in posted.get_json()["data"]] == [1720070100]
    assert _json(client, "/api/v2/latest")["meta"]["count"] == 4


def test_files_lists_the_ledger_newest_first_with_counts_and_errors(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    add_file(
        db,
        "bad.csv",
        status="failed",
        error="line 57: 61 fields, header has 62",
        ingested_at=T0 + timedelta(hours=1),
    )
    body = _json(client, "/api/v2/files")
    assert body["meta"]["counts"] == {"ingested": 1, "failed": 1}
    assert [f["name"] for f in body["data"]] == ["bad.csv", "boliou.csv"]
    failed = _json(client, "/api/v2/files", query_string={"status": "failed", "tz": "UTC"})
    assert failed["meta"]["total"] == 1
    assert failed["data"][0]["error"] == "line 57: 61 fields, header has 62"
    assert failed["data"][0]["ingested_at"] == "2024-07-04T06:00:00+00:00"
    assert (
        _json(client, "/api/v2/files", query_string={"limit": 1, "offset": 1})["data"][0]["name"]
        == "boliou.csv"
    )


def test_health_is_ok_then_degraded_after_a_failed_file(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    db.execute("UPDATE health_state SET evaluated_at = now()")  # the daemon is evaluating
    body = _json(client, "/api/v2/health")
    evaluated_at = body.pop("evaluated_at")
    assert evaluated_at is not None
    assert body == {
        "status": "ok",
        "reason": None,
        "database": "ok",
        "last_ingest": "2024-07-04T00:00:00-05:00",
        "readings": 3,
        "alerts": {"firing": 0, "high": 0},
        "series": {"overdue": 0, "ok": 0, "historical": 0},
        "replica": None,
    }
    add_file(db, "bad.csv", status="failed", error="truncated")
    body = _json(client, "/api/v2/health")
    assert body["status"] == "degraded" and "failed" in body["reason"]


@pytest.mark.slow
def test_health_is_503_down_when_the_database_is_unreachable(api_settings: Settings) -> None:
    app = create_app(
        dataclasses.replace(api_settings, database_url="postgresql://postgres@127.0.0.1:1/nope")
    )
    app.extensions["energy_db"].timeout = 1.0
    try:
        response = app.test_client().get("/api/v2/health")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "down" and body["database"].startswith("unreachable")
        points = app.test_client().get("/api/v2/points")
        assert points.status_code == 503
        assert points.get_json()["error"]["code"] == "database_unavailable"
    finally:
        app.extensions["energy_db"].close()


@pytest.mark.no_database
def test_without_a_database_url_or_a_dev_cluster_every_route_is_503_saying_how_to_start_one(
    api_settings: Settings, tmp_path: Path
) -> None:
    app = create_app(
        dataclasses.replace(api_settings, database_url=None, pgdata_dir=tmp_path / "pgdata")
    )
    health = app.test_client().get("/api/v2/health")
    assert health.status_code == 503
    assert health.get_json()["status"] == "down"
    assert "no development cluster" in health.get_json()["database"]
    points = app.test_client().get("/api/v2/points")
    assert points.status_code == 503
    error = points.get_json()["error"]
    assert (
        error["code"] == "database_unavailable" and "energy-ingest devdb start" in error["message"]
    )
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.parametrize(
    ("url", "status", "code", "param"),
    [
        ("/api/v2/values?points=1&color=red&size=2", 400, "unknown_parameter", "color,size"),
        ("/api/v2/points?bogus=1", 400, "unknown_parameter", "bogus"),
        ("/api/v2/values?points=1&tz=Mars/Olympus", 400, "invalid_parameter", "tz"),
        (
            "/api/v2/values?points=1&start=2024-07-05&end=2024-07-04",
            400,
            "invalid_parameter",
            "end",
        ),
        ("/api/v2/values?points=1&start=soon", 400, "invalid_parameter", "start"),
        ("/api/v2/values?points=1&interval=5min", 400, "invalid_parameter", "interval"),
        ("/api/v2/values", 400, "invalid_parameter", "points"),
        (
            "/api/v2/values?points=" + ",".join(str(i) for i in range(1001)),
            400,
            "too_many_points",
            "points",
        ),
        ("/api/v2/values?points=NOPE.X,1", 404, "unknown_point", "points"),
        ("/api/v2/points?limit=0", 400, "invalid_parameter", "limit"),
        ("/api/v2/points?limit=many", 400, "invalid_parameter", "limit"),
        ("/api/v2/files?status=lost", 400, "invalid_parameter", "status"),
        ("/api/v2/nowhere", 404, "not_found", None),
        ("/api/v2/points/NUL%00NAME", 404, "unknown_point", "ref"),
        ("/api/v2/points?q=a%00b", 400, "invalid_parameter", "q"),
    ],
)
def test_each_error_is_json_with_status_code_message_and_param(
    client: FlaskClient, campus: dict[str, int], url: str, status: int, code: str, param: str | None
) -> None:
    error = _json(client, url, status)["error"]
    assert (error["status"], error["code"], error["param"]) == (status, code, param)
    assert error["message"]


def test_unknown_parameters_are_listed_by_name(client: FlaskClient, campus: dict[str, int]) -> None:
    message = _json(client, "/api/v2/values?points=1&color=red&size=2", 400)["error"]["message"]
    assert message.startswith("unknown parameters: color, size;")


def test_writes_are_405_and_unacceptable_types_406(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    for method in (client.put, client.delete, client.patch):
        response = method("/api/v2/points")
        assert response.status_code == 405
        assert response.get_json()["error"]["code"] == "method_not_allowed"
        assert "GET" in response.headers["Allow"]
    assert client.post("/api/v2/points").status_code == 405
    response = client.get("/api/v2/values?points=1", headers={"Accept": "image/png"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (406, "not_acceptable")
    assert client.get("/api/v2/points", headers={"Accept": "text/csv"}).status_code == 406


def test_etag_and_last_modified_give_304_until_the_ledger_moves(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    url = "/api/v2/values?points=BOLIOU.AHU1.SAT&range=2024-07-04"
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert modified == "Thu, 04 Jul 2024 05:00:00 GMT"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    # Behind nginx's gzip the browser holds the weak form of the tag: still the same content.
    assert client.get(url, headers={"If-None-Match": "W/" + etag}).status_code == 304
    other = client.get(url + "&tz=UTC", headers={"If-None-Match": etag})
    assert other.status_code == 200  # another representation, another tag
    for route in (
        "/api/v2/points",
        "/api/v2/latest",
        "/api/v2/files",
        "/api/v2/points/BOLIOU.AHU1.SAT",
    ):
        tag = client.get(route).headers["ETag"]
        assert client.get(route, headers={"If-None-Match": tag}).status_code == 304
    add_file(db, "next-hour.csv")
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag


def test_relative_ranges_do_not_revalidate_on_last_modified_alone(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    url = "/api/v2/values?points=BOLIOU.AHU1.SAT&range=last_24h"
    first = client.get(url)
    assert "Last-Modified" not in first.headers
    later = client.get(url, headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert later.status_code == 200


def test_cors_allows_only_the_configured_origins(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    allowed = client.get("/api/v2/points", headers={"Origin": "https://dash.example.edu"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dash.example.edu"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/api/v2/points", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/api/v2/values",
        headers={"Origin": "https://dash.example.edu", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


def test_a_body_over_one_mebibyte_is_413(client: FlaskClient, campus: dict[str, int]) -> None:
    response = client.post("/api/v2/values", data={"points": "1," * 600_000})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_too_large"


@pytest.mark.slow
def test_a_query_past_the_statement_timeout_is_503_query_timeout(
    api_settings: Settings, db: psycopg.Connection[Any]
) -> None:
    point = add_point(db, "BIG.POINT")
    db.execute(
        "INSERT INTO readings SELECT %s, t, 1 FROM generate_series("
        "'2020-01-01'::timestamptz, '2025-01-01', interval '5 minutes') AS t",
        (point,),
    )
    app = create_app(dataclasses.replace(api_settings, statement_timeout_ms=1))
    try:
        response = app.test_client().get(
            "/api/v2/values", query_string={"points": point, "range": "2020-01-01,2025-01-01"}
        )
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "query_timeout"
    finally:
        app.extensions["energy_db"].close()
