"""The legacy /api/* contract (../shared/LEGACY_API.md), row by row: status, content type and
the JSON shape field by field with types, for a non-empty and an empty answer, on the sample
campus built the real way (tests/legacy_campus.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from legacy_campus import T0

NOTHING = "@2147483647"  # a building id no campus has


def get(client: FlaskClient, route: str, method: str = "GET", **params: Any) -> Any:
    if method == "POST":
        response = client.post(f"/api/{route}", data=params)
    else:
        response = client.get(f"/api/{route}", query_string=params)
    assert response.status_code == 200, f"{route} {params}: {response.get_data(as_text=True)}"
    assert response.mimetype == "application/json", route
    return response.get_json()


def refused(client: FlaskClient, route: str, status: int = 400, **params: Any) -> str:
    response = client.get(f"/api/{route}", query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    message: str = response.get_json()["error"]["message"]
    return message


def shape(item: dict[str, Any], types: dict[str, Any]) -> None:
    """Exactly these keys, each of its type (a tuple: any of them; None allows null)."""
    assert list(item) == list(types), item
    for key, expected in types.items():
        allowed = expected if isinstance(expected, tuple) else (expected,)
        value = item[key]
        ok = any(
            value is None
            if t is None
            else (isinstance(value, t) and type(value) is not bool)
            or (t is bool and type(value) is bool)
            for t in allowed
        )
        assert ok, f"{key}={value!r} is not {expected}"


def ids(client: FlaskClient, route: str, key: str, name_key: str) -> dict[str, int]:
    return {item[name_key]: item[key] for item in get(client, route)}


@pytest.fixture(scope="module")
def hu(campus_app: Any) -> int:
    return ids(campus_app.test_client(), "buildings", "building_id", "building_name")[
        "Hulings Hall"
    ]


# --- catalog -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_buildings(legacy: FlaskClient, method: str) -> None:
    body = get(legacy, "buildings", method)
    assert [b["building_name"] for b in body] == sorted(b["building_name"] for b in body)
    assert {"Hulings Hall", "Goodhue Hall", "Boliou Hall", "Evans Hall", "Faculty Club"} <= {
        b["building_name"] for b in body
    }
    for b in body:
        shape(b, {"building_id": int, "building_name": str, "tags": list})
    assert get(legacy, "buildings", method, search=NOTHING) == []


def test_floors_of_the_dashboards_search_are_ints_ascending_never_null(
    legacy: FlaskClient, hu: int
) -> None:
    goodhue = ids(legacy, "buildings", "building_id", "building_name")["Goodhue Hall"]
    body = get(legacy, "floors", search=f"(@{hu}or@{goodhue})")
    assert body == [-1, 1, 2]  # Goodhue's points have no rooms: it adds no floor, not a null
    assert all(type(f) is int for f in body)
    assert get(legacy, "floors", search=f"@{goodhue}") == []
    assert get(legacy, f"building/{hu}/floors") == [-1, 1, 2]
    assert get(legacy, "all_floors") == [-1, 1, 2]
    assert get(legacy, "building/2147483647/floors") == []


def test_rooms(legacy: FlaskClient, hu: int) -> None:
    body = get(legacy, "rooms", search=f"(@{hu})and(:floor = -1)")
    assert [r["room_name"] for r in body] == ["B02", "B19", "B22", "B44"]
    for r in body:
        shape(
            r,
            {
                "room_id": int,
                "room_name": str,
                "building_id": int,
                "building_name": str,
                "floor": (int, None),
                "description": (str, None),
                "tags": list,
            },
        )
        assert (r["building_id"], r["building_name"], r["floor"]) == (hu, "Hulings Hall", -1)
    assert get(legacy, "rooms", search=NOTHING) == []


def test_devices(legacy: FlaskClient, hu: int) -> None:
    body = get(legacy, "devices", search=f"@{hu}")
    names = [d["device_name"] for d in body]
    assert {"FCU2", "FCU4"} <= set(names)
    for d in body:
        shape(
            d,
            {
                "device_id": int,
                "device_name": str,
                "room_id": (int, None),
                "room_name": (str, None),
                "building_id": (int, None),
                "building_name": (str, None),
                "tags": list,
                "description": (str, None),
            },
        )
    fcu2 = next(d for d in body if d["device_name"] == "FCU2")
    assert (fcu2["room_name"], fcu2["building_name"]) == ("B44", "Hulings Hall")
    assert get(legacy, "devices", search=NOTHING) == []


POINT = {
    "point_id": int,
    "point_name": str,
    "device_id": (int, None),
    "device_name": (str, None),
    "room_id": (int, None),
    "room_name": (str, None),
    "building_id": (int, None),
    "building_name": (str, None),
    "value_type": dict,
    "value_unit": (dict, None),
    "tags": list,
    "description": (str, None),
}


def test_points_ordered_by_name_with_types_units_and_inherited_tags(
    legacy: FlaskClient, hu: int
) -> None:
    body = get(legacy, "points", search=f"@{hu}")
    names = [p["point_name"] for p in body]
    assert names == sorted(names)
    for p in body:
        shape(p, POINT)
        shape(p["value_type"], {"value_type_id": int, "type": (bool, int, float, list)})
        if p["value_unit"] is not None:
            shape(p["value_unit"], {"value_unit_id": int, "measurement": str, "unit": str})
    rmt = next(p for p in body if p["point_name"] == "HU.R102.RMT")
    assert (rmt["room_name"], rmt["building_name"]) == ("102", "Hulings Hall")
    assert rmt["value_type"] == {"value_type_id": 3, "type": 1.0}
    assert rmt["value_unit"]["measurement"] == "temperature"
    assert rmt["value_unit"]["unit"] == "degrees fahrenheit"
    assert {"zone", "air", "temp", "sensor"} <= set(rmt["tags"])
    occ = next(p for p in body if p["point_name"] == "HU.R102.OCC")
    assert occ["value_type"]["type"] == ["OFF", "ON"] and occ["value_type"]["value_type_id"] > 3
    assert occ["value_unit"] is None
    assert get(legacy, "points", search=NOTHING) == []


def test_points_ids_and_verify(legacy: FlaskClient, hu: int) -> None:
    listed = get(legacy, "points", search=f"@{hu}")
    found = get(legacy, "points/ids", search=f"@{hu}")
    assert found == sorted(p["point_id"] for p in listed)
    assert all(type(i) is int for i in found)
    verify = get(legacy, "points/verify", search=f"@{hu}")
    for row in verify:
        shape(row, {"value_type_id": int, "count": int})
    assert sum(row["count"] for row in verify) == len(listed)
    by_type: dict[int, int] = {}
    for p in listed:
        by_type[p["value_type"]["value_type_id"]] = (
            by_type.get(p["value_type"]["value_type_id"], 0) + 1
        )
    assert {r["value_type_id"]: r["count"] for r in verify} == by_type
    assert get(legacy, "points/ids", search=NOTHING) == []
    assert get(legacy, "points/verify", search=NOTHING) == []
    for route in ("points/ids", "points/verify"):
        assert "search is required" in refused(legacy, route)


def test_one_item_by_id_is_the_lists_shape_or_an_empty_list(legacy: FlaskClient) -> None:
    for route, key in (
        ("points", "point_id"),
        ("devices", "device_id"),
        ("rooms", "room_id"),
        ("buildings", "building_id"),
        ("tags", "tag_id"),
        ("units", "unit_id"),
        ("types", "type_id"),
    ):
        first = get(legacy, route)[0]
        one = route[:-1] if route != "types" else "type"
        assert get(legacy, f"{one}/{first[key]}") == first, route
        assert get(legacy, f"{one}/2147483647") == [], route
        assert f"{one} id 'x'" in refused(legacy, f"{one}/x"), route


def test_tags_and_categories(legacy: FlaskClient) -> None:
    body = get(legacy, "tags")
    assert {"zone", "temp", "damper"} <= {t["tag_name"] for t in body}
    for t in body:
        shape(
            t,
            {
                "tag_id": int,
                "tag_name": str,
                "category_id": (int, None),
                "category_name": (str, None),
                "description": (str, None),
            },
        )
    assert get(legacy, "categories") == []
    assert get(legacy, "category/1") == []


def test_types_fixed_ids_then_each_enumeration_named_after_its_text_table(
    legacy: FlaskClient,
) -> None:
    body = get(legacy, "types")
    assert body[:3] == [
        {"type_id": 1, "type_name": "Boolean", "cases": True},
        {"type_id": 2, "type_name": "Integer", "cases": 1},
        {"type_id": 3, "type_name": "Float", "cases": 1.0},
    ]
    assert type(body[2]["cases"]) is float and type(body[1]["cases"]) is int
    enums = {t["type_name"]: t for t in body[3:]}
    assert enums["ZONE_MODE"]["cases"][:3] == ["VAC", "OCC1", "OCC2"]
    assert enums["DAY_NIGHT"]["cases"] == ["DAY", "NIGHT"]
    for t in body:
        shape(t, {"type_id": int, "type_name": str, "cases": (bool, int, float, list)})
    assert [t["type_id"] for t in body] == sorted(t["type_id"] for t in body)
    assert len({tuple(t["cases"]) for t in body[3:]}) == len(body) - 3  # one type per list


def test_units_and_measurements(legacy: FlaskClient) -> None:
    body = get(legacy, "units")
    for u in body:
        shape(u, {"unit_id": int, "unit_name": str, "measurement": str})
    assert {"unit_name": "degrees fahrenheit", "measurement": "temperature"} in [
        {k: u[k] for k in ("unit_name", "measurement")} for u in body
    ]
    measurements = get(legacy, "measurements")
    assert measurements == sorted(set(measurements))
    assert {"temperature", "power", "pressure"} <= set(measurements)


# --- values ------------------------------------------------------------------------------------


def point_id(client: FlaskClient, name: str) -> int:
    return next(p["point_id"] for p in get(client, "points") if p["point_name"] == name)


def test_values_inclusive_ends_typed_ordered_by_point_then_time(legacy: FlaskClient) -> None:
    rmt, occ = point_id(legacy, "HU.R102.RMT"), point_id(legacy, "HU.R102.OCC")
    params = {"point_ids[]": [occ, rmt], "start_time": T0 + 900, "end_time": T0 + 2700}
    body = get(legacy, "values", **params)
    for v in body:
        shape(
            v,
            {
                "value_id": int,
                "point_name": str,
                "timestamp": int,
                "value": (float, int, bool, str),
                "matches": bool,
            },
        )
    assert [(v["point_name"], v["timestamp"], v["value"]) for v in body] == [
        ("HU.R102.OCC", T0 + 900, "OFF"),
        ("HU.R102.OCC", T0 + 1800, "ON"),
        ("HU.R102.OCC", T0 + 2700, "ON"),
        ("HU.R102.RMT", T0 + 900, 81.5),
        ("HU.R102.RMT", T0 + 1800, 82.0),
        ("HU.R102.RMT", T0 + 2700, 79.0),
    ]
    assert type(body[4]["value"]) is float
    assert len({v["value_id"] for v in body}) == len(body)
    assert all(v["matches"] is True for v in body)  # no condition: every reading matches
    # decimals, as the page sends ms / 1000: the ends stay inclusive
    decimal = get(legacy, "values", **{**params, "start_time": T0 + 899.5, "end_time": T0 + 900.5})
    assert [v["timestamp"] for v in decimal] == [T0 + 900, T0 + 900]
    empty = get(legacy, "values", **{**params, "start_time": T0 - 100, "end_time": T0 - 1})
    assert empty == []


def test_values_matches_is_the_condition_and_verify_counts_it(legacy: FlaskClient) -> None:
    rmt, occ = point_id(legacy, "HU.R102.RMT"), point_id(legacy, "HU.R102.OCC")
    params = {"point_ids[]": [rmt, occ], "start_time": T0, "end_time": T0 + 2700}
    body = get(legacy, "values", search="~>80", **params)
    matching = [(v["point_name"], v["value"]) for v in body if v["matches"]]
    # OCC's states are compared by their number in the text table (ON = 1): none is > 80
    assert matching == [("HU.R102.RMT", 81.5), ("HU.R102.RMT", 82.0)]
    response = legacy.get("/api/values/verify", query_string={"search": "~>80", **params})
    assert (response.status_code, response.mimetype) == (200, "text/plain")
    assert response.get_data(as_text=True) == "2 values found"
    on = legacy.get("/api/values/verify", query_string={"search": "~=1", **params})
    assert on.get_data(as_text=True) == "3 values found"  # OCC's three ONs
    assert "search is required" in refused(legacy, "values/verify", **params)


def test_values_takes_jquerys_array_parameters_on_get_and_post(legacy: FlaskClient) -> None:
    rmt = point_id(legacy, "HU.R102.RMT")
    window = {"start_time": T0, "end_time": T0 + 2700}
    expected = get(legacy, "values", **{"point_ids[]": [rmt], **window})
    assert len(expected) == 4
    assert get(legacy, "values", **{"point_ids": [rmt], **window}) == expected
    assert get(legacy, "values", "POST", **{"point_ids[]": [rmt], **window}) == expected


def test_values_refuses_what_it_cannot_answer(legacy: FlaskClient) -> None:
    window = {"start_time": T0, "end_time": T0 + 60}
    assert "point_ids[] is required" in refused(legacy, "values", **window)
    assert "no point with id 2147483646" in refused(
        legacy, "values", **{"point_ids[]": [2147483646], **window}
    )
    assert "start_time is required" in refused(legacy, "values", **{"point_ids[]": [1]})
    assert "'soon' is not a number" in refused(
        legacy, "values", **{"point_ids[]": [1], "start_time": "soon", "end_time": T0}
    )
    for far in ("1e20", "-1", "253402387200"):  # past 9999-12-31, before 1970, past again
        assert f"start_time={far} is outside 1970..9999" in refused(
            legacy, "values", **{"point_ids[]": [1], "start_time": far, "end_time": T0}
        )
    assert "end_time is before start_time" in refused(
        legacy, "values", **{"point_ids[]": [1], "start_time": T0, "end_time": T0 - 1}
    )
    message = refused(legacy, "values", **{"point_ids[]": [1], "colour": "red", **window})
    assert "unknown parameter: colour" in message


def test_values_add_is_gone_and_says_where_reports_go(legacy: FlaskClient) -> None:
    response = legacy.post("/api/values/add", data={"point_id": 1, "value": 2})
    assert response.status_code == 410
    assert "/upload/siemens" in response.get_json()["error"]["message"]


# --- anomalies ---------------------------------------------------------------------------------


def test_vent_and_temp_lists_the_instants_a_room_is_warm_with_its_damper_shut(
    legacy: FlaskClient,
) -> None:
    params = {"start_time": T0, "end_time": T0 + 3600, "temp": 80, "vent": 20}
    body = get(legacy, "anomalies/vent-and-temp", **params)
    assert body == {
        "Hulings Hall 102": {
            "temp_name": "HU.R102.RMT",
            "damper_name": "HU.R102.EDMP",
            "values": {"temp": [81.5], "vent": [10.0], "timestamp": [T0 + 900]},
        }
    }
    assert get(legacy, "anomalies/vent-and-temp", **{**params, "temp": 90}) == {}
    # the end is exclusive: 00:15 itself is outside [00:00, 00:15)
    assert get(legacy, "anomalies/vent-and-temp", **{**params, "end_time": T0 + 900}) == {}
    assert "vent is required" in refused(
        legacy, "anomalies/vent-and-temp", **{k: v for k, v in params.items() if k != "vent"}
    )


# --- rules -------------------------------------------------------------------------------------


def test_rules_from_the_site_file(legacy: FlaskClient) -> None:
    body = get(legacy, "rules")
    assert [r["rule_name"] for r in body] == ["Temperature over 80"]
    rule = body[0]
    shape(
        rule,
        {
            "rule_id": int,
            "rule_name": str,
            "priority": int,
            "url": str,
            "point_search": str,
            "value_search": str,
        },
    )
    assert (rule["point_search"], rule["value_search"]) == (":measurement 'temperature'", "~> 80")
    assert get(legacy, f"rule/{rule['rule_id']}") == rule
    assert get(legacy, "rule/2147483647") == []


def test_rule_count_and_matches_over_a_window(legacy: FlaskClient) -> None:
    rule = get(legacy, "rules")[0]["rule_id"]
    window = {"start_time": T0, "end_time": T0 + 2700}
    response = legacy.get(f"/api/rule/{rule}/count", query_string=window)
    assert (response.status_code, response.mimetype) == (200, "text/plain")
    assert response.get_data(as_text=True) == "2"  # RMT at 81.5 and 82 (°F points only)
    matches = get(legacy, f"rule/{rule}/matches", **window)
    assert [(m["point_name"], m["value"], m["matches"]) for m in matches] == [
        ("HU.R102.RMT", 81.5, True),
        ("HU.R102.RMT", 82.0, True),
    ]
    since = legacy.get(f"/api/rule/{rule}/count", query_string={"since": T0 + 1000})
    assert since.get_data(as_text=True) == "1"


def test_a_rule_count_is_404_when_no_reading_arrived_since_the_start(legacy: FlaskClient) -> None:
    """Yesterday (the default window) has no readings in the sample campus: a stalled pipeline
    must not read as "0 broken"."""
    rule = get(legacy, "rules")[0]["rule_id"]
    for route in (f"rule/{rule}/count", f"rule/{rule}/matches"):
        message = refused(legacy, route, 404)
        assert "has a reading since" in message and "stalled" in message
    assert "no rule 2147483647" in refused(legacy, "rule/2147483647/count", 404)


@pytest.mark.parametrize("route", ["rule/add", "rule/1/rename", "rule/1/delete"])
def test_rule_writes_are_refused_with_where_rules_are_defined(
    legacy: FlaskClient, route: str
) -> None:
    response = legacy.post(f"/api/{route}", data={"name": "x"})
    assert response.status_code == 405
    assert "[[rules]]" in response.get_json()["error"]["message"]
    assert response.headers["Allow"] == ""


def test_every_route_answers_post_with_form_fields(legacy: FlaskClient, hu: int) -> None:
    for route in ("buildings", "rooms", "devices", "points", "points/ids"):
        assert get(legacy, route, "POST", search=f"@{hu}") == get(legacy, route, search=f"@{hu}")


def test_an_empty_catalog_answers_empty_arrays_not_errors(client: FlaskClient) -> None:
    empty_legacy = client  # a migrated database with nothing in it
    for route in (
        *("buildings", "floors", "all_floors", "rooms", "devices", "points", "tags"),
        *("categories", "units", "measurements", "rules"),
    ):
        assert get(empty_legacy, route) == [], route
    assert get(empty_legacy, "points/ids", search="@1") == []
    assert get(empty_legacy, "points/verify", search="@1") == []
    assert [t["type_id"] for t in get(empty_legacy, "types")] == [1, 2, 3]
    assert get(empty_legacy, "point/1") == [] and get(empty_legacy, "building/1/floors") == []
    window = {"start_time": T0, "end_time": T0 + 60, "temp": 80, "vent": 20}
    assert get(empty_legacy, "anomalies/vent-and-temp", **window) == {}


def test_a_rule_count_defaults_to_yesterday_midnight_to_midnight_local(campus_app: Any) -> None:
    """On 2018-11-02 (a clock the app is given), "yesterday" is Hulings' sample day in Chicago."""
    clock = campus_app.extensions["energy_clock"]
    try:
        campus_app.extensions["energy_clock"] = lambda: datetime(2018, 11, 2, 17, tzinfo=UTC)
        client = campus_app.test_client()
        rule = get(client, "rules")[0]["rule_id"]
        response = client.get(f"/api/rule/{rule}/count")
        assert (response.status_code, response.get_data(as_text=True)) == (200, "2")
        # the next day, nothing arrived since its start: 404, not "0"
        campus_app.extensions["energy_clock"] = lambda: datetime(2018, 11, 3, 17, tzinfo=UTC)
        assert client.get(f"/api/rule/{rule}/count").status_code == 404
    finally:
        campus_app.extensions["energy_clock"] = clock


def test_rooms_and_devices_a_rule_change_left_without_points_are_listed_by_neither_api(
    client: FlaskClient, db: Any
) -> None:
    from test_catalog_store import SITE, apply, put, trend

    apply(db)
    put(db, trend({"HU.R102.RMT": ["70.1"], "HU.R103.RMT": ["71.0"]}))
    before = {r["room_name"] for r in get(client, "rooms")}
    assert {"102", "103"} <= before, before
    moved = SITE.read_text() + '\n[[points]]\nname = "HU.R102.RMT"\nroom = "103"\ndevice = "X1"\n'
    apply(db, moved)  # R102 keeps its id, and no point
    legacy = sorted(r["room_name"] for r in get(client, "rooms"))
    v2 = sorted(r["name"] for r in client.get("/api/v2/rooms").get_json()["data"])
    assert legacy == v2 and len(legacy) == len(before) - 1, (legacy, v2, before)
    floors = get(client, "floors")
    assert floors == sorted({r["floor"] for r in client.get("/api/v2/rooms").get_json()["data"]})
    devices = sorted(d["device_name"] for d in get(client, "devices"))
    assert devices == sorted(d["name"] for d in client.get("/api/v2/devices").get_json()["data"])
