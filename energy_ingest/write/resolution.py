"""Every point's building, room, floor, device, unit and tags, resolved with a site and written
where they changed; rows of buildings, rooms, devices, units and tags are keyed by their natural
key and never deleted, so an id keeps meaning the same thing across re-imports and rule changes."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.catalog.resolve import Resolved, resolve
from energy_ingest.catalog.site import Site
from energy_ingest.catalog.units import Unit, conversion, resolve_unit, unit_key
from energy_ingest.write.unit_history import earlier_units, write_meanings

Conn = psycopg.Connection[Any]
SHOW_CHANGES = 20  # change lines a caller logs; the count is always complete


@dataclass
class Changes:
    points: int = 0
    count: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.count += 1
        if len(self.lines) < SHOW_CHANGES:
            self.lines.append(line)


_FACTS = """
SELECT p.id, p.source, p.name, p.descriptor, p.control_program, p.alc_name, p.location,
       p.defined_unit, p.unit, p.point_type, p.defined_states IS NOT NULL, p.trend_definition,
       p.description, b.code, r.name, p.floor, d.name, u.key,
       ARRAY(SELECT t.name FROM point_tags pt JOIN tags t ON t.id = pt.tag_id
             WHERE pt.point_id = p.id ORDER BY t.name),
       p.kind
