"""The pieces every part of the OpenAPI document is made of: parameters, references, responses,
operations, and the parameters and page shape that several routes share."""

from __future__ import annotations

from typing import Any

from energy_api.sql import catalog

NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
TS: dict[str, Any] = {"type": ["string", "null"], "description": "ISO 8601 with offset, in tz"}
CELL: dict[str, Any] = {"type": ["string", "number", "integer", "null"]}
# Params refuses a NUL in any parameter; free text says so, or it would promise to take one.
TEXT: dict[str, Any] = {"type": "string", "pattern": "^[^\\u0000]*$"}


FLOOR_RANGE = {"minimum": catalog.FLOOR_RANGE[0], "maximum": catalog.FLOOR_RANGE[1]}

# One request's worth: tools send every example at once, so no start/end beside range.
EXAMPLES = {
    "points": "1,2",
    "range": "last_24h",
    "tz": "America/Chicago",
    "agg": "count",
    "q": "ahu",
    "name": "BOLIOU.*",
}


def param(
    name: str, description: str, schema: dict[str, Any] | None = None, *, required: bool = False
) -> dict[str, Any]:
    param = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or TEXT,
    }
    if name in EXAMPLES:
        param["example"] = EXAMPLES[name]
    return param


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


TZ = param(
    "tz",
    "IANA time zone of the answer's timestamps (default ENERGY_TIMEZONE);"
    " exactly as the tz database spells it",
    ref("TimeZone"),
)
LIMIT = param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 10000})
OFFSET = param("offset", "rows to skip", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1})
POINTS_DESCRIPTION = "comma-separated point ids and/or exact names (at most 1,000)"
POINTS = param("points", POINTS_DESCRIPTION + "; none means every point")
# /values needs at least one: a token that is neither comma nor blank (tokens are stripped)
SOME_POINTS = param(
    "points",
    POINTS_DESCRIPTION,
    {"type": "string", "pattern": "^[^\\u0000]*[^\\s,\\u0000][^\\u0000]*$"},
    required=True,
)


def response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "304": {"description": "not modified since the ETag / Last-Modified the client holds"},
    "400": response(ref("Error"), "bad or unknown parameter"),
    "404": response(ref("Error"), "unknown point or route"),
    "405": response(ref("Error"), "method not allowed (the API is read-only)"),
    "406": response(ref("Error"), "the Accept header excludes every type this route serves"),
    "413": response(ref("Error"), "request body too large"),
    "503": response(
        ref("Error"), "database unavailable, query timed out, or too many streams (Retry-After)"
    ),
}


# A point's range across a change of its unit (energy_api.values.recorded): meta.unit_changes.
# Raw retention (energy_api.values.rollups.before_raw): meta.raw_since, with meta.note.
RAW_SINCE: dict[str, Any] = {
    "type": "string",
    "description": "only when the range reaches before it: raw readings before this instant were"
    " dropped (ENERGY_RAW_RETENTION), and the answer comes from the rollups' whole buckets"
    " (interval=raw is refused there)",
}

UNIT_CHANGE: dict[str, Any] = {
    "type": "object",
    "description": "a point whose range holds readings recorded in an earlier unit: the unit its"
    " values are given in (its current unit, readings of other units converted; or, for a range"
    " wholly within an earlier unit that cannot be converted, that unit, as recorded), and the"
    " units its readings in the range were recorded in, each from `since` until `until` (null:"
    " open), oldest first",
    "required": ["point", "name", "unit", "recorded"],
    "properties": {
        "point": {"type": "integer"},
        "name": {"type": "string"},
        "unit": {"type": ["string", "null"]},
        "recorded": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["unit", "since", "until"],
                "properties": {
                    "unit": {"type": ["string", "null"]},
                    "since": {"type": ["string", "null"]},
                    "until": {"type": ["string", "null"]},
                },
            },
        },
    },
}
VALUES_400 = response(
    ref("Error"),
    "bad or unknown parameter; or unit_not_convertible: a point's range crosses a change"
    " between units that cannot be converted into one another (the message names the point,"
    " both units and the instant: ask for the range before it or from it on)",
)

VALUES_HEADERS = {
    "X-Energy-Source": {"description": "meta.source", "schema": {"type": "string"}},
    "X-Energy-Unit-Changes": {
        "description": "meta.unit_changes as JSON (ASCII), when there are any: how a CSV"
        " answer says which points' readings were converted from which unit",
        "schema": {"type": "string"},
    },
    "X-Energy-Raw-Since": {
        "description": "meta.raw_since, when the range reaches before it (how a CSV says so)",
        "schema": {"type": "string"},
    },
}


def get(summary: str, params: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "parameters": params, "responses": {"200": ok, **ERRORS}}


def form(params: list[dict[str, Any]]) -> dict[str, Any]:
    properties = {p["name"]: p["schema"] for p in params}
    required = [p["name"] for p in params if p["required"]]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return {
        "required": bool(required),
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def post(summary: str, params: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary + " (POST form for long point lists)",
        "requestBody": form(params),
        "responses": {"200": ok, **ERRORS},
    }


PAGE_META: dict[str, Any] = {
    "type": "object",
    "required": ["count", "total", "limit", "offset"],
    "properties": {
        "count": {"type": "integer"},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "tz": {"type": "string"},
    },
}

INCLUDE_LATEST = param(
    "include", "latest: add each point's latest reading", {"type": "string", "enum": ["latest"]}
)
# Catalog references: a value naming nothing in the catalog is 400 not_in_catalog.
BUILDING = param(
    "building",
    "building code, name or alias (any case and spacing), never an id (that is building_id);"
    " unknown: 400",
)
FLOOR = param("floor", "floor number (-1: basement)", {"type": "integer", **FLOOR_RANGE})
TAG = {
    **param("tag", "tag name; repeat it for several: all of them must apply; unknown: 400"),
    "schema": {"type": "array", "items": TEXT},
    "style": "form",
    "explode": True,
}
INCLUDE_EMPTY = param(
    "include",
    "empty: also entries no point uses (kept, with their ids, after rule changes)",
    {"type": "string", "enum": ["empty"]},
)


def named(name: str, what: str) -> dict[str, Any]:
    return param(
        name,
        f"{what} name (any case; in any building unless building or building_id is given), never"
        f" an id, even when it is a number ({what}=102 is every {what} named 102; an id is"
        f" {name}_id); unknown: 400",
    )


def by_id(name: str) -> dict[str, Any]:
    """The explicit id parameter beside a name parameter: `room_id` beside `room`."""
    return param(
        f"{name}_id",
        f"a {name}'s id (the id of /api/v2/{name}s); not with {name}; unknown: 400",
        {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    )


BUILDING_ID = by_id("building")
# Where a point is, as /points filters it: by name (building, room, device) or by id, and floor.
POINT_PLACES = [
    BUILDING,
    BUILDING_ID,
    FLOOR,
    named("room", "room"),
    by_id("room"),
    named("device", "device"),
    by_id("device"),
]
