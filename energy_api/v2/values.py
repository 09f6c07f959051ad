"""GET/POST /api/v2/values: readings of the points asked for, raw or in buckets, as JSON (capped,
with a cursor) or streamed CSV."""

from __future__ import annotations

from contextlib import ExitStack

from flask import Blueprint, Response, request

from energy_api import web
from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql.where import Conn
from energy_api.streams import streamed, take_slot
from energy_api.timeparse import TimeError, iso, resolve
from energy_api.v2 import selection
from energy_api.values import rollups
from energy_api.values.plan import COVERAGE, LAYOUTS, Cursor, Plan, parse_aggs
from energy_api.values.query import INTERVALS, plan_sql
from energy_api.values.recorded import header
from energy_api.values.rows import run_json, stream_csv
from energy_api.web import JSON, Conditional, json_response, request_key
from energy_ingest.store.rollup_state import read_state

bp = Blueprint("values", __name__)
CSV = "text/csv"

VALUES_PARAMS = (
    "points",
    "start",
    "end",
    "range",
    "tz",
    "interval",
    "agg",
    "format",
    "layout",
    "cursor",
)


def _format(params: Params) -> str:
    explicit = params.choice("format", ["json", "csv"])
    if explicit is not None:
        return explicit
    if "Accept" not in request.headers:
        return "json"
    best = request.accept_mimetypes.best_match([JSON, CSV])
    if best is None:
        raise ApiError(406, "not_acceptable", "values are served as application/json or text/csv")
    return "csv" if best == CSV else "json"


@bp.route("/values", methods=["GET", "POST"])
def values() -> Response:
    params = Params(request, VALUES_PARAMS)
    zone = web.zone(params)
    fmt = _format(params)
    interval = params.choice("interval", INTERVALS, "raw") or "raw"
    layout = params.choice("layout", LAYOUTS, "series" if fmt == "json" else "wide") or "series"
    if fmt == "csv" and layout == "series":
        raise bad_param("layout", "layout=series is JSON only; CSV comes as long or wide")
    tokens = selection.tokens(params)
    if not tokens:
        raise bad_param("points", "points is required: comma-separated ids or exact names")
    token = params.get("cursor")
    cursor = Cursor.decode(token) if token else None
    try:
        span = resolve(params.get("start"), params.get("end"), params.get("range"), zone, web.now())
    except TimeError as exc:
        raise bad_param(exc.param or "range", str(exc)) from None
    stack = ExitStack()
    try:
        if fmt == "csv":
            take_slot(stack)
        conn = stack.enter_context(web.connection(zone))
        selected = selection.resolve(conn, tokens)
        aggs = parse_aggs(params.get("agg"), {p.kind for p in selected})
        if interval == "raw" and any(a.name == COVERAGE for a in aggs[0]):
            raise bad_param(
                "agg",
                "coverage is the share of each bucket's expected readings: give an interval"
                f" ({', '.join(i for i in INTERVALS if i != 'raw')}), not raw",
            )
        start, end = (cursor.start, cursor.end) if cursor else (span.start, span.end)
        state = read_state(conn)
        route = rollups.choose(state, start, end, zone, interval)
        start, end, note = rollups.before_raw(state, start, end, zone, interval, route)
        raw_since = iso(state.raw_since, zone) if note and state and state.raw_since else None
        plan = Plan.build(
            selected,
            start,
            end,
            zone,
            interval,
            aggs,
            layout,
            cursor=cursor,
            route=route,
        )
        if fmt == "json":
            plan = plan.paged(web.settings().api_max_rows, web.settings().api_max_bytes)
        if cursor is not None and cursor.digest != plan.digest():
            raise bad_param(
                "cursor", "this cursor belongs to a different query; repeat its parameters"
            )
        cond = Conditional(
            conn,
            f"{request_key()}|{plan.start.isoformat()}|{plan.end.isoformat()}",
            stable=not span.relative or cursor is not None,
        )
        if cond.fresh():
            return cond.not_modified()
        if fmt == "csv":
            return _sourced(cond.apply(_csv_response(stack, conn, plan)), plan, raw_since)
        body, next_token = run_json(conn, plan)
    finally:
        stack.close()
    agg = None if interval == "raw" else [str(a) for a in plan.aggs]
    meta = {
        "start": iso(plan.start, zone),
        "end": iso(plan.end, zone),
        "tz": zone.key,
        "interval": interval,
        "agg": agg,
        "layout": layout,
        "rows": body.pop("rows"),
        "next": next_token,
        "source": plan.route.table,
    }
    if plan.recorded:
        meta["unit_changes"] = [r.as_dict(zone) for r in plan.recorded]
    if raw_since is not None:  # the range reaches before the raw readings kept (retention)
        meta["raw_since"], meta["note"] = raw_since, note
    return _sourced(cond.apply(json_response({"meta": meta, **body})), plan, raw_since)


def _sourced(response: Response, plan: Plan, raw_since: str | None) -> Response:
    """Which table answered the whole buckets: readings or a rollup table (energy_api.values.rollups);
    as meta.unit_changes, the units readings were recorded in when any changed in the range; and
    as meta.raw_since, where raw readings begin, when the range reaches before (retention)."""
    response.headers["X-Energy-Source"] = plan.route.table
    if plan.recorded:
        response.headers["X-Energy-Unit-Changes"] = header(plan.recorded, plan.zone)
    if raw_since is not None:
        response.headers["X-Energy-Raw-Since"] = raw_since
    return response


def _csv_response(stack: ExitStack, conn: Conn, plan: Plan) -> Response:
    """Stream from a server-side cursor; the connection (and the stream slot the caller took)
    goes back when done."""
    query, sql_params = plan_sql(plan, paged=False, csv_lines=plan.layout == "long")
    cursor = stack.enter_context(conn.cursor(name="energy_values_csv"))
    cursor.itersize = 10_000
    cursor.execute(query, sql_params)
    owned = stack.pop_all()  # the response closes them, after the last byte
    response = streamed(owned, stream_csv(cursor, plan), CSV)
    response.headers["Content-Disposition"] = 'attachment; filename="values.csv"'
    return response
