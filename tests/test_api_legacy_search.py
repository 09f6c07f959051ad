"""The search language through the legacy HTTP endpoints (../shared/LEGACY_API.md): a table of
search strings — each term on each endpoint that allows it, the refusals, nesting and the
dashboard's no-space forms, every :floor operator, measurements with spaces, set semantics for
tags, `~` on numbers and on an enumeration, and each old bug — with the names each must select or
the 400 it must be; then hostile strings, which are 400s and leave the catalog as it was.

Ids are the catalog's, looked up by name through the API; the expected names are written out
from the sample campus (tests/legacy_campus.py), not computed by the SQL under test."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from legacy_campus import T0

HU, GH, FAC = "{b:Hulings Hall}", "{b:Goodhue Hall}", "{b:Faculty Club}"
ELEC = "{t:elec}"
METER, WATER, AIR, FLOW = "{t:meter}", "{t:water}", "{t:air}", "{t:flow}"
DAMPER, OCC, TEMP, SP = "{t:damper}", "{t:occ}", "{t:temp}", "{t:sp}"
RMT, EDMP = "{p:HU.R102.RMT}", "{p:HU.R102.EDMP}"
L2SL = "{ty:Default L2SL}"  # the OFF/ON text table of the Siemens export


def room(name: str) -> str:
    return "{r:Hulings Hall/" + name + "}"


def device(building: str, name: str) -> str:
    return "{d:" + building + "/" + name + "}"


@dataclass(frozen=True)
class Refused:
    """A 400 `invalid_search` whose message contains this text (templated like the search);
    `{at}` in it stands for the 1-based position of `at` in the filled search."""

    message: str
    at: str = ""


# --- the sample campus, in names -----------------------------------------------------------------

BUILDINGS = ["Boliou Hall", "Evans Hall", "Faculty Club", "Goodhue Hall", "Hulings Hall"]
ROOMS = ["101", "102", "102A", "109", "213B", "B02", "B19", "B22", "B44"]
BASEMENT = ["B02", "B19", "B22", "B44"]
FIRST = ["101", "102", "102A", "109"]
DEVICES = [
    "A1", "A2", "AHU1", "AHU3", "AHUH1-VAV-B-5", "CONM", "Crossover damper D-4",
    "Crossover damper D-5", "ELEC", "ELEC", "EVAV-B-27-Vivarium", "EVAV-B-29-Vivarium", "FCU2",
    "FCU4", "HW", "HWP1", "OLD", "VAV",
]  # fmt: skip
GOODHUE_DEVICES = ["A1", "A2", "AHU3", "ELEC", "HWP1"]
ROOM_102 = [
    "HU.R102.DSET", "HU.R102.ECFM", "HU.R102.EDMP", "HU.R102.EVPRS", "HU.R102.FCFM",
    "HU.R102.OCC", "HU.R102.RM", "HU.R102.RMT", "HULINGS.102.ZON:MODE",
]  # fmt: skip
METERS = [
    "GOODHUE.ELEC.DEMAND", "GOODHUE.ELEC.METER.READING", "HULLINGS.ELEC.MOD1:AMPS A",
    "HULLINGS.ELEC.MOD1:AMPS B",
]  # fmt: skip
AMPS = ["HULLINGS.ELEC.MOD1:AMPS A", "HULLINGS.ELEC.MOD1:AMPS B"]
AIR_FLOW = [
    "BOLIOU.VAV.1.RM161:CTL FLOW", "HU.R102.ECFM", "HU.R102.FCFM",
    "HUL-AHUH1-VAV-B-5-RM B19 / HUL-AHU1-VAV-B-5.SA-CFM-STP",
    "HUL-AHUH1-VAV-B-5-RM B19 / HUL-AHU1-VAV-B-5.SA-CFM-STP / HUL-AHU1-VAV-B-5.SA-CFM",
    "HUL-EVAV-B-27-Vivarium / HUL-AHU1-VAV-B-27-VIVARIUM .SA-CFM-STP",
    "HUL-EVAV-B-27-Vivarium / HUL-AHU1-VAV-B-27-VIVARIUM .SA-CFM-STP"
    " / HUL-AHU1-VAV-B-27-VIVARIUM .SA-CFM",
    "HUL-EVAV-B-27-Vivarium / HUL-AHU1-VAV-B-27-VIVARIUM.SA-CFM",
    "HUL-EVAV-B-29-Vivarium / HUL-AHU1-VAV-B-29-VIVARIUM .SA-CFM-STP",
    "HUL-EVAV-B-29-Vivarium / HUL-AHU1-VAV-B-29-VIVARIUM .SA-CFM-STP"
    " / HUL-AHU1-VAV-B-29-VIVARIUM .SA-CFM",
    "HUL-EVAV-B-29-Vivarium / HUL-AHU1-VAV-B-29-VIVARIUM.SA-CFM",
]  # fmt: skip
OFF_ON = [
    "BOLIOU.AHU1.SF.S", "GH.GENRUN", "GHA1SS", "GHA2SS", "HU.R102.OCC", "HU.R109.OCC",
    "HU.R213B.NACSWT", "HU.R213B.SACSWT",
]  # fmt: skip
BOOLEANS = [  # BALM alarms and BNI inputs too: binary ALC types are enumerations of no states
    "Crossover damper D-4 / Damper Fail Alarm", "Crossover damper D-4 / Damper In Hand Alarm",
    "Crossover damper D-4 / Damper Open CTRL", "Crossover damper D-4 / Damper Status",
    "Crossover damper D-5 / Damper Fail Alarm", "Crossover damper D-5 / Damper In Hand Alarm",
    "Crossover damper D-5 / Damper Open CTRL", "Crossover damper D-5 / Damper Status",
    "HUL-EVAV-B-27-Vivarium / HUL-AHU1-VAV-B-27.VIVARIUM.OCC",
    "HUL-EVAV-B-27-Vivarium / Override",  # a BNI, binary network input
    "HUL-EVAV-B-29-Vivarium / HUL-AHU1-VAV-B-29.VIVARIUM.OCC",
    "HUL-EVAV-B-29-Vivarium / Override",
]  # fmt: skip
NUMERIC_DAMPERS = ["HU.R102.EDMP"]
FCU2_POINTS = [
    "HUL-FCU2-RM B44 / Setpoint", "HUL-FCU2-RM B44 / Setpoint / Cooling Occupied Setpoint",
    "HUL-FCU2-RM B44 / Setpoint / Cooling Setpoint Adjust",
    "HUL-FCU2-RM B44 / Setpoint / Cooling Unoccupied Setpoint",
    "HUL-FCU2-RM B44 / Setpoint / Heating Occupied Setpoint",
    "HUL-FCU2-RM B44 / Setpoint / Heating Unoccupied Setpoint",
]  # fmt: skip
FCU4_POINTS = [name.replace("FCU2-RM B44", "FCU4-RM B22") for name in FCU2_POINTS]
B19_POINTS = [
    "HUL-AHUH1-VAV-B-5-RM B19 / HUL-AHU1-VAV-B-5.SA-CFM-STP",
    "HUL-AHUH1-VAV-B-5-RM B19 / HUL-AHU1-VAV-B-5.SA-CFM-STP / HUL-AHU1-VAV-B-5.SA-CFM",
    "HUL-AHUH1-VAV-B-5-RM B19 / N/A", "HUL-AHUH1-VAV-B-5-RM B19 / N/A / N/A",
    "HUL-AHUH1-VAV-B-5-RM B19 / N/A / Override Time Remaining",
    "HUL-AHUH1-VAV-B-5-RM B19 / Setpoint",
]  # fmt: skip
SECOND = ["HU.R213B.NACSWT", "HU.R213B.SACSWT"]
VOLUME_FLOW = ["HU.R102.DSET", "HU.R102.ECFM", "HU.R102.FCFM", "HU.RB02.DSET"]

# Readings of /api/values below: RMT 70.1 81.5 82 79, EDMP 50 10 30 5, OCC ON OFF ON ON; OCC's
# text table numbers its states OFF = 0, ON = 1.
RT, DM, OC = "HU.R102.RMT", "HU.R102.EDMP", "HU.R102.OCC"
NOT_ALLOWED = "is not allowed on /api/"

Expected = Sequence[Any] | Refused
# fmt: off
TABLE: list[tuple[str, str, Expected]] = [
    # @ — buildings, floors, rooms, devices, points
    ("buildings", f"@{HU}", ["Hulings Hall"]),
    ("buildings", f"(@{HU}or@{GH})", ["Goodhue Hall", "Hulings Hall"]),
    ("buildings", f"not @{HU}", [b for b in BUILDINGS if b != "Hulings Hall"]),
    ("floors", f"@{HU}", [-1, 1, 2]),
    ("floors", f"(@{HU}or@{GH})", [-1, 1, 2]),
    ("floors", f"@{GH}", []),
    ("rooms", f"@{HU}", ROOMS),
    ("rooms", f"@{GH}", []),
    ("devices", f"@{GH}", GOODHUE_DEVICES),
    ("points", f"@{FAC}", ["FAC.CONM"]),
    # # — all; tags on the item or above it; sets: `#a and #b` is both, `not #x` keeps the untagged
    ("buildings", f"#{ELEC}", []),
    ("buildings", f"not #{ELEC}", BUILDINGS),
    ("floors", f"#{ELEC}", []),
    ("floors", f"not #{ELEC}", [-1, 1, 2]),
    ("rooms", f"#{ELEC}", []),
    ("rooms", f"not #{ELEC}", ROOMS),
    ("devices", f"#{ELEC}", ["ELEC", "ELEC"]),
    ("devices", f"#{ELEC} and #{METER}", ["ELEC", "ELEC"]),
    ("devices", f"(@{HU})and(#{ELEC})", ["ELEC"]),
    ("devices", f"not #{ELEC}", [d for d in DEVICES if d != "ELEC"]),
    ("devices", f"#{METER} and #{WATER}", []),  # FAC.CONM's tags are its own, not CONM's
    ("points", f"#{ELEC} and #{METER}", METERS),  # both from the device
    ("points", f"#{METER} and #{WATER}", ["FAC.CONM"]),
    ("points", f"#{METER}", ["FAC.CONM", *METERS]),
    ("points", f"#{METER}and not#{WATER}", METERS),
    ("points", f"#{AIR} and #{FLOW}", AIR_FLOW),
    ("points", f"#{TEMP} and #{DAMPER}", []),
    ("points", f"(@{GH}) and not #{METER}", [
        "GH.HWP1.VFD:DAY.NIGHT", "GHA1SS", "GHA2SS", "GOODHUE.AHU3.ZON:DESIRED OPER",
        "GOODHUE.AHU3.ZON:MODE", "GOODHUE.AHU3.ZON:NX MODE",
    ]),
    ("points", "$" + room("102") + f" and not #{DAMPER}", [n for n in ROOM_102 if n != DM]),
    # $ — rooms, devices, points
    ("rooms", "$" + room("102") + " or $" + room("B44"), ["102", "B44"]),
    ("devices", "$" + room("B22"), ["FCU4"]),
    ("points", "$" + room("102"), ROOM_102),
    ("points", "$" + room("213B"), SECOND),
    # % — devices, points
    ("devices", "%" + device("Hulings Hall", "FCU2"), ["FCU2"]),
    ("points", "%" + device("Hulings Hall", "ELEC"), AMPS),
    ("points", "%" + device("Goodhue Hall", "ELEC"), METERS[:2]),
    # * — points
    ("points", f"*{RMT}", [RT]),
    ("points", f"(*{RMT}or*{EDMP})and(not(*{EDMP}))", [RT]),
    # :floor with every operator — rooms, devices, points
    ("rooms", ":floor = 1", FIRST),
    ("rooms", ":floor=-1", BASEMENT),
    ("rooms", ":floor != 1", ["213B", *BASEMENT]),
    ("rooms", ":floor < 1", BASEMENT),
    ("rooms", ":floor > 1", ["213B"]),
    ("rooms", ":floor <= 1", FIRST + BASEMENT),
    ("rooms", ":floor >= 1", [*FIRST, "213B"]),
    ("rooms", ":floor>=-1", ROOMS),
    ("rooms", ":floor = 3", []),
    ("devices", ":floor = -1", ["AHUH1-VAV-B-5", "FCU2", "FCU4"]),
    ("devices", ":floor != -1", []),  # the others have no room, so no floor
    ("devices", ":floor < 0", ["AHUH1-VAV-B-5", "FCU2", "FCU4"]),
    ("devices", ":floor >= 1", []),
    ("devices", "not :floor = -1", [d for d in DEVICES if d not in ("AHUH1-VAV-B-5", "FCU2", "FCU4")]),
    ("points", ":floor = 2", SECOND),
    ("points", ":floor > 1", SECOND),
    ("points", ":floor >= 2", SECOND),
    ("points", ":floor <= -1", ["HU.RB02.DSET", "HU.RB02.ECAL", *B19_POINTS, *FCU2_POINTS, *FCU4_POINTS]),
    ("points", f"(@{HU})and(:floor < 2)and(:floor != -1)and(#{OCC})", [OC, "HU.R109.OCC"]),
    # the dashboard's forms
    ("rooms", f"(@{HU})and(:floor = 2)and($" + room("213B") + "or$" + room("102") + ")", ["213B"]),
    ("points", f"(@{HU})and(#{OCC}or#{DAMPER})and(:type 2 or :type 3)", NUMERIC_DAMPERS),
    ("points", "(:type 2 or :type 3)and(#" + DAMPER + ")and(@" + HU + ")", NUMERIC_DAMPERS),
    ("points", f"((@{HU}))and((not(not(#{SP}))))and(%" + device("Hulings Hall", "FCU4") + ")", FCU4_POINTS),
    # :type, :unit, :measurement — points
    ("points", f":type {L2SL}", OFF_ON),
    ("points", ":type 1", BOOLEANS),
    ("points", ":type 2", []),
    ("points", f"(:type {L2SL})and(@{HU})and(:floor = 1)", [OC, "HU.R109.OCC"]),
    ("points", ":unit {u:amperes}", AMPS),
    ("points", ":unit {u:cubic feet per minute}", VOLUME_FLOW),
    ("points", ":measurement 'electric current'", AMPS),
    ("points", ":measurement 'volume flow'", VOLUME_FLOW),
    ("points", ":measurement 'pressure'", ["HU.R102.EDMP", "HU.R102.EVPRS"]),  # two units
    ("points", ":measurement'temperature'and#{t:zone}", ["HU.R102.RM", RT]),
    ("points", ":measurement 'proportion open'", []),
    # refusals of terms where they are not allowed
    ("buildings", "$" + room("102"), Refused(f"'${room('102')}' at 1 {NOT_ALLOWED}buildings")),
    ("buildings", f"@{HU} and :floor = 1", Refused(f"':floor = 1' at {{at}} {NOT_ALLOWED}", at=":floor")),
    ("floors", ":floor = 1", Refused(f"{NOT_ALLOWED}floors; there: @N, #N")),
    ("floors", f"*{RMT}", Refused(NOT_ALLOWED + "floors")),
    ("rooms", "%" + device("Hulings Hall", "FCU2"), Refused(NOT_ALLOWED + "rooms")),
    ("rooms", ":unit {u:amperes}", Refused(NOT_ALLOWED + "rooms")),
    ("devices", f"*{RMT}", Refused(NOT_ALLOWED + "devices")),
    ("devices", ":type 3", Refused(NOT_ALLOWED + "devices")),
    ("devices", ":measurement 'volume flow'", Refused(NOT_ALLOWED + "devices")),
    ("points", "~>80", Refused(f"'~>80' at 1 {NOT_ALLOWED}points")),
    ("buildings", "~>80", Refused(NOT_ALLOWED + "buildings")),
    # the old bugs: each a 400 naming the position and the token
    ("rooms", ":floor 3", Refused("unexpected ':floor 3' at 1; write ':floor = 3'")),
    ("points", f"(@{HU})and(:floor 3)", Refused("unexpected ':floor 3' at {at}; write ':floor = 3'", at=":floor")),
    ("points", ":unit 'x'", Refused("unexpected \":unit 'x'\" at 1; :unit takes a unit id")),
    ("points", f"@{HU} @{GH}", Refused(f"unexpected '@{GH}' at {{at}}; write '@", at=f"@{GH}")),
    ("points", f"@{HU} 2", Refused("a number alone is not a term")),
    ("points", "@1 xor @2", Refused("unexpected 'xor' at 4")),
    ("points", ":colour 1", Refused("unknown ':colour' at 1")),
    ("points", "(@1", Refused("unclosed '(' at 1")),
    ("points", "@1)", Refused("unexpected ')' at 3")),
    ("points", "@1 and", Refused("'and' at 4 ends the search")),
    ("points", ":floor == 1", Refused("write '=' for '=='")),
    ("points", ":floor = 1.5", Refused("a floor is a whole number")),
    ("values", "~80", Refused("unexpected '~80' at 1")),
    ("values", "~>abc", Refused("unexpected '~>abc' at 1")),
    # ~ — values only: numbers, and an enumeration by its state's number in the text table
    ("values", "~>80", [(RT, 81.5), (RT, 82.0)]),
    ("values", "~>=82", [(RT, 82.0)]),
    ("values", "~ <= 10", [(DM, 10.0), (DM, 5.0), (OC, "ON"), (OC, "OFF"), (OC, "ON"), (OC, "ON")]),
    ("values", "~=1", [(OC, "ON"), (OC, "ON"), (OC, "ON")]),
    ("values", "~<1", [(OC, "OFF")]),
    ("values", "~ != 1", [(DM, 50.0), (DM, 10.0), (DM, 30.0), (DM, 5.0), (OC, "OFF"),
                          (RT, 70.1), (RT, 81.5), (RT, 82.0), (RT, 79.0)]),
    # OCC is 1 (ON) or 0 (OFF): all four are under 6
    ("values", "(~>80)or(~<6)", [(DM, 5.0), (OC, "ON"), (OC, "OFF"), (OC, "ON"), (OC, "ON"), (RT, 81.5), (RT, 82.0)]),
    ("values", "~ > 0.5 and :measurement 'temperature'", [(RT, 70.1), (RT, 81.5), (RT, 82.0), (RT, 79.0)]),
    ("values", f"#{DAMPER} and ~<20", [(DM, 10.0), (DM, 5.0)]),
    ("values", "$" + room("102") + " and not ~>=1", [(OC, "OFF")]),
    ("values", f":type {L2SL} and ~=0", [(OC, "OFF")]),
    ("values", f"*{RMT}and~>80", [(RT, 81.5), (RT, 82.0)]),
    ("values", f"(@{HU})and(:floor = 1)and(~>=79)", [(RT, 81.5), (RT, 82.0), (RT, 79.0)]),
    ("values", "%" + device("Hulings Hall", "ELEC") + " or ~ < -100", []),
]
# fmt: on

ROUTE_KEY = {
    "buildings": "building_name",
    "rooms": "room_name",
    "devices": "device_name",
    "points": "point_name",
}
_PLACEHOLDER = re.compile(r"\{(\w+):([^}]+)\}")


@pytest.fixture(scope="module")
def catalog_ids(campus_app: Flask) -> dict[str, int]:
    """`kind:name` → the catalog's id, looked up through the API by name."""
    client = campus_app.test_client()

    def listed(route: str) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = client.get(f"/api/{route}").get_json()
        return body

    found: dict[str, int] = {}
    for kind, route, key, name in (
        ("b", "buildings", "building_id", lambda i: i["building_name"]),
        ("r", "rooms", "room_id", lambda i: f"{i['building_name']}/{i['room_name']}"),
        ("d", "devices", "device_id", lambda i: f"{i['building_name']}/{i['device_name']}"),
        ("p", "points", "point_id", lambda i: i["point_name"]),
        ("t", "tags", "tag_id", lambda i: i["tag_name"]),
        ("u", "units", "unit_id", lambda i: i["unit_name"]),
        ("ty", "types", "type_id", lambda i: i["type_name"]),
    ):
        for item in listed(route):
            label = f"{kind}:{name(item)}"
            assert label not in found, f"{label} is not unique"
            found[label] = item[key]
    return found


