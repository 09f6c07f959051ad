"""The site file the catalog is resolved with: applied (stored, every point re-resolved), and
held parsed by each process that loads files, re-read only when an application changed it."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from energy_ingest.catalog.site import PointOverride, Site, is_pattern, parse_site, read_site
from energy_ingest.store.lock import lock_writers
from energy_ingest.write.resolution import resolve_points, sync_buildings

Conn = psycopg.Connection[Any]


@dataclass
class Applied:
    """What `apply_site` did."""

    path: str
    sha256: str
    points: int = 0  # points re-resolved
    changed: int = 0  # points whose building, room, floor, device, unit or tags changed
    changes: list[str] = field(default_factory=list)  # the first SHOW_CHANGES of them
    buildings: int = 0
    retired: list[str] = field(default_factory=list)  # building codes no longer in the site
    unmatched: list[str] = field(default_factory=list)  # [[points]] overrides of no point (yet)
    seconds: float = 0.0


class AppliedSite:
    """One process's copy of the site the catalog was last applied with, parsed once."""

    def __init__(self) -> None:
        self.sha256: str | None = None
        self.site = Site()  # an empty site before the first application

    def current(self, conn: Conn) -> Site:
        """The applied site: the one held, unless an application elsewhere replaced it since."""
        row = conn.execute(
            "SELECT sha256, path, CASE WHEN sha256 IS DISTINCT FROM %s THEN content END"
            " FROM catalog_site",
            (self.sha256,),
        ).fetchone()
        if row is not None and row[0] != self.sha256:
            sha, path, content = row
            self.sha256, self.site = sha, parse_site(content, Path(path))
        return self.site


def apply_site(conn: Conn, site: Site, content: str, held: AppliedSite | None = None) -> Applied:
    """Store `site` (already checked, read from `content`) and re-resolve every point with it,
    in one transaction; `held` (the process's copy) holds it from then on."""
    started = time.monotonic()
    path = str(site.path or "site.toml")
    sha = hashlib.sha256(content.encode()).hexdigest()
    with conn.transaction():
        lock_writers(conn)
        conn.execute(
            "INSERT INTO catalog_site (path, sha256, content) VALUES (%s, %s, %s)"
            " ON CONFLICT (one) DO UPDATE SET path = EXCLUDED.path, sha256 = EXCLUDED.sha256,"
            " content = EXCLUDED.content, applied_at = now()",
            (path, sha, content),
        )
        applied = Applied(path, sha, buildings=len(site.buildings))
        applied.retired = sync_buildings(conn, site, retire=True)
        _sync_rules(conn, site)
        changes = resolve_points(conn, site, None)
        applied.points = changes.points
        applied.unmatched = _unmatched_overrides(conn, site)
        applied.changed = changes.count
        applied.changes = changes.lines
    if held is not None:
        held.sha256, held.site = sha, site
    applied.seconds = time.monotonic() - started
    return applied


def _unmatched_overrides(conn: Conn, site: Site) -> list[str]:
    """The [[points]] overrides that name no point of the catalog: each with its line (it
    applies once such a point arrives)."""
    if not site.points:
        return []
    if any(is_pattern(o.name) for o in site.points):  # a pattern is tried on every name
        known = set(conn.execute("SELECT name, source FROM points"))
    else:
        names = [o.name for o in site.points]
        known = set(conn.execute("SELECT name, source FROM points WHERE name = ANY(%s)", (names,)))
    sources: dict[str, set[str]] = {}
    for name, source in known:
        sources.setdefault(name, set()).add(source)

    def names_a_point(o: PointOverride) -> bool:
        candidates = known if is_pattern(o.name) else {(o.name, s) for s in sources.get(o.name, ())}
        return any(o.names(name, source) for name, source in candidates)

    return [
        f"line {o.line}: [[points]] name {o.name!r} names no point"
        f"{f' of {o.source}' if o.source else ''} in the catalog (yet)"
        for o in site.points
        if not names_a_point(o)
    ]


def _sync_rules(conn: Conn, site: Site) -> None:
    """The site's rules by name (ids kept; a rule no longer in the file is no longer served) and
    its anomaly tags, which the API reads."""
    rules = [
        {
            "name": r.name,
            "priority": r.priority,
            "url": r.url,
            "point_search": r.point_search,
            "value_search": r.value_search,
        }
        for r in site.rules
    ]
    conn.execute(
        "UPDATE rules SET in_site = false WHERE NOT name = ANY(%s)", ([r.name for r in site.rules],)
    )
    conn.execute(
        "INSERT INTO rules (name, priority, url, point_search, value_search)"
        " SELECT name, priority, url, point_search, value_search"
        " FROM jsonb_to_recordset(%s::jsonb) AS x(name text, priority int, url text,"
        " point_search text, value_search text)"
        " ON CONFLICT (name) DO UPDATE SET priority = EXCLUDED.priority, url = EXCLUDED.url,"
        " point_search = EXCLUDED.point_search, value_search = EXCLUDED.value_search,"
        " in_site = true",
        (json.dumps(rules),),
    )
    anomalies = {k: list(v) for k, v in site.anomalies.items()}
    conn.execute("UPDATE catalog_site SET anomalies = %s::jsonb", (json.dumps(anomalies),))


def apply_site_file(conn: Conn, path: Path) -> Applied:
    """Check the site file at `path` (SiteFileError lists every problem) and apply it."""
    site, text = read_site(path)
    return apply_site(conn, site, text)
