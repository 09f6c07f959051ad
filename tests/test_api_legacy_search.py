"""The search language through the legacy endpoints: a table of searches on the sample campus
(tests/legacy_campus.py) with the names each must select — every term on every endpoint that
takes it, nesting, the dashboard's no-space forms, every `:floor` operator, measurements with
spaces, tag sets — then the old backend's bugs and hostile strings, which are 400s naming
position and token, never a database error. Ids are looked up by name; expectations are written
out from the site file and the samples, not computed by the code under test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from legacy_campus import T0, campus_app, campus_url, legacy

__all__ = ["campus_app", "campus_url", "legacy"]

R102 = {
    *("HU.R102.DSET", "HU.R102.ECFM", "HU.R102.EDMP", "HU.R102.EVPRS", "HU.R102.FCFM"),
    *("HU.R102.OCC", "HU.R102.RM", "HU.R102.RMT", "HULINGS.102.ZON:MODE"),
}
FCU2 = (
    {"HUL-FCU2-RM B44 / Setpoint"}
    | {
        f"HUL-FCU2-RM B44 / Setpoint / {s} Setpoint"
        for s in (
            "Cooling Occupied",
            "Cooling Unoccupied",
            "Heating Occupied",
            "Heating Unoccupied",
        )
    }
    | {"HUL-FCU2-RM B44 / Setpoint / Cooling Setpoint Adjust"}
)
HU_ROOMS = {"101", "102", "102A", "109", "213B", "B02", "B19", "B22", "B44"}
BASEMENT = {"B02", "B19", "B22", "B44"}
CROSSOVER = {
    f"Crossover damper D-{n} / Damper {what}"
    for n in (4, 5)
    for what in ("Fail Alarm", "In Hand Alarm", "Open CTRL", "Status")
}
BINARY = {f"Crossover damper D-{n} / Damper {w}" for n in (4, 5) for w in ("Open CTRL", "Status")}
BINARY |= {f"HUL-EVAV-B-{n}-Vivarium / HUL-AHU1-VAV-B-{n}.VIVARIUM.OCC" for n in (27, 29)}
OTHERS = {"Boliou Hall", "Evans Hall", "Faculty Club", "Goodhue Hall"}

# (route, search with {placeholders} for looked-up ids, the names it selects)
TABLE: list[tuple[str, str, set[str] | list[int]]] = [
    # buildings: @ #
    ("buildings", "@{HU}", {"Hulings Hall"}),
    ("buildings", "(@{HU}or@{GH})", {"Hulings Hall", "Goodhue Hall"}),
    ("buildings", "not @{HU}", OTHERS),
    ("buildings", "#{zone}", set()),  # tags are on points, not buildings
    ("buildings", "not #{zone}", OTHERS | {"Hulings Hall"}),  # untagged items are kept
    # floors: @ #
    ("floors", "(@{HU}or@{GH})", [-1, 1, 2]),
    ("floors", "@{GH}", []),
    ("floors", "not @{HU}", []),
    ("floors", "@{HU} and not #{zone}", [-1, 1, 2]),
    # rooms: @ # $ :floor, every operator
    ("rooms", "@{HU}", HU_ROOMS),
    ("rooms", "(@{HU})and(:floor = -1)", BASEMENT),
    ("rooms", "@{HU} and :floor != -1", HU_ROOMS - BASEMENT),
    ("rooms", "@{HU} and :floor < 1", BASEMENT),
    ("rooms", "@{HU} and :floor > 1", {"213B"}),
    ("rooms", "@{HU} and :floor <= 1", HU_ROOMS - {"213B"}),
    ("rooms", "@{HU} and :floor >= 2", {"213B"}),
    ("rooms", "(@{HU})and(:floor = 1)and(${R102}or${R109})", {"102", "109"}),
    ("rooms", "@{HU} and not ${R102}", HU_ROOMS - {"102"}),
    ("rooms", "#{temp}", set()),
    ("rooms", "@{GH}", set()),
    # devices: @ # $ % :floor (a device's floor is its room's)
    ("devices", "(@{HU})and(:floor = -1)", {"AHUH1-VAV-B-5", "FCU2", "FCU4"}),
    ("devices", "${B44}", {"FCU2"}),
    ("devices", "%{FCU2} or %{FCU4}", {"FCU2", "FCU4"}),
    ("devices", "#{elec} and #{meter}", {"ELEC"}),
    ("devices", "#{elec} and #{water}", set()),
    (
        "devices",
        "@{HU} and not :floor = -1",
        {"ELEC", "EVAV-B-27-Vivarium", "EVAV-B-29-Vivarium"}
        | {"Crossover damper D-4", "Crossover damper D-5"},
    ),
    # points: all point terms
    ("points", "${R102}", R102),
    ("points", "(@{HU})and(:floor = 2)", {"HU.R213B.NACSWT", "HU.R213B.SACSWT"}),
    ("points", "*{RMT} or *{EDMP}", {"HU.R102.RMT", "HU.R102.EDMP"}),
    ("points", "%{FCU2}", FCU2),
    ("points", "#{temp}", {"HU.R102.RM", "HU.R102.RMT"}),
    ("points", "#{zone} and #{temp} and #{sensor}", {"HU.R102.RM", "HU.R102.RMT"}),
    ("points", "#{temp} and #{damper}", set()),
    ("points", "#{damper}", CROSSOVER | {"HU.R102.EDMP"}),
    ("points", "${R102} and not #{temp}", R102 - {"HU.R102.RM", "HU.R102.RMT"}),
    ("points", "${R102} and :type 3", R102 - {"HU.R102.OCC", "HULINGS.102.ZON:MODE"}),
    ("points", "(${R102})and(:type 2 or :type 3)", R102 - {"HU.R102.OCC", "HULINGS.102.ZON:MODE"}),
    ("points", "@{HU} and :type 1", BINARY),
    ("points", "${R102} and :type {OFF/ON}", {"HU.R102.OCC"}),
    ("points", ":unit {degrees fahrenheit}", {"HU.R102.RM", "HU.R102.RMT"}),
    ("points", ":measurement 'temperature'", {"HU.R102.RM", "HU.R102.RMT"}),
    (
        "points",
        ":measurement 'electric current'",
        {"HULLINGS.ELEC.MOD1:AMPS A", "HULLINGS.ELEC.MOD1:AMPS B"},
    ),
    (
        "points",
        "${R102}and:measurement 'volume flow'",
        {"HU.R102.DSET", "HU.R102.ECFM", "HU.R102.FCFM"},
    ),
    (
        "points",
        "(@{HU})and(#{temp}or#{damper})and(:type 2 or :type 3)",
        {"HU.R102.RM", "HU.R102.RMT", "HU.R102.EDMP"} | (CROSSOVER - BINARY),
    ),
    (
        "points",
        "(@{HU})and(:floor >= -1)and(:floor <= 1)and not (%{FCU2} or %{FCU4} or ${B19})",
        R102
        | {"HU.R109.OCC", "HU.RB02.DSET", "HU.RB02.ECAL"}
        | {f"HULINGS.{r}.ZON:MODE" for r in ("101", "102", "102A")},
    ),
    ("points", "not (not ${R102})", R102),
]


@pytest.fixture(scope="module")
def ids(campus_app: Any) -> dict[str, int]:
    client = campus_app.test_client()
    found: dict[str, int] = {}

    def each(route: str, key: str, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = client.get(f"/api/{route}").get_json()
        for item in items:
            found.setdefault(str(item[name]), item[key])
        return items

    buildings = each("buildings", "building_id", "building_name")
    found["HU"] = next(b["building_id"] for b in buildings if b["building_name"] == "Hulings Hall")
    found["GH"] = next(b["building_id"] for b in buildings if b["building_name"] == "Goodhue Hall")
    for r in client.get("/api/rooms").get_json():
        if r["building_name"] == "Hulings Hall":
            found[f"R{r['room_name']}" if r["room_name"][0].isdigit() else r["room_name"]] = r[
                "room_id"
            ]
    each("devices", "device_id", "device_name")
    for p in client.get("/api/points").get_json():
        if p["point_name"].startswith("HU.R102."):  # {RMT}, {EDMP}, {OCC}: room 102's
            found[p["point_name"].rsplit(".", 1)[-1]] = p["point_id"]
    each("tags", "tag_id", "tag_name")
    each("units", "unit_id", "unit_name")
    for t in client.get("/api/types").get_json():
        found["/".join(t["cases"]) if isinstance(t["cases"], list) else t["type_name"]] = t[
            "type_id"
        ]
    return found


NAME = {"buildings": "building_name", "rooms": "room_name", "devices": "device_name"}


@pytest.mark.parametrize(
    ("route", "search", "expected"), TABLE, ids=[f"{r}:{s}" for r, s, _ in TABLE]
)
def test_a_search_selects_exactly(
    legacy: FlaskClient, ids: dict[str, int], route: str, search: str, expected: Any
) -> None:
    text = search.format_map(ids)
    for response in (
        legacy.get(f"/api/{route}", query_string={"search": text}),
        legacy.post(f"/api/{route}", data={"search": text}),
    ):
        assert response.status_code == 200, (text, response.get_data(as_text=True))
        body = response.get_json()
        if route == "floors":
            assert body == expected, text
        else:
            assert {item[NAME.get(route, "point_name")] for item in body} == expected, text
    if route == "points":  # the same selection by every points route
        found = legacy.get("/api/points/ids", query_string={"search": text}).get_json()
        verify = legacy.get("/api/points/verify", query_string={"search": text}).get_json()
        assert len(found) == len(expected) == sum(row["count"] for row in verify), text


WINDOW = {"start_time": T0, "end_time": T0 + 2700}  # 4 readings each of RMT, EDMP, OCC
VALUE_TABLE = [
    ("~>80", 2),  # RMT 81.5, 82
    ("~>=79", 3),
    ("~<20", 6),  # EDMP 10, 5 and OCC's four (OFF = 0, ON = 1 in its text table)
    ("~=0", 1),  # OCC's one OFF: its number in the text table, not its index
    ("~ <= 5", 5),
    ("~!=1 and *{OCC}", 1),
    ("#{temp} and ~>80", 2),
    ("not ~>80", 10),
    ("(~<20)and(#{damper})", 2),
    ("${R102} and :measurement 'pressure' and ~ < 11", 2),
]


@pytest.mark.parametrize(("search", "count"), VALUE_TABLE, ids=[s for s, _ in VALUE_TABLE])
def test_a_value_condition_counts_and_marks_its_readings(
    legacy: FlaskClient, ids: dict[str, int], search: str, count: int
) -> None:
    text = search.format_map(ids)
    params = {"point_ids[]": [ids["RMT"], ids["EDMP"], ids["OCC"]], **WINDOW, "search": text}
    verify = legacy.get("/api/values/verify", query_string=params)
    assert verify.get_data(as_text=True) == f"{count} values found", text
    values = legacy.get("/api/values", query_string=params).get_json()
    assert len(values) == 12 and sum(v["matches"] for v in values) == count, text


# (route, search, words the 400 must contain): the old backend's bugs and terms out of place
REFUSED = [
    ("points", "@1 and :floor 3", "unexpected ':floor 3' at 8; write ':floor = 3'"),
    ("points", ":unit 'x'", ":unit"),
    ("points", "@1 @2", "'@1 or @2'"),
    ("points", ":measurement temperature", ":measurement 'temperature'"),
    ("points", "@1 AND @2", "lower case"),
    ("points", "(@1", "')'"),
    ("points", "~>80", "not allowed on /api/points"),
    ("buildings", "$1", "not allowed on /api/buildings"),
    ("floors", ":floor = 1", "not allowed"),
    ("rooms", "%1", "not allowed on /api/rooms"),
    ("devices", "*1", "not allowed on /api/devices"),
    ("points/ids", "@x", "'@x'"),
]


@pytest.mark.parametrize(("route", "search", "words"), REFUSED)
def test_a_bad_search_is_a_400_naming_position_and_token(
    legacy: FlaskClient, route: str, search: str, words: str
) -> None:
    response = legacy.get(f"/api/{route}", query_string={"search": search})
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("invalid_search", "search")
    assert words in error["message"] and re.search(r" at \d+", error["message"]), error


HOSTILE = [
    "'; DROP TABLE points; --",
    "@1; DELETE FROM readings",
    "@1 -- comment",
    "@1 /* comment */",
    ":measurement 'a' OR 1=1 --",
    '"@1"',
    "@１",  # a fullwidth digit
    "#temp é",
    "@1\x00",
    "x" * 10_000,
    "(" * 5_000 + "@1" + ")" * 5_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(h[:24]) for h in HOSTILE])
def test_hostile_searches_are_400s_and_touch_nothing(legacy: FlaskClient, text: str) -> None:
    before = len(legacy.get("/api/points").get_json())
    for response in (
        legacy.get("/api/points", query_string={"search": text}),
        legacy.post("/api/points", data={"search": text}),
        legacy.post("/api/values/verify", data={"search": text, "point_ids[]": 1, **WINDOW}),
    ):
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert response.get_json()["error"]["param"] == "search"
    assert len(legacy.get("/api/points").get_json()) == before


def test_a_long_valid_search_is_posted(legacy: FlaskClient) -> None:
    every = [p["point_id"] for p in legacy.get("/api/points").get_json()]
    text = " or ".join(f"*{i}" for i in [*every, *range(100_000, 100_400)])
    assert len(text) > 4_000
    response = legacy.post("/api/points/ids", data={"search": text})
    assert response.status_code == 200 and response.get_json() == sorted(every)
