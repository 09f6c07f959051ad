"""The /api/v2 blueprint: health, points, values, latest, files and the OpenAPI document (the
catalog routes, in energy_api.catalog, are added to it)."""

from __future__ import annotations

from contextlib import ExitStack

from flask import Blueprint, Response, request

from energy_api import errors, web
from energy_api.errors import ApiError, bad_param
from energy_api.openapi.document import document
from energy_api.params import Params
from energy_api.sql import ledger
from energy_api.sql.points import (
    Conn,
    PointRef,
    all_point_ids,
    find_points,
    get_point,
    list_points,
    points_with_latest,
)
from energy_api.streams import streamed, take_slot
from energy_api.timeparse import TimeError, iso, resolve
from energy_api.v2 import filters
from energy_api.values import rollups
from energy_api.values.plan import (
    INTERVALS,
    LAYOUTS,
    Cursor,
    Plan,
    parse_aggs,
    run_json,
    stream_csv,
)
from energy_api.web import JSON, Conditional, json_response, request_key, require_json
from energy_ingest.store.migrate import pending

bp = Blueprint("v2", __name__)
MAX_POINTS = 1000
CSV = "text/csv"


# --- index and health --------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    Params(request, ())
    require_json()
    base = request.script_root + "/api/v2"
    routes = (
        *("health", "points", "values", "latest", "files"),
        *("buildings", "floors", "rooms", "devices", "tags", "units", "openapi.json"),
    )
    return json_response(
        {"api": "energy", "version": 2, "links": {r: f"{base}/{r}" for r in routes}}
    )


@bp.get("/health")
def health() -> Response:
    """`status` ok/degraded/down; `reason` why it is not ok (null when ok) and what to do;
    `database` the database's own state: ok, unreachable: …, schema missing, migrations pending: …"""
    Params(request, ())
    require_json()
    try:
        with web.connection(web.zone(), timeout=3.0) as conn:
            info = ledger.health(conn)
            behind = [m.name for m in pending(conn)]
    except errors.DATABASE_DOWN as exc:
        return _down(*errors.database_down(exc))
    problems = []
    database = "ok"
    if behind:
        database = f"migrations pending: {', '.join(behind)}"
        problems.append(f"{database}; run `energy-ingest migrate`")
    if info["last_status"] == "failed":
        problems.append("the most recent file failed to ingest: see /api/v2/files?status=failed")
    body = {
        "status": "degraded" if problems else "ok",
        "reason": "; ".join(problems) if problems else None,
        "database": database,
        "last_ingest": info["last_ingest"],
        "readings": info["readings"],
    }
    response = json_response(body)
    response.cache_control.no_store = True
    return response


def _down(database: str, reason: str) -> Response:
    body = {
        "status": "down",
        "reason": reason,
        "database": database,
        "last_ingest": None,
        "readings": None,
    }
    response = json_response(body, 503)
    response.cache_control.no_store = True
    return response


# --- points ------------------------------------------------------------------------------------


POINTS_PARAMS = (
    *("q", "name", "source", "kind", "building", "floor", "room", "device", "tag", "unit"),
    *("quantity", "limit", "offset", "include", "tz"),
)


@bp.get("/points")
def points() -> Response:
    params = Params(request, POINTS_PARAMS)
    require_json()
    zone = web.zone(params)
    limit = params.int("limit", 500, 1, 10_000)
    offset = params.int("offset", 0, 0, 2**31 - 1)
    include = params.choice("include", ["latest"])
    kind = params.choice("kind", ["number", "enum"])
    filters.floor(params)  # refused before any query, like every other malformed value
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        total, data = list_points(
            conn,
            filters.point_filter(conn, params, kind),
            limit=limit,
            offset=offset,
            include_latest=include == "latest",
        )
    meta = {"count": len(data), "total": total, "limit": limit, "offset": offset, "tz": zone.key}
    return cond.apply(json_response({"meta": meta, "data": data}))


@bp.get("/points/<path:ref>")
def point(ref: str) -> Response:
    params = Params(request, ("include", "tz"))
    require_json()
    zone = web.zone(params)
    include = params.choice("include", ["latest"])
    if "\x00" in ref:
        raise ApiError(404, "unknown_point", "no such point: a name never contains NUL", "ref")
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        found = _resolve(conn, [ref], param="ref")
        if include == "latest":
            data = points_with_latest(conn, [found[0].id])[0]
        else:
            data = get_point(conn, found[0].id) or {}
    return cond.apply(json_response({"data": data}))


def _tokens(params: Params) -> list[str]:
    tokens: list[str] = []
    for value in params.all("points"):
        tokens += [t.strip() for t in value.split(",") if t.strip()]
    unique = list(dict.fromkeys(tokens))
    if len(unique) > MAX_POINTS:
        raise ApiError(
            400,
            "too_many_points",
            f"{len(unique)} points asked for; at most {MAX_POINTS} per request — split the list",
            "points",
        )
    return unique


def _is_id(token: str) -> bool:
    return token.isascii() and token.isdigit() and len(token) < 10


