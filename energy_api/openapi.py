"""The OpenAPI 3.1 description of /api/v2 (every route, parameter and response)."""

from __future__ import annotations

from typing import Any

from energy_api.filters import FLOOR_RANGE as _FLOORS
from energy_api.queries import POINT_KEYS
from energy_api.values import INTERVALS, LAYOUTS
from energy_ingest.config import zone_names

NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
TS: dict[str, Any] = {"type": ["string", "null"], "description": "ISO 8601 with offset, in tz"}
CELL: dict[str, Any] = {"type": ["string", "number", "integer", "null"]}
# Params refuses a NUL in any parameter; free text says so, or it would promise to take one.
TEXT: dict[str, Any] = {"type": "string", "pattern": "^[^\\u0000]*$"}


FLOOR_RANGE = {"minimum": _FLOORS[0], "maximum": _FLOORS[1]}

# One request's worth: tools send every example at once, so no start/end beside range.
EXAMPLES = {
    "points": "1,2",
    "range": "last_24h",
    "tz": "America/Chicago",
    "agg": "count",
    "q": "ahu",
    "name": "BOLIOU.*",
}


def _param(
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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


TZ = _param(
    "tz",
    "IANA time zone of the answer's timestamps (default ENERGY_TIMEZONE);"
    " exactly as the tz database spells it",
    _ref("TimeZone"),
)
LIMIT = _param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 10000})
OFFSET = _param("offset", "rows to skip", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1})
POINTS_DESCRIPTION = "comma-separated point ids and/or exact names (at most 1,000)"
POINTS = _param("points", POINTS_DESCRIPTION + "; none means every point")
# /values needs at least one: a token that is neither comma nor blank (tokens are stripped)
SOME_POINTS = _param(
    "points",
    POINTS_DESCRIPTION,
    {"type": "string", "pattern": "^[^\\u0000]*[^\\s,\\u0000][^\\u0000]*$"},
    required=True,
)

VALUES_PARAMS = [
    SOME_POINTS,
    _param(
        "start",
        "inclusive: ISO 8601 (naive means tz), a date, or epoch seconds, in 1900..2199,"
        " e.g. 2024-11-03 or 2024-11-03T06:00:00-06:00; not with range",
    ),
    _param("end", "exclusive: same forms as start, after start; not with range"),
    _param(
        "range",
        "today, yesterday, last_24h, last_7d, YYYY-MM-DD or START,END;"
        " instead of start/end (default last_24h)",
    ),
    TZ,
    _param(
        "interval",
        "bucket size; days, weeks, months start at local midnight",
        {"type": "string", "enum": list(INTERVALS)},
    ),
    _param(
        "agg",
        "comma list, each once, suiting every selected point. number points: avg (default),"
        " min, max, sum, count, first, last; enum points: last (default), first, count,"
        " fraction:<STATE> (a state of each enum point)",
    ),
    _param(
        "format",
        "json (default) or csv; also negotiated by Accept",
        {"type": "string", "enum": ["json", "csv"]},
    ),
    _param(
        "layout",
        "series (JSON default; JSON only), long, wide (CSV default)",
        {"type": "string", "enum": list(LAYOUTS)},
    ),
    _param("cursor", "meta.next of the previous page, with the same other parameters"),
]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "304": {"description": "not modified since the ETag / Last-Modified the client holds"},
    "400": _json(_ref("Error"), "bad or unknown parameter"),
    "404": _json(_ref("Error"), "unknown point or route"),
    "405": _json(_ref("Error"), "method not allowed (the API is read-only)"),
    "406": _json(_ref("Error"), "the Accept header excludes every type this route serves"),
    "413": _json(_ref("Error"), "request body too large"),
    "503": _json(
        _ref("Error"), "database unavailable, query timed out, or too many streams (Retry-After)"
    ),
}


def _get(summary: str, params: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "parameters": params, "responses": {"200": ok, **ERRORS}}


def _form(params: list[dict[str, Any]]) -> dict[str, Any]:
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


def _post(summary: str, params: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary + " (POST form for long point lists)",
        "requestBody": _form(params),
        "responses": {"200": ok, **ERRORS},
    }


