"""The OpenAPI description of the catalog routes: buildings, floors, rooms, devices, tags, units,
and the catalog's coverage."""

from __future__ import annotations

from typing import Any

from energy_api.openapi.parts import (
    BUILDING,
    BUILDING_ID,
    FLOOR,
    INCLUDE_EMPTY,
    LIMIT,
    NULLABLE_INT,
    NULLABLE_STR,
    OFFSET,
    PAGE_META,
    TAG,
    TZ,
    by_id,
    get,
    named,
    param,
    ref,
    response,
)
from energy_api.sql.catalog import (
    BUILDING_KEYS,
    DEVICE_KEYS,
    FLOOR_KEYS,
    ROOM_KEYS,
    TAG_KEYS,
    UNIT_KEYS,
)
from energy_ingest.query.coverage import ATTRIBUTES, MISSING

INT: dict[str, Any] = {"type": "integer"}
STR: dict[str, Any] = {"type": "string"}
STRINGS: dict[str, Any] = {"type": "array", "items": STR}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0, "description": "points"}
STATUSES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 1},
    "description": "its points by health status as the daemon's last evaluation found them"
    " (ok, stale, flat, out_of_range, spike, retired, historical); only statuses some point"
    " has; points not evaluated yet are not counted",
}
OWN_TAGS: dict[str, Any] = {
    **STRINGS,
    "description": "the tags attached at this level, sorted (a point has these and its own)",
}


def _object(keys: tuple[str, ...], properties: dict[str, Any]) -> dict[str, Any]:
    assert set(keys) == set(properties), set(keys) ^ set(properties)
    return {"type": "object", "required": list(keys), "properties": properties}


def schemas() -> dict[str, Any]:
    return {
        "Building": _object(
            BUILDING_KEYS,
            {
                "id": INT,
                "code": {**STR, "description": "the site file's code, e.g. HU"},
                "name": STR,
                "aliases": STRINGS,
                "points": COUNT,
                "rooms": {**INT, "description": "rooms with points"},
                "floors": {
                    "type": "array",
                    "items": INT,
                    "description": "the floors its points are on, ascending",
                },
                "tags": OWN_TAGS,
                "statuses": STATUSES,
            },
        ),
        "Floor": _object(
            FLOOR_KEYS,
            {
                "building": {**STR, "description": "the building's code"},
                "building_id": INT,
                "floor": INT,
                "rooms": {**INT, "description": "rooms with points on this floor"},
                "points": COUNT,
            },
        ),
        "Room": _object(
            ROOM_KEYS,
            {
                "id": INT,
                "name": STR,
                "building": {**STR, "description": "the building's code"},
                "building_id": INT,
                "floor": NULLABLE_INT,
                "points": COUNT,
                "tags": OWN_TAGS,
                "statuses": STATUSES,
            },
        ),
        "Device": _object(
            DEVICE_KEYS,
            {
                "id": INT,
                "name": STR,
                "type": {**NULLABLE_STR, "description": "the name's leading letters: FCU, AHU"},
                "building": {**NULLABLE_STR, "description": "the building's code"},
                "building_id": NULLABLE_INT,
                "room": NULLABLE_STR,
                "room_id": NULLABLE_INT,
                "points": COUNT,
                "tags": OWN_TAGS,
                "statuses": STATUSES,
            },
        ),
        "Tag": _object(
            TAG_KEYS,
            {
                "id": INT,
                "name": STR,
                "points": {**COUNT, "description": "points carrying it, at any level"},
            },
        ),
        "Coverage": COVERAGE,
        "Unit": _object(
            UNIT_KEYS,
            {
                "id": INT,
                "key": {**STR, "description": "pint's canonical name, or ? and the raw string"},
                "symbol": {**NULLABLE_STR, "description": "e.g. °F; the raw string if unresolved"},
                "name": NULLABLE_STR,
                "quantity": NULLABLE_STR,
                "canonical": NULLABLE_STR,
                "resolved": {"type": "boolean"},
                "spellings": {**STRINGS, "description": "every BAS string seen for it"},
                "points": COUNT,
            },
        ),
    }