def _resolve(conn: Conn, tokens: list[str], param: str = "points") -> list[PointRef]:
    """Ids or exact names → points, in the order asked; 404 naming the unknown ones."""
    ids = [int(t) for t in tokens if _is_id(t)]
    found = find_points(conn, ids, [t for t in tokens if not _is_id(t)])
    known = {p.id for p in found}
    numeric_names = [t for t in tokens if _is_id(t) and int(t) not in known]
    if numeric_names:  # a name made of digits only: rare, so looked up only when needed
        found += find_points(conn, [], numeric_names)
    by_id = {p.id: p for p in found}
    by_name: dict[str, list[PointRef]] = {}
    for p in found:
        by_name.setdefault(p.name, []).append(p)
    result, unknown = [], []
    for token in tokens:
        if _is_id(token) and int(token) in by_id:
            result.append(by_id[int(token)])
        elif token in by_name:
            matches = by_name[token]
            if len(matches) > 1:
                raise bad_param(
                    param,
                    f"point name {token!r} exists in several sources"
                    f" ({', '.join(p.source for p in matches)}); use its id"
                    f" ({', '.join(str(p.id) for p in matches)})",
                    "ambiguous_point",
                )
            result.append(matches[0])
        else:
            unknown.append(token)
    if unknown:
        raise ApiError(
            404,
            "unknown_point",
            f"no such point: {', '.join(unknown)}; list points with /api/v2/points?q=...",
            param,
        )
    return list({p.id: p for p in result}.values())


# --- values ------------------------------------------------------------------------------------

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
    tokens = _tokens(params)
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
        selected = _resolve(conn, tokens)
        number_aggs, enum_aggs = parse_aggs(params.get("agg"), {p.kind for p in selected})
        plan = Plan(
            selected, span.start, span.end, zone.key, interval, number_aggs, enum_aggs, layout
        )
        plan.resolve_fractions()
        if cursor is not None:
            if cursor.digest != plan.digest():
                raise bad_param(
                    "cursor", "this cursor belongs to a different query; repeat its parameters"
                )
            plan.start, plan.end = cursor.start, cursor.end
            plan.cursor = cursor
        plan.route = rollups.choose(conn, plan.start, plan.end, zone.key, interval)
        cond = Conditional(
            conn,
            f"{request_key()}|{plan.start.isoformat()}|{plan.end.isoformat()}",
            stable=not span.relative or cursor is not None,
        )
        if cond.fresh():
            return cond.not_modified()
        if fmt == "csv":
            return _sourced(cond.apply(_csv_response(stack, conn, plan)), plan)
        plan.limit = web.settings().api_max_rows
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
    return _sourced(cond.apply(json_response({"meta": meta, **body})), plan)


def _sourced(response: Response, plan: Plan) -> Response:
    """Which table answered the whole buckets: readings or a rollup table (energy_api.rollups)."""
    response.headers["X-Energy-Source"] = plan.route.table
    return response


def _csv_response(stack: ExitStack, conn: Conn, plan: Plan) -> Response:
    """Stream from a server-side cursor; the connection (and the stream slot the caller took)
    goes back when done."""
    query, sql_params = plan.sql(paged=False, csv_lines=plan.layout == "long")
    cursor = stack.enter_context(conn.cursor(name="energy_values_csv"))
    cursor.itersize = 10_000
    cursor.execute(query, sql_params)
    owned = stack.pop_all()  # the response closes them, after the last byte
    response = streamed(owned, stream_csv(cursor, plan), CSV)
    response.headers["Content-Disposition"] = 'attachment; filename="values.csv"'
    return response


# --- latest and files --------------------------------------------------------------------------


@bp.route("/latest", methods=["GET", "POST"])
def latest() -> Response:
    params = Params(request, ("points", "tz"))
    require_json()
    zone = web.zone(params)
    tokens = _tokens(params)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        ids = [p.id for p in _resolve(conn, tokens)] if tokens else all_point_ids(conn)
        data = points_with_latest(conn, ids)
    return cond.apply(json_response({"meta": {"count": len(data), "tz": zone.key}, "data": data}))


@bp.get("/files")
def files() -> Response:
    params = Params(request, ("status", "source", "limit", "offset", "tz"))
    require_json()
    zone = web.zone(params)
    status = params.choice("status", ["ingested", "failed"])
    source = params.choice("source", ["siemens", "alc"])
    limit = params.int("limit", 50, 1, 1000)
    offset = params.int("offset", 0, 0, 2**31 - 1)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        total, counts, data = ledger.list_files(
            conn, status=status, source=source, limit=limit, offset=offset
        )
    meta = {
        "count": len(data),
        "total": total,
        "limit": limit,
        "offset": offset,
        "counts": counts,
        "tz": zone.key,
    }
    return cond.apply(json_response({"meta": meta, "data": data}))


@bp.get("/openapi.json")
def openapi_json() -> Response:
    Params(request, ())
    require_json()
    return json_response(document())
