"""End to end: the catalog built the real way (the shared export samples and a trend report through
the loader, the example site file applied), read back through /api/v2 — and every count a catalog
list gives agrees with the /points filter that selects the same points."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from energy_ingest.catalog.site import parse_site
from energy_ingest.pipeline import load, parse_file
from energy_ingest.write.applied_site import apply_site
from energy_ingest.write.ledger import FileInfo

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SITE = ROOT / "examples" / "site.toml"
EXPORTS = [
    DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv",
    DATA / "REAL_webctrl_points_list_report_hulings_excerpt.csv",
]
TREND = b"""\
"Key            Name:Suffix                                Trend Definitions Used"\r
"Point_1:","HU.R102.RMT","","15 minutes"\r
"Point_2:","HU.RB02.DSET","","15 minutes"\r
"Time Interval:","15 Minutes"\r
"Date Range:","11/1/2018 00:00:00 - 11/1/2018 00:30:00"\r
"Report Timings:","All Hours"\r
""\r
"<>Date","Time","Point_1","Point_2"\r
"11/1/2018","00:00:00","70.1","1"\r
"11/1/2018","00:15:00","70.3","2"\r
"********************************* End of Report *********************************"\r
"""


def _put(conn: psycopg.Connection[Any], data: bytes, name: str) -> None:
    """A file through the parse-and-load path the daemon and `energy-ingest import` use."""
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, "siemens", len(data))
    report = parse_file(io.BytesIO(data), info, tz="America/Chicago", hint=None)
    loaded = load(conn, report, info, tz="America/Chicago")
    assert loaded.result.status == "ingested", loaded.result


@pytest.fixture
def imported(db: psycopg.Connection[Any]) -> None:
    text = SITE.read_text()
    with db.transaction():
        apply_site(db, parse_site(text, SITE), text)
    for path in EXPORTS:
        with db.transaction():
            _put(db, path.read_bytes(), path.name)
    with db.transaction():
        _put(db, TREND, "hulings_11-01-18_00-30.csv")


def _get(client: FlaskClient, route: str, **params: Any) -> Any:
    response = client.get(f"/api/v2/{route}", query_string=params)
    assert response.status_code == 200, f"{route} {params}: {response.get_data(as_text=True)}"
    return response.get_json()


def _all(client: FlaskClient, route: str, **params: Any) -> list[dict[str, Any]]:
    body = _get(client, route, limit=10_000, **params)
    assert body["meta"]["total"] == len(body["data"])
    return list(body["data"])


def _total(client: FlaskClient, **params: Any) -> int:
    return int(_get(client, "points", limit=1, **params)["meta"]["total"])


def test_imported_points_carry_what_the_site_file_and_the_exports_resolved(
    client: FlaskClient, imported: None
) -> None:
    rmt = _get(client, "points/HU.R102.RMT")["data"]
    assert (rmt["building"], rmt["building_name"], rmt["room"], rmt["floor"]) == (
        "HU",
        "Hulings Hall",
        "102",
        1,
    )
    assert {"zone", "air", "temp", "sensor"} <= set(rmt["tags"])
    assert rmt["first_ts"] == "2018-11-01T00:00:00-05:00"
    setpoint = _get(client, "points/HUL-FCU2-RM B44 / Setpoint")["data"]
    assert (setpoint["building"], setpoint["room"], setpoint["device"], setpoint["floor"]) == (
        "HU",
        "B44",
        "FCU2",
        -1,
    )
    mode = _get(client, "points/GOODHUE.AHU3.ZON:MODE")["data"]
    assert (mode["building"], mode["device"], mode["kind"]) == ("GH", "AHU3", "enum")
    # the misspelt alias of the site file finds the building, as the naming rules did
    names = {p["name"] for p in _all(client, "points", building="hullings")}
    assert {"HU.R102.RMT", "HULLINGS.ELEC.MOD1:AMPS A", "HUL-FCU2-RM B44 / Setpoint"} <= names
    assert {"FCU2"} <= {d["name"] for d in _all(client, "devices", room="B44", building="HU")}


def test_every_count_of_the_catalog_lists_matches_the_points_filter(
    client: FlaskClient, imported: None
) -> None:
    buildings = _all(client, "buildings")
    assert {"HU", "GH"} <= {b["code"] for b in buildings}
    for b in buildings:
        assert _total(client, building_id=b["id"]) == b["points"], b["code"]
        floors = _all(client, "floors", building_id=b["id"])
        assert [f["floor"] for f in floors] == b["floors"]
        for f in floors:
            assert _total(client, building_id=b["id"], floor=f["floor"]) == f["points"], f
    rooms = _all(client, "rooms")
    assert rooms
    for r in rooms:
        assert _total(client, building_id=r["building_id"], room=r["name"]) == r["points"], r
    devices = _all(client, "devices")
    assert devices
    for d in devices:
        assert _total(client, device_id=d["id"]) == d["points"], d
    tags = _all(client, "tags")
    assert tags
    for t in tags:
        assert _total(client, tag=t["name"]) == t["points"], t
    units = _all(client, "units")
    assert units
    for u in units:
        points = _all(client, "points", unit_id=u["id"])
        assert len([p for p in points if p["unit_id"] == u["id"]]) == u["points"], u
        assert {p["quantity"] for p in points if p["unit_id"] == u["id"]} <= {u["quantity"]}


def test_a_trended_point_no_export_described_has_the_unit_a_rule_gives_and_is_found_by_quantity(
    client: FlaskClient, db: psycopg.Connection[Any], imported: None
) -> None:
    with db.transaction():  # the README's sample report: Boliou Hall, which no export describes
        _put(db, (ROOT / "examples" / "boliou1_11-30-18_02-00.csv").read_bytes(), "boliou.csv")
    found = {
        p["name"]: (p["unit"], p["quantity"])
        for p in _all(client, "points", quantity="temperature", building="BOLIOU")
    }
    assert found == {
        "BOLIOU.AHU1.SAT": ("°F", "temperature"),
        "BOLIOU.VAV.1.RM161:ROOM TEMP": ("°F", "temperature"),
    }
    flow = _get(client, "points/BOLIOU.VAV.1.RM161:CTL FLOW")["data"]
    assert (flow["unit_name"], flow["quantity"]) == ("cubic feet per minute", "volume flow")
    status = _get(client, "points/BOLIOU.AHU1.SF.S")["data"]
    assert (status["kind"], status["unit"]) == ("enum", None)
    # the values come in that unit too
    values = client.get(
        "/api/v2/values", query_string={"points": "BOLIOU.AHU1.SAT", "range": "2018-11-29"}
    ).get_json()
    assert values["series"][0]["point"]["unit"] == "°F"
