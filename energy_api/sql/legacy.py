"""SQL for the legacy catalog routes: each list is one SELECT, filtered by the compiled search.

Rooms and devices are listed while a point uses them, as in v2 (energy_api.sql.catalog). Every
item's `tags` are the ones a `#N` search matches: its own and those of everything above
it (a room has its building's; a point its device's, room's and building's).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from energy_api.sql.catalog import DEVICE_IN_USE, ROOM_IN_USE
from energy_api.sql.where import Conn
from energy_ingest.catalog.search import Node
from energy_ingest.query.search import TYPE_SQL, where
from energy_ingest.query.tags import POINT_TAGS, tags_sql

# A building no longer in the site file is listed only while points still refer to it.
LISTED = "(b.in_site OR EXISTS (SELECT FROM points x WHERE x.building_id = b.id))"

BUILDINGS = f"SELECT b.id, b.name, {tags_sql('b')} FROM buildings b WHERE {LISTED} AND {{}}"
# Floors are the listed rooms' (and of points placed on a floor without a room); never NULL.
FLOORS = f"""
    SELECT DISTINCT f.floor FROM (
        SELECT building_id, floor FROM rooms r WHERE {ROOM_IN_USE}
        UNION ALL SELECT building_id, floor FROM points
    ) f JOIN buildings b ON b.id = f.building_id
    WHERE f.floor IS NOT NULL AND {LISTED} AND {{}} ORDER BY 1"""
ROOMS = f"""
    SELECT r.id, r.name, r.building_id, b.name, r.floor, NULL::text, {tags_sql("r")}
    FROM rooms r JOIN buildings b ON b.id = r.building_id WHERE {ROOM_IN_USE} AND {{}}"""
DEVICES = f"""
    SELECT d.id, d.name, d.room_id, r.name, d.building_id, b.name, {tags_sql("d")}, NULL::text
    FROM devices d LEFT JOIN rooms r ON r.id = d.room_id LEFT JOIN buildings b ON b.id = d.building_id
    WHERE {DEVICE_IN_USE} AND {{}}"""
POINTS = f"""
    SELECT p.id, p.name, p.device_id, d.name, p.room_id, r.name, p.building_id, b.name,
        {{type}} AS type_id, u.id, coalesce(u.quantity, ''), coalesce(u.name, u.symbol),
        {POINT_TAGS}, coalesce(p.descriptor, p.description)
    FROM points p
        LEFT JOIN devices d ON d.id = p.device_id
        LEFT JOIN rooms r ON r.id = p.room_id
        LEFT JOIN buildings b ON b.id = p.building_id
        LEFT JOIN units u ON u.id = p.unit_id
    WHERE {{where}}"""

BUILDING_KEYS = ("building_id", "building_name", "tags")
ROOM_KEYS = ("room_id", "room_name", "building_id", "building_name", "floor", "description", "tags")
DEVICE_KEYS = (
    *("device_id", "device_name", "room_id", "room_name", "building_id", "building_name"),
    *("tags", "description"),
)

# Ids 1-3 are fixed; every enumeration state list is a type from 4 (table value_types).
FIXED_TYPES = (
    {"type_id": 1, "type_name": "Boolean", "cases": True},
    {"type_id": 2, "type_name": "Integer", "cases": 1},
    {"type_id": 3, "type_name": "Float", "cases": 1.0},
)
ENUM_TYPES = "SELECT id, coalesce(name, array_to_string(states, '/')), states FROM value_types"


def _rows(conn: Conn, query: str, node: Node | None, entity: str, order: str) -> list[Any]:
    predicate = where(node, entity)
    composed = sql.SQL(query).format(predicate.sql) + sql.SQL(f" ORDER BY {order}")
    return conn.execute(composed, predicate.params).fetchall()


def _dicts(keys: tuple[str, ...], rows: list[Any]) -> list[dict[str, Any]]:
    return [dict(zip(keys, row, strict=True)) for row in rows]


def buildings(conn: Conn, node: Node | None) -> list[dict[str, Any]]:
    return _dicts(BUILDING_KEYS, _rows(conn, BUILDINGS, node, "buildings", "b.name, b.id"))


def floors(conn: Conn, node: Node | None) -> list[int]:
    predicate = where(node, "buildings")
    composed = sql.SQL(FLOORS).format(predicate.sql)
    return [row[0] for row in conn.execute(composed, predicate.params).fetchall()]


def rooms(conn: Conn, node: Node | None) -> list[dict[str, Any]]:
    rows = _rows(conn, ROOMS, node, "rooms", 'b.name, r.name COLLATE "C", r.id')
    return _dicts(ROOM_KEYS, rows)


def devices(conn: Conn, node: Node | None) -> list[dict[str, Any]]:
    rows = _rows(conn, DEVICES, node, "devices", 'd.name COLLATE "C", d.id')
    return _dicts(DEVICE_KEYS, rows)


def points(conn: Conn, node: Node | None) -> list[dict[str, Any]]:
    predicate = where(node, "points")
    composed = sql.SQL(POINTS).format(type=TYPE_SQL, where=predicate.sql)
    order = sql.SQL(' ORDER BY p.name COLLATE "C", p.id')
    rows = conn.execute(composed + order, predicate.params).fetchall()
    cases = type_cases(conn)
    return [_point(row, cases) for row in rows]


def _point(row: tuple[Any, ...], cases: dict[int, Any]) -> dict[str, Any]:
    pid, name, device_id, device, room_id, room, building_id, building = row[:8]
    type_id, unit_id, measurement, unit, tags, description = row[8:]
    return {
        "point_id": pid,
        "point_name": name,
        "device_id": device_id,
        "device_name": device,
        "room_id": room_id,
        "room_name": room,
        "building_id": building_id,
        "building_name": building,
        "value_type": {"value_type_id": type_id, "type": cases.get(type_id)},
        "value_unit": None
        if unit_id is None
        else {"value_unit_id": unit_id, "measurement": measurement, "unit": unit},
        "tags": tags,
        "description": description,
    }


def point_ids(conn: Conn, node: Node | None) -> list[int]:
    predicate = where(node, "points")
    composed = sql.SQL("SELECT p.id FROM points p WHERE {} ORDER BY p.id").format(predicate.sql)
    return [row[0] for row in conn.execute(composed, predicate.params).fetchall()]


def verify(conn: Conn, node: Node | None) -> list[dict[str, int]]:
    predicate = where(node, "points")
    composed = sql.SQL(
        "SELECT {} AS type_id, count(*) FROM points p WHERE {} GROUP BY 1 ORDER BY 1"
    ).format(TYPE_SQL, predicate.sql)
    rows = conn.execute(composed, predicate.params).fetchall()
    return [{"value_type_id": t, "count": n} for t, n in rows]


def types(conn: Conn) -> list[dict[str, Any]]:
    rows = conn.execute(ENUM_TYPES + " ORDER BY id").fetchall()
    enums = [{"type_id": i, "type_name": name, "cases": states} for i, name, states in rows]
    return [*FIXED_TYPES, *enums]


def type_cases(conn: Conn) -> dict[int, Any]:
    return {t["type_id"]: t["cases"] for t in types(conn)}


def tags(conn: Conn, tag_id: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, name FROM tags WHERE %(id)s::int IS NULL OR id = %(id)s"
        ' ORDER BY name COLLATE "C"',
        {"id": tag_id},
    ).fetchall()
    return [
        {
            "tag_id": i,
            "tag_name": name,
            "category_id": None,
            "category_name": None,
            "description": None,
        }
        for i, name in rows
    ]


def units(conn: Conn, unit_id: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, coalesce(name, symbol), coalesce(quantity, '') FROM units"
        " WHERE %(id)s::int IS NULL OR id = %(id)s ORDER BY 2, 1",
        {"id": unit_id},
    ).fetchall()
    return [{"unit_id": i, "unit_name": name, "measurement": m} for i, name, m in rows]


def measurements(conn: Conn) -> list[str]:
    rows = conn.execute(
        'SELECT DISTINCT quantity COLLATE "C" FROM units WHERE quantity IS NOT NULL ORDER BY 1'
    ).fetchall()
    return [row[0] for row in rows]
