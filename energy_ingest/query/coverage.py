"""How much of the catalog is resolved: what `energy-ingest catalog coverage` prints and
GET /api/v2/coverage answers, from one set of queries.

Per building and source: the points, how many have each attribute (ATTRIBUTES), how many are
unresolved (UNRESOLVED), retired, or of a type the catalog does not know; campus-wide: the unit
strings pint could not read, the unknown types, and the most common shapes of the names no rule
gave a building, each with an example point to start from.

A point is *unresolved* when it lacks what a site-file rule or entry could give it (MISSING): a
building, a place in it (a room, a device, or at least a floor), or a unit pint can read (its
unit string is kept raw). A point without any unit is not unresolved (binary points have none),
nor is a retired one (the BAS no longer has it). GET /api/v2/points
selects them with `resolved=false`, by the same conditions.

Unlike the rest of this package, these functions run their queries (read-only): the report is
the same facts wherever it is shown.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from energy_ingest.catalog.point_types import is_known

Conn = psycopg.Connection[Any]

ATTRIBUTES = {  # coverage name → the condition a point p (its unit u) meets to have it
    "building": "p.building_id IS NOT NULL",
    "room": "p.room_id IS NOT NULL",
    "floor": "p.floor IS NOT NULL",
    "device": "p.device_id IS NOT NULL",
    "unit": "u.resolved",
    "type": "p.point_type IS NOT NULL",
    "tags": "EXISTS (SELECT 1 FROM point_tags t WHERE t.point_id = p.id)"
    " OR EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = p.device_id)"
    " OR EXISTS (SELECT 1 FROM room_tags t WHERE t.room_id = p.room_id)"
    " OR EXISTS (SELECT 1 FROM building_tags t WHERE t.building_id = p.building_id)",
}
MISSING = {  # what an unresolved point p lacks → the condition (on p alone, for any query)
    "building": "p.building_id IS NULL",
    "place": "p.room_id IS NULL AND p.device_id IS NULL AND p.floor IS NULL",
    "unit": "EXISTS (SELECT 1 FROM units m WHERE m.id = p.unit_id AND NOT m.resolved)",
}
# A retired point is no longer the BAS's: nothing to resolve.
UNRESOLVED = "(p.retired_at IS NULL AND (" + " OR ".join(f"({c})" for c in MISSING.values()) + "))"

ISO_STAMP = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'  # the read API's timestamps
_DIGITS = re.compile(r"\d+")
# The first point by name of a group: an example to look at.
_EXAMPLE = (
    "(array_agg(p.id ORDER BY p.name, p.id))[1], (array_agg(p.name ORDER BY p.name, p.id))[1]"
)


def site_file(conn: Conn, stamp: str = ISO_STAMP) -> dict[str, Any] | None:
    """The site file last applied (path, sha256, when, in the session's zone), or None."""
    row = conn.execute(
        "SELECT path, sha256, to_char(applied_at, %s) FROM catalog_site", (stamp,)
    ).fetchone()
    return {"path": row[0], "sha256": row[1], "applied_at": row[2]} if row else None


def _percent(n: int, total: int) -> float:
    return round(100 * n / total, 1) if total else 0.0


def _counts_sql(conditions: dict[str, str]) -> str:
    return ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in conditions.values())


def building_counts(conn: Conn) -> list[dict[str, Any]]:
    """Per building (None: no building) and source: its points and how many have each
    attribute, are unresolved, retired, or of a type the catalog does not know."""
    rows = conn.execute(
        f"SELECT b.code, b.id, b.name, p.source, count(*),"
        f" count(*) FILTER (WHERE {UNRESOLVED}),"
        f" count(*) FILTER (WHERE p.retired_at IS NOT NULL), {_counts_sql(ATTRIBUTES)}"
        " FROM points p LEFT JOIN buildings b ON b.id = p.building_id"
        " LEFT JOIN units u ON u.id = p.unit_id GROUP BY b.code, b.id, b.name, p.source"
        " ORDER BY b.code NULLS LAST, p.source"
    ).fetchall()
    unknown: dict[tuple[int | None, str], int] = {}
    for building_id, source, point_type, n in conn.execute(
        "SELECT p.building_id, p.source, upper(trim(p.point_type)), count(*) FROM points p"
        " WHERE p.point_type IS NOT NULL GROUP BY 1, 2, 3"
    ):
        if not is_known(point_type):
            unknown[building_id, source] = unknown.get((building_id, source), 0) + n
    return [
        {
            "building": code,
            "building_id": building_id,
            "name": name,
            "source": source,
            "points": n,
            "with": dict(zip(ATTRIBUTES, have, strict=True)),
            "unresolved": unresolved,
            "retired": retired,
            "unknown_types": unknown.get((building_id, source), 0),
        }
        for code, building_id, name, source, n, unresolved, retired, *have in rows
    ]


def unresolved_units(conn: Conn) -> list[dict[str, Any]]:
    """The unit strings pint could not read, most used first, with an example point."""
    rows = conn.execute(
        f"SELECT u.id, u.symbol, count(*), {_EXAMPLE} FROM points p JOIN units u ON u.id = p.unit_id"
        " WHERE NOT u.resolved GROUP BY u.id, u.symbol ORDER BY count(*) DESC, u.symbol"
    ).fetchall()
    return [
        {"unit": unit, "unit_id": uid, "points": n, "example": name, "example_id": pid}
        for uid, unit, n, pid, name in rows
    ]