SCHEMAS: dict[str, Any] = {
    "TimeZone": {
        "type": "string",
        "description": "a zone name the tz database lists (the same list the API checks tz against)",
        "enum": sorted(zone_names()),
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "code", "message", "param"],
                "properties": {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": NULLABLE_STR,
                },
            }
        },
    },
    "Latest": {
        "type": ["object", "null"],
        "required": ["ts", "t", "value"],
        "properties": {"ts": {"type": "string"}, "t": {"type": "integer"}, "value": CELL},
    },
    "Point": {
        "type": "object",
        "required": list(POINT_KEYS),
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "source": {"type": "string"},
            "kind": {"type": "string", "enum": ["number", "enum"]},
            "states": {"type": ["array", "null"], "items": {"type": "string"}},
            "unit": {
                "type": ["string", "null"],
                "description": "the resolved unit's symbol, else the unit the trend report gave",
            },
            "unit_id": NULLABLE_INT,
            "unit_name": NULLABLE_STR,
            "quantity": NULLABLE_STR,
            "building": {"type": ["string", "null"], "description": "the building's code"},
            "building_id": NULLABLE_INT,
            "building_name": NULLABLE_STR,
            "floor": NULLABLE_INT,
            "room": NULLABLE_STR,
            "room_id": NULLABLE_INT,
            "device": NULLABLE_STR,
            "device_id": NULLABLE_INT,
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "description": "sorted: its own and its device's, room's and building's",
            },
            "description": NULLABLE_STR,
            "descriptor": NULLABLE_STR,
            "point_type": NULLABLE_STR,
            "first_ts": TS,
            "last_ts": TS,
            "latest": _ref("Latest"),
        },
    },
    "SeriesPoint": {
        "type": "object",
        "required": ["id", "name", "source", "kind", "unit", "states"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "source": {"type": "string"},
            "kind": {"type": "string", "enum": ["number", "enum"]},
            "unit": NULLABLE_STR,
            "states": {"type": ["array", "null"], "items": {"type": "string"}},
        },
    },
    "Values": {
        "type": "object",
        "required": ["meta"],
        "description": "layout=series has `series`; long and wide have `columns` and `data`",
        "properties": {
            "meta": {
                "type": "object",
                "required": [
                    "start",
                    "end",
                    "tz",
                    "interval",
                    "agg",
                    "layout",
                    "rows",
                    "next",
                    "source",
                ],
                "properties": {
                    "start": {"type": "string"},
                    "end": {"type": "string"},
                    "tz": {"type": "string"},
                    "interval": {"type": "string", "enum": list(INTERVALS)},
                    "agg": {"type": ["array", "null"], "items": {"type": "string"}},
                    "layout": {"type": "string", "enum": list(LAYOUTS)},
                    "rows": {"type": "integer"},
                    "next": {"type": ["string", "null"], "description": "cursor for the next page"},
                    "source": {
                        "type": "string",
                        "enum": [
                            "readings",
                            "readings_hourly",
                            "readings_daily",
                            "readings_monthly",
                        ],
                        "description": "the table that answered the whole buckets (a partial"
                        " first or last bucket comes from readings); also the X-Energy-Source header",
                    },
                },
            },
            "series": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["point", "agg", "data"],
                    "properties": {
                        "point": _ref("SeriesPoint"),
                        "agg": {"type": ["array", "null"], "items": {"type": "string"}},
                        "data": {
                            "type": "array",
                            "items": {"type": "array", "items": CELL, "minItems": 3},
                        },
                    },
                },
            },
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array", "items": CELL}},
        },
    },
    "File": {
        "type": "object",
        "required": ["id", "sha256", "name", "source", "status", "ingested_at", "error"],
        "properties": {
            "id": {"type": "integer"},
            "sha256": {"type": "string"},
            "name": {"type": "string"},
            "path": NULLABLE_STR,
            "source": {"type": "string"},
            "format": NULLABLE_STR,
            "size_bytes": {"type": "integer"},
            "status": {"type": "string", "enum": ["ingested", "failed"]},
            "received_at": TS,
            "ingested_at": {"type": "string"},
            "duration_ms": {"type": ["integer", "null"]},
            "points": {"type": "integer"},
            "readings": {"type": "integer"},
            "inserted": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "missing_no_data": {"type": "integer"},
            "missing_data_loss": {"type": "integer"},
            "missing_blank": {"type": "integer"},
            "missing_error": {"type": "integer"},
            "rejected_rows": {"type": "integer"},
            "rejects": {},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "first_ts": TS,
            "last_ts": TS,
            "duplicates_seen": {"type": "integer"},
            "error": NULLABLE_STR,
        },
    },
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

INCLUDE_LATEST = _param(
    "include", "latest: add each point's latest reading", {"type": "string", "enum": ["latest"]}
)
# Catalog references: a value naming nothing in the catalog is 400 not_in_catalog.
BUILDING = _param(
    "building", "building id, code, name or alias (any case and spacing); unknown: 400"
)
FLOOR = _param("floor", "floor number (-1: basement)", {"type": "integer", **FLOOR_RANGE})
TAG = {
    **_param("tag", "tag name; repeat it for several: all of them must apply; unknown: 400"),
    "schema": {"type": "array", "items": TEXT},
    "style": "form",
    "explode": True,
}
INCLUDE_EMPTY = _param(
    "include",
    "empty: also entries no point uses (kept, with their ids, after rule changes)",
    {"type": "string", "enum": ["empty"]},
)


def _named(name: str, what: str) -> dict[str, Any]:
    return _param(
        name,
        f"{what} id or name (any case; a name in any building unless building is given);"
        f" unknown: 400; a number that is one {what}'s id and another's name: 400"
        f" ambiguous_{what}",
    )


