"""The data-health routes of /api/v2: alerts and report series, as the daemon's last evaluation
left them (energy_api.sql.health), what the ingest daemons are doing now (energy_api.sql.activity)
and a point's gaps; /health's summary is in energy_api.v2.routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from energy_api import web
from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql import activity, gaps, health
from energy_api.sql.where import Conn
from energy_api.timeparse import TimeError, iso, resolve
from energy_api.v2 import selection
from energy_api.web import Conditional, json_response, request_key, require_json

bp = Blueprint("health", __name__)


@bp.get("/alerts")
def alerts() -> Response:
    params = Params(request, ("status", "kind", "priority", "limit", "offset", "tz"))
    require_json()
    zone = web.zone(params)
    status = params.choice("status", health.ALERT_STATUSES, "open") or "open"
    kind = params.choice("kind", health.ALERT_KINDS)
    priority = params.choice("priority", health.PRIORITIES)
    limit = params.int("limit", 100, 1, 1000)
    offset = params.int("offset", 0, 0, 2**31 - 1)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key(), evaluations=True)
        if cond.fresh():
            return cond.not_modified()
        total, counts, data = health.list_alerts(
            conn, status=status, kind=kind, priority=priority, limit=limit, offset=offset
        )
    meta = {
        "count": len(data),
        "total": total,
        "limit": limit,
        "offset": offset,
        "tz": zone.key,
        "counts": counts,
    }
    return cond.apply(json_response({"meta": meta, "data": data}))


@bp.get("/alerts/<id>")
def alert(id: str) -> Response:
    return _one(
        id, health.get_alert, "unknown_alert", "no alert {!r}; see /api/v2/alerts?status=all"
    )


@bp.get("/series")
def series() -> Response:
    params = Params(request, ("status", "source", "tz"))
    require_json()
    zone = web.zone(params)
    status = params.choice("status", health.SERIES_STATUSES)
    source = params.choice("source", ["siemens", "alc"])
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key(), evaluations=True)
        if cond.fresh():
            return cond.not_modified()
        data = health.list_series(conn, status=status, source=source)
    return cond.apply(json_response({"meta": {"count": len(data), "tz": zone.key}, "data": data}))


@bp.get("/series/<id>")
def one_series(id: str) -> Response:
    return _one(id, health.get_series, "unknown_series", "no series {!r}; see /api/v2/series")


@bp.get("/ingest")
def ingest() -> Response:
    """The backlog, the files loading now and how far they got: it changes every second while a
    file loads, so it is never cached (like /health)."""
    params = Params(request, ("tz",))
    require_json()
    zone = web.zone(params)
    with web.connection(zone) as conn:
        body = activity.ingest(conn)
    response = json_response({**body, "tz": zone.key})
    response.cache_control.no_store = True
    return response


def _one(
    id: str, get: Callable[[Conn, int], dict[str, Any] | None], code: str, missing: str
) -> Response:
    """One alert or series by its id: 404 `code` with `missing` (formatted with the id) if none."""
    params = Params(request, ("tz",))
    require_json()
    zone = web.zone(params)
    number = _id(id)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key(), evaluations=True)
        if cond.fresh():
            return cond.not_modified()
        found = get(conn, number) if number is not None else None
    if found is None:
        raise ApiError(404, code, missing.format(id), "id")
    return cond.apply(json_response({"data": found}))


def _id(text: str) -> int | None:
    """A path's id as a number (None: it names nothing, a 404 after the query as for any id)."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


@bp.get("/points/<path:ref>/gaps")
def point_gaps(ref: str) -> Response:
    """Spans of [start, end) over 1.5 × the point's interval without a reading (a point named
    '…/gaps' is still reachable by its id)."""
    params = Params(request, ("start", "end", "tz", "limit"))
    require_json()
    zone = web.zone(params)
    limit = params.int("limit", 1000, 1, 10_000)
    if "\x00" in ref:
        raise ApiError(404, "unknown_point", "no such point: a name never contains NUL", "ref")
    try:
        span = resolve(params.get("start"), params.get("end"), None, zone, web.now())
    except TimeError as exc:
        raise bad_param(exc.param or "start", str(exc)) from None
    with web.connection(zone) as conn:
        cond = Conditional(
            conn,
            f"{request_key()}|{span.start.isoformat()}|{span.end.isoformat()}",
            stable=not span.relative,
        )
        if cond.fresh():
            return cond.not_modified()
        point = selection.resolve(conn, [ref], param="ref")[0]
        interval_s = gaps.interval_of(conn, point.id)
        if interval_s is None or interval_s <= 0:
            raise bad_param(
                "ref",
                f"point {point.name!r} has no known interval between readings yet: the ingest"
                " daemon learns it from the point's readings when it evaluates data health"
                " (points trended on change of value have none); see /api/v2/health",
                "interval_unknown",
            )
        data, truncated = gaps.gaps(conn, point.id, interval_s, span.start, span.end, limit)
    meta = {
        "count": len(data),
        "truncated": truncated,
        "interval_s": interval_s,
        "start": iso(span.start, zone),
        "end": iso(span.end, zone),
        "tz": zone.key,
    }
    return cond.apply(json_response({"meta": meta, "data": data}))
