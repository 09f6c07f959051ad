"""The /api/v2 routes of points and the ledger: index, health, points, latest, files and the
OpenAPI document (values and the catalog have modules of their own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from flask import Blueprint, Response, request

from energy_api import errors, web
from energy_api.errors import ApiError
from energy_api.openapi.document import document
from energy_api.params import Params
from energy_api.sql import health as data_health
from energy_api.sql import ledger, replica
from energy_api.sql.points import (
    POINT_STATUSES,
    all_point_ids,
    get_point,
    list_points,
    points_with_latest,
)
from energy_api.sql.where import Conn
from energy_api.v2 import filters, selection
from energy_api.web import Conditional, json_response, request_key, require_json
from energy_ingest.store.migrate import pending

bp = Blueprint("v2", __name__)


# --- index and health --------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    Params(request, ())
    require_json()
    base = request.script_root + "/api/v2"
    routes = (
        *("health", "points", "values", "latest", "files", "ingest", "alerts", "series"),
        *("buildings", "floors", "rooms", "devices", "tags", "units", "coverage"),
        "openapi.json",
    )
    return json_response(
        {"api": "energy", "version": 2, "links": {r: f"{base}/{r}" for r in routes}}
    )


@bp.get("/health")
def health() -> Response:
    """`status` ok/degraded/down; `reason` why it is not ok (null when ok) and what to do;
    `database` the database's own state: ok, unreachable: …, schema missing, migrations pending: …;
    `alerts`, `series` and `evaluated_at` what the daemon's last data-health evaluation found."""
    Params(request, ())
    require_json()
    zone = web.zone()
    try:
        with web.connection(zone, timeout=3.0) as conn:
            info = ledger.health(conn)
            behind = [m.name for m in pending(conn)]
            found = _summary(conn, behind)
            standby = replica.replica(conn)
    except errors.DATABASE_DOWN as exc:
        return _down(*errors.database_down(exc))
    problems = []
    database = "ok"
    if behind:
        database = f"migrations pending: {', '.join(behind)}"
        problems.append(f"{database}; run `energy-ingest migrate`")
    if info["last_status"] == "failed":
        problems.append("the most recent file failed to ingest: see /api/v2/files?status=failed")
    found = found or NO_SUMMARY
    problems.extend(_health_problems(found, zone))
    lagging = replica.problem(standby, web.settings().api_max_lag_seconds)
    if lagging:
        problems.append(lagging)
    evaluated_at = found["evaluated_at"]
    body = {
        "status": "degraded" if problems else "ok",
        "reason": "; ".join(problems) if problems else None,
        "database": database,
        "last_ingest": info["last_ingest"],
        "readings": info["readings"],
        "alerts": found["alerts"],
        "series": found["series"],
        "evaluated_at": _iso(evaluated_at, zone) if evaluated_at else None,
        "replica": None,
    }
    if standby is not None:
        replayed = standby.replayed_at
        body["replica"] = {
            "lag_s": None if standby.lag_s is None else round(standby.lag_s, 3),
            "replayed_at": _iso(replayed, zone) if replayed else None,
            "streaming": standby.streaming,
        }
    response = json_response(body)
    response.cache_control.no_store = True
    return response


NO_SUMMARY: dict[str, Any] = {
    "alerts": None,
    "series": None,
    "evaluated_at": None,
    "loud": 0,
    "loud_summaries": [],
    "files": False,
    "period_s": None,
}


def _summary(conn: Conn, behind: list[str]) -> dict[str, Any] | None:
    """The data-health summary; None while the migrations that add its tables are pending (a
    savepoint keeps the rest of the answer)."""
    if not behind:
        return data_health.summary(conn)
    try:
        with conn.transaction():
            return data_health.summary(conn)
    except psycopg.errors.UndefinedTable:
        return None


def _health_problems(found: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """Firing high-priority alerts that nothing suppresses; an evaluation missing or older than
    three of its periods while there are files to evaluate (the daemon is down or stuck)."""
    problems = []
    loud = found["loud"]
    if loud:
        shown = ", ".join(found["loud_summaries"]) + (
            ", …" if loud > len(found["loud_summaries"]) else ""
        )
        plural = "s" if loud > 1 else ""
        problems.append(f"{loud} high-priority alert{plural} firing: {shown}; see /api/v2/alerts")
    evaluated_at = found["evaluated_at"]
    if found["files"]:
        # the daemon's period, as it last said (this process's setting until it has)
        late = timedelta(seconds=3 * (found["period_s"] or web.settings().health_seconds))
        advice = "is the ingest daemon running? (journalctl -u energy-ingest)"
        if evaluated_at is None:
            problems.append(f"data health has never been evaluated: {advice}")
        elif web.now() - evaluated_at > late:
            problems.append(
                f"data health was last evaluated at {_iso(evaluated_at, zone)}: {advice}"
            )
    return problems


def _iso(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def _down(database: str, reason: str) -> Response:
    body = {
        "status": "down",
        "reason": reason,
        "database": database,
        "last_ingest": None,
        "readings": None,
        "alerts": None,
        "series": None,
        "evaluated_at": None,
        "replica": None,
    }
    response = json_response(body, 503)
    response.cache_control.no_store = True
    return response


# --- points ------------------------------------------------------------------------------------


POINTS_PARAMS = (
    *("q", "name", "source", "kind", "building", "floor", "room", "device", "tag", "unit"),
    *("building_id", "room_id", "device_id", "unit_id"),
    *("quantity", "status", "resolved", "retired", "limit", "offset", "include", "tz"),
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
    filters.check_ids(params, "building", "room", "device", "unit")
    params.choice("status", POINT_STATUSES)
    filters.flag(params, "resolved")
    filters.flag(params, "retired")
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
        found = selection.resolve(conn, [ref], param="ref")
        if include == "latest":
            data = points_with_latest(conn, [found[0].id])[0]
        else:
            data = get_point(conn, found[0].id) or {}
    return cond.apply(json_response({"data": data}))


# --- latest and files --------------------------------------------------------------------------


@bp.route("/latest", methods=["GET", "POST"])
def latest() -> Response:
    params = Params(request, ("points", "tz"))
    require_json()
    zone = web.zone(params)
    tokens = selection.tokens(params)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        ids = [p.id for p in selection.resolve(conn, tokens)] if tokens else all_point_ids(conn)
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
