"""The points one trend report's load meets: created or refreshed once, resolved with the
applied site when new, and their state labels indexed (appended in one statement per chunk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg

from energy_ingest.catalog.site import Site
from energy_ingest.formats.report import MAX_STATES, PointInfo, Report
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.resolution import resolve_points

# Whether point p has a reading: one probe of the primary key a point (a partition's). Neither
# EXISTS in a select list, which the planner may run as a hashed subplan over every reading, nor
# LIMIT 1 alone, which it may run as a sequential scan expecting a match in the first rows: for a
# new point, either read every reading (12.6 s for 100 new points beside 1.4 M readings). The
# ORDER BY is the key's, which only the index gives without a sort.
HAS_READINGS = (
    "(SELECT true FROM readings r WHERE r.point_id = p.id ORDER BY r.ts LIMIT 1) IS NOT NULL"
)

# Append a chunk's new state labels to their points in one statement, in order of first
# appearance. The SET expression is evaluated on the row as locked, so labels another loader
# appended meanwhile are not appended twice; a point never grows past MAX_STATES.
APPEND_STATES = """
UPDATE points p SET
    states = p.states || ARRAY(
        SELECT x.label FROM unnest(n.labels) WITH ORDINALITY AS x(label, ord)
        WHERE x.label <> ALL(p.states) ORDER BY x.ord
        LIMIT greatest(0, %(max)s - cardinality(p.states))),
    updated_at = now()
FROM (
    SELECT t.id, array_agg(t.label ORDER BY t.ord) AS labels
    FROM unnest(%(ids)s::int[], %(labels)s::text[], %(ords)s::int[]) AS t(id, label, ord)
    GROUP BY t.id
) n
WHERE p.id = n.id
RETURNING p.id, p.states
"""


@dataclass
class Point:
    """One point as this load knows it: id, kind, states and the text table's numbers."""

    id: int
    kind: str
    states: list[str]
    numbers: dict[float, int] = field(default_factory=dict)  # text table's `1 - ON` → ON's index
    index: dict[str, int] = field(init=False)  # state label → its position in `states`

    def __post_init__(self) -> None:
        self.index = {label: i for i, label in enumerate(self.states)}

    def know(self, states: list[str]) -> None:
        for label in states[len(self.states) :]:
            self.index.setdefault(label, len(self.states))
            self.states.append(label)