POINTS_PARAMS = [
    _param("q", "case-insensitive substring of name, description or descriptor"),
    _param("name", "glob on the name: * any run, ? one character"),
    _param("source", "siemens or alc"),
    _param("kind", "number or enum", {"type": "string", "enum": ["number", "enum"]}),
    BUILDING,
    FLOOR,
    _named("room", "room"),
    _named("device", "device"),
    TAG,
    _param(
        "unit",
        "unit id, symbol, key or a spelling the BAS wrote (exact); also a point's raw unit"
        " when it has no resolved one; unknown: 400",
    ),
    _param("quantity", "the unit's quantity, e.g. temperature (any case); unknown: 400"),
    LIMIT,
    OFFSET,
    INCLUDE_LATEST,
    TZ,
]

HEALTH = {
    "type": "object",
    "required": ["status", "reason", "database", "last_ingest", "readings"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "reason": {
            "type": ["string", "null"],
            "description": "why the status is not ok, and what to do; null when ok",
        },
        "database": {
            "type": "string",
            "description": "the database alone: ok, unreachable: <detail>, schema missing,"
            " or migrations pending: <names>",
        },
        "last_ingest": TS,
        "readings": {
            "type": ["integer", "null"],
            "description": "readings stored: exact while the table is under 8 MiB (about 100,000"
            " rows), else PostgreSQL's planner estimate (never a count), so health stays cheap"
            " enough to poll every second",
        },
    },
}

VALUES_OK = {
    "description": "values (JSON capped at ENERGY_API_MAX_ROWS rows, then meta.next) or CSV",
    "content": {
        "application/json": {"schema": _ref("Values")},
        "text/csv": {"schema": {"type": "string"}},
    },
}
LATEST_OK = _json(
    {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": {"type": "object", "required": ["count", "tz"]},
            "data": {"type": "array", "items": _ref("Point")},
        },
    },
    "each selected point (all when none given) with its latest reading",
)


def document() -> dict[str, Any]:
    """The whole document; /api/v2/openapi.json serves it and the tests validate it."""
    # imported here: openapi_catalog builds on this module's pieces
    from energy_api.openapi_catalog import catalog_paths, catalog_schemas

    points_page = {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": PAGE_META, "data": {"type": "array", "items": _ref("Point")}},
    }
    files_meta = {
        **PAGE_META,
        "required": [*PAGE_META["required"], "counts"],
        "properties": {
            **PAGE_META["properties"],
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    }
    files_page = {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": files_meta, "data": {"type": "array", "items": _ref("File")}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "energy read API",
            "version": "2.0.0",
            "description": "Read-only access to building-automation points and readings."
            " Errors are {error: {status, code, message, param}}. Responses carry ETag and"
            " Last-Modified from the ingest ledger; revalidate for a 304.",
        },
        "servers": [{"url": "/api/v2"}],
        "paths": {
            "/": {"get": _get("links to the routes", [], _json({"type": "object"}, "index"))},
            "/health": {
                "get": {
                    "summary": "liveness and database state",
                    "responses": {
                        "200": _json(HEALTH, "ok or degraded"),
                        "503": _json(HEALTH, "down: database unreachable or schema missing"),
                        "405": ERRORS["405"],
                        "406": ERRORS["406"],
                    },
                }
            },
            "/points": {
                "get": _get("list and filter points", POINTS_PARAMS, _json(points_page, "points"))
            },
            "/points/{ref}": {
                "get": {
                    **_get(
                        "one point by id or exact name",
                        [
                            {
                                "name": "ref",
                                "in": "path",
                                "required": True,
                                "description": "point id or exact name",
                                "schema": {"type": "string"},
                                "example": "1",
                            },
                            INCLUDE_LATEST,
                            TZ,
                        ],
                        _json(
                            {
                                "type": "object",
                                "required": ["data"],
                                "properties": {"data": _ref("Point")},
                            },
                            "the point",
                        ),
                    )
                }
            },
            "/values": {
                "get": _get(
                    "readings, raw or aggregated in local-time buckets", VALUES_PARAMS, VALUES_OK
                ),
                "post": _post("readings", VALUES_PARAMS, VALUES_OK),
            },
            "/latest": {
                "get": _get("latest reading per point", [POINTS, TZ], LATEST_OK),
                "post": _post("latest reading per point", [POINTS, TZ], LATEST_OK),
            },
            "/files": {
                "get": _get(
                    "the ingest ledger, newest first",
                    [
                        _param(
                            "status",
                            "ingested or failed",
                            {"type": "string", "enum": ["ingested", "failed"]},
                        ),
                        _param(
                            "source",
                            "siemens or alc",
                            {"type": "string", "enum": ["siemens", "alc"]},
                        ),
                        {**LIMIT, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        OFFSET,
                        TZ,
                    ],
                    _json(files_page, "files"),
                )
            },
            **catalog_paths(),
            "/openapi.json": {
                "get": {
                    "summary": "this document",
                    "responses": {
                        "200": _json({"type": "object"}, "OpenAPI 3.1"),
                        "400": ERRORS["400"],
                        "405": ERRORS["405"],
                        "406": ERRORS["406"],
                    },
                }
            },
        },
        "components": {"schemas": {**SCHEMAS, **catalog_schemas()}},
    }
