"""GET /api/v2/coverage and /points?resolved=&retired=: the catalog's coverage as the command line
reports it, over the legacy campus (tests/legacy_campus.py) plus a newer Hulings points list that
leaves one point out (retired) — real HTTP through the Flask test client, the real CLI beside it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import psycopg
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from helpers import load_report
from legacy_campus import EXPORTS

from energy_api.openapi.document import document
from energy_ingest.cli import main

HULINGS_LIST = EXPORTS[1]  # the ALC points list of Hulings Hall
LEFT_OUT = "HUL-FCU4-RM B22 / Setpoint"  # the newer list's missing row: retired
NEWER = "hulings_points_newer.csv"
# The legacy campus's unresolved points, by what they lack: four names no rule gives a
# building, one unit string pint cannot read (C CFM).
NO_BUILDING = {"#ahu-1/sa_temp/trend_log", "#ahu-1/sf_status/trend_log", "FAC.ELEC", "GH.GENRUN"}
UNIT_UNREAD = "HU.RB02.ECAL"


def newer_list() -> bytes:
    """The Hulings points list again, without LEFT_OUT's row."""
    program, name = LEFT_OUT.split(" / ", 1)
    lines = HULINGS_LIST.read_bytes().split(b"\n")
    row = f'"{program}","{name}",'.encode()
    kept = [line for line in lines if row not in line]
    assert len(kept) == len(lines) - 1
    return b"\n".join(kept)


@pytest.fixture(scope="module")
def retired_campus(campus_url: str) -> str:
    load_report(campus_url, NEWER, newer_list(), "alc")
    return campus_url


@pytest.fixture
def api(campus_app: Any, retired_campus: str) -> FlaskClient:
    client: FlaskClient = campus_app.test_client()
    return client