def fill(template: str, catalog_ids: dict[str, int]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(catalog_ids[f"{m[1]}:{m[2]}"]), template)


def window(catalog_ids: dict[str, int]) -> dict[str, Any]:
    points = [catalog_ids[f"p:{name}"] for name in (RT, DM, OC)]
    return {"point_ids[]": points, "start_time": T0, "end_time": T0 + 2700}


def selected(client: FlaskClient, endpoint: str, search: str, ids: dict[str, int]) -> Any:
    """What the endpoint selects: names (sorted), floors (as answered), or for values the
    (point, value) readings whose `matches` is true — checked against /values/verify's count."""
    if endpoint == "values":
        params = {**window(ids), "search": search}
        response = client.get("/api/values", query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)
        matching = [(v["point_name"], v["value"]) for v in response.get_json() if v["matches"]]
        verify = client.post("/api/values/verify", data=params)
        assert verify.status_code == 200, verify.get_data(as_text=True)
        assert verify.get_data(as_text=True) == f"{len(matching)} values found"
        return matching
    response = client.get(f"/api/{endpoint}", query_string={"search": search})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    if endpoint == "floors":
        return body
    names = sorted(item[ROUTE_KEY[endpoint]] for item in body)
    if endpoint == "points":  # the two other point routes agree with the list
        posted = client.post("/api/points/ids", data={"search": search}).get_json()
        assert posted == sorted(item["point_id"] for item in body)
    return names


