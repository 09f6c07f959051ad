"""The catalog in /api/v2: buildings, floors, rooms, devices, tags, units, and the points' catalog
facts and filters — real HTTP through the Flask test client, over the campus of add_catalog."""

from __future__ import annotations

from typing import Any

import jsonschema
import psycopg
import pytest
from api_helpers import add_catalog, add_file, add_point
from flask.testing import FlaskClient

from energy_api.openapi.document import document

ROUTES = ("buildings", "floors", "rooms", "devices", "tags", "units")


@pytest.fixture
def campus(db: psycopg.Connection[Any]) -> dict[str, int]:
    return add_catalog(db)


def _get(client: FlaskClient, route: str, status: int = 200, **params: Any) -> Any:
    """The answer of GET /api/v2/<route>, checked against the OpenAPI document when 200."""
    response = client.get(f"/api/v2/{route}", query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    if status == 200:
        doc = document()
        path = "/points/{ref}" if route.startswith("points/") else f"/{route}"
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        jsonschema.validate(body, {**schema["schema"], "components": doc["components"]})
    return body


def _data(client: FlaskClient, route: str, **params: Any) -> list[dict[str, Any]]:
    body = _get(client, route, **params)
    assert body["meta"]["count"] == len(body["data"])
    return list(body["data"])


def _names(client: FlaskClient, route: str, **params: Any) -> list[str]:
    key = "code" if route == "buildings" else "name"
    return [row[key] for row in _data(client, route, **params)]


def _error(client: FlaskClient, route: str, **params: Any) -> dict[str, Any]:
    error: dict[str, Any] = _get(client, route, 400, **params)["error"]
    assert error["status"] == 400 and error["message"]
    return error


# --- the catalog routes ------------------------------------------------------------------------


def test_buildings_are_the_site_files_and_those_with_points_with_counts_floors_and_tags(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    body = _get(client, "buildings")
    assert body["meta"] == {"count": 3, "total": 3, "limit": 500, "offset": 0}
    assert body["data"] == [
        {
            "id": campus["GH"],
            "code": "GH",
            "name": "Goodhue Hall",
            "aliases": ["GOODHUE"],
            "points": 2,
            "rooms": 1,
            "floors": [1],
            "tags": ["residence"],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["HU"],
            "code": "HU",
            "name": "Hulings Hall",
            "aliases": ["HULINGS", "HULLINGS"],
            "points": 5,
            "rooms": 3,  # B44, 102, 213B; not 310, whose points are gone
            "floors": [-1, 1, 2],  # the ELEC meter's point has no floor: no null here
            "tags": ["science"],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["WH"],
            "code": "WH",
            "name": "Watson Hall",
            "aliases": [],
            "points": 0,
            "rooms": 0,
            "floors": [],
            "tags": [],
            "statuses": {},  # no point evaluated yet
        },
    ]
    # OLD left the site file and has no points: listed only on request
    assert _names(client, "buildings", include="empty") == ["GH", "HU", "OLD", "WH"]
    db.execute("UPDATE buildings SET in_site = false WHERE code IN ('GH', 'WH')")
    assert _names(client, "buildings") == ["GH", "HU"]  # GH still has points


def test_buildings_filter_by_a_substring_of_code_name_or_alias_and_by_all_tags_given(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    assert _names(client, "buildings", q="hall") == ["GH", "HU", "WH"]
    assert _names(client, "buildings", q="LLING") == ["HU"]  # the alias HULLINGS
    assert _names(client, "buildings", q="goodh") == ["GH"]
    assert _names(client, "buildings", q="gym") == []
    assert _names(client, "buildings", q="gym", include="empty") == ["OLD"]
    assert _names(client, "buildings", q="%") == []  # LIKE wildcards are literal
    assert _names(client, "buildings", tag="science") == ["HU"]
    assert _names(client, "buildings", tag=["science", "residence"]) == []
    page = _get(client, "buildings", limit=1, offset=1)
    assert page["meta"] == {"count": 1, "total": 3, "limit": 1, "offset": 1}
    assert page["data"][0]["code"] == "HU"


def test_floors_are_per_building_with_the_rooms_and_points_on_each(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    hu, gh = campus["HU"], campus["GH"]
    assert _data(client, "floors") == [
        {"building": "GH", "building_id": gh, "floor": 1, "rooms": 1, "points": 1},
        {"building": "HU", "building_id": hu, "floor": -1, "rooms": 1, "points": 2},
        {"building": "HU", "building_id": hu, "floor": 1, "rooms": 1, "points": 1},
        {"building": "HU", "building_id": hu, "floor": 2, "rooms": 1, "points": 1},
    ]
    assert [f["floor"] for f in _data(client, "floors", building="hulings")] == [-1, 1, 2]
    assert _data(client, "floors", building="WH") == []


def test_rooms_have_their_building_floor_points_and_own_tags_and_filter(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    hu, gh = campus["HU"], campus["GH"]
    assert _data(client, "rooms") == [
        {
            "id": campus["GH 102"],
            "name": "102",
            "building": "GH",
            "building_id": gh,
            "floor": 1,
            "points": 1,
            "tags": [],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["HU 102"],
            "name": "102",
            "building": "HU",
            "building_id": hu,
            "floor": 1,
            "points": 1,
            "tags": [],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["HU 213B"],
            "name": "213B",
            "building": "HU",
            "building_id": hu,
            "floor": 2,
            "points": 1,
            "tags": [],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["HU B44"],
            "name": "B44",
            "building": "HU",
            "building_id": hu,
            "floor": -1,
            "points": 2,
            "tags": ["mech"],
            "statuses": {},  # no point evaluated yet
        },
    ]

    def rooms(**params: Any) -> list[str]:
        return [f"{r['building']} {r['name']}" for r in _data(client, "rooms", **params)]

    assert rooms(building="GOODHUE") == ["GH 102"]
    assert rooms(building_id=hu, floor=1) == ["HU 102"]
    assert rooms(floor=1) == ["GH 102", "HU 102"]
    assert rooms(floor=-1) == ["HU B44"]
    assert rooms(tag="mech") == ["HU B44"]
    assert rooms(tag="MECH") == ["HU B44"]  # tag names in any case
    assert rooms(tag="science") == []  # a building's tag, not the room's own
    assert rooms(q="b4") == ["HU B44"]
    assert rooms(floor=3) == []
    assert rooms(floor=3, include="empty") == ["HU 310"]
    assert len(rooms(include="empty")) == 5


def test_devices_have_their_type_building_room_points_and_own_tags_and_filter(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    hu, gh = campus["HU"], campus["GH"]
    assert _data(client, "devices") == [
        {
            "id": campus["AHU3"],
            "name": "AHU3",
            "type": "AHU",
            "building": "GH",
            "building_id": gh,
            "room": None,
            "room_id": None,
            "points": 1,
            "tags": ["ahu"],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["ELEC"],
            "name": "ELEC",
            "type": "ELEC",
            "building": "HU",
            "building_id": hu,
            "room": None,
            "room_id": None,
            "points": 1,
            "tags": ["elec", "meter"],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["FCU2"],
            "name": "FCU2",
            "type": "FCU",
            "building": "HU",
            "building_id": hu,
            "room": "B44",
            "room_id": campus["HU B44"],
            "points": 2,
            "tags": ["fcu"],
            "statuses": {},  # no point evaluated yet
        },
        {
            "id": campus["CH1"],
            "name": "CH1",
            "type": "CH",
            "building": None,  # a device no building claims comes last
            "building_id": None,
            "room": None,
            "room_id": None,
            "points": 1,
            "tags": [],
            "statuses": {},  # no point evaluated yet
        },
    ]
    assert _names(client, "devices", building="Hulings Hall") == ["ELEC", "FCU2"]
    assert _names(client, "devices", room="b44") == ["FCU2"]
    assert _names(client, "devices", room_id=campus["HU B44"]) == ["FCU2"]
    assert _names(client, "devices", floor=-1) == ["FCU2"]  # its room's floor
    assert _names(client, "devices", type="fcu") == ["FCU2"]
    assert _names(client, "devices", type="fcu", include="empty") == ["FCU2", "FCU9"]
    assert _names(client, "devices", tag=["meter", "elec"]) == ["ELEC"]
    assert _names(client, "devices", tag=["meter", "fcu"]) == []
    assert _names(client, "devices", q="HU") == ["AHU3"]
    db.execute("UPDATE points SET floor = 3 WHERE name = 'GOODHUE.AHU3.SAT'")
    assert _names(client, "devices", floor=3) == ["AHU3"]  # the floor of one of its points
    assert _names(client, "devices", floor=3, include="empty") == ["AHU3", "FCU9"]


def test_tags_count_the_points_carrying_them_at_any_level(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    tags = {t["name"]: t for t in _data(client, "tags")}
    assert tags["fcu"] == {"id": campus["#fcu"], "name": "fcu", "points": 2}  # the device's
    assert tags["mech"]["points"] == 2  # the room's: both FCU2 points in B44
    assert tags["science"]["points"] == 5  # the building's: every HU point
    assert tags["temp"]["points"] == 5  # the points' own
    assert list(tags) == sorted(tags)
    assert "legacy" not in tags and "unused" not in tags  # no point carries them
    empty = {t["name"]: t["points"] for t in _data(client, "tags", include="empty")}
    assert empty["legacy"] == empty["unused"] == 0
    assert _names(client, "tags", q="EN") == ["residence", "science", "sensor"]


def test_units_have_their_symbol_quantity_spellings_and_points_and_filter(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    assert _data(client, "units") == [
        {
            "id": campus["kW"],
            "key": "kilowatt",
            "symbol": "kW",
            "name": "kilowatts",
            "quantity": "power",
            "canonical": "kilowatt",
            "resolved": True,
            "spellings": ["KW", "kW"],
            "points": 2,
        },
        {
            "id": campus["°F"],
            "key": "degree_Fahrenheit",
            "symbol": "°F",
            "name": "degrees fahrenheit",
            "quantity": "temperature",
            "canonical": "degree_Fahrenheit",
            "resolved": True,
            "spellings": ["DEG F", "degF"],
            "points": 4,
        },
        {
            "id": campus["DELTA"],
            "key": "?DELTA",
            "symbol": "DELTA",
            "name": None,
            "quantity": None,
            "canonical": None,
            "resolved": False,
            "spellings": ["DELTA"],
            "points": 1,
        },
    ]

    def symbols(**params: Any) -> list[str]:
        return [u["symbol"] for u in _data(client, "units", **params)]

    assert symbols(quantity="Temperature") == ["°F"]
    assert symbols(resolved="false") == ["DELTA"]
    assert symbols(resolved="true") == ["kW", "°F"]
    assert symbols(include="empty") == ["%", "kW", "°F", "DELTA"]
    assert symbols(quantity="dimensionless") == []  # a known quantity no point uses


# --- points: their catalog facts and filters --------------------------------------------------


def test_a_point_carries_its_resolved_building_room_device_unit_and_all_its_tags(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    expected = {
        "id": campus["HU.RB44.FCU2.SAT"],
        "name": "HU.RB44.FCU2.SAT",
        "source": "siemens",
        "kind": "number",
        "states": None,
        "unit": "°F",  # the resolved unit's symbol, not the trend report's "DEG F"
        "unit_id": campus["°F"],
        "unit_name": "degrees fahrenheit",
        "quantity": "temperature",
        "building": "HU",
        "building_id": campus["HU"],
        "building_name": "Hulings Hall",
        "floor": -1,
        "room": "B44",
        "room_id": campus["HU B44"],
        "device": "FCU2",
        "device_id": campus["FCU2"],
        # its own (air sensor temp), its device's (fcu), room's (mech), building's (science)
        "tags": ["air", "fcu", "mech", "science", "sensor", "temp"],
        "description": None,
        "descriptor": None,
        "point_type": "BAV",
        "alias": None,
        "retired": None,
        "first_ts": None,
        "last_ts": None,
        "status": None,  # not evaluated yet
        "status_since": None,
        "interval_s": None,
    }
    assert _get(client, "points/HU.RB44.FCU2.SAT")["data"] == expected
    assert _data(client, "points", name="HU.RB44.FCU2.SAT") == [expected]
    latest = _get(client, "latest", points="HU.RB44.FCU2.SAT")["data"][0]
    assert {k: v for k, v in latest.items() if k != "latest"} == expected

    legacy = _get(client, "points/LEGACY.PT")["data"]  # nothing resolved: the raw unit stays
    assert (legacy["unit"], legacy["unit_id"], legacy["quantity"]) == ("degF", None, None)
    assert (legacy["building"], legacy["room"], legacy["device"], legacy["tags"]) == (
        None,
        None,
        None,
        [],
    )
    occ = _get(client, "points/HU.R213B.OCC")["data"]
    assert (occ["kind"], occ["states"], occ["point_type"]) == ("enum", ["UNOCC", "OCC"], "LENUM")
    chiller = _get(client, "points/CENTRAL.CH1.KW")["data"]  # a device without a building
    assert (chiller["device"], chiller["building"], chiller["unit"]) == ("CH1", None, "kW")


HU_POINTS = [
    "HU.R102.RMT",
    "HU.R213B.OCC",
    "HU.RB44.FCU2.SAT",
    "HU.RB44.FCU2.SP",
    "HULLINGS.ELEC.MOD1:KW",
]


@pytest.mark.parametrize(
    "building", ["HU", "hu", "Hulings Hall", "  hulings   HALL ", "HULLINGS", "hulings"]
)
def test_points_filter_by_building_code_name_or_alias_in_any_case_and_spacing(
    client: FlaskClient, campus: dict[str, int], building: str
) -> None:
    assert _names(client, "points", building=building) == HU_POINTS


def test_points_filter_by_building_id_only_with_building_id(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    assert _names(client, "points", building_id=campus["HU"]) == HU_POINTS
    error = _error(client, "points", building=campus["HU"])  # an id is no code, name or alias
    assert (error["code"], error["param"]) == ("not_in_catalog", "building")
    assert f"building_id={campus['HU']}" in error["message"]  # what was probably meant


def test_points_filter_by_floor_room_device_tags_unit_quantity_and_kind(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    def names(**params: Any) -> list[str]:
        return _names(client, "points", **params)

    assert names(floor=-1) == ["HU.RB44.FCU2.SAT", "HU.RB44.FCU2.SP"]
    assert names(floor=1) == ["GH.R102.DT", "HU.R102.RMT"]
    assert names(floor=1, building="GH") == ["GH.R102.DT"]
    assert names(floor=7) == []  # a floor is a number, not a name: no refusal
    assert names(room="102") == ["GH.R102.DT", "HU.R102.RMT"]  # a name in any building
    assert names(room="102", building="HU") == ["HU.R102.RMT"]
    assert names(room="b44") == ["HU.RB44.FCU2.SAT", "HU.RB44.FCU2.SP"]
    assert names(room_id=campus["HU 213B"]) == ["HU.R213B.OCC"]
    assert names(room_id=campus["HU 102"]) == ["HU.R102.RMT"]
    assert names(device="fcu2") == ["HU.RB44.FCU2.SAT", "HU.RB44.FCU2.SP"]
    assert names(device_id=campus["CH1"]) == ["CENTRAL.CH1.KW"]
    assert names(tag="temp", floor=-1) == ["HU.RB44.FCU2.SAT", "HU.RB44.FCU2.SP"]
    # repeated tags: a point must carry every one, wherever each is attached
    assert names(tag=["temp", "sensor"]) == ["GOODHUE.AHU3.SAT", "HU.R102.RMT", "HU.RB44.FCU2.SAT"]
    assert names(tag=["sensor", "fcu", "mech", "science"]) == ["HU.RB44.FCU2.SAT"]
    assert names(tag=["Residence", "zone"]) == ["GH.R102.DT"]
    assert names(tag=["occ", "fcu"]) == []
    kw = ["CENTRAL.CH1.KW", "HULLINGS.ELEC.MOD1:KW"]
    assert names(unit="kW") == names(unit="kilowatt") == names(unit="KW") == kw
    assert names(unit_id=campus["kW"]) == kw
    fahrenheit = ["GOODHUE.AHU3.SAT", "HU.R102.RMT", "HU.RB44.FCU2.SAT", "HU.RB44.FCU2.SP"]
    assert names(unit="°F") == names(unit="DEG F") == fahrenheit
    # a spelling of °F, and the raw unit of a point that has no resolved one
    assert names(unit="degF") == [*fahrenheit, "LEGACY.PT"]
    assert names(unit="DELTA") == ["GH.R102.DT"]
    assert names(quantity="power") == kw
    assert names(quantity="TEMPERATURE", building="GH") == ["GOODHUE.AHU3.SAT"]
    assert names(kind="enum") == ["HU.R213B.OCC"]
    assert names(q="room 102") == ["HU.R102.RMT"]  # the Siemens descriptor
    body = _get(client, "points", building="HU", tag="temp", limit=2, offset=1)
    assert body["meta"]["total"] == 3 and len(body["data"]) == 2


def test_room_is_always_a_name_and_room_id_an_id_even_where_a_name_is_anothers_id(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    other = str(campus["HU 213B"])  # a room of GH named as HU 213B's id
    room = db.execute(
        "INSERT INTO rooms (building_id, name, floor) VALUES (%s, %s, 4) RETURNING id",
        (campus["GH"], other),
    ).fetchone()
    assert room is not None
    add_point(db, f"GH.R{other}.RMT", building_id=campus["GH"], room_id=room[0], floor=4)
    assert _names(client, "points", room=other) == [f"GH.R{other}.RMT"]
    assert _names(client, "points", room_id=other) == ["HU.R213B.OCC"]
    assert _names(client, "points", room_id=room[0]) == [f"GH.R{other}.RMT"]
    error = _error(client, "points", room=other, building="HU")  # HU has no room so named
    assert (error["code"], error["param"]) == ("not_in_catalog", "room")
    assert f"room_id={other}" in error["message"]  # room id {other}, HU 213B: perhaps meant
    assert _names(client, "devices", room_id=campus["HU B44"], building="HU") == ["FCU2"]


def test_a_number_naming_no_room_is_refused_with_the_room_whose_id_it_is(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    number = campus["HU 213B"]  # no room is named so: today's rooms are 102, 213B, B44 …
    error = _error(client, "points", room=number)
    assert (error["code"], error["param"]) == ("not_in_catalog", "room")
    assert f"room_id={number}" in error["message"] and "HU 213B" in error["message"]
    error = _error(client, "points", device=campus["FCU2"])
    assert f"device_id={campus['FCU2']}" in error["message"]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"room": "102", "room_id": "2"}, "name_and_id", "room_id"),
        ({"building": "HU", "building_id": "1"}, "name_and_id", "building_id"),
        ({"room_id": "B44"}, "invalid_parameter", "room_id"),
        ({"device_id": "-1"}, "invalid_parameter", "device_id"),
        ({"room_id": "99999"}, "not_in_catalog", "room_id"),
        ({"building_id": "99999"}, "not_in_catalog", "building_id"),
        ({"unit_id": "99999"}, "not_in_catalog", "unit_id"),
    ],
)
def test_an_id_parameter_takes_one_known_id_and_not_beside_its_name_parameter(
    client: FlaskClient, campus: dict[str, int], params: dict[str, str], code: str, param: str
) -> None:
    error = _error(client, "points", **params)
    assert (error["code"], error["param"]) == (code, param)


# --- errors, empty database, caching ----------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "params", "param"),
    [
        ("points", {"building": "Hullings Hal"}, "building"),
        ("points", {"building": "999"}, "building"),
        ("points", {"room": "102", "building": "WH"}, "room"),
        ("points", {"room": "B45"}, "room"),
        ("points", {"room": "B44", "building": "GH"}, "room"),  # exists, but not in GH
        ("points", {"device": "FCU7"}, "device"),
        ("points", {"tag": ["temp", "tmp", "zon"]}, "tag"),
        ("points", {"unit": "furlongs"}, "unit"),
        ("points", {"quantity": "temprature"}, "quantity"),
        ("buildings", {"tag": "sciense"}, "tag"),
        ("floors", {"building": "XX"}, "building"),
        ("rooms", {"building": "XX"}, "building"),
        ("rooms", {"tag": "mek"}, "tag"),
        ("devices", {"room": "9999"}, "room"),
        ("units", {"quantity": "speed"}, "quantity"),
    ],
)
def test_a_value_naming_nothing_in_the_catalog_is_400_naming_it_not_an_empty_list(
    client: FlaskClient, campus: dict[str, int], route: str, params: dict[str, Any], param: str
) -> None:
    error = _error(client, route, **params)
    assert (error["code"], error["param"]) == ("not_in_catalog", param)
    shown = params[param] if isinstance(params[param], str) else params[param][1]
    assert repr(shown) in error["message"] or shown in error["message"]
    assert "/api/v2/" in error["message"]


def test_every_unknown_tag_is_named_in_one_refusal(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    message = _error(client, "points", tag=["temp", "tmp", "zon"])["message"]
    assert message.startswith("tag 'tmp', 'zon': no such tags;")


@pytest.mark.parametrize(
    ("route", "params", "code", "param"),
    [
        ("points", {"floor": "x"}, "invalid_parameter", "floor"),
        ("points", {"floor": "1.5"}, "invalid_parameter", "floor"),
        ("rooms", {"floor": "first"}, "invalid_parameter", "floor"),
        ("devices", {"floor": str(2**40)}, "invalid_parameter", "floor"),
        ("points", {"floor": ["1", "2"]}, "invalid_parameter", "floor"),
        ("units", {"resolved": "yes"}, "invalid_parameter", "resolved"),
        ("tags", {"include": "all"}, "invalid_parameter", "include"),
        ("buildings", {"limit": "0"}, "invalid_parameter", "limit"),
        ("buildings", {"colour": "red"}, "unknown_parameter", "colour"),
        ("floors", {"floor": "1"}, "unknown_parameter", "floor"),
        ("rooms", {"device": "FCU2"}, "unknown_parameter", "device"),
        ("devices", {"unit": "kW"}, "unknown_parameter", "unit"),
        ("tags", {"tz": "UTC"}, "unknown_parameter", "tz"),
        ("units", {"q": "k"}, "unknown_parameter", "q"),
        ("points", {"rooms": "B44"}, "unknown_parameter", "rooms"),
    ],
)
def test_bad_values_and_unknown_parameters_are_400_in_the_usual_style(
    client: FlaskClient,
    campus: dict[str, int],
    route: str,
    params: dict[str, Any],
    code: str,
    param: str,
) -> None:
    error = _error(client, route, **params)
    assert (error["code"], error["param"]) == (code, param)


@pytest.mark.parametrize("route", ROUTES)
def test_an_empty_database_answers_empty_lists(client: FlaskClient, route: str) -> None:
    body = _get(client, route, include="empty") if route != "floors" else _get(client, route)
    assert body == {"meta": {"count": 0, "total": 0, "limit": 500, "offset": 0}, "data": []}


def test_in_an_empty_database_a_building_filter_is_refused_as_unknown(
    client: FlaskClient,
) -> None:
    assert _error(client, "points", building="HU")["code"] == "not_in_catalog"
    assert _data(client, "points") == []


@pytest.mark.parametrize("route", [*ROUTES, "points?building=HU"])
def test_catalog_answers_revalidate_until_a_file_is_ingested_or_the_catalog_is_applied(
    client: FlaskClient, db: psycopg.Connection[Any], campus: dict[str, int], route: str
) -> None:
    url = f"/api/v2/{route}"
    tag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    db.execute("UPDATE catalog_site SET sha256 = %s, applied_at = now()", ("1" * 64,))
    applied = client.get(url, headers={"If-None-Match": tag})
    assert applied.status_code == 200 and applied.headers["ETag"] != tag
    add_file(db, "next.csv")
    assert client.get(url, headers={"If-None-Match": applied.headers["ETag"]}).status_code == 200


def test_catalog_routes_are_read_only_and_json_only(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    for route in ROUTES:
        assert client.post(f"/api/v2/{route}").status_code == 405
        assert client.delete(f"/api/v2/{route}").status_code == 405
        refused = client.get(f"/api/v2/{route}", headers={"Accept": "text/csv"})
        assert refused.status_code == 406


def test_values_name_a_point_by_the_same_unit_as_points(
    client: FlaskClient, campus: dict[str, int]
) -> None:
    body = _get(client, "values", points="HU.RB44.FCU2.SAT,LEGACY.PT", range="2024-11-04")
    assert [(s["point"]["name"], s["point"]["unit"]) for s in body["series"]] == [
        ("HU.RB44.FCU2.SAT", "°F"),
        ("LEGACY.PT", "degF"),
    ]
