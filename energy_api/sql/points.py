"""SQL for the points: their catalog facts, the /points filter and list, latest values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from energy_api.sql.times import epoch_sql, iso_sql
from energy_api.sql.where import Conn, Where, page
from energy_ingest.query.coverage import UNRESOLVED
from energy_ingest.query.like import glob_to_like
from energy_ingest.query.tags import POINT_TAGS
from energy_ingest.store.binary import from_us

FIRST_TS = "(SELECT min(r.ts) FROM readings r WHERE r.point_id = p.id)"
LAST_TS = "(SELECT max(r.ts) FROM readings r WHERE r.point_id = p.id)"
# The catalog rows a point refers to (LEFT JOINs on primary keys: PostgreSQL drops the unused).
POINT_JOINS = """
    LEFT JOIN buildings pb ON pb.id = p.building_id
    LEFT JOIN rooms pr ON pr.id = p.room_id
    LEFT JOIN devices pd ON pd.id = p.device_id
    LEFT JOIN units pu ON pu.id = p.unit_id
    LEFT JOIN point_health ph ON ph.point_id = p.id
"""
# A point's health status as the daemon's last evaluation found it (point_health; null: not
# evaluated yet), and which statuses /points?status= accepts.
POINT_STATUSES = ("ok", "stale", "flat", "out_of_range", "spike", "retired", "historical")
# A point's unit is its resolved unit's symbol, else what the trend report said.
UNIT_SQL = "coalesce(pu.symbol, p.unit)"
# A point's earlier recording units (0009_unit_history.sql), oldest first, as [until (epoch
# microseconds), unit id, symbol, scale, shift] (EarlierUnit); NULL when it has none. Looked up
# only for a point whose unit changed: for all others it costs reading a column.
EARLIER_SQL = """CASE WHEN p.unit_since IS NOT NULL THEN (SELECT jsonb_agg(jsonb_build_array(
        (extract(epoch FROM h.until) * 1000000)::bigint, h.unit_id, coalesce(hu.symbol, h.unit),
        h.scale, h.shift) ORDER BY h.until)
    FROM unit_history h LEFT JOIN units hu ON hu.id = h.unit_id WHERE h.point_id = p.id) END"""
# What a values query selects of a point (PointRef.of), over points p and its unit pu.
REF_COLUMNS = f"p.id, p.name, p.source, p.kind, p.states, {UNIT_SQL}, p.unit_id, {EARLIER_SQL}"
# A point a newer export left out (write.retirement): when, and by which file.
RETIRED_SQL = f"""CASE WHEN p.retired_at IS NOT NULL THEN jsonb_build_object(
    'at', {iso_sql("p.retired_at")}, 'file_id', p.retired_by,
    'file', (SELECT f.name FROM files f WHERE f.id = p.retired_by)) END"""


def point_columns(last_ts: str = LAST_TS) -> str:
    """A point's columns (POINT_KEYS); first/last_ts are one primary-key probe each."""
    return f"""
    p.id, p.name, p.source, p.kind, p.states, {UNIT_SQL}, p.unit_id, pu.name, pu.quantity,
    pb.code, p.building_id, pb.name, p.floor, pr.name, p.room_id, pd.name, p.device_id,
    {POINT_TAGS}, p.description, p.descriptor, p.point_type, p.alias, {RETIRED_SQL},
    {iso_sql(FIRST_TS)}, {iso_sql(last_ts)}, ph.status, {iso_sql("ph.since")}, p.interval_s
"""


POINT_COLUMNS = point_columns()
POINT_KEYS = (
    "id",
    "name",
    "source",
    "kind",
    "states",
    "unit",
    "unit_id",
    "unit_name",
    "quantity",
    "building",
    "building_id",
    "building_name",
    "floor",
    "room",
    "room_id",
    "device",
    "device_id",
    "tags",
    "description",
    "descriptor",
    "point_type",
    "alias",
    "retired",
    "first_ts",
    "last_ts",
    "status",
    "status_since",
    "interval_s",
)
LATEST_COLUMNS = f"""
    {iso_sql("l.ts")}, {epoch_sql("l.ts")}, l.value
"""
LATEST_JOIN = """
    LEFT JOIN LATERAL (
        SELECT r.ts, r.value FROM readings r WHERE r.point_id = p.id ORDER BY r.ts DESC LIMIT 1
    ) l ON true
"""


@dataclass(frozen=True)
class EarlierUnit:
    """A unit a point's readings were recorded in before `until`, and how a value recorded in
    it is given in the point's current unit (value * scale + shift; None: it cannot be)."""

    until: datetime
    unit_id: int | None
    unit: str
    scale: float | None
    shift: float | None


@dataclass(frozen=True)
class PointRef:
    """What a values query needs to know about a selected point."""

    id: int
    name: str
    source: str
    kind: str
    states: tuple[str, ...]
    unit: str | None
    unit_id: int | None = None
    earlier: tuple[EarlierUnit, ...] = ()  # its earlier recording units, oldest first

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> PointRef:
        """A point from the columns REF_COLUMNS selects (and any after them)."""
        pid, name, source, kind, states, unit, unit_id, earlier = row[:8]
        units = tuple(EarlierUnit(from_us(e[0]), *e[1:]) for e in earlier or ())
        return cls(pid, name, source, kind, tuple(states), unit, unit_id, units)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "unit": self.unit,
            "states": list(self.states) if self.kind == "enum" else None,
        }

    def label(self, value: float | None) -> str | float | None:
        """An enum reading's state label (its stored value is the 0-based index)."""
        if value is None or self.kind != "enum":
            return value
        index = int(value)
        return self.states[index] if 0 <= index < len(self.states) and index == value else None


