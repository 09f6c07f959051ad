"""Searches compiled to SQL (energy_ingest/query/search.py) select exactly the right rows of a
small real catalog in PostgreSQL: set semantics for tags, inheritance, NULL floors under not,
value types, measurements, and readings of numbers and enumerations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from api_helpers import add_point, add_readings, insert_row, tag_item
from psycopg import sql

from energy_ingest.catalog.search import And, Not, SearchError, Term, parse
from energy_ingest.query.search import TYPE_SQL, where

TABLES = {
    "buildings": "buildings b",
    "rooms": "rooms r",
    "devices": "devices d",
    "points": "points p",
}
T0 = datetime(2024, 1, 15, tzinfo=UTC)


@pytest.fixture
def database_url(module_database_url: str) -> str:
    """The module's one database: its tests only read the campus (and never change it)."""
    return module_database_url


@pytest.fixture(scope="module")
def campus(module_database_url: str) -> Iterator[dict[str, int]]:
    """Two buildings, N (North, #science) and S (South, #residence); names → ids.

    Rooms: N101 (floor 1), NB1 (-1, #mech), N201 (2), NX (floor unknown), S101 (1, #hvac),
    SX (unknown). Devices: AHU1 (N, in NB1, #hvac), FCU1 (N, in N201), MTR1 (N, no room,
    #meter), AHU2 (S, no room), FCU2 (S, in SX), CH1 (no building, #hvac).
    Units: degF (temperature), kW (power), pct (proportion open), raw (no quantity).
    Points (kind, type): RMT float in N101 #temp #sensor; SAT Integer on AHU1 #temp; KW float on
    MTR1; FAN enum LOW/HIGH = 10/20 on FCU1; OCC enum UNOCC/OCC (no text table) on FCU2; ALARM
    enum without states (Boolean) on AHU2; DMP float in S101; MODE enum LOW/HIGH (no numbers) in
    NX; ORPHAN float on CH1, nowhere.
    """
    with psycopg.connect(module_database_url, autocommit=True) as db:
        yield load_campus(db)


def load_campus(db: psycopg.Connection[Any]) -> dict[str, int]:
    """The campus `campus` describes, written through `db`; names → ids."""
    ids: dict[str, int] = {}
    for code, name in (("N", "North"), ("S", "South")):
        ids[code] = insert_row(db, "buildings", code=code, name=name)
    tag_item(db, ids, "building", ids["N"], "science")
    tag_item(db, ids, "building", ids["S"], "residence")
    for room, building, floor in (
        ("N101", "N", 1),
        ("NB1", "N", -1),
        ("N201", "N", 2),
        ("NX", "N", None),
        ("S101", "S", 1),
        ("SX", "S", None),
    ):
        ids[room] = insert_row(db, "rooms", building_id=ids[building], name=room, floor=floor)
    tag_item(db, ids, "room", ids["NB1"], "mech")
    tag_item(db, ids, "room", ids["S101"], "hvac")
    for device, building, room in (
        ("AHU1", "N", "NB1"),
        ("FCU1", "N", "N201"),
        ("MTR1", "N", None),
        ("AHU2", "S", None),
        ("FCU2", "S", "SX"),
        ("CH1", None, None),
    ):
        ids[device] = insert_row(
            db,
            "devices",
            name=device,
            building_id=ids[building] if building else None,
            room_id=ids[room] if room else None,
        )
    tag_item(db, ids, "device", ids["AHU1"], "hvac")
    tag_item(db, ids, "device", ids["MTR1"], "meter")
    tag_item(db, ids, "device", ids["CH1"], "hvac")
    for key, quantity in (
        ("degF", "temperature"),
        ("kW", "power"),
        ("pct", "proportion open"),
        ("raw", None),
    ):
        ids[key] = insert_row(
            db, "units", key=key, quantity=quantity, resolved=quantity is not None
        )
    n, s = ids["N"], ids["S"]
    points: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        ("RMT", dict(building_id=n, room_id=ids["N101"], floor=1, unit_id=ids["degF"],
                     representation="Float"), ("temp", "sensor")),
        ("SAT", dict(building_id=n, room_id=ids["NB1"], floor=-1, device_id=ids["AHU1"],
                     unit_id=ids["degF"], representation="Integer"), ("temp",)),
        ("KW", dict(building_id=n, device_id=ids["MTR1"], unit_id=ids["kW"]), ()),
        ("FAN", dict(kind="enum", states=["LOW", "HIGH"], building_id=n, room_id=ids["N201"],
                     floor=2, device_id=ids["FCU1"], defined_states=["LOW", "HIGH"],
                     defined_values=[10, 20]), ()),
        ("OCC", dict(kind="enum", states=["UNOCC", "OCC"], building_id=s, room_id=ids["SX"],
                     device_id=ids["FCU2"]), ("occ",)),
        ("ALARM", dict(kind="enum", building_id=s, device_id=ids["AHU2"]), ()),
        ("DMP", dict(building_id=s, room_id=ids["S101"], floor=1, unit_id=ids["pct"]), ()),
        ("MODE", dict(kind="enum", states=["LOW", "HIGH"], building_id=n, room_id=ids["NX"]),
         ()),
        ("ORPHAN", dict(device_id=ids["CH1"], unit_id=ids["raw"]), ()),
    ]  # fmt: skip
    for name, columns, tags in points:
        ids[name] = add_point(db, name, **columns)
        tag_item(db, ids, "point", ids[name], *tags)
    for name, values in (
        ("RMT", [68.0, 72.5, 80.0, 85.0]),
        ("KW", [0.5, 1.0]),
        ("FAN", [0, 1, 1]),  # state indexes: LOW, HIGH, HIGH (text-table numbers 10, 20, 20)
        ("OCC", [0, 1]),
        ("MODE", [1]),
    ):
        add_readings(
            db, ids[name], [(T0 + timedelta(minutes=15 * i), v) for i, v in enumerate(values)]
        )
    for states in (["LOW", "HIGH"], ["UNOCC", "OCC"]):
        row = db.execute("SELECT id FROM value_types WHERE states = %s", (states,)).fetchone()
        assert row is not None
        ids["/".join(states)] = row[0]
    return ids


