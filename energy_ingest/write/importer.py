"""A point export into the catalog, in one transaction with its ledger row: what the building
automation system says about each point, every change against what was stored named, and the
points re-resolved.

A Siemens record is the point its Point System Name names, as trend reports name it (a Point
Name that differs is kept as its `alias`). An ALC Points List row is `Control Program / Name`
within its Location and of its Type (its `scope`), so equal names in two buildings, or two
microblocks of one name, are two points; records of one file naming one point again: the later
wins, each named in a warning. A point the export defines but no trend has named yet is created,
with a kind from its type (catalog.point_types.kind_of); ids are taken only for points
created. The points of an earlier export this one supersedes (lists again at least half of) that
this one leaves out are retired (write.retirement): kept with their readings, marked when and by
which file, current again once an export lists them. An enumeration's states become its text
table's, in order, followed by any other labels trends brought (the readings are re-indexed to
match), so exports and trends in either order give the same catalog. An export that changes a
point's unit keeps the earlier one, with the second it was loaded (write.unit_history).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg

from energy_ingest.catalog.exports.point_export import PointExport
from energy_ingest.catalog.point_types import kind_of
from energy_ingest.errors import SourceChanged
from energy_ingest.store.lock import lock_writers
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.ledger import FileInfo, claim_ledger_row, complete_ledger_row
from energy_ingest.write.points import HAS_READINGS
from energy_ingest.write.resolution import SHOW_CHANGES, resolve_points
from energy_ingest.write.retirement import retire_superseded
from energy_ingest.write.rollup_buckets import maintained
from energy_ingest.write.rollup_rebuild import recompute
from energy_ingest.write.unit_history import changed, keep_earlier, recording_unit

Conn = psycopg.Connection[Any]

# The facts an export gives, as points columns; the label a change line calls each by.
FACTS = {
    "alias": "point name",
    "descriptor": "descriptor",
    "point_type": "type",
    "representation": "representation",
    "decimals": "decimals",
    "cov_limit": "COV limit",
    "text_table": "text table",
    "defined_states": "states",
    "defined_values": "state values",
    "defined_unit": "unit",
    "location": "location",
    "control_program": "control program",
    "alc_name": "name",
    "io_type": "I/O type",
    "extras": "other fields",
}
SIEMENS_COLUMNS = {
    "descriptor": "descriptor",
    "point_type": "point_type",
    "representation": "representation",
    "decimals": "decimals",
    "cov_limit": "cov_limit",
    "text_table": "text_table",
    "defined_states": "states",
    "defined_values": "state_values",
    "defined_unit": "engineering_units",
}
SIEMENS_EXTRAS = (
    "classification", "panel", "panel_label", "address", "sensor_type", "slope", "intercept",
    "gain", "totalization", "alarm_type", "object_name", "object_id", "informational_text",
)  # fmt: skip
ALC_COLUMNS = {
    "point_type": "type",
    "location": "location",
    "control_program": "control_program",
    "alc_name": "name",
    "io_type": "io_type",
}
ALC_EXTRAS = ("offset_polarity", "exp_num")


@dataclass
class ExportResult:
    """What importing an export did; the fields a trend load's result has, for the ledger,
    the daemon's log line and archiving."""

    status: str  # "ingested" or "duplicate"
    file_id: int
    points: int = 0  # records imported (one per point)
    created: int = 0  # points the catalog did not have
    updated: int = 0  # points whose facts changed
    unchanged: int = 0
    repeated: int = 0  # records naming a point an earlier record of the file named
    retired: int = 0  # points of the exports it supersedes that it leaves out (write.retirement)
    changes: list[str] = field(default_factory=list)  # the first SHOW_CHANGES change lines
    resolved_changes: int = 0  # points whose building, room, device, unit or tags changed
    seconds: float = 0.0
    first_ts: None = None  # an export has no data time: archived by the month it arrived
    readings: int = 0
    inserted: int = 0
    skipped: int = 0
    over_cap: int = 0
    changed_examples: list[str] = field(default_factory=list)

    @property
    def changed_values(self) -> int:
        """Stored readings this file changed: none (an export changes points, not readings)."""
        return 0

    def summary(self, label: str, report_format: str, span: str) -> str:
        """`imported siemens/points.csv (siemens-point-definitions): 912 points (3 new, 2 changed,
        907 unchanged), 2 resolved differently, 0.31 s` (an export has no data `span`)."""
        parts = [f"{self.created:,} new"]
        if self.updated:
            parts.append(f"{self.updated:,} changed")
        parts.append(f"{self.unchanged:,} unchanged")
        text = f"imported {label} ({report_format}): {self.points:,} points ({', '.join(parts)})"
        if self.resolved_changes:
            text += f", {self.resolved_changes:,} resolved differently"
        if self.retired:
            text += f", {self.retired:,} retired"
        return text + f", {self.seconds:.2f} s"

    def notes(self) -> list[tuple[int, str]]:
        """What else the import did worth saying: (logging level, text)."""
        out = [(logging.INFO, line) for line in self.changes]
        more = self.updated + self.resolved_changes - len(self.changes)
        if more > 0:
            out.append(
                (logging.INFO, f"… and {more} more changes (energy-ingest catalog show POINT)")
            )
        return out


