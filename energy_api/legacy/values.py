"""The legacy reading routes: /values (streamed), /values/verify, rules and the vent-and-temp check.

`/values` has no row limit (the old API had none): each point's readings are read through a
server-side cursor and written out as they come (energy_api.values: a raw Plan, as v2's, read
point by point), so a year of a hundred points streams in constant memory; a worker streams at
most ENERGY_API_STREAMS answers at once. Its ends are inclusive, its order point name then time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import Blueprint, Response
from psycopg import sql

from energy_api.errors import ApiError, bad_param, error_response
from energy_api.legacy.request import (
    BOTH,
    epoch,
    ids,
    item_id,
    number,
    params,
    refused,
    search,
    text,
)
from energy_api.params import Params
from energy_api.sql.points import REF_COLUMNS, PointRef
from energy_api.sql.where import Conn
from energy_api.streams import streamed, take_slot
from energy_api.values.plan import Plan
from energy_api.values.query import matching_count_sql, matching_sql
from energy_api.web import connection, json_response, now, zone
from energy_ingest.catalog.search import Node, SearchError, parse
from energy_ingest.catalog.vocabulary import DEFAULT_ANOMALIES
from energy_ingest.query.search import TYPE_SQL, Predicate, where
from energy_ingest.query.tags import POINT_TAGS
from energy_ingest.rollups.calendar import local_midnight

bp = Blueprint("legacy_values", __name__)
BATCH = 5_000
MAX_POINTS = 10_000
TICK = timedelta(microseconds=1)
SITE_RULES = (
    "rules are defined in the site file's [[rules]] (ENERGY_SITE_FILE) and take effect with"
    " `energy-ingest catalog apply`; this API is read-only"
)


@dataclass(frozen=True)
class Selection:
    """The points whose readings are read, as a raw plan's (ordered by name), and per point how
    its stored value becomes the answer's `value` (the legacy types: Boolean, Integer, Float or
    a state label)."""

    points: tuple[PointRef, ...]
    converters: tuple[Callable[[float], Any], ...]

    def plan(self, start: datetime, end: datetime) -> Plan:
        """The raw plan of [start, end], both ends inclusive as the old API's were."""
        return Plan.raw(self.points, start, end + TICK, param="point_ids[]")


def _converter(type_id: int, states: list[str]) -> Callable[[float], Any]:
    if type_id == 1:
        return lambda v: v != 0
    if type_id == 2:
        return lambda v: int(v)
    if type_id == 3:
        return lambda v: v
    return lambda v: states[int(v)] if 0 <= v < len(states) else None


def _selected(conn: Conn, point_ids: list[int] | None, node: Node | None = None) -> Selection:
    """The points by id (400 naming unknown ones) or by search, ordered by name."""
    predicate = where(node, "points")
    query = sql.SQL(
        "SELECT {}, {} AS type_id FROM points p"
        " LEFT JOIN units pu ON pu.id = p.unit_id"
        " WHERE (%(point_ids)s::integer[] IS NULL OR p.id = ANY(%(point_ids)s::integer[])) AND {}"
        ' ORDER BY p.name COLLATE "C", p.id'
    ).format(sql.SQL(REF_COLUMNS), TYPE_SQL, predicate.sql)
    rows = conn.execute(query, {"point_ids": point_ids, **predicate.params}).fetchall()
    if point_ids is not None and len(rows) < len(point_ids):
        unknown = sorted(set(point_ids) - {r[0] for r in rows})
        raise bad_param(
            "point_ids[]",
            f"no point with id {', '.join(map(str, unknown[:20]))}"
            f"{', …' if len(unknown) > 20 else ''} ({len(unknown)} of the {len(point_ids)}"
            " asked for); ids are at /api/points",
        )
    return Selection(
        tuple(PointRef.of(r) for r in rows),
        tuple(_converter(r[8], r[4]) for r in rows),
    )


def _stream(
    conn: Conn, selection: Selection, plan: Plan, matches: Predicate, only_matching: bool
) -> Iterator[bytes]:
    """The JSON array, a batch at a time, from one server-side cursor per point."""
    yield b"["
    value_id = 0
    for one, convert in zip(plan.each(), selection.converters, strict=True):
        query, bound = matching_sql(one, matches, only_matching=only_matching)
        with conn.cursor(name="energy_legacy_values") as cursor:
            cursor.execute(query, bound)
            name = one.points[0].name
            while rows := cursor.fetchmany(BATCH):
                items = [
                    {
                        "value_id": value_id + n,
                        "point_name": name,
                        "timestamp": ts,
                        "value": convert(value),
                        "matches": matched,
                    }
                    for n, (ts, value, matched) in enumerate(rows, start=1)
                ]
                yield (b"," if value_id else b"") + orjson.dumps(items)[1:-1]
                value_id += len(rows)
    yield b"]"