def _selected(conn: psycopg.Connection[Any], entity: str, text: str) -> set[Any]:
    """What the search selects: ids, or for values (point name, value) pairs; and it checks the
    predicate is never NULL and its NOT selects exactly the rest."""
    predicate, params = where(parse(text, entity), entity)
    if entity == "values":
        source = sql.SQL("readings x JOIN points p ON p.id = x.point_id")
        item = sql.SQL("p.name, x.value")
    else:
        source, item = sql.SQL(TABLES[entity]), sql.SQL(TABLES[entity][-1] + ".id")
    rows = conn.execute(
        sql.SQL("SELECT {item}, {p}, ({p}) IS NULL FROM {source}").format(
            item=item, p=predicate, source=source
        ),
        params,
    ).fetchall()
    assert not any(r[-1] for r in rows), f"{text!r} is NULL for some {entity}"
    every = {r[:-2] if entity == "values" else r[0] for r in rows}
    chosen = {r[:-2] if entity == "values" else r[0] for r in rows if r[-2]}
    negated = conn.execute(
        sql.SQL("SELECT {item} FROM {source} WHERE NOT ({p})").format(
            item=item, p=predicate, source=source
        ),
        params,
    ).fetchall()
    assert {tuple(r) if entity == "values" else r[0] for r in negated} == every - chosen
    return chosen