def refusal(client: FlaskClient, endpoint: str, search: str, ids: dict[str, int]) -> str:
    params: dict[str, Any] = {"search": search}
    if endpoint == "values":
        params.update(window(ids))
    response = client.get(f"/api/{endpoint}", query_string=params)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("invalid_search", "search"), error
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    ("endpoint", "template", "expected"),
    TABLE,
    ids=[f"{endpoint}:{template}" for endpoint, template, _ in TABLE],
)
def test_a_search_selects_exactly_these_or_is_refused_with_this_message(
    legacy: FlaskClient,
    catalog_ids: dict[str, int],
    endpoint: str,
    template: str,
    expected: Expected,
) -> None:
    search = fill(template, catalog_ids)
    if isinstance(expected, Refused):
        message = fill(expected.message, catalog_ids)
        if expected.at:
            message = message.replace(
                "{at}", str(search.rindex(fill(expected.at, catalog_ids)) + 1)
            )
        assert message in refusal(legacy, endpoint, search, catalog_ids)
    elif endpoint in ("floors", "values"):
        assert selected(legacy, endpoint, search, catalog_ids) == list(expected)
    else:
        assert selected(legacy, endpoint, search, catalog_ids) == sorted(expected)


def test_the_table_uses_every_term_on_every_endpoint_that_allows_it() -> None:
    allowed = {
        "buildings": "@ #",
        "floors": "@ #",
        "rooms": "@ # $ :floor",
        "devices": "@ # $ % :floor",
        "points": "@ # $ % * :floor :type :unit :measurement",
        "values": "~",
    }
    for endpoint, terms in allowed.items():
        for term in terms.split():
            used = [
                t for e, t, x in TABLE if e == endpoint and not isinstance(x, Refused) and term in t
            ]
            assert used, f"no row uses {term} on {endpoint}"
    assert len(TABLE) >= 40