Prepared = tuple[Selection, Predicate]  # the points, and the search their readings answer


def _streamed(
    prepare: Callable[[Conn], Prepared], start: datetime, end: datetime, only_matching: bool
) -> Response:
    """A streamed /values-shaped answer, in one of the worker's stream slots (energy_api.streams);
    `prepare` picks the points and the search on the connection, which goes back to the pool
    after the last byte (or when the client goes away)."""
    stack = ExitStack()
    try:
        take_slot(stack)
        conn = stack.enter_context(connection())
        selection, matches = prepare(conn)
        chunks = _stream(conn, selection, selection.plan(start, end), matches, only_matching)
        owned = stack.pop_all()
    finally:
        stack.close()
    return streamed(owned, chunks, "application/json")


def _range(p: Params) -> tuple[datetime, datetime]:
    start, end = epoch(p, "start_time"), epoch(p, "end_time")
    if end < start:
        raise bad_param("end_time", "end_time is before start_time")
    return start, end


def _point_ids(p: Params) -> list[int]:
    chosen = ids(p, "point_ids")
    if not chosen:
        raise bad_param("point_ids[]", "point_ids[] is required: one point_ids[]=N per point")
    if len(chosen) > MAX_POINTS:
        raise bad_param("point_ids[]", f"{len(chosen)} points; at most {MAX_POINTS} at once")
    return chosen


VALUES_PARAMS = ("point_ids[]", "point_ids", "start_time", "end_time", "search")


@bp.route("/values", methods=BOTH)
def values() -> Response:
    p = params(*VALUES_PARAMS)
    chosen, (start, end) = _point_ids(p), _range(p)
    node = search(p, "values")
    matches = where(node, "values")
    return _streamed(lambda conn: (_selected(conn, chosen), matches), start, end, False)


@bp.route("/values/verify", methods=BOTH)
def values_verify() -> Response:
    p = params(*VALUES_PARAMS)
    chosen, (start, end) = _point_ids(p), _range(p)
    node = search(p, "values", required=True)
    with connection() as conn:
        found = _count(conn, _selected(conn, chosen), start, end, node)
    return text(f"{found} values found")


def _count(
    conn: Conn, selection: Selection, start: datetime, end: datetime, node: Node | None
) -> int:
    query, bound = matching_count_sql(selection.plan(start, end), where(node, "values"))
    row = conn.execute(query, bound).fetchone()
    return int(row[0]) if row else 0


@bp.route("/values/add", methods=BOTH)
def values_add() -> Response:
    raise refused(
        410,
        "this API is read-only and takes no readings: reports go to the upload service"
        " (POST /upload/siemens or /upload/alc) or into the spool's incoming/ folder",
    )


# --- rules ---------------------------------------------------------------------------------------

RULES = "SELECT id, name, priority, url, point_search, value_search FROM rules WHERE in_site"
RULE_KEYS = ("rule_id", "rule_name", "priority", "url", "point_search", "value_search")


def _rules(conn: Conn, rule_id: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        RULES + " AND (%(id)s::int IS NULL OR id = %(id)s) ORDER BY priority, name",
        {"id": rule_id},
    ).fetchall()
    return [dict(zip(RULE_KEYS, row, strict=True)) for row in rows]


@bp.route("/rules", methods=BOTH)
def rules() -> Response:
    params()
    with connection() as conn:
        return json_response(_rules(conn))


@bp.route("/rule/<raw>", methods=BOTH)
def rule(raw: str) -> Response:
    params()
    rule_id = _rule_id(raw)
    with connection() as conn:
        return json_response(next(iter(_rules(conn, rule_id)), []))


def _rule_id(raw: str) -> int:
    return item_id(raw, "rule id")


@bp.route("/rule/add", methods=BOTH)
@bp.route("/rule/<raw>/rename", methods=BOTH)
@bp.route("/rule/<raw>/delete", methods=BOTH)
def rule_write(raw: str = "") -> Response:
    response = error_response(405, "read_only", SITE_RULES)
    response.headers["Allow"] = ""  # no method changes a rule here (RFC 9110: an empty Allow)
    return response


def _window(p: Params) -> tuple[datetime, datetime]:
    """start_time + end_time (inclusive), or since (to now), or yesterday in ENERGY_TIMEZONE."""
    if p.get("start_time") is not None or p.get("end_time") is not None:
        if p.get("since") is not None:
            raise bad_param("since", "give since or start_time and end_time, not both")
        return _range(p)
    if p.get("since") is not None:
        return epoch(p, "since"), now()
    local = zone()
    today = now().astimezone(local).date()
    return local_midnight(today - timedelta(days=1), local), local_midnight(today, local) - TICK


