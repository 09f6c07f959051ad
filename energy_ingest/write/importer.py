"""A point export into the catalog, in one transaction with its ledger row: what the building
automation system says about each point, every change against what was stored named, and the
points re-resolved.

A point is identified as trend reports name it: a Siemens record by its Point System Name, an
ALC Points List row by `Control Program / Name`. A point the export defines but no trend has
named yet is created, with a kind from its type. An enumeration's states become its text table's,
in order, followed by any other labels trends brought (the readings are re-indexed to match), so
exports and trends in either order give the same catalog.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg

from energy_ingest.catalog.export import PointExport
from energy_ingest.errors import SourceChanged
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.ledger import FileInfo, claim_ledger_row, complete_ledger_row
from energy_ingest.write.lock import lock_writers
from energy_ingest.write.resolution import SHOW_CHANGES, resolve_points
from energy_ingest.write.rollup_buckets import maintained

Conn = psycopg.Connection[Any]

# The facts an export gives, as points columns; the label a change line calls each by.
FACTS = {
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
# BAS point types whose values are states, and those whose values are numbers.
ENUM_TYPES = {
    "LDI", "LDO", "LENUM", "L2SL", "L2SP", "LFSSL", "LFSSP", "LOOAL", "LOOAP", "LOOED",
    "BBV", "BBI", "BBO", "BV", "BI", "BO", "BMSV", "BMSI", "BMSO", "MSV", "MSI", "MSO",
}  # fmt: skip
NUMBER_TYPES = {"LAI", "LAO", "LPACI", "BAV", "BAI", "BAO", "AV", "AI", "AO", "BSPTCS"}


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
        result = ExportResult(status="ingested", file_id=file_id, repeated=repeated)
        result.points = len(facts)
        touched, created = _store(conn, export.source, facts, file_id, result)
        changes = resolve_points(conn, (site or AppliedSite()).current(conn), touched, new=created)
        result.resolved_changes = changes.count
        result.changes += changes.lines[: max(0, SHOW_CHANGES - len(result.changes))]
        result.changed_examples = result.changes[:3]
        result.seconds = time.monotonic() - started
        warnings = list(export.warnings)
        if repeated:
            warnings.append(f"{repeated} records named a point again; the later record was kept")
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
        )
        if not still_same():
            raise SourceChanged(f"{info.name} changed while it was being loaded")
    return result


def _facts(export: PointExport) -> tuple[dict[str, dict[str, Any]], int]:
    """Each point's facts by name, in file order (a later record of the same point wins)."""
    columns, extra_columns = (
        (SIEMENS_COLUMNS, SIEMENS_EXTRAS)
        if export.source == "siemens"
        else (ALC_COLUMNS, ALC_EXTRAS)
    )
    out: dict[str, dict[str, Any]] = {}
    repeated = 0
    for record in cast(list[dict[str, Any]], export.records.to_dict("records")):
        name = _name(export.source, record)
        if not name:
            continue
        facts = {column: _plain(record.get(field)) for column, field in columns.items()}
        extras = {k: _plain(record.get(k)) for k in extra_columns}
        extras |= {str(k): _plain(v) for k, v in (record.get("extras") or {}).items()}
        facts["extras"] = {k: v for k, v in extras.items() if v not in (None, "", [])}
        if not facts.get("defined_states"):
            facts["defined_states"] = facts["defined_values"] = None
        if name in out:
            repeated += 1
            del out[name]
        out[name] = facts
    return out, repeated


def _name(source: str, record: dict[str, Any]) -> str | None:
    if source == "siemens":
        return record.get("system_name") or record.get("name")
    program, name = record.get("control_program"), record.get("name")
    return f"{program} / {name}" if program and name else None


def _plain(value: Any) -> Any:
    """A value as JSON and psycopg take it: NaN → None, tuples → lists."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _store(
    conn: Conn, source: str, facts: dict[str, dict[str, Any]], file_id: int, result: ExportResult
) -> tuple[list[int], set[int]]:
    """Write the facts; (the points whose facts are new or changed, those it created)."""
    names = sorted(facts)
    created = conn.execute(
        """
        INSERT INTO points (source, name, kind, states)
        SELECT %s, t.name, t.kind, coalesce(t.states, '{}')
        FROM jsonb_to_recordset(%s::jsonb) AS t0(name text, kind text, states_json jsonb),
             LATERAL (SELECT t0.name, t0.kind,
                      ARRAY(SELECT jsonb_array_elements_text(t0.states_json)) AS states) t
        ON CONFLICT (source, name) DO NOTHING RETURNING id
        """,
        (
            source,
            json.dumps(
                [
                    {
                        "name": n,
                        "kind": _kind(facts[n]),
                        "states_json": facts[n].get("defined_states") or [],
                    }
                    for n in names
                ]
            ),
        ),
    ).fetchall()
    result.created = len(created)
    columns = list(FACTS)
    rows = conn.execute(
        f"SELECT id, name, kind, states, {', '.join(columns)},"
        " EXISTS (SELECT 1 FROM readings r WHERE r.point_id = p.id)"
        " FROM points p WHERE source = %s AND name = ANY(%s) ORDER BY name FOR UPDATE",
        (source, names),
    ).fetchall()
    new_ids = {r[0] for r in created}
    ids, updates = [], []
    for row in rows:
        pid, name, kind, states = row[:4]
        old = dict(zip(columns, row[4 : 4 + len(columns)], strict=True))
        has_readings = row[-1]
        new = facts[name]
        ids.append(pid)
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
            FROM (SELECT (x->>'id')::int AS id, x->>'descriptor' AS descriptor,
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
    if ids:
        conn.execute(
            "UPDATE points SET defined_in = %s WHERE id = ANY(%s) AND defined_in IS DISTINCT FROM %s",
            (file_id, ids, file_id),
        )
    # Resolution depends only on a point's own facts (and the site): unchanged points keep theirs.
    return sorted({pid for pid, _ in updates} | new_ids), new_ids


def _kind(facts: dict[str, Any]) -> str:
    kind = (facts.get("point_type") or "").upper().strip()
    if kind in ENUM_TYPES or (kind not in NUMBER_TYPES and facts.get("defined_states")):
        return "enum"
    return "number"


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
        conn.execute("SELECT energy_rollups_refresh(%s, NULL)", ([pid],))


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