# --- hostile strings ---------------------------------------------------------------------------

_GARBAGE = random.Random(20181101)
HOSTILE = [
    "'; DROP TABLE points; --",
    "@1; DROP TABLE points",
    "@1' OR '1'='1",
    '"@1"',
    ':measurement "temperature"',
    ":measurement 'temp",
    "'",
    "@1 /* comment */",
    "/**/@1",
    "@1 -- comment",
    "--",
    ";",
    "@1;",
    "@１",  # a fullwidth digit
    "＠1",
    "@1 ánd @2",
    "#1 or 🔥",
    "@1\u200b",  # a zero-width space
    "@1 union select * from points",
    ":unit (select 1)",
    "@1 or 1=1",
    "".join(_GARBAGE.choice("@#$%*:~()'\";-/\\ 0123456789abcxyz=<>!éü\t") for _ in range(10_240)),
    "(" * 5_000 + "@1" + ")" * 5_000,  # 10 kB, well formed, far too deep
    "not " * 2_560 + "@1",
]
# NUL is refused before the search is parsed, by the parameters of every route (energy_api/params.py)
NUL = ["@1\x00", "\x00", ":measurement 'a\x00b'", "\x00" + "@1 or " * 2_000 + "@2"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", ["points", "points/ids", "points/verify", "buildings", "rooms"])
def test_hostile_searches_are_400_invalid_search_and_leave_the_points_intact(
    legacy: FlaskClient, route: str, method: str
) -> None:
    before = legacy.get("/api/points").get_json()
    for text in HOSTILE:
        if method == "POST":
            response = legacy.post(f"/api/{route}", data={"search": text})
        else:
            response = legacy.get(f"/api/{route}", query_string={"search": text})
        assert response.status_code == 400, (text[:60], response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/json", text[:60]
        error = response.get_json()["error"]
        assert error["code"] == "invalid_search", (text[:60], error)
        assert error["message"].startswith("search: "), error
        assert len(error["message"]) < 1_000, "the message quotes the whole string"
    for text in NUL:
        if method == "POST":
            response = legacy.post(f"/api/{route}", data={"search": text})
        else:
            response = legacy.get(f"/api/{route}", query_string={"search": text})
        assert response.status_code == 400, (text[:60], response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert (error["code"], error["param"]) == ("invalid_search", "search"), error
        assert "'\\x00' at " in error["message"], error  # named with its position
    assert legacy.get("/api/points").get_json() == before


def test_a_nul_in_a_search_is_invalid_search_with_its_position(legacy: FlaskClient) -> None:
    response = legacy.get("/api/points", query_string={"search": "@1\x00"})
    error = response.get_json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid_search"), error
    assert "at 3" in error["message"], error


def test_hostile_value_searches_are_400_too(
    legacy: FlaskClient, catalog_ids: dict[str, int]
) -> None:
    for route in ("values", "values/verify"):
        for text in (*HOSTILE, *NUL, "~ > 1e999", "~>80; DROP TABLE readings", "~ > '80'"):
            response = legacy.post(f"/api/{route}", data={**window(catalog_ids), "search": text})
            assert response.status_code == 400, (route, text[:60], response.get_data(as_text=True))
            assert response.get_json()["error"]["code"] == "invalid_search", text[:60]
    assert selected(legacy, "values", "~>80", catalog_ids) == [(RT, 81.5), (RT, 82.0)]


def test_a_long_valid_search_is_posted_and_selects_its_points(
    legacy: FlaskClient, catalog_ids: dict[str, int]
) -> None:
    """Hundreds of `*N or` terms, as the dashboard POSTs a long selection: over 4 KB."""
    wanted = {catalog_ids[f"p:{name}"]: name for name in (*ROOM_102, *AMPS)}
    top = max(catalog_ids.values())
    absent = range(top + 1_000, top + 1_500)  # no point has these ids
    terms = [f"*{i}" for i in (*wanted, *absent)]
    search = "(" + " or ".join(terms) + ")and(not #" + fill(DAMPER, catalog_ids) + ")"
    assert len(terms) > 500 and len(search.encode()) > 4_096
    response = legacy.post("/api/points", data={"search": search})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    names = sorted(p["point_name"] for p in response.get_json())
    assert names == sorted(n for n in wanted.values() if n != DM)
    count = legacy.post("/api/points/verify", data={"search": search}).get_json()
    assert sum(row["count"] for row in count) == len(names)