def import_export(
    conn: Conn,
    export: PointExport,
    info: FileInfo,
    *,
    site: AppliedSite | None = None,
    still_same: Callable[[], bool] = lambda: True,
) -> ExportResult:
    """Import `export` in one transaction; a byte-identical file already ingested is a duplicate;
    a file that `still_same()` says changed meanwhile is rolled back (SourceChanged)."""
    started = time.monotonic()
    with conn.transaction():
        lock_writers(conn)
        maintained(conn)  # readings it re-indexes get their rollups recomputed (_kind_and_states)
        file_id, seen, _ = claim_ledger_row(conn, info)
        if seen:
            return ExportResult(status="duplicate", file_id=file_id)
        facts, repeated = _facts(export)
        result = ExportResult(status="ingested", file_id=file_id, repeated=len(repeated))
        result.points = len(facts)
        touched, created, relisted = _store(conn, export.source, facts, file_id, result)
        result.retired = retire_superseded(conn, file_id, relisted)
        changes = resolve_points(conn, (site or AppliedSite()).current(conn), touched, new=created)
        result.resolved_changes = changes.count
        result.changes += changes.lines[: max(0, SHOW_CHANGES - len(result.changes))]
        result.changed_examples = result.changes[:3]
        result.seconds = time.monotonic() - started
        warnings = list(export.warnings)
        if repeated:
            warnings.append(_repeated_warning(repeated))
        complete_ledger_row(
            conn,
            file_id,
            format=export.format,
            points=result.points,
            rejected=export.rejected,
            rejects=export.rejects,
            warnings=warnings,
            footer=export.complete if export.source == "siemens" else None,
            seconds=result.seconds,
            points_changed=(result.created, result.updated),
        )
        if not still_same():
            raise SourceChanged(f"{info.name} changed while it was being loaded")
    return result


Key = tuple[str, str]  # a point's name and scope (store/sql/0008_point_identity.sql)


def _facts(export: PointExport) -> tuple[dict[Key, dict[str, Any]], dict[Key, list[int]]]:
    """Each point's facts by its key, in file order, and the lines of the records that named a
    point again: the later record of one point wins (a repeated record is the same point, as
    its key, type included, says)."""
    columns, extra_columns = (
        (SIEMENS_COLUMNS, SIEMENS_EXTRAS)
        if export.source == "siemens"
        else (ALC_COLUMNS, ALC_EXTRAS)
    )
    out: dict[Key, dict[str, Any]] = {}
    lines: dict[Key, list[int]] = {}
    for record in cast(list[dict[str, Any]], export.records.to_dict("records")):
        key = _key(export.source, record)
        if key is None:
            continue
        facts = {column: _plain(record.get(field)) for column, field in columns.items()}
        extras = {k: _plain(record.get(k)) for k in extra_columns}
        extras |= {str(k): _plain(v) for k, v in (record.get("extras") or {}).items()}
        facts["extras"] = {k: v for k, v in extras.items() if v not in (None, "", [])}
        facts["alias"] = _alias(export.source, record)
        if not facts.get("defined_states"):
            facts["defined_states"] = facts["defined_values"] = None
        lines.setdefault(key, []).append(int(record.get("line") or 0))
        out.pop(key, None)
        out[key] = facts
    return out, {key: at for key, at in lines.items() if len(at) > 1}


