"""SQL for the catalog routes: buildings, floors, rooms, devices, tags and units, with point counts.

Each list is one inner SELECT (a row per catalog entry, its counts and tags) filtered and paged
by the same outer query; rooms, devices, tags and units that no point uses any more stay in the
tables (their ids never change) and are listed only when asked (`include_empty`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from energy_api.sql.where import Conn, Where, page
from energy_ingest.query.like import like_escape
from energy_ingest.query.tags import tag_ids_sql, tags_sql

Page = tuple[int, list[dict[str, Any]]]  # (total, rows)

# Both APIs list a room or a device while a point uses it (v2's include_empty=true lists the
# rest): a rule change that leaves one without points takes it off the lists, its id kept.
ROOM_IN_USE = "EXISTS (SELECT FROM points p WHERE p.room_id = r.id)"
DEVICE_IN_USE = "EXISTS (SELECT FROM points p WHERE p.device_id = d.id)"

FLOOR_RANGE = (-(2**31), 2**31 - 1)


def statuses_sql(column: str, owner: str) -> str:
    """{status: points} of the points whose `column` is `owner`'s id, by the health status the
    last evaluation gave them (point_health); only statuses some point has, {} when none."""
    return f"""coalesce((SELECT jsonb_object_agg(c.status, c.n ORDER BY c.status)
        FROM (SELECT ph.status, count(*) AS n FROM points p
            JOIN point_health ph ON ph.point_id = p.id
            WHERE p.{column} = {owner}.id GROUP BY ph.status) c), '{{}}'::jsonb)"""


# the column's range: a floor is any whole number

BUILDINGS = f"""
    SELECT b.id, b.code, b.name, b.aliases,
        (SELECT count(*) FROM points p WHERE p.building_id = b.id) AS points,
        (SELECT count(*) FROM rooms r WHERE r.building_id = b.id AND {ROOM_IN_USE}) AS rooms,
        ARRAY(SELECT DISTINCT p.floor FROM points p
            WHERE p.building_id = b.id AND p.floor IS NOT NULL ORDER BY 1) AS floors,
        {tags_sql("b", own=True)} AS tags,
        {statuses_sql("building_id", "b")} AS statuses,
        b.in_site
    FROM buildings b
"""
BUILDING_KEYS = (
    *("id", "code", "name", "aliases", "points", "rooms", "floors", "tags", "statuses"),
)

FLOORS = """
    SELECT b.code AS building, p.building_id, p.floor,
        count(DISTINCT p.room_id) AS rooms, count(*) AS points
    FROM points p JOIN buildings b ON b.id = p.building_id
    WHERE p.floor IS NOT NULL
    GROUP BY b.code, p.building_id, p.floor
"""
FLOOR_KEYS = ("building", "building_id", "floor", "rooms", "points")

ROOMS = f"""
    SELECT r.id, r.name, b.code AS building, r.building_id, r.floor,
        (SELECT count(*) FROM points p WHERE p.room_id = r.id) AS points,
        {tags_sql("r", own=True)} AS tags,
        {statuses_sql("room_id", "r")} AS statuses
    FROM rooms r JOIN buildings b ON b.id = r.building_id
"""
ROOM_KEYS = ("id", "name", "building", "building_id", "floor", "points", "tags", "statuses")

DEVICES = f"""
    SELECT d.id, d.name, d.type, b.code AS building, d.building_id, r.name AS room, d.room_id,
        (SELECT count(*) FROM points p WHERE p.device_id = d.id) AS points,
        {tags_sql("d", own=True)} AS tags,
        {statuses_sql("device_id", "d")} AS statuses,
        r.floor AS room_floor
    FROM devices d
        LEFT JOIN buildings b ON b.id = d.building_id
        LEFT JOIN rooms r ON r.id = d.room_id
"""
DEVICE_KEYS = (
    "id",
    "name",
    "type",
    "building",
    "building_id",
    "room",
    "room_id",
    "points",
    "tags",
    "statuses",
)

# Each tag with the number of points that carry it (energy_ingest.query.tags).
TAGS = f"""
    SELECT t.id, t.name, coalesce(c.points, 0) AS points
    FROM tags t LEFT JOIN (
        SELECT c.tag_id, count(DISTINCT p.id) AS points
        FROM points p CROSS JOIN LATERAL ({tag_ids_sql("p")}) c GROUP BY c.tag_id
    ) c ON c.tag_id = t.id