def scalar(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def get(client: FlaskClient, route: str, status: int = 200, **params: Any) -> Any:
    """GET /api/v2/<route>; a 200 is checked against the OpenAPI document."""
    response = client.get(f"/api/v2/{route}", query_string=params or None)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    if status == 200:
        doc = document()
        path = "/" + route.split("?")[0]
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        jsonschema.validate(body, {**schema["schema"], "components": doc["components"]})
    return body


def cli_coverage(url: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["catalog", "coverage", "--json"], env={"ENERGY_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    info: dict[str, Any] = json.loads(result.output)
    return info


def test_coverage_says_what_the_command_line_says(api: FlaskClient, retired_campus: str) -> None:
    body = get(api, "coverage")
    cli = cli_coverage(retired_campus)
    assert body["points"] == cli["points"] == scalar(retired_campus, "SELECT count(*) FROM points")
    assert body["by_source"] == cli["by_source"]
    assert body["with"] == cli["with"]
    assert body["retired"] == cli["retired"] == 1
    assert body["site_file"]["path"] == cli["site_file"]["path"]
    assert body["site_file"]["sha256"] == cli["site_file"]["sha256"]
    assert body["site_file"]["applied_at"][-6:] in ("-06:00", "-05:00")  # the server's zone
    applied = get(api, "coverage", tz="UTC")["site_file"]["applied_at"]
    assert applied.endswith("+00:00") and applied[:10] == cli["site_file"]["applied_at"][:10]
    assert [{"unit": u["unit"], "points": u["points"]} for u in body["unresolved_units"]] == (
        cli["unresolved_units"]
    )
    assert [{"type": t["type"], "points": t["points"]} for t in body["unknown_types"]] == (
        cli["unknown_types"]
    )
    assert [{k: s[k] for k in cli["unmatched_shapes"][0]} for s in body["unmatched_shapes"]] == (
        cli["unmatched_shapes"]
    )
    assert [
        {
            "building": b["building"],
            "source": b["source"],
            "points": b["points"],
            "percent": {k: v["percent"] for k, v in b["with"].items()},
            "retired": b["retired"],
            "unknown_types": b["unknown_types"],
        }
        for b in body["buildings"]
    ] == cli["by_building"]


def test_coverage_counts_and_names_what_to_fix(api: FlaskClient, retired_campus: str) -> None:
    body = get(api, "coverage")
    rows = {(b["building"], b["source"]): b for b in body["buildings"]}
    hu_alc = rows["HU", "alc"]
    assert (hu_alc["name"], hu_alc["points"], hu_alc["retired"]) == ("Hulings Hall", 38, 1)
    assert hu_alc["with"]["room"] == {"points": 18, "percent": 47.4}
    assert hu_alc["unknown_types"] == 4
    assert rows["HU", "siemens"]["unresolved"] == 1  # HU.RB02.ECAL's C CFM
    assert (rows[None, "alc"]["unresolved"], rows[None, "siemens"]["unresolved"]) == (2, 2)
    assert sum(b["unresolved"] for b in body["buildings"]) == body["unresolved"] == 5
    assert body["missing"] == {"building": 4, "place": 4, "unit": 1}
    unit = body["unresolved_units"][0]
    assert (unit["unit"], unit["points"], unit["example"]) == ("C CFM", 1, UNIT_UNREAD)
    assert unit["example_id"] == scalar(
        retired_campus, "SELECT id FROM points WHERE name = %s", UNIT_UNREAD
    )
    assert [(t["type"], t["points"]) for t in body["unknown_types"]] == [("BAF", 3), ("BRS", 1)]
    examples = {s["example"] for s in body["unmatched_shapes"]}
    assert examples == NO_BUILDING
    assert [s["shape"] for s in get(api, "coverage", top=1)["unmatched_shapes"]] == [
        "#ahu-<n>/sa_temp/trend_log"
    ]


def test_points_resolved_false_lists_exactly_what_coverage_counts_unresolved(
    api: FlaskClient, retired_campus: str
) -> None:
    unresolved = get(api, "points", resolved="false")
    assert {p["name"] for p in unresolved["data"]} == NO_BUILDING | {UNIT_UNREAD}
    assert unresolved["meta"]["total"] == 5
    resolved = get(api, "points", resolved="true", limit=1)["meta"]["total"]
    assert resolved == scalar(retired_campus, "SELECT count(*) FROM points") - 5
    # the filters combine: unresolved points of Hulings Hall
    assert [p["name"] for p in get(api, "points", resolved="false", building="HU")["data"]] == [
        UNIT_UNREAD
    ]


def test_points_retired_true_lists_the_point_the_newer_export_left_out(
    api: FlaskClient, retired_campus: str
) -> None:
    retired = get(api, "points", retired="true")["data"]
    assert [p["name"] for p in retired] == [LEFT_OUT]
    assert retired[0]["retired"]["file"] == NEWER
    assert retired[0]["retired"]["file_id"] == scalar(
        retired_campus, "SELECT id FROM files WHERE name = %s", NEWER
    )
    current = get(api, "points", retired="false", limit=1)["meta"]["total"]
    assert current == scalar(retired_campus, "SELECT count(*) FROM points") - 1
    # a retired point is never unresolved: the BAS no longer has it
    assert LEFT_OUT not in {p["name"] for p in get(api, "points", resolved="false")["data"]}


def test_coverage_revalidates_until_the_catalog_changes(
    api: FlaskClient, retired_campus: str
) -> None:
    tag = api.get("/api/v2/coverage").headers["ETag"]
    assert api.get("/api/v2/coverage", headers={"If-None-Match": tag}).status_code == 304
    assert api.get("/api/v2/coverage?top=3", headers={"If-None-Match": tag}).status_code == 200
    with psycopg.connect(retired_campus, autocommit=True) as conn:
        applied_at = conn.execute("SELECT applied_at FROM catalog_site").fetchone()
        conn.execute("UPDATE catalog_site SET applied_at = now()")
        try:
            changed = api.get("/api/v2/coverage", headers={"If-None-Match": tag})
            assert changed.status_code == 200 and changed.headers["ETag"] != tag
        finally:
            conn.execute("UPDATE catalog_site SET applied_at = %s", applied_at)


@pytest.mark.parametrize(
    ("route", "param"),
    [
        ("coverage?top=0", "top"),
        ("coverage?top=x", "top"),
        ("coverage?limit=3", "limit"),
        ("points?resolved=no", "resolved"),
        ("points?retired=1", "retired"),
    ],
)
def test_bad_parameters_are_refused_by_name(api: FlaskClient, route: str, param: str) -> None:
    error = get(api, route, 400)["error"]
    assert error["param"] == param and error["message"]


def test_coverage_is_read_only_json(api: FlaskClient) -> None:
    assert api.post("/api/v2/coverage").status_code == 405
    assert api.get("/api/v2/coverage", headers={"Accept": "text/csv"}).status_code == 406