def unknown_types(conn: Conn) -> list[dict[str, Any]]:
    """The point types the catalog does not know (a number unless the export gave states), most
    used first, with an example point."""
    rows = conn.execute(
        f"SELECT upper(trim(p.point_type)), count(*), {_EXAMPLE} FROM points p"
        " WHERE p.point_type IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1"
    ).fetchall()
    return [
        {"type": t, "points": n, "example": name, "example_id": pid}
        for t, n, pid, name in rows
        if not is_known(t)
    ]


def unmatched_shapes(conn: Conn, top: int) -> list[dict[str, Any]]:
    """The `top` most common shapes of the names no rule gave a building (to write the next rule
    from), with the first such name of each."""
    shapes: dict[tuple[str, str], list[Any]] = {}
    for source, name, pid in conn.execute(
        "SELECT source, name, id FROM points WHERE building_id IS NULL ORDER BY name, id"
    ):
        entry = shapes.setdefault((source, shape(name, source)), [0, name, pid])
        entry[0] += 1
    common = sorted(shapes.items(), key=lambda kv: (-kv[1][0], f"{kv[0][0]}: {kv[0][1]}"))
    return [
        {"shape": key, "source": source, "points": n, "example": name, "example_id": pid}
        for (source, key), (n, name, pid) in common[:top]
    ]


def _totals(buildings: list[dict[str, Any]]) -> tuple[int, dict[str, int], dict[str, int]]:
    """All points, points by source (in the sources' order) and points with each attribute."""
    by_source: dict[str, int] = {}
    for b in sorted(buildings, key=lambda b: str(b["source"])):
        by_source[b["source"]] = by_source.get(b["source"], 0) + b["points"]
    have = {name: sum(b["with"][name] for b in buildings) for name in ATTRIBUTES}
    return sum(by_source.values()), by_source, have


def summary(conn: Conn, top: int = 10) -> dict[str, Any]:
    """What `catalog coverage` prints (but its site rules): how many points have each attribute,
    how many are retired, the unit strings pint could not read, the point types the catalog does
    not know, the most common shapes of the names no rule gave a building, and the percent with
    each attribute per building and source."""
    buildings = building_counts(conn)
    total, by_source, have = _totals(buildings)
    return {
        "site_file": site_file(conn),
        "points": total,
        "by_source": by_source,
        "with": {name: {"points": n, "percent": _percent(n, total)} for name, n in have.items()},
        "retired": sum(b["retired"] for b in buildings),
        "unresolved_units": [
            {"unit": u["unit"], "points": u["points"]} for u in unresolved_units(conn)
        ],
        "unknown_types": [{"type": t["type"], "points": t["points"]} for t in unknown_types(conn)],
        "without_building": total - have["building"],
        "unmatched_shapes": [
            {k: s[k] for k in ("shape", "source", "points", "example")}
            for s in unmatched_shapes(conn, top)
        ],
        "by_building": [
            {
                "building": b["building"],
                "source": b["source"],
                "points": b["points"],
                "percent": {k: _percent(n, b["points"]) for k, n in b["with"].items()},
                "retired": b["retired"],
                "unknown_types": b["unknown_types"],
            }
            for b in buildings
        ],
    }


def report(conn: Conn, top: int = 10) -> dict[str, Any]:
    """The same facts as counts and percents for GET /api/v2/coverage, with the unresolved
    points per building and campus-wide (and per thing missing), and ids to link to."""
    buildings = building_counts(conn)
    total, by_source, have = _totals(buildings)
    missing = (
        conn.execute(
            f"SELECT {_counts_sql(MISSING)} FROM points p WHERE p.retired_at IS NULL"
        ).fetchone()
        or ()
    )
    return {
        "site_file": site_file(conn),
        "points": total,
        "by_source": by_source,
        "with": {name: {"points": n, "percent": _percent(n, total)} for name, n in have.items()},
        "unresolved": sum(b["unresolved"] for b in buildings),
        "missing": dict(zip(MISSING, missing, strict=True)),
        "retired": sum(b["retired"] for b in buildings),
        "buildings": [
            {
                **b,
                "with": {
                    k: {"points": n, "percent": _percent(n, b["points"])}
                    for k, n in b["with"].items()
                },
            }
            for b in buildings
        ],
        "unresolved_units": unresolved_units(conn),
        "unknown_types": unknown_types(conn),
        "unmatched_shapes": unmatched_shapes(conn, top),
    }


def shape(name: str, source: str) -> str:
    """A name with its numbers as <n>, cut to what names a building and device: Siemens
    `BOLIOU.AHU1.SAT` → `BOLIOU.AHU<n>.…`; ALC `HUL-FCU2-RM B44 / Setpoint` → `HUL-FCU<n>-RM B<n> / …`."""
    if source == "alc":
        head = name.split(" / ", 1)[0]
        return _DIGITS.sub("<n>", head) + (" / …" if " / " in name else "")
    parts = name.split(".")
    head = ".".join(parts[:2])
    return _DIGITS.sub("<n>", head) + (".…" if len(parts) > 2 else "")