"""
TAG_KEYS = ("id", "name", "points")

UNITS = """
    SELECT u.id, u.key, u.symbol, u.name, u.quantity, u.canonical, u.resolved, u.spellings,
        (SELECT count(*) FROM points p WHERE p.unit_id = u.id) AS points
    FROM units u
"""
UNIT_KEYS = (
    "id",
    "key",
    "symbol",
    "name",
    "quantity",
    "canonical",
    "resolved",
    "spellings",
    "points",
)


def _page(
    conn: Conn,
    inner: str,
    keys: Sequence[str],
    where: Where,
    order: str,
    limit: int,
    offset: int,
) -> Page:
    columns = ", ".join(f"x.{k}" for k in keys)
    total, rows = page(conn, f"({inner}) x", columns, where, order, limit, offset)
    return total, [dict(zip(keys, r, strict=True)) for r in rows]


def list_buildings(
    conn: Conn, *, q: str | None, tags: Sequence[str], include_empty: bool, limit: int, offset: int
) -> Page:
    """Buildings of the site file, and any other that points still refer to."""
    where = Where()
    if not include_empty:
        where.add("(x.in_site OR x.points > 0)")
    if q:
        pattern = f"%{like_escape(q)}%"
        where.add(
            "(x.code ILIKE %s OR x.name ILIKE %s"
            " OR EXISTS (SELECT FROM unnest(x.aliases) a WHERE a ILIKE %s))",
            *[pattern] * 3,
        )
    where.tags("x.tags", tags)
    return _page(conn, BUILDINGS, BUILDING_KEYS, where, "x.code, x.id", limit, offset)


def list_floors(conn: Conn, *, buildings: Sequence[int] | None, limit: int, offset: int) -> Page:
    where = Where()
    where.ids("x.building_id", buildings)
    return _page(conn, FLOORS, FLOOR_KEYS, where, "x.building, x.floor", limit, offset)


@dataclass(frozen=True)
class ItemFilter:
    """What the rooms and devices lists filter alike: buildings, tags, a name substring, and
    whether items without points are listed (each list reads `floor` its own way)."""

    buildings: Sequence[int] | None
    floor: int | None
    tags: Sequence[str]
    q: str | None
    include_empty: bool

    def where(self) -> Where:
        where = Where()
        if not self.include_empty:
            where.add("x.points > 0")
        where.ids("x.building_id", self.buildings)
        where.tags("x.tags", self.tags)
        where.substring(self.q, "x.name")
        return where


def list_rooms(conn: Conn, items: ItemFilter, limit: int, offset: int) -> Page:
    where = items.where()
    if items.floor is not None:
        where.add("x.floor = %s", items.floor)
    return _page(conn, ROOMS, ROOM_KEYS, where, "x.building, x.name, x.id", limit, offset)


def list_devices(
    conn: Conn,
    items: ItemFilter,
    rooms: Sequence[int] | None,
    device_type: str | None,
    limit: int,
    offset: int,
) -> Page:
    where = items.where()
    where.ids("x.room_id", rooms)
    if items.floor is not None:  # its room's floor, or the floor of one of its points
        where.add(
            "(x.room_floor = %s OR EXISTS"
            " (SELECT FROM points p WHERE p.device_id = x.id AND p.floor = %s))",
            items.floor,
            items.floor,
        )
    if device_type:
        where.add("lower(x.type) = lower(%s)", device_type)
    order = "x.building NULLS LAST, x.name, x.id"
    return _page(conn, DEVICES, DEVICE_KEYS, where, order, limit, offset)


def list_tags(conn: Conn, *, q: str | None, include_empty: bool, limit: int, offset: int) -> Page:
    where = Where()
    if not include_empty:
        where.add("x.points > 0")
    where.substring(q, "x.name")
    return _page(conn, TAGS, TAG_KEYS, where, 'x.name COLLATE "C"', limit, offset)


def list_units(
    conn: Conn,
    *,
    quantity: str | None,
    resolved: bool | None,
    include_empty: bool,
    limit: int,
    offset: int,
) -> Page:
    where = Where()
    if not include_empty:
        where.add("x.points > 0")
    if quantity is not None:
        where.add("lower(x.quantity) = lower(%s)", quantity)
    if resolved is not None:
        where.add("x.resolved = %s", resolved)
    order = "x.quantity NULLS LAST, x.symbol, x.id"
    return _page(conn, UNITS, UNIT_KEYS, where, order, limit, offset)


# --- lookups for the filters (energy_api.v2.filters) ----------------------------------------------


@dataclass(frozen=True)
class BuildingLabels:
    id: int
    code: str
    name: str
    aliases: tuple[str, ...]
    alc_location: str | None = None  # not stored: the API matches codes, names and aliases


def building_labels(conn: Conn) -> list[BuildingLabels]:
    """Every building (a campus has tens): matched in Python, as the site file matches them."""
    rows = conn.execute("SELECT id, code, name, aliases FROM buildings ORDER BY id").fetchall()
    return [BuildingLabels(r[0], r[1], r[2], tuple(r[3])) for r in rows]


@dataclass(frozen=True)
class Named:
    """A room or device found by name, with its building's code (None: no building)."""

    id: int
    name: str
    building: str | None

    def label(self) -> str:
        return f"{self.building} {self.name}" if self.building else self.name