CASES: list[tuple[str, str, set[str]]] = [
    # buildings
    ("buildings", "", {"N", "S"}),
    ("buildings", "@1 or @2", {"N", "S"}),
    ("buildings", "#science", {"N"}),
    ("buildings", "not #science", {"S"}),
    ("buildings", "#science and #residence", set()),
    # rooms: tags of the room or its building; floors, NULL ones never matching
    ("rooms", "#science", {"N101", "NB1", "N201", "NX"}),
    ("rooms", "#mech", {"NB1"}),
    ("rooms", "#science and #mech", {"NB1"}),
    ("rooms", "not #mech", {"N101", "N201", "NX", "S101", "SX"}),
    ("rooms", ":floor = 1", {"N101", "S101"}),
    ("rooms", ":floor != 1", {"NB1", "N201"}),
    ("rooms", "not :floor = 1", {"NB1", "N201", "NX", "SX"}),
    ("rooms", ":floor < 1", {"NB1"}),
    ("rooms", ":floor > 1", {"N201"}),
    ("rooms", ":floor <= 1", {"N101", "NB1", "S101"}),
    ("rooms", ":floor >= -1", {"N101", "NB1", "N201", "S101"}),
    ("rooms", "not (:floor >= -1)", {"NX", "SX"}),
    ("rooms", "(@S)and(:floor = 1)", {"S101"}),
    ("rooms", "$NX or $SX", {"NX", "SX"}),
    # devices: own, room's and building's tags; the floor of the device's room
    ("devices", "#hvac", {"AHU1", "CH1"}),
    ("devices", "#mech", {"AHU1"}),
    ("devices", "#science", {"AHU1", "FCU1", "MTR1"}),
    ("devices", "not #science", {"AHU2", "FCU2", "CH1"}),
    ("devices", "#hvac and #science", {"AHU1"}),
    ("devices", ":floor = 2", {"FCU1"}),
    ("devices", ":floor <= 2", {"AHU1", "FCU1"}),
    ("devices", "not :floor = 2", {"AHU1", "MTR1", "AHU2", "FCU2", "CH1"}),
    ("devices", "$NB1 or %CH1", {"AHU1", "CH1"}),
    ("devices", "@N and not $NB1", {"FCU1", "MTR1"}),
    # points: tags at every level, set semantics
    ("points", "#temp", {"RMT", "SAT"}),
    ("points", "#temp and #sensor", {"RMT"}),
    ("points", "#science and #temp", {"RMT", "SAT"}),
    ("points", "#hvac", {"SAT", "DMP", "ORPHAN"}),
    ("points", "#mech", {"SAT"}),
    ("points", "#meter", {"KW"}),
    ("points", "not #hvac", {"RMT", "KW", "FAN", "OCC", "ALARM", "MODE"}),
    ("points", "not #science", {"OCC", "ALARM", "DMP", "ORPHAN"}),
    ("points", "@N", {"RMT", "SAT", "KW", "FAN", "MODE"}),
    ("points", "not @N", {"OCC", "ALARM", "DMP", "ORPHAN"}),
    ("points", "%MTR1 or *ORPHAN or $S101", {"KW", "ORPHAN", "DMP"}),
    ("points", ":floor = 1", {"RMT", "DMP"}),
    ("points", "not :floor = 1", {"SAT", "KW", "FAN", "OCC", "ALARM", "MODE", "ORPHAN"}),
    ("points", ":floor < 0", {"SAT"}),
    # value types
    ("points", ":type 1", {"ALARM"}),
    ("points", ":type 2", {"SAT"}),
    ("points", ":type 3", {"RMT", "KW", "DMP", "ORPHAN"}),
    ("points", ":type 2 or :type 3", {"RMT", "SAT", "KW", "DMP", "ORPHAN"}),
    ("points", ":type LOW/HIGH", {"FAN", "MODE"}),
    ("points", ":type UNOCC/OCC", {"OCC"}),
    ("points", "not (:type 2 or :type 3)", {"FAN", "OCC", "ALARM", "MODE"}),
    # units and measurements
    ("points", ":unit degF", {"RMT", "SAT"}),
    ("points", "not :unit degF", {"KW", "FAN", "OCC", "ALARM", "DMP", "MODE", "ORPHAN"}),
    ("points", ":measurement 'temperature'", {"RMT", "SAT"}),
    ("points", ":measurement 'proportion open'", {"DMP"}),
    ("points", ":measurement 'Temperature'", set()),
    ("points", "not :measurement 'power'", {"RMT", "SAT", "FAN", "OCC", "ALARM", "DMP", "MODE",
                                             "ORPHAN"}),
    # the dashboard's own shapes
    ("points", "(@N)and(#temp or #meter)and(:type 2 or :type 3)", {"RMT", "SAT", "KW"}),
    ("points", "(@N or @S)and(:floor = 1)", {"RMT", "DMP"}),
]  # fmt: skip


def _ids(ids: dict[str, int], text: str) -> str:
    """A search written with names (`@N`, `#temp`, `:type LOW/HIGH`) → with the fixture's ids."""
    for name in sorted(ids, key=len, reverse=True):
        bare = name.removeprefix("#")
        for sigil in "@#$%*" if not name.startswith("#") else "#":
            text = text.replace(f"{sigil}{bare}", f"{sigil}{ids[name]}")
        for field in (":type ", ":unit "):
            text = text.replace(f"{field}{name}", f"{field}{ids[name]}")
    return text


@pytest.mark.parametrize(
    ("entity", "text", "expected"), CASES, ids=[f"{e}:{t}" for e, t, _ in CASES]
)
def test_a_search_selects_exactly_its_items(
    db: psycopg.Connection[Any],
    campus: dict[str, int],
    entity: str,
    text: str,
    expected: set[str],
) -> None:
    selected = _selected(db, entity, _ids(campus, text))
    assert selected == {campus[name] for name in expected}