def _closed(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return {**schema, "description": description} if description else schema


# Points with each attribute: how many, and their percent of the points counted (one decimal).
HAVE = _closed(
    {
        name: _closed(
            {"points": COUNT, "percent": {"type": "number", "minimum": 0, "maximum": 100}}
        )
        for name in ATTRIBUTES
    },
    "points with each attribute: building, room, floor, device, unit (one pint reads), type (the"
    " export's point type) and tags (at any level)",
)
EXAMPLE = {
    "example": {**STR, "description": "the first such point by name"},
    "example_id": {**INT, "description": "its id"},
}
COVERAGE = _closed(
    {
        "site_file": {
            **_closed(
                {
                    "path": STR,
                    "sha256": STR,
                    "applied_at": {**STR, "description": "ISO 8601 with offset, in tz"},
                }
            ),
            "type": ["object", "null"],
            "description": "the site file last applied; null: never",
        },
        "points": COUNT,
        "by_source": {"type": "object", "additionalProperties": INT},
        "with": HAVE,
        "unresolved": {
            **COUNT,
            "description": "current points lacking a building, a place in it (a room, a device or a"
            " floor), or a unit pint reads (GET /points?resolved=false lists them)",
        },
        "missing": _closed(
            {name: COUNT for name in MISSING},
            "unresolved points by what they lack (one point may lack several)",
        ),
        "retired": {**COUNT, "description": "points a newer export left out"},
        "buildings": {
            "type": "array",
            "description": "per building (null: none) and source, by code (none last), source",
            "items": _closed(
                {
                    "building": {**NULLABLE_STR, "description": "the building's code"},
                    "building_id": NULLABLE_INT,
                    "name": NULLABLE_STR,
                    "source": STR,
                    "points": COUNT,
                    "with": HAVE,
                    "unresolved": COUNT,
                    "retired": COUNT,
                    "unknown_types": {**COUNT, "description": "points of a type not known"},
                }
            ),
        },
        "unresolved_units": {
            "type": "array",
            "description": "unit strings pint could not read (add them to the site file's"
            " [units]), most used first",
            "items": _closed({"unit": STR, "unit_id": INT, "points": COUNT, **EXAMPLE}),
        },
        "unknown_types": {
            "type": "array",
            "description": "point types the catalog does not know (a number unless the export"
            " gave states), most used first",
            "items": _closed({"type": STR, "points": COUNT, **EXAMPLE}),
        },
        "unmatched_shapes": {
            "type": "array",
            "description": "the most common shapes of the names no rule gave a building (numbers"
            " as <n>), to write the next naming rule from",
            "items": _closed({"shape": STR, "source": STR, "points": COUNT, **EXAMPLE}),
        },
    }
)


def _page(schema: str, description: str) -> dict[str, Any]:
    properties = {k: v for k, v in PAGE_META["properties"].items() if k != "tz"}
    meta = {**PAGE_META, "properties": properties}
    body = {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": meta, "data": {"type": "array", "items": ref(schema)}},
    }
    return response(body, description)


def paths() -> dict[str, Any]:
    paging = [LIMIT, OFFSET]
    return {
        "/buildings": {
            "get": get(
                "buildings of the site file, and any other that points still refer to",
                [
                    param("q", "case-insensitive substring of the code, name or an alias"),
                    {**TAG, "description": "a tag of the building itself; repeat: all of them"},
                    INCLUDE_EMPTY,
                    *paging,
                ],
                _page("Building", "buildings by code"),
            )
        },
        "/floors": {
            "get": get(
                "each building's floors that points are on",
                [BUILDING, BUILDING_ID, *paging],
                _page("Floor", "floors by building code and number"),
            )
        },
        "/rooms": {
            "get": get(
                "rooms with points (include=empty: all)",
                [
                    BUILDING,
                    BUILDING_ID,
                    {**FLOOR, "description": "the room's floor"},
                    {**TAG, "description": "a tag of the room itself; repeat: all of them"},
                    param("q", "case-insensitive substring of the name"),
                    INCLUDE_EMPTY,
                    *paging,
                ],
                _page("Room", "rooms by building code and name"),
            )
        },
        "/devices": {
            "get": get(
                "devices with points (include=empty: all)",
                [
                    BUILDING,
                    BUILDING_ID,
                    named("room", "room"),
                    by_id("room"),
                    {**FLOOR, "description": "its room's floor or a floor of one of its points"},
                    param("type", "device type, e.g. FCU (any case)"),
                    {**TAG, "description": "a tag of the device itself; repeat: all of them"},
                    param("q", "case-insensitive substring of the name"),
                    INCLUDE_EMPTY,
                    *paging,
                ],
                _page("Device", "devices by building code and name"),
            )
        },
        "/tags": {
            "get": get(
                "tags that points carry (include=empty: all)",
                [param("q", "case-insensitive substring of the name"), INCLUDE_EMPTY, *paging],
                _page("Tag", "tags by name"),
            )
        },
        "/units": {
            "get": get(
                "units that points use (include=empty: all)",
                [
                    param("quantity", "e.g. temperature (any case); unknown: 400"),
                    param(
                        "resolved",
                        "false: units pint could not read",
                        {"type": "string", "enum": ["true", "false"]},
                    ),
                    INCLUDE_EMPTY,
                    *paging,
                ],
                _page("Unit", "units by quantity and symbol"),
            )
        },
        "/coverage": {
            "get": get(
                "how much of the catalog is resolved, per building and source; what to fix",
                [
                    param(
                        "top",
                        "shapes of unmatched names to list",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                    ),
                    TZ,
                ],
                response(ref("Coverage"), "the catalog's coverage"),
            )
        },
    }