def _key(source: str, record: dict[str, Any]) -> Key | None:
    """A Siemens record is its Point System Name; an ALC row `Control Program / Name` within
    its Location, and its Type (two microblocks of one name are two points)."""
    if source == "siemens":
        name = record.get("system_name") or record.get("name")
        return (name, "") if name else None
    program, name = record.get("control_program"), record.get("name")
    if not (program and name):
        return None
    scope = json.dumps([record.get("location"), record.get("type") or ""], ensure_ascii=False)
    return f"{program} / {name}", scope


def _alias(source: str, record: dict[str, Any]) -> str | None:
    """A Siemens Point Name that is not the System Name: a second name, searchable."""
    system, name = record.get("system_name"), record.get("name")
    return name if source == "siemens" and system and name and name != system else None


def _repeated_warning(repeated: dict[Key, list[int]]) -> str:
    shown = "; ".join(
        f"{name} (lines {', '.join(map(str, at))})" for (name, _), at in list(repeated.items())[:10]
    )
    more = f"; … and {len(repeated) - 10} more" if len(repeated) > 10 else ""
    return (
        f"{len(repeated)} points named by more than one record, each the later record kept:"
        f" {shown}{more}"
    )


def _plain(value: Any) -> Any:
    """A value as JSON and psycopg take it: NaN → None, tuples → lists."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _store(
    conn: Conn, source: str, facts: dict[Key, dict[str, Any]], file_id: int, result: ExportResult
) -> tuple[list[int], set[int], Counter[int]]:
    """Write the facts; (the points whose facts are new or changed, those it created, and per
    earlier export the points this one lists again)."""
    keys = sorted(facts)
    created = conn.execute(
        """
        INSERT INTO points (source, name, scope, kind, states)
        SELECT %(source)s, t.name, t.scope, t.kind,
               ARRAY(SELECT jsonb_array_elements_text(t.states_json))
        FROM jsonb_to_recordset(%(rows)s::jsonb)
            AS t(name text, scope text, kind text, states_json jsonb)
        WHERE NOT EXISTS (SELECT FROM points p
                          WHERE p.source = %(source)s AND p.name = t.name AND p.scope = t.scope)
        ON CONFLICT (source, name, scope) DO NOTHING RETURNING id
        """,  # only the missing: an INSERT that conflicts still takes an id (ids stay dense)
        {
            "source": source,
            "rows": json.dumps(
                [
                    {
                        "name": name,
                        "scope": scope,
                        "kind": _kind(facts[name, scope]),
                        "states_json": facts[name, scope].get("defined_states") or [],
                    }
                    for name, scope in keys
                ]
            ),
        },
    ).fetchall()
    result.created = len(created)
    columns = list(FACTS)
    rows = conn.execute(
        f"SELECT id, p.name, p.scope, kind, states, {', '.join(columns)}, p.unit,"
        f" {HAS_READINGS}"
        " FROM points p JOIN unnest(%s::text[], %s::text[]) AS k(name, scope)"
        " ON p.name = k.name AND p.scope = k.scope"
        " WHERE p.source = %s ORDER BY p.name, p.scope FOR UPDATE OF p",
        ([k[0] for k in keys], [k[1] for k in keys], source),
    ).fetchall()
    new_ids = {r[0] for r in created}
    ids, updates, earlier = [], [], []
    for row in rows:
        pid, name, scope, kind, states = row[:5]
        old = dict(zip(columns, row[5 : 5 + len(columns)], strict=True))
        trend_unit, has_readings = row[-2:]
        new = facts[name, scope]
        ids.append(pid)
        before = recording_unit(old["defined_unit"], trend_unit)
        if before and changed(before, recording_unit(new.get("defined_unit"), trend_unit)):
            earlier.append((pid, before))
        differs = [c for c in columns if _norm(old[c]) != _norm(new.get(c))]
        if differs:
            updates.append((pid, new))
            if pid not in new_ids:
                result.updated += 1
                result_line = (
                    ", ".join(
                        f"{FACTS[c]} {_shown(old[c])} → {_shown(new.get(c))}"
                        for c in differs
                        if c != "extras"
                    )
                    or "other fields changed"
                )
                if len(result.changes) < SHOW_CHANGES:
                    result.changes.append(f"{name}: {result_line}")
        elif pid not in new_ids:
            result.unchanged += 1
        _kind_and_states(conn, pid, kind, list(states), has_readings, new)
    if updates:
        conn.execute(
            f"""
            UPDATE points p SET {", ".join(f"{c} = t.{c}" for c in columns)},
                defined_in = %s, updated_at = now()
            FROM (SELECT (x->>'id')::int AS id, x->>'alias' AS alias,
                         x->>'descriptor' AS descriptor,
                         x->>'point_type' AS point_type, x->>'representation' AS representation,
                         (x->>'decimals')::int AS decimals,
                         (x->>'cov_limit')::float8 AS cov_limit, x->>'text_table' AS text_table,
                         CASE WHEN x->'defined_states' = 'null' THEN NULL ELSE
                             ARRAY(SELECT jsonb_array_elements_text(x->'defined_states')) END
                             AS defined_states,
                         CASE WHEN x->'defined_values' = 'null' THEN NULL ELSE
                             ARRAY(SELECT jsonb_array_elements_text(x->'defined_values')::int)
                             END AS defined_values,
                         x->>'defined_unit' AS defined_unit, x->>'location' AS location,
                         x->>'control_program' AS control_program, x->>'alc_name' AS alc_name,
                         x->>'io_type' AS io_type, x->'extras' AS extras
                  FROM jsonb_array_elements(%s::jsonb) AS x) t
            WHERE p.id = t.id
            """,  # one JSON document: psycopg escapes a jsonb[] element by element (slow)
            (
                file_id,
                json.dumps(
                    [{"id": pid, **{c: new.get(c) for c in columns}} for pid, new in updates]
                ),
            ),
        )
    keep_earlier(conn, earlier, file_id)  # readings until now keep the unit they were recorded in
    relisted: Counter[int] = Counter()  # per earlier export, the points this one lists again
    if ids:  # what the export lists is defined by it, and current again if it was retired
        previous = conn.execute(
            """
            WITH old AS (SELECT id, defined_in, retired_at FROM points
                         WHERE id = ANY(%s) AND defined_in IS DISTINCT FROM %s)
            UPDATE points p SET defined_in = %s, retired_at = NULL, retired_by = NULL
            FROM old WHERE p.id = old.id RETURNING old.defined_in, old.retired_at IS NULL
            """,
            (ids, file_id, file_id),
        ).fetchall()
        relisted.update(defined_in for defined_in, current in previous if defined_in and current)
    # Resolution depends only on a point's own facts (and the site): unchanged points keep theirs.
    return sorted({pid for pid, _ in updates} | new_ids), new_ids, relisted


def _kind(facts: dict[str, Any]) -> str:
    return kind_of(facts.get("point_type"), bool(facts.get("defined_states")))


def _kind_and_states(
    conn: Conn, pid: int, kind: str, states: list[str], has_readings: bool, facts: dict[str, Any]
) -> None:
    """A point without readings takes its kind from its type; an enumeration's states are the
    text table's, in order, then the labels only trends brought (readings re-indexed). Readings
    a trend stored as the table's numbers (`1` for `1 - ON`) become its states."""
    table = list(facts.get("defined_states") or [])
    numbers = list(facts.get("defined_values") or [])
    want = _kind(facts) if not has_readings else kind
    where: list[float] | None = None  # stored value → new stored value, by position
    if has_readings and kind == "number" and _kind(facts) == "enum" and table:
        stored = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT value FROM readings WHERE point_id = %s LIMIT 1000", (pid,)
            )
        ]
        if stored and set(stored) <= set(map(float, numbers)):
            want, states = "enum", []
            at = {float(n): i for i, n in enumerate(numbers)}
            conn.execute(
                "UPDATE readings r SET value = m.new FROM unnest(%s::float8[], %s::float8[])"
                " AS m(old, new) WHERE r.point_id = %s AND r.value = m.old",
                (list(at), [float(i) for i in at.values()], pid),
            )
    merged = table + [s for s in states if s not in table] if want == "enum" and table else states
    if want == kind and merged == states:
        return
    conn.execute(
        "UPDATE points SET kind = %s, states = %s, updated_at = now() WHERE id = %s",
        (want, merged, pid),
    )
    if has_readings and kind == "enum" and merged != states:
        where = [float(merged.index(s)) for s in states]  # old index → new index
        conn.execute(
            "UPDATE readings SET value = (%s::float8[])[value::int + 1] WHERE point_id = %s",
            (where, pid),
        )
    if has_readings:  # values re-indexed or a kind changed: the point's rollups, recomputed
        recompute(conn, [pid])


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in (None, "", [])}
    return value


def _shown(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)