VALUES: list[tuple[str, set[tuple[str, float]]]] = [
    ("~>80", {("RMT", 85.0)}),
    ("~>=80", {("RMT", 80.0), ("RMT", 85.0)}),
    ("~ <= 0.5", {("KW", 0.5)}),
    ("~<72.5", {("RMT", 68.0), ("KW", 0.5), ("KW", 1.0), ("FAN", 0.0), ("FAN", 1.0)}),
    ("~=1", {("KW", 1.0)}),  # not FAN's HIGH (index 1), not OCC's OCC (no numbers known)
    ("~!=68", {("RMT", 72.5), ("RMT", 80.0), ("RMT", 85.0), ("KW", 0.5), ("KW", 1.0),
               ("FAN", 0.0), ("FAN", 1.0)}),
    # an enumeration compares its state's number in the text table: HIGH is 20, LOW 10
    ("~=20", {("FAN", 1.0)}),
    ("~<15", {("FAN", 0.0), ("KW", 0.5), ("KW", 1.0)}),
    ("~>=10 and %FCU1", {("FAN", 0.0), ("FAN", 1.0)}),
    ("not ~=20", {("RMT", 68.0), ("RMT", 72.5), ("RMT", 80.0), ("RMT", 85.0), ("KW", 0.5),
                  ("KW", 1.0), ("FAN", 0.0), ("OCC", 0.0), ("OCC", 1.0), ("MODE", 1.0)}),
    ("#temp and ~>70", {("RMT", 72.5), ("RMT", 80.0), ("RMT", 85.0)}),
    ("(:type 2 or :type 3) and ~>0.75", {("RMT", 68.0), ("RMT", 72.5), ("RMT", 80.0),
                                         ("RMT", 85.0), ("KW", 1.0)}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), VALUES, ids=[v[0] for v in VALUES])
def test_a_value_condition_selects_exactly_its_readings(
    db: psycopg.Connection[Any],
    campus: dict[str, int],
    text: str,
    expected: set[tuple[str, float]],
) -> None:
    assert _selected(db, "values", _ids(campus, text)) == expected


def test_type_sql_gives_every_point_its_legacy_value_type(
    db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    rows = dict(db.execute(sql.SQL("SELECT p.name, {} FROM points p").format(TYPE_SQL)).fetchall())
    low_high, unocc_occ = campus["LOW/HIGH"], campus["UNOCC/OCC"]
    assert rows == {
        "RMT": 3, "SAT": 2, "KW": 3, "FAN": low_high, "OCC": unocc_occ, "ALARM": 1, "DMP": 3,
        "MODE": low_high, "ORPHAN": 3,
    }  # fmt: skip
    assert min(low_high, unocc_occ) > 3


def test_no_search_selects_everything(db: psycopg.Connection[Any], campus: dict[str, int]) -> None:
    assert where(None, "points").sql.as_string(db) == "TRUE"
    assert len(_selected(db, "points", "")) == 9


def test_a_quote_inside_a_measurement_is_a_bound_parameter_and_never_reaches_sql_as_code(
    db: psycopg.Connection[Any], campus: dict[str, int]
) -> None:
    hostile = ":measurement 'a''; DROP TABLE points; --'"
    predicate = where(parse(hostile, "points"), "points")
    assert "DROP" not in predicate.sql.as_string(db)
    assert list(predicate.params.values()) == ["a'; DROP TABLE points; --"]
    assert _selected(db, "points", hostile) == set()
    count = db.execute("SELECT count(*) FROM points").fetchone()
    assert count is not None and count[0] == 9


@pytest.mark.parametrize(
    "text",
    [
        "@1; DROP TABLE points",
        "@1 -- ",
        "@1 /* */",
        "@1) OR (1=1",
        ":measurement 'x' OR 1=1",
        "#1 or true",
        "@1 union select 1",
    ],
)
def test_hostile_text_is_refused_before_any_sql_is_built(
    db: psycopg.Connection[Any], campus: dict[str, int], text: str
) -> None:
    with pytest.raises(SearchError):
        parse(text, "points")
    assert db.execute("SELECT to_regclass('points')").fetchone() == ("points",)


def test_a_term_that_cannot_select_an_entity_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot select buildings"):
        where(Term("room", None, 3), "buildings")
    with pytest.raises(ValueError, match="cannot select points"):
        where(And((Term("building", None, 1), Term("value", ">", 3))), "points")
    with pytest.raises(ValueError, match="not a comparison operator"):
        where(Not(Term("floor", "; DROP", 3)), "rooms")
    with pytest.raises(ValueError, match="no such entity"):
        where(None, "floors")
