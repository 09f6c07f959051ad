"""What `energy-ingest catalog coverage` and `show` say: plain dicts from the catalog's tables (the
command line prints them as text or JSON)."""

from __future__ import annotations

import difflib
import re
from typing import Any

import psycopg

from energy_ingest.catalog.resolve import naming_matches
from energy_ingest.catalog.site import Site
from energy_ingest.errors import EnergyError
from energy_ingest.query.coverage import summary
from energy_ingest.write.applied_site import AppliedSite

Conn = psycopg.Connection[Any]


class UnknownPoint(EnergyError):
    """`catalog show` was given a name or id the catalog does not have (or has twice)."""


def coverage(conn: Conn, top: int = 10) -> dict[str, Any]:
    """The catalog's coverage (energy_ingest/query/coverage.py, which the read API's
    /api/v2/coverage answers too) and, per site rule, the points it placed."""
    return {**summary(conn, top), "rules": rule_counts(conn, AppliedSite().current(conn))}


_ORIGIN_LINE = re.compile(r"(?:site rule|override|device|rewritten by) line (\d+)")


def rule_counts(conn: Conn, site: Site) -> list[dict[str, Any]]:
    """Per rule of the site file that places points ([[naming]], [[rewrite]], [[devices]],
    [[points]]): the points it placed, and for a naming rule the later rules on its field that
    also match points it took first (they never fire for those: order the file so they do)."""
    tables = [("naming", r.line) for r in site.naming] + [
        ("rewrite", r.line) for r in site.rewrites
    ]
    tables += [("devices", d.line) for d in site.devices] + [
        ("points", o.line) for o in site.points
    ]
    placed = dict.fromkeys((line for _, line in tables), 0)
    shadows: dict[int, dict[int, int]] = {}
    rows = conn.execute(
        "SELECT name, source, descriptor, control_program, alc_name, location, origins FROM points"
    )
    for name, source, descriptor, program, alc_name, location, origins in rows:
        lines = {int(m) for text in origins.values() for m in _ORIGIN_LINE.findall(str(text))}
        for line in lines & placed.keys():
            placed[line] += 1
        segments = tuple(x for x in (location or "").split("/") if x)
        matches = naming_matches(
            site, name, source, descriptor=descriptor, control_program=program,
            alc_name=alc_name, location=segments,
        )  # fmt: skip
        for first, *later in matches:
            for line in later:
                shadow = shadows.setdefault(first, {})
                shadow[line] = shadow.get(line, 0) + 1
    return [
        {
            "table": table,
            "line": line,
            "points": placed[line],
            "shadows": [
                {"line": other, "points": n} for other, n in sorted(shadows.get(line, {}).items())
            ],
        }
        for table, line in sorted(tables, key=lambda t: t[1])
    ]


_SHOW = """
SELECT p.id, p.source, p.name, p.alias, p.kind, p.states, b.code, b.name, r.name, p.floor, d.name, d.type,
       u.symbol, u.name, u.quantity, u.resolved, coalesce(p.defined_unit, p.unit),
       p.descriptor, p.point_type, p.representation, p.decimals, p.cov_limit, p.text_table,
       p.location, p.control_program, p.alc_name, p.io_type, p.trend_definition, p.description,
       f.name, p.retired_at, rf.name, p.extras, p.origins,
       (SELECT min(ts) FROM readings x WHERE x.point_id = p.id),
       (SELECT max(ts) FROM readings x WHERE x.point_id = p.id),
       p.building_id, p.room_id, p.device_id
FROM points p
LEFT JOIN buildings b ON b.id = p.building_id LEFT JOIN rooms r ON r.id = p.room_id
LEFT JOIN devices d ON d.id = p.device_id LEFT JOIN units u ON u.id = p.unit_id
LEFT JOIN files f ON f.id = p.defined_in LEFT JOIN files rf ON rf.id = p.retired_by
"""
SHOW_KEYS = (
    "id", "source", "name", "alias", "kind", "states", "building", "building_name", "room", "floor",
    "device", "device_type", "unit", "unit_name", "quantity", "unit_resolved", "unit_as_written",
    "descriptor", "point_type", "representation", "decimals", "cov_limit", "text_table",
    "location", "control_program", "alc_name", "io_type", "trend_definition", "description",
    "defined_in", "retired", "retired_by", "extras", "origins", "first_reading", "last_reading",
)  # fmt: skip
_TAGS = """
SELECT t.name, 'point' FROM point_tags x JOIN tags t ON t.id = x.tag_id WHERE x.point_id = %(p)s
UNION SELECT t.name, 'device' FROM device_tags x JOIN tags t ON t.id = x.tag_id
    WHERE x.device_id = %(d)s
UNION SELECT t.name, 'room' FROM room_tags x JOIN tags t ON t.id = x.tag_id WHERE x.room_id = %(r)s
UNION SELECT t.name, 'building' FROM building_tags x JOIN tags t ON t.id = x.tag_id
    WHERE x.building_id = %(b)s
ORDER BY 1, 2
"""


def _closest(conn: Conn, ref: str) -> str:
    """The names a user probably meant (difflib, any case), or where to search for one."""
    names = [name for (name,) in conn.execute("SELECT DISTINCT name FROM points")]
    by_upper = {name.upper(): name for name in names}
    close = difflib.get_close_matches(ref.upper(), list(by_upper), n=5, cutoff=0.6)
    if not close:
        return "no name is close; search them with GET /api/v2/points?q=… or give an id"
    return "closest names: " + ", ".join(by_upper[c] for c in close)


def show(conn: Conn, ref: str) -> dict[str, Any]:
    """Every attribute of one point (by id or exact name) and where each came from."""
    rows = conn.execute(_SHOW + " WHERE p.name = %s ORDER BY p.id", (ref,)).fetchall()
    if not rows and ref.isdigit() and len(ref) < 10:
        rows = conn.execute(_SHOW + " WHERE p.id = %s", (int(ref),)).fetchall()
    if len(rows) > 1:  # one name in two sources, or two ALC Locations or types
        ids = ", ".join(f"{r[0]} ({r[1]}, {r[6] or r[23] or 'no building'}, {r[18]})" for r in rows)
        raise UnknownPoint(f"{ref!r} names {len(rows)} points: {ids}; show one by its id")
    if not rows:
        raise UnknownPoint(f"no point {ref!r} in the catalog: {_closest(conn, ref)}")
    point = dict(zip(SHOW_KEYS, rows[0][: len(SHOW_KEYS)], strict=True))
    b, r, d = rows[0][len(SHOW_KEYS) :]  # for its tags at each level; not shown themselves
    tags = conn.execute(_TAGS, {"p": point["id"], "b": b, "r": r, "d": d})
    point["tags"] = [{"tag": t, "level": level} for t, level in tags]
    return point