def point_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    point = dict(zip(POINT_KEYS, row[: len(POINT_KEYS)], strict=True))
    if point["kind"] != "enum":
        point["states"] = None
    return point


def latest_dict(point: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any] | None:
    ts, t, value = row[len(POINT_KEYS) : len(POINT_KEYS) + 3]
    if ts is None:
        return None
    if point["kind"] == "enum":
        index = int(value)
        states = point["states"]
        value = states[index] if 0 <= index < len(states) and index == value else None
    return {"ts": ts, "t": t, "value": value}


@dataclass(frozen=True)
class PointFilter:
    """What /points selects; catalog references already resolved to ids (None: no filter)."""

    q: str | None = None
    name: str | None = None
    source: str | None = None
    kind: str | None = None
    building_ids: tuple[int, ...] | None = None
    floor: int | None = None
    room_ids: tuple[int, ...] | None = None
    device_ids: tuple[int, ...] | None = None
    tags: tuple[str, ...] = ()  # the point carries every one of them (at any level)
    unit_ids: tuple[int, ...] | None = None
    unit_raw: str | None = None  # also matches points without a resolved unit by their raw unit
    quantity: str | None = None
    status: str | None = None  # point_health.status (POINT_STATUSES)
    resolved: bool | None = None  # False: what `catalog coverage` calls unresolved
    retired: bool | None = None  # a newer export left it out (not the health status)

    def where(self) -> Where:
        where = Where()
        where.substring(self.q, "p.name", "p.alias", "p.description", "p.descriptor")
        if self.name:
            pattern = glob_to_like(self.name)
            where.add("(p.name LIKE %s OR p.alias LIKE %s)", pattern, pattern)
        for column, value in (("source", self.source), ("kind", self.kind), ("floor", self.floor)):
            where.equals(f"p.{column}", value)
        where.ids("p.building_id", self.building_ids)
        where.ids("p.room_id", self.room_ids)
        where.ids("p.device_id", self.device_ids)
        where.tags(POINT_TAGS, self.tags)
        if self.unit_ids is not None:
            where.add(
                "(p.unit_id = ANY(%s) OR (p.unit_id IS NULL AND p.unit = %s))",
                list(self.unit_ids),
                self.unit_raw,
            )
        if self.quantity is not None:
            where.add("lower(pu.quantity) = lower(%s)", self.quantity)
        where.equals("ph.status", self.status)
        if self.resolved is not None:
            where.add(f"NOT {UNRESOLVED}" if self.resolved else UNRESOLVED)
        if self.retired is not None:
            where.add(f"p.retired_at IS {'NOT ' if self.retired else ''}NULL")
        return where


def list_points(
    conn: Conn, selected: PointFilter, *, limit: int, offset: int, include_latest: bool
) -> tuple[int, list[dict[str, Any]]]:
    points = f"points p {POINT_JOINS}"
    columns = f"{point_columns('l.ts')}, {LATEST_COLUMNS}" if include_latest else POINT_COLUMNS
    source = f"{points} {LATEST_JOIN}" if include_latest else points
    order = "p.name, p.id"
    total, rows = page(
        conn, source, columns, selected.where(), order, limit, offset, counted=points
    )
    return total, [_point_with_latest(row, include_latest) for row in rows]


def _point_with_latest(row: tuple[Any, ...], include_latest: bool) -> dict[str, Any]:
    point = point_dict(row)
    if include_latest:
        point["latest"] = latest_dict(point, row)
    return point


def find_points(conn: Conn, ids: list[int], names: list[str]) -> list[PointRef]:
    """Points whose id is in `ids` or whose exact name is in `names`."""
    rows = conn.execute(
        f"SELECT {REF_COLUMNS} FROM points p LEFT JOIN units pu ON pu.id = p.unit_id"
        " WHERE p.id = ANY(%s) OR p.name = ANY(%s) ORDER BY p.id",
        (ids, names),
    ).fetchall()
    return [PointRef.of(r) for r in rows]


def get_point(conn: Conn, point_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {POINT_COLUMNS} FROM points p {POINT_JOINS} WHERE p.id = %s", (point_id,)
    ).fetchone()
    return point_dict(row) if row else None


def all_point_ids(conn: Conn) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM points ORDER BY id")]


def points_with_latest(conn: Conn, ids: list[int]) -> list[dict[str, Any]]:
    """Each point (in the order asked) with its most recent reading: one PK probe per point."""
    rows = conn.execute(
        f"SELECT {point_columns('l.ts')}, {LATEST_COLUMNS}"
        " FROM unnest(%s::int[]) WITH ORDINALITY AS sel(id, ord)"
        f" JOIN points p ON p.id = sel.id {POINT_JOINS} {LATEST_JOIN} ORDER BY sel.ord",
        (ids,),
    ).fetchall()
    return [_point_with_latest(row, True) for row in rows]
