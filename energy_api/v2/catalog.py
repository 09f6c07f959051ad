"""The catalog routes of /api/v2: buildings, floors, rooms, devices, tags and units, with counts;
and coverage, how much of the catalog is resolved.

Served under /api/v2 beside energy_api.v2 (same errors, paging, ETags and read-only sessions as
/points).
Every list answers {meta: {count, total, limit, offset}, data: [...]}.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request

from energy_api import web
from energy_api.params import Params
from energy_api.sql import catalog
from energy_api.sql.catalog import ItemFilter, Page
from energy_api.sql.where import Conn
from energy_api.v2 import filters
from energy_api.web import Conditional, json_response, request_key, require_json
from energy_ingest.query import coverage as catalog_coverage

bp = Blueprint("catalog", __name__)
PAGING = ("limit", "offset")
Lister = Callable[[Conn, int, int], Page]


def _list(params: Params, lister: Lister) -> Response:
    require_json()
    limit = params.int("limit", 500, 1, 10_000)
    offset = params.int("offset", 0, 0, 2**31 - 1)
    with web.connection() as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        total, data = lister(conn, limit, offset)
    meta = {"count": len(data), "total": total, "limit": limit, "offset": offset}
    return cond.apply(json_response({"meta": meta, "data": data}))


def _include_empty(params: Params) -> bool:
    return params.choice("include", ["empty"]) == "empty"


@bp.get("/buildings")
def buildings() -> Response:
    params = Params(request, ("q", "tag", "include", *PAGING))
    include_empty = _include_empty(params)

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        return catalog.list_buildings(
            conn,
            q=params.get("q"),
            tags=filters.tag_names(conn, params.all("tag")),
            include_empty=include_empty,
            limit=limit,
            offset=offset,
        )

    return _list(params, lister)


@bp.get("/floors")
def floors() -> Response:
    params = Params(request, ("building", "building_id", *PAGING))
    filters.check_ids(params, "building")

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        return catalog.list_floors(
            conn, buildings=filters.building_ids(conn, params), limit=limit, offset=offset
        )

    return _list(params, lister)


@bp.get("/rooms")
def rooms() -> Response:
    params = Params(request, ("building", "building_id", "floor", "tag", "q", "include", *PAGING))
    include_empty = _include_empty(params)
    floor = filters.floor(params)
    filters.check_ids(params, "building")

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        buildings = filters.building_ids(conn, params)
        tags = filters.tag_names(conn, params.all("tag"))
        items = ItemFilter(buildings, floor, tags, params.get("q"), include_empty)
        return catalog.list_rooms(conn, items, limit, offset)

    return _list(params, lister)


@bp.get("/devices")
def devices() -> Response:
    names = ("building", "building_id", "room", "room_id", "floor", "type", "tag", "q")
    params = Params(request, (*names, "include", *PAGING))
    include_empty = _include_empty(params)
    floor = filters.floor(params)
    filters.check_ids(params, "building", "room")

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        buildings = filters.building_ids(conn, params)
        rooms = filters.named_ids(conn, params, "room", "rooms", buildings)
        tags = filters.tag_names(conn, params.all("tag"))
        items = ItemFilter(buildings, floor, tags, params.get("q"), include_empty)
        return catalog.list_devices(conn, items, rooms, params.get("type"), limit, offset)

    return _list(params, lister)


@bp.get("/tags")
def tags() -> Response:
    params = Params(request, ("q", "include", *PAGING))
    include_empty = _include_empty(params)

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        return catalog.list_tags(
            conn, q=params.get("q"), include_empty=include_empty, limit=limit, offset=offset
        )

    return _list(params, lister)


@bp.get("/units")
def units() -> Response:
    params = Params(request, ("quantity", "resolved", "include", *PAGING))
    include_empty = _include_empty(params)
    resolved = params.choice("resolved", ["true", "false"])

    def lister(conn: Conn, limit: int, offset: int) -> Page:
        return catalog.list_units(
            conn,
            quantity=filters.quantity(conn, params),
            resolved=None if resolved is None else resolved == "true",
            include_empty=include_empty,
            limit=limit,
            offset=offset,
        )

    return _list(params, lister)


@bp.get("/coverage")
def coverage() -> Response:
    """What `energy-ingest catalog coverage` reports (but its site rules), as counts: the triage
    queue after a new export (energy_ingest/query/coverage.py)."""
    params = Params(request, ("top", "tz"))
    require_json()
    zone = web.zone(params)  # of the site file's applied_at
    top = params.int("top", 10, 1, 1000)
    with web.connection(zone) as conn:
        cond = Conditional(conn, request_key())
        if cond.fresh():
            return cond.not_modified()
        body = catalog_coverage.report(conn, top)
    return cond.apply(json_response(body))