class _Rule:
    """A stored rule's searches, parsed; its points and whether any reading arrived since start."""

    def __init__(self, conn: Conn, raw: str, start: datetime) -> None:
        found = _rules(conn, _rule_id(raw))
        if not found:
            raise ApiError(404, "unknown_rule", f"no rule {raw}; the rules are at /api/rules")
        self.rule = found[0]
        try:
            points = parse(self.rule["point_search"], "points")
            self.values = parse(self.rule["value_search"], "values")
        except SearchError as exc:
            raise ApiError(
                500, "invalid_rule", f"rule {raw} in the site file: {exc}; fix it and apply"
            ) from None
        self.selection = _selected(conn, None, points)
        if not self.selection.points:
            raise ApiError(
                404, "no_readings", f"rule {raw}: its point_search selects no point; fix it"
            )
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM readings WHERE point_id = ANY(%s) AND ts >= %s)",
            ([p.id for p in self.selection.points], start),
        ).fetchone()
        if not (row and row[0]):
            raise ApiError(
                404,
                "no_readings",
                f"rule {raw}: none of its {len(self.selection.points)} points has a reading since"
                f" {start.isoformat()}; the pipeline may be stalled, so a count would be a false"
                " all-clear (see /api/v2/health)",
            )


@bp.route("/rule/<raw>/count", methods=BOTH)
def rule_count(raw: str) -> Response:
    p = params("since", "start_time", "end_time")
    start, end = _window(p)
    with connection() as conn:
        found = _Rule(conn, raw, start)
        count = _count(conn, found.selection, start, end, found.values)
    return text(str(count))


@bp.route("/rule/<raw>/matches", methods=BOTH)
def rule_matches(raw: str) -> Response:
    p = params("since", "start_time", "end_time")
    start, end = _window(p)

    def prepare(conn: Conn) -> Prepared:
        found = _Rule(conn, raw, start)
        return found.selection, where(found.values, "values")

    return _streamed(prepare, start, end, True)


# --- anomalies -----------------------------------------------------------------------------------

ANOMALIES = """
WITH tagged AS (
    SELECT p.id, p.name, p.room_id, u.canonical, {tags} AS tags
    FROM points p LEFT JOIN units u ON u.id = p.unit_id
    WHERE p.room_id IS NOT NULL AND p.kind = 'number'
),
temp AS (SELECT * FROM tagged WHERE tags @> %(temp_tags)s::text[]),
vent AS (SELECT * FROM tagged WHERE tags @> %(vent_tags)s::text[])
SELECT b.name || ' ' || r.name, t.name, v.name, tr.value, vr.value,
       floor(date_part('epoch', tr.ts))::bigint
FROM temp t JOIN vent v ON v.room_id = t.room_id AND v.id <> t.id
    JOIN rooms r ON r.id = t.room_id JOIN buildings b ON b.id = r.building_id
    JOIN readings tr ON tr.point_id = t.id AND tr.ts >= %(start)s AND tr.ts < %(end)s
    JOIN readings vr ON vr.point_id = v.id AND vr.ts = tr.ts
WHERE tr.value > CASE WHEN t.canonical = 'degree_Celsius' THEN (%(temp)s - 32) / 1.8
                      ELSE %(temp)s END
  AND vr.value < %(vent)s
ORDER BY 1, t.name COLLATE "C", v.name COLLATE "C", tr.ts
"""


@bp.route("/anomalies/vent-and-temp", methods=BOTH)
def vent_and_temp() -> Response:
    p = params("start_time", "end_time", "temp", "vent")
    start, end = epoch(p, "start_time"), epoch(p, "end_time")
    temp, vent = number(p, "temp", "degrees Fahrenheit"), number(p, "vent", "percent open")
    with connection() as conn:
        row = conn.execute("SELECT anomalies FROM catalog_site").fetchone()
        # what the applied site file says, else (no site file yet) its documented defaults
        tags = {**{k: list(v) for k, v in DEFAULT_ANOMALIES.items()}, **(row[0] if row else {})}
        rows = conn.execute(
            sql.SQL(ANOMALIES).format(tags=sql.SQL(POINT_TAGS)),
            {
                "temp_tags": tags["room_temperature"],
                "vent_tags": tags["damper"],
                "start": start,
                "end": end,
                "temp": temp,
                "vent": vent,
            },
        ).fetchall()
    rooms: dict[str, Any] = {}
    for room, temp_name, damper_name, t, v, ts in rows:
        # a room with several such points: its first pair (by names) with such an instant
        if room in rooms and (temp_name, damper_name) != (
            rooms[room]["temp_name"],
            rooms[room]["damper_name"],
        ):
            continue
        entry = rooms.setdefault(
            room,
            {
                "temp_name": temp_name,
                "damper_name": damper_name,
                "values": {"temp": [], "vent": [], "timestamp": []},
            },
        )
        entry["values"]["temp"].append(t)
        entry["values"]["vent"].append(v)
        entry["values"]["timestamp"].append(ts)
    return json_response(rooms)