def find_named(conn: Conn, table: str, name: str, buildings: Sequence[int] | None) -> list[Named]:
    """Rooms or devices whose name is `name` (any case), within `buildings` when given."""
    if table not in ("rooms", "devices"):
        raise ValueError(table)
    within = None if buildings is None else list(buildings)
    rows = conn.execute(
        f"SELECT x.id, x.name, b.code FROM {table} x LEFT JOIN buildings b ON b.id = x.building_id"
        " WHERE lower(x.name) = lower(%s)"
        " AND (%s::int[] IS NULL OR x.building_id = ANY(%s::int[]))"
        " ORDER BY b.code, x.name, x.id",
        (name, within, within),
    ).fetchall()
    return [Named(r[0], r[1], r[2]) for r in rows]


# What a row is called where a message names it: a building by its code, a room or device with
# its building's code before its name ('HU 102'), a unit by its symbol.
_LABELS = {
    "buildings": "SELECT code FROM buildings WHERE id = %s",
    "rooms": "SELECT concat_ws(' ', b.code, x.name) FROM rooms x"
    " LEFT JOIN buildings b ON b.id = x.building_id WHERE x.id = %s",
    "devices": "SELECT concat_ws(' ', b.code, x.name) FROM devices x"
    " LEFT JOIN buildings b ON b.id = x.building_id WHERE x.id = %s",
    "units": "SELECT symbol FROM units WHERE id = %s",
}


def label_of(conn: Conn, table: str, row_id: int) -> str | None:
    """What the row `row_id` of buildings, rooms, devices or units is called; None: no such row."""
    row = conn.execute(_LABELS[table], (row_id,)).fetchone()
    return None if row is None else str(row[0])


def tags_named(conn: Conn, names: Sequence[str]) -> dict[str, str]:
    """lower(name) → the stored name, for the tags among `names`."""
    rows = conn.execute(
        "SELECT name FROM tags WHERE lower(name) = ANY(%s)", ([n.lower() for n in names],)
    ).fetchall()
    return {r[0].lower(): r[0] for r in rows}


def units_matching(conn: Conn, text: str) -> tuple[int, ...]:
    rows = conn.execute(
        "SELECT id FROM units WHERE symbol = %s OR key = %s OR %s = ANY(spellings) ORDER BY id",
        (text, text, text),
    ).fetchall()
    return tuple(r[0] for r in rows)


def raw_unit_used(conn: Conn, text: str) -> bool:
    """Does a point without a resolved unit carry this unit as its trend report wrote it?"""
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM points WHERE unit_id IS NULL AND unit = %s)", (text,)
    ).fetchone()
    return bool(row and row[0])


def quantities(conn: Conn) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT quantity FROM units WHERE quantity IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]