class FilePoints(dict[str, Point]):
    """The file's points by name, and the enum values left out for a point's full states."""

    def __init__(self, conn: psycopg.Connection[Any], report: Report, held: AppliedSite) -> None:
        super().__init__()
        self.conn = conn
        self.report = report
        self.held = held
        self.over_cap = 0  # enum values whose label would take a point past MAX_STATES
        self._site: Site | None = None

    def site(self) -> Site:
        """The site file the catalog was applied with, read once per file."""
        if self._site is None:
            self._site = self.held.current(self.conn)
        return self._site

    def ensure(self, chunk: pd.DataFrame) -> None:
        names = chunk["point"].unique()
        new = [str(n) for n in names if n not in self]
        if not new:
            return
        has_state = set(chunk.loc[chunk["state"].notna(), "point"].unique())
        self.upsert(new, kinds={n: "enum" if n in has_state else "number" for n in new})

    def upsert(self, names: list[str], kinds: dict[str, str]) -> None:
        """Create missing points; refresh metadata only where it changed, so that rows of points
        other loaders share are not locked for the length of this file's transaction."""
        names = sorted(names)  # a stable lock order: concurrent loaders cannot deadlock here
        infos = [self.report.points.get(n) or PointInfo(name=n) for n in names]
        source = self.report.source
        definitions = [i.trend_definition for i in infos]
        units = [i.unit for i in infos]
        descriptions = [i.description for i in infos]
        created = self.conn.execute(
            """
            INSERT INTO points (source, name, kind, location, trend_definition, unit, description)
            SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                AS t(name, kind, location, definition, unit, description)
            WHERE NOT EXISTS (
                SELECT FROM points p WHERE p.source = %s AND p.name = t.name AND p.scope = '')
            ON CONFLICT (source, name, scope) DO NOTHING RETURNING id
            """,  # only the missing: an INSERT that conflicts still takes an id (ids stay dense)
            (
                source,
                names,
                [kinds[n] for n in names],
                [i.location for i in infos],
                definitions,
                units,
                descriptions,
                source,
            ),
        ).fetchall()
        refreshed = self.conn.execute(
            """
            UPDATE points p SET
                trend_definition = coalesce(t.definition, p.trend_definition),
                unit = coalesce(p.unit, t.unit),
                description = coalesce(p.description, t.description),
                updated_at = now()
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS t(name, definition, unit, description)
            WHERE p.source = %s AND p.name = t.name AND p.scope = '' AND (
                (t.definition IS NOT NULL AND p.trend_definition IS DISTINCT FROM t.definition)
                OR (p.unit IS NULL AND t.unit IS NOT NULL)
                OR (p.description IS NULL AND t.description IS NOT NULL))
            RETURNING p.id
            """,
            (names, definitions, units, descriptions, source),
        ).fetchall()
        if created or refreshed:  # new points, or a unit now known: resolved with the site file
            resolve_points(self.conn, self.site(), [r[0] for r in [*created, *refreshed]])
        rows = self.conn.execute(
            f"""
            SELECT id, name, kind, states, {HAS_READINGS},
                   coalesce(defined_states, '{{}}'), coalesce(defined_values, '{{}}')
            FROM points p WHERE source = %s AND name = ANY(%s) AND scope = ''
            """,
            (source, names),
        ).fetchall()
        for pid, name, kind, states, has_readings, table, numbers in rows:
            point = Point(pid, kind, list(states))
            point.numbers = {
                float(n): point.index[label]
                for label, n in zip(table, numbers, strict=False)
                if label in point.index
            }
            if kinds[name] == "enum" and kind == "number" and not has_readings:
                # Created before its first state was seen (e.g. an all-`No Data` column earlier).
                flipped = self.conn.execute(
                    "UPDATE points p SET kind = 'enum' WHERE id = %s AND kind = 'number'"
                    " AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.point_id = p.id) RETURNING id",
                    (pid,),
                ).fetchone()
                point.kind = "enum" if flipped else point.kind
            self[name] = point

    def state_indexes(self, names: pd.Series, labels: pd.Series) -> np.ndarray:
        """Each label's index in its point's states (NaN: not an enum point, or over the cap);
        labels not yet stored are appended in one statement for the whole chunk."""
        out = np.full(len(names), np.nan)
        pairs = pd.DataFrame({"n": names.to_numpy(), "s": labels.to_numpy()})
        groups = pairs.groupby(["n", "s"], sort=False).indices
        fresh: dict[int, list[str]] = {}
        for key in groups:
            name, label = cast(tuple[str, str], key)
            point = self[str(name)]
            if point.kind == "enum" and str(label) not in point.index:
                fresh.setdefault(point.id, []).append(str(label))
        if fresh:
            self._append_states(fresh)
        for key, idx in groups.items():
            name, label = cast(tuple[str, str], key)
            point = self[str(name)]
            at = point.index.get(str(label)) if point.kind == "enum" else None
            if at is not None:
                out[idx] = at
            elif point.kind == "enum":
                self.over_cap += len(idx)
        return out

    def _append_states(self, fresh: dict[int, list[str]]) -> None:
        ids = [pid for pid, labels in fresh.items() for _ in labels]
        labels = [label for labels in fresh.values() for label in labels]
        ords = list(range(len(labels)))
        rows = self.conn.execute(
            APPEND_STATES, {"ids": ids, "labels": labels, "ords": ords, "max": MAX_STATES}
        ).fetchall()
        by_id = {p.id: p for p in self.values()}
        for pid, states in rows:
            by_id[pid].know(list(states))