FROM points p
LEFT JOIN buildings b ON b.id = p.building_id
LEFT JOIN rooms r ON r.id = p.room_id
LEFT JOIN devices d ON d.id = p.device_id
LEFT JOIN units u ON u.id = p.unit_id
"""


def resolve_points(
    conn: Conn, site: Site, ids: Iterable[int] | None, *, new: Collection[int] = ()
) -> Changes:
    """Resolve the points `ids` (None: all of them, rebuilding every tag) and write what changed;
    the points `new` (just created) are resolved but not counted as changes."""
    everything = ids is None
    if everything:
        rows = conn.execute(_FACTS + " ORDER BY p.name, p.id").fetchall()
    else:
        rows = conn.execute(
            _FACTS + " WHERE p.id = ANY(%s) ORDER BY p.name, p.id", (list(ids or ()),)
        ).fetchall()
    changes = Changes(points=len(rows))
    if not rows:
        return changes
    buildings = dict(conn.execute("SELECT code, id FROM buildings").fetchall())
    missing = {b.code for b in site.buildings} - set(buildings)
    if missing:
        sync_buildings(conn, site, retire=False)
        buildings = dict(conn.execute("SELECT code, id FROM buildings").fetchall())
    history = earlier_units(conn, None if everything else [row[0] for row in rows])
    plan = _Plan(site, buildings, history)
    for row in rows:
        plan.add(row, Changes() if row[0] in new else changes)
    plan.write(conn, everything)
    return changes


class _Plan:
    """The resolved rows of one call, and the rooms, devices, units and tags they need."""

    def __init__(
        self, site: Site, buildings: dict[str, int], history: dict[int, list[tuple[datetime, str]]]
    ) -> None:
        self.site = site
        self.buildings = buildings
        self.history = history  # each point's earlier units (write.unit_history)
        # (point, until, what the earlier unit means, its conversion into the current unit)
        self.earlier: list[tuple[int, datetime, str | None, tuple[float, float] | None]] = []
        self.points: list[tuple[int, Resolved, Unit, dict[str, str]]] = []
        self.rooms: set[tuple[int, str]] = set()  # (building id, room name)
        self.devices: set[tuple[int | None, str]] = set()  # (building id, device name)
        self.units: dict[str, Unit] = {}
        self.spellings: dict[str, set[str]] = {}

    def add(self, row: tuple[Any, ...], changes: Changes) -> None:
        pid, source, name, descriptor, program, alc_name, location, defined_unit, trend_unit = row[
            :9
        ]
        point_type, has_states, trend_definition, description = row[9:13]
        old = row[13:19]
        numeric = row[19] == "number"
        segments = tuple(s for s in (location or "").split("/") if s)
        r = resolve(
            self.site,
            name,
            source,
            descriptor=descriptor,
            control_program=program,
            alc_name=alc_name,
            location=segments,
        )
        exported = "points list" if program is not None else "definition report"
        raw, unit_origin = _unit_source(r, defined_unit, trend_unit, exported, numeric)
        unit = resolve_unit(raw, self.site.units)
        origins = dict(r.origins)
        if unit_origin:
            origins["unit"] = unit_origin
        for attribute, present, origin in (
            ("descriptor", descriptor, "definition report"),
            ("point_type", point_type, exported),
            ("states", has_states or None, "definition report"),
            ("location", location, "points list" if program is not None else "trend report"),
            ("trend_definition", trend_definition, "trend report"),
            ("description", description, "trend report"),
        ):
            if present is not None:
                origins.setdefault(attribute, origin)
        self.points.append((pid, r, unit, origins))
        building = self.buildings.get(r.building) if r.building else None
        if building is not None and r.room:
            self.rooms.add((building, r.room))
        if r.device:
            self.devices.add((building, r.device))
        key = self._use(unit)
        for until, written in self.history.get(pid, ()):
            meant = resolve_unit(written, self.site.units)
            key_then = self._use(meant, earlier=True)
            self.earlier.append((pid, until, key_then, conversion(meant, unit)))
        # Tags the point carries itself (those at a level it has are compared there, by its
        # device's, room's or building's other points too, so not named per point).
        levels = {"device": r.device, "room": r.room if building is not None else None}
        levels["building"] = r.building if building is not None else None
        own = sorted({t for t, level in r.tags if level == "point" or not levels.get(level)})
        new = (r.building, levels["room"], r.floor, r.device, key, own)
        _describe(name, old, new, changes)

    def _use(self, unit: Unit, *, earlier: bool = False) -> str | None:
        """The unit's key, its row to be upserted with the spelling seen (a point's current
        unit says what the row holds; an earlier unit only where no current one does)."""
        key = unit_key(unit)
        if key is not None:
            if earlier:
                self.units.setdefault(key, unit)
            else:
                self.units[key] = unit
            self.spellings.setdefault(key, set()).add(unit.raw or "")
        return key

    def write(self, conn: Conn, everything: bool) -> None:
        rooms = _upsert_rooms(conn, self.rooms, self.site, self.buildings)
        devices = _upsert_devices(conn, self.devices, self.site)
        units = _upsert_units(conn, self.units, self.spellings)
        write_meanings(
            conn,
            [
                (pid, until, units[key] if key else None, *(affine or (None, None)))
                for pid, until, key, affine in self.earlier
            ],
        )
        tag_names = sorted({t for _, r, _, _ in self.points for t, _ in r.tags})
        tags = _upsert_named(conn, "tags", tag_names)
        ids, b, rm, d, f, u = [], [], [], [], [], []
        o: list[dict[str, str]] = []
        attached: dict[str, set[tuple[int, int]]] = {
            "point": set(),
            "device": set(),
            "room": set(),
            "building": set(),
        }
        for pid, r, unit, origins in self.points:
            building = self.buildings.get(r.building) if r.building else None
            room = rooms.get((building, r.room)) if building is not None and r.room else None
            device = devices.get((building, r.device)) if r.device else None
            ids.append(pid)
            b.append(building)
            rm.append(room)
            d.append(device)
            f.append(r.floor)
            key = unit_key(unit)
            u.append(units[key] if key is not None else None)
            o.append(origins)
            at = {"point": pid, "device": device, "room": room, "building": building}
            for tag, level in r.tags:
                target = at[level]
                # A tag for a level the point does not have stays on the point itself.
                attached[level if target is not None else "point"].add(
                    (target if target is not None else pid, tags[tag])
                )
        rows = [
            {"id": i, "b": b_, "r": r_, "d": d_, "f": f_, "u": u_, "o": o_}
            for i, b_, r_, d_, f_, u_, o_ in zip(ids, b, rm, d, f, u, o, strict=True)
        ]
        conn.execute(  # one JSON document: psycopg escapes a jsonb[] element by element (slow)
            """
            UPDATE points p SET building_id = t.b, room_id = t.r, device_id = t.d, floor = t.f,
                unit_id = t.u, origins = t.o, updated_at = now()
            FROM jsonb_to_recordset(%s::jsonb) AS t(id int, b int, r int, d int, f int, u int,
                                                    o jsonb)
            WHERE p.id = t.id AND (p.building_id, p.room_id, p.device_id, p.floor, p.unit_id,
                p.origins) IS DISTINCT FROM (t.b, t.r, t.d, t.f, t.u, t.o)
            """,
            (json.dumps(rows),),
        )
        conn.execute("DELETE FROM point_tags WHERE point_id = ANY(%s)", (ids,))
        if everything:
            for table in ("building_tags", "room_tags", "device_tags"):
                conn.execute(f"DELETE FROM {table}")
        for level, pairs in attached.items():
            if pairs:
                left, right = zip(*sorted(pairs), strict=True)
                conn.execute(
                    f"INSERT INTO {level}_tags ({level}_id, tag_id)"
                    " SELECT * FROM unnest(%s::int[], %s::int[]) ON CONFLICT DO NOTHING",
                    (list(left), list(right)),
                )
        touched = sorted({x for x in d if x is not None})
        if touched:
            # A device's room: that of its first point (by name) that has one — whatever the
            # order the points arrived in.
            conn.execute(
                """
                UPDATE devices dv SET room_id = pick.room_id FROM (
                    SELECT dv2.id, (SELECT p.room_id FROM points p WHERE p.device_id = dv2.id
                                    AND p.room_id IS NOT NULL ORDER BY p.name, p.id LIMIT 1)
                    FROM devices dv2 WHERE dv2.id = ANY(%s)) AS pick(id, room_id)
                WHERE dv.id = pick.id AND dv.room_id IS DISTINCT FROM pick.room_id
                """,
                (touched,),
            )


def _unit_source(
    r: Resolved, defined: str | None, trend: str | None, exported: str, numeric: bool
) -> tuple[str | None, str | None]:
    """The unit string that counts, and where it came from: an override, the export, the trend,
    else (a number point's) a [[unit_rules]] entry. A rule's unit is a reading of the name, never
    a unit the BAS recorded in: unit_history compares only what the BAS wrote."""
    if r.unit is not None:
        return r.unit, r.origins.get("unit")
    if defined:
        return defined, exported
    if trend:
        return trend, "trend report"
    if r.by_rule is not None and numeric:
        return r.by_rule
    return None, None


def _describe(name: str, old: tuple[Any, ...], new: tuple[Any, ...], changes: Changes) -> None:
    labels = ("building", "room", "floor", "device", "unit", "tags")
    parts = []
    for label, a, b in zip(labels, old, new, strict=True):
        if label == "tags":
            a, b = list(a or []), list(b)
        if a != b:
            parts.append(f"{label} {_shown(a)} → {_shown(b)}")
    if parts:
        changes.add(f"{name}: {', '.join(parts)}")


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return " ".join(value)
    return str(value).lstrip("?")


def sync_buildings(conn: Conn, site: Site, *, retire: bool) -> list[str]:
    """Every site building as a row (code → name, aliases); with `retire`, the rows of
    buildings no longer in the site are marked so; returns their codes."""
    codes = [b.code for b in site.buildings]
    conn.execute(
        """
        INSERT INTO buildings (code, name, aliases)
        SELECT t.code, t.name, ARRAY(SELECT jsonb_array_elements_text(t.aliases))
        FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS t(code, name, aliases)
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, aliases = EXCLUDED.aliases,
            in_site = true, updated_at = now()
        WHERE (buildings.name, buildings.aliases, buildings.in_site)
            IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.aliases, true)
        """,
        (
            codes,
            [b.name for b in site.buildings],
            [json.dumps(list(b.aliases)) for b in site.buildings],
        ),
    )
    if not retire:
        return []
    rows = conn.execute(
        "UPDATE buildings SET in_site = false, updated_at = now()"
        " WHERE in_site AND NOT code = ANY(%s) RETURNING code",
        (codes,),
    ).fetchall()
    return sorted(r[0] for r in rows)


def _upsert_rooms(
    conn: Conn, rooms: set[tuple[int, str]], site: Site, buildings_by_code: dict[str, int]
) -> dict[tuple[int, str], int]:
    if not rooms:
        return {}
    keys = sorted(rooms)
    buildings = [k[0] for k in keys]
    names = [k[1] for k in keys]
    codes = {i: code for code, i in buildings_by_code.items()}
    floors = [site.room_floor(codes.get(b), n) for b, n in zip(buildings, names, strict=True)]
    conn.execute(
        """
        INSERT INTO rooms (building_id, name, floor)
        SELECT * FROM unnest(%s::int[], %s::text[], %s::int[])
        ON CONFLICT (building_id, name) DO UPDATE SET floor = EXCLUDED.floor
        WHERE rooms.floor IS DISTINCT FROM EXCLUDED.floor
        """,
        (buildings, names, floors),
    )
    rows = conn.execute(
        "SELECT r.building_id, r.name, r.id FROM rooms r"
        " JOIN unnest(%s::int[], %s::text[]) AS t(b, n) ON r.building_id = t.b AND r.name = t.n",
        (buildings, names),
    ).fetchall()
    return {(b, n): i for b, n, i in rows}


def _upsert_devices(
    conn: Conn, devices: set[tuple[int | None, str]], site: Site
) -> dict[tuple[int | None, str], int]:
    if not devices:
        return {}
    keys = sorted(devices, key=lambda k: (k[0] or 0, k[1]))
    buildings = [k[0] for k in keys]
    names = [k[1] for k in keys]
    types = [site.device_type(n) for n in names]
    conn.execute(
        """
        INSERT INTO devices (building_id, name, type)
        SELECT * FROM unnest(%s::int[], %s::text[], %s::text[])
        ON CONFLICT (building_id, name) DO UPDATE SET type = EXCLUDED.type
        WHERE devices.type IS DISTINCT FROM EXCLUDED.type
        """,
        (buildings, names, types),
    )
    rows = conn.execute(
        "SELECT d.building_id, d.name, d.id FROM devices d"
        " JOIN unnest(%s::int[], %s::text[]) AS t(b, n)"
        " ON d.building_id IS NOT DISTINCT FROM t.b AND d.name = t.n",
        (buildings, names),
    ).fetchall()
    return {(b, n): i for b, n, i in rows}


def _upsert_units(
    conn: Conn, units: dict[str, Unit], spellings: dict[str, set[str]]
) -> dict[str, int]:
    if not units:
        return {}
    keys = sorted(units)
    conn.execute(
        """
        INSERT INTO units AS u (key, canonical, symbol, quantity, name, resolved, spellings)
        SELECT t.key, t.canonical, t.symbol, t.quantity, t.name, t.resolved,
               ARRAY(SELECT jsonb_array_elements_text(t.spellings) ORDER BY 1)
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bool[],
                    %s::jsonb[]) AS t(key, canonical, symbol, quantity, name, resolved, spellings)
        ON CONFLICT (key) DO UPDATE SET
            canonical = EXCLUDED.canonical, symbol = EXCLUDED.symbol,
            quantity = EXCLUDED.quantity, name = EXCLUDED.name, resolved = EXCLUDED.resolved,
            spellings = ARRAY(SELECT DISTINCT s FROM unnest(u.spellings || EXCLUDED.spellings)
                              AS s ORDER BY s)
        WHERE NOT (EXCLUDED.spellings <@ u.spellings)
            OR (u.canonical, u.symbol, u.quantity, u.name, u.resolved) IS DISTINCT FROM
               (EXCLUDED.canonical, EXCLUDED.symbol, EXCLUDED.quantity, EXCLUDED.name,
                EXCLUDED.resolved)
        """,
        (
            keys,
            [units[k].canonical for k in keys],
            [units[k].symbol for k in keys],
            [units[k].quantity for k in keys],
            [units[k].name for k in keys],
            [units[k].resolved for k in keys],
            [json.dumps(sorted(spellings[k])) for k in keys],
        ),
    )
    return dict(conn.execute("SELECT key, id FROM units WHERE key = ANY(%s)", (keys,)).fetchall())


def _upsert_named(conn: Conn, table: str, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    conn.execute(
        f"INSERT INTO {table} (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING",
        (names,),
    )
    return dict(
        conn.execute(f"SELECT name, id FROM {table} WHERE name = ANY(%s)", (names,)).fetchall()
    )
