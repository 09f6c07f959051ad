"""Fewer, truer alerts: a building's many stale points become one finding, and the stale points
of an overdue report series are inhibited (their series' alert already says it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import psycopg

from energy_ingest.health.findings import HIGH, Finding

Conn = psycopg.Connection[Any]
Key = tuple[str, str]

GROUP_AT_LEAST = 5
"""A building's stale points become one `building_stale` finding when there are at least this
many and they are at least half of its points that a live series carries."""
EXAMPLES = 3


def group_buildings(conn: Conn, findings: list[Finding]) -> list[Finding]:
    """The findings, with each widely stale building's stale findings replaced by one."""
    stale = {f.point_id: f for f in findings if f.kind == "stale" and f.point_id is not None}
    if len(stale) < GROUP_AT_LEAST:
        return findings
    rows = conn.execute(
        """
        WITH s AS (SELECT unnest(%(ids)s::int[]) AS point_id)
        SELECT b.id, b.code, b.name, array_agg(p.id ORDER BY p.name, p.id),
            array_agg(p.name ORDER BY p.name, p.id),
            (SELECT count(DISTINCT q.id) FROM points q
             JOIN series_points sp ON sp.point_id = q.id
             JOIN report_series rs ON rs.id = sp.series_id AND rs.status <> 'historical'
             WHERE q.building_id = b.id AND q.retired_at IS NULL)
        FROM s JOIN points p ON p.id = s.point_id JOIN buildings b ON b.id = p.building_id
        GROUP BY b.id
        HAVING count(*) >= %(least)s
        """,
        {"ids": sorted(stale), "least": GROUP_AT_LEAST},
    ).fetchall()
    grouped: set[int] = set()
    buildings: list[Finding] = []
    for building_id, code, name, ids, names, live in rows:
        if 2 * len(ids) < live:
            continue
        grouped.update(ids)
        buildings.append(_building_stale(building_id, code, name, ids, names, live))
    kept = [f for f in findings if not (f.kind == "stale" and f.point_id in grouped)]
    return kept + buildings


def _building_stale(
    building_id: int, code: str, name: str, ids: list[int], names: list[str], live: int
) -> Finding:
    where = code if name in ("", code) else f"{code} ({name})"
    examples = ", ".join(names[:EXAMPLES]) + (", …" if len(names) > EXAMPLES else "")
    return Finding(
        kind="building_stale",
        subject=f"building:{building_id}",
        priority=HIGH,
        summary=f"{where}: {len(ids)} of {live} points are stale, e.g. {examples}",
        details={"stale": len(ids), "points": live, "examples": names[:10], "point_ids": ids},
        link=f"/api/v2/points?building_id={building_id}&status=stale",
        building_id=building_id,
    )


def inhibitors(conn: Conn, findings: list[Finding], overdue: Mapping[int, int]) -> dict[Key, int]:
    """(kind, subject) → the overdue alert that explains it, for each stale or building_stale
    finding all of whose points are carried only by overdue (or historical) series. `overdue`
    maps a series id to its firing overdue alert's id."""
    if not overdue:
        return {}
    members: dict[Key, list[int]] = {}
    for f in findings:
        if f.kind == "stale" and f.point_id is not None:
            members[(f.kind, f.subject)] = [f.point_id]
        elif f.kind == "building_stale":
            members[(f.kind, f.subject)] = list(f.details.get("point_ids", []))
    if not members:
        return {}
    carried: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for point_id, series_id, status in conn.execute(
        """
        SELECT sp.point_id, sp.series_id, rs.status
        FROM series_points sp JOIN report_series rs ON rs.id = sp.series_id
        WHERE sp.point_id = ANY(%s)
        """,
        (sorted({p for ids in members.values() for p in ids}),),
    ):
        carried[point_id].append((series_id, status))

    cause: dict[int, int | None] = {}
    for point_id, series in carried.items():
        causes = [overdue[s] for s, _ in series if s in overdue]
        # A live series that is not overdue still carries the point: its staleness is its own.
        arriving = any(s not in overdue and st not in ("historical", "overdue") for s, st in series)
        cause[point_id] = min(causes) if causes and not arriving else None

    found: dict[Key, int] = {}
    for key, ids in members.items():
        held = {cause.get(p) for p in ids}
        if ids and None not in held:
            found[key] = min(c for c in held if c is not None)
    return found
