"""The legacy catalog routes: buildings, floors, rooms, devices, points, tags, types and units.

Lists are bare JSON arrays; one item by id is one object of the list's shape, or `[]` when there
is no such item (the old API's answers, kept). Every route answers GET and POST.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response

from energy_api.legacy.request import BOTH, item_id, params, search
from energy_api.sql import legacy
from energy_api.sql.where import Conn
from energy_api.web import connection, json_response
from energy_ingest.catalog.search import Node, Term

bp = Blueprint("legacy_catalog", __name__)


def _answer(fetch: Callable[[Conn], Any]) -> Response:
    with connection() as conn:
        return json_response(fetch(conn))


def _listing(endpoint: str, lister: Callable[[Conn, Node | None], Any]) -> Response:
    node = search(params("search"), endpoint)
    return _answer(lambda conn: lister(conn, node))


def _one(raw: str, what: str, kind: str, lister: Callable[[Conn, Node | None], Any]) -> Response:
    """The item with id `raw` in the list's shape, or [] (a list's one-item filter)."""
    params()
    node = Term(kind, None, item_id(raw, f"{what} id"))
    return _answer(lambda conn: next(iter(lister(conn, node)), []))


@bp.route("/buildings", methods=BOTH)
def buildings() -> Response:
    return _listing("buildings", legacy.buildings)


@bp.route("/building/<raw>", methods=BOTH)
def building(raw: str) -> Response:
    return _one(raw, "building", "building", legacy.buildings)


@bp.route("/floors", methods=BOTH)
def floors() -> Response:
    return _listing("floors", legacy.floors)


@bp.route("/all_floors", methods=BOTH)
def all_floors() -> Response:
    params()
    return _answer(lambda conn: legacy.floors(conn, None))


@bp.route("/building/<raw>/floors", methods=BOTH)
def building_floors(raw: str) -> Response:
    params()
    node = Term("building", None, item_id(raw, "building id"))
    return _answer(lambda conn: legacy.floors(conn, node))


@bp.route("/rooms", methods=BOTH)
def rooms() -> Response:
    return _listing("rooms", legacy.rooms)


@bp.route("/room/<raw>", methods=BOTH)
def room(raw: str) -> Response:
    return _one(raw, "room", "room", legacy.rooms)


@bp.route("/devices", methods=BOTH)
def devices() -> Response:
    return _listing("devices", legacy.devices)


@bp.route("/device/<raw>", methods=BOTH)
def device(raw: str) -> Response:
    return _one(raw, "device", "device", legacy.devices)


@bp.route("/points", methods=BOTH)
def points() -> Response:
    return _listing("points", legacy.points)


@bp.route("/point/<raw>", methods=BOTH)
def point(raw: str) -> Response:
    return _one(raw, "point", "point", legacy.points)


@bp.route("/points/ids", methods=BOTH)
def point_ids() -> Response:
    node = search(params("search"), "points", required=True)
    return _answer(lambda conn: legacy.point_ids(conn, node))


@bp.route("/points/verify", methods=BOTH)
def points_verify() -> Response:
    node = search(params("search"), "points", required=True)
    return _answer(lambda conn: legacy.verify(conn, node))


@bp.route("/tags", methods=BOTH)
def tags() -> Response:
    params()
    return _answer(legacy.tags)


@bp.route("/tag/<raw>", methods=BOTH)
def tag(raw: str) -> Response:
    params()
    tag_id = item_id(raw, "tag id")
    return _answer(lambda conn: next(iter(legacy.tags(conn, tag_id)), []))


@bp.route("/categories", methods=BOTH)
def categories() -> Response:
    params()  # the catalog has no tag categories: every tag's category is null
    return json_response([])


@bp.route("/category/<raw>", methods=BOTH)
def category(raw: str) -> Response:
    params()
    item_id(raw, "category id")
    return json_response([])


@bp.route("/types", methods=BOTH)
def types() -> Response:
    params()
    return _answer(legacy.types)


@bp.route("/type/<raw>", methods=BOTH)
def value_type(raw: str) -> Response:
    params()
    type_id = item_id(raw, "type id")
    return _answer(
        lambda conn: next((t for t in legacy.types(conn) if t["type_id"] == type_id), [])
    )


@bp.route("/units", methods=BOTH)
def units() -> Response:
    params()
    return _answer(legacy.units)


@bp.route("/unit/<raw>", methods=BOTH)
def unit(raw: str) -> Response:
    params()
    unit_id = item_id(raw, "unit id")
    return _answer(lambda conn: next(iter(legacy.units(conn, unit_id)), []))


@bp.route("/measurements", methods=BOTH)
def measurements() -> Response:
    params()
    return _answer(legacy.measurements)
