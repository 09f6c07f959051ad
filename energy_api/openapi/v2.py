"""The OpenAPI description of /api/v2's own routes: health, points, values, latest and files."""

from __future__ import annotations

from typing import Any

from energy_api.openapi.health import HEALTH
from energy_api.openapi.parts import (
    CELL,
    ERRORS,
    INCLUDE_LATEST,
    LIMIT,
    NULLABLE_INT,
    NULLABLE_STR,
    OFFSET,
    PAGE_META,
    POINT_PLACES,
    POINTS,
    RAW_SINCE,
    SOME_POINTS,
    TAG,
    TS,
    TZ,
    UNIT_CHANGE,
    VALUES_400,
    VALUES_HEADERS,
    by_id,
    get,
    param,
    post,
    ref,
    response,
)
from energy_api.sql.points import POINT_KEYS, POINT_STATUSES
from energy_api.values.plan import LAYOUTS
from energy_api.values.query import INTERVALS
from energy_ingest.config import zone_names

VALUES_PARAMS = [
    SOME_POINTS,
    param(
        "start",
        "inclusive: ISO 8601 (naive means tz), a date, or epoch seconds, in 1900..2199,"
        " e.g. 2024-11-03 or 2024-11-03T06:00:00-06:00; not with range",
    ),
    param("end", "exclusive: same forms as start, after start; not with range"),
    param(
        "range",
        "today, yesterday, last_24h, last_7d, YYYY-MM-DD (a local day), YYYY-MM (a local"
        " calendar month), YYYY (a local calendar year) or START,END; instead of start/end"
        " (default last_24h)",
    ),
    TZ,
    param(
        "interval",
        "bucket size; days, weeks, months start at local midnight",
        {"type": "string", "enum": list(INTERVALS)},
    ),
    param(
        "agg",
        "comma list, each once, suiting every selected point. number points: avg (default),"
        " min, max, sum, count, first, last; enum points: last (default), first, count,"
        " fraction:<STATE> (a state of each enum point); both: coverage, the share of each"
        " bucket's expected readings stored, least(1, count × the point's interval_s / the"
        " bucket's seconds within the range; a local day of 23 or 25 hours on DST days), null"
        " while the interval is unknown; not with interval=raw (400)",
    ),
    param(
        "format",
        "json (default) or csv; also negotiated by Accept",
        {"type": "string", "enum": ["json", "csv"]},
    ),
    param(
        "layout",
        "series (JSON default; JSON only), long, wide (CSV default)",
        {"type": "string", "enum": list(LAYOUTS)},
    ),
    param("cursor", "meta.next of the previous page, with the same other parameters"),
]


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
            "alias": {
                "type": ["string", "null"],
                "description": "a second name (a Siemens Point Name that is not the System"
                " Name); q and name match it too",
            },
            "retired": {
                "type": ["object", "null"],
                "description": "set when a newer export, superseding the one that defined the"
                " point, no longer lists it: when, and by which file of the ledger; its readings"
                " are kept",
                "required": ["at", "file_id", "file"],
                "properties": {
                    "at": {"type": "string"},
                    "file_id": {"type": "integer"},
                    "file": {"type": "string"},
                },
            },
            "first_ts": TS,
            "last_ts": TS,
            "status": {
                "type": ["string", "null"],
                "enum": [*POINT_STATUSES, None],
                "description": "its data-health status as the daemon's last evaluation found it;"
                " null when it has not been evaluated yet",
            },
            "status_since": {**TS, "description": "when it entered that status (ISO 8601, tz)"},
            "interval_s": {
                "type": ["number", "null"],
                "description": "the usual seconds between its readings, as the daemon learnt"
                " them (null: not known yet, e.g. a point trended on change of value)",
            },
            "latest": ref("Latest"),
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
                    "unit_changes": {
                        "type": "array",
                        "items": ref("UnitChange"),
                        "description": "only when a point's range holds readings recorded in an"
                        " earlier unit (such points are answered from readings); also the"
                        " X-Energy-Unit-Changes header, as JSON",
                    },
                    "raw_since": RAW_SINCE,
                    "note": {"type": "string", "description": "with raw_since: what it holds"},
                },
            },
            "series": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["point", "agg", "data"],
                    "properties": {
                        "point": ref("SeriesPoint"),
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
    "UnitChange": UNIT_CHANGE,
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

POINTS_PARAMS = [
    param("q", "case-insensitive substring of name, description or descriptor"),
    param("name", "glob on the name: * any run, ? one character"),
    param("source", "siemens or alc"),
    param("kind", "number or enum", {"type": "string", "enum": ["number", "enum"]}),
    *POINT_PLACES,
    TAG,
    param(
        "unit",
        "unit symbol, key or a spelling the BAS wrote (exact), never an id (that is unit_id);"
        " also a point's raw unit when it has no resolved one; unknown: 400",
    ),
    by_id("unit"),
    param("quantity", "the unit's quantity, e.g. temperature (any case); unknown: 400"),
    param(
        "status",
        "data-health status (points not evaluated yet have none)",
        {"type": "string", "enum": list(POINT_STATUSES)},
    ),
    param(
        "resolved",
        "false: current points lacking a building, a place in it (a room, a device or a"
        " floor), or a unit pint reads (what /coverage counts as unresolved); true: the others",
        {"type": "string", "enum": ["true", "false"]},
    ),
    param(
        "retired",
        "true: points a newer export left out (retired is set); false: the others",
        {"type": "string", "enum": ["true", "false"]},
    ),
    LIMIT,
    OFFSET,
    INCLUDE_LATEST,
    TZ,
]

VALUES_OK = {
    "description": "values (JSON paged at ENERGY_API_MAX_BYTES, then meta.next) or CSV",
    "content": {
        "application/json": {"schema": ref("Values")},
        "text/csv": {"schema": {"type": "string"}},
    },
    "headers": VALUES_HEADERS,
}
LATEST_OK = response(
    {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": {"type": "object", "required": ["count", "tz"]},
            "data": {"type": "array", "items": ref("Point")},
        },
    },
    "each selected point (all when none given) with its latest reading",
)


def paths() -> dict[str, Any]:
    """The paths of the routes in energy_api.v2.routes, but /openapi.json itself."""
    points_page = {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": PAGE_META, "data": {"type": "array", "items": ref("Point")}},
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
        "properties": {"meta": files_meta, "data": {"type": "array", "items": ref("File")}},
    }
    return {
        "/": {"get": get("links to the routes", [], response({"type": "object"}, "index"))},
        "/health": {
            "get": {
                "summary": "liveness and database state",
                "responses": {
                    "200": response(HEALTH, "ok or degraded"),
                    "503": response(HEALTH, "down: database unreachable or schema missing"),
                    "405": ERRORS["405"],
                    "406": ERRORS["406"],
                },
            }
        },
        "/points": {
            "get": get("list and filter points", POINTS_PARAMS, response(points_page, "points"))
        },
        "/points/{ref}": {
            "get": {
                **get(
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
                    response(
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {"data": ref("Point")},
                        },
                        "the point",
                    ),
                )
            }
        },
        "/values": {
            method: {**op, "responses": {**op["responses"], "400": VALUES_400}}
            for method, op in (
                (
                    "get",
                    get(
                        "readings, raw or aggregated in local-time buckets",
                        VALUES_PARAMS,
                        VALUES_OK,
                    ),
                ),
                ("post", post("readings", VALUES_PARAMS, VALUES_OK)),
            )
        },
        "/latest": {
            "get": get("latest reading per point", [POINTS, TZ], LATEST_OK),
            "post": post("latest reading per point", [POINTS, TZ], LATEST_OK),
        },
        "/files": {
            "get": get(
                "the ingest ledger, newest first",
                [
                    param(
                        "status",
                        "ingested or failed",
                        {"type": "string", "enum": ["ingested", "failed"]},
                    ),
                    param(
                        "source",
                        "siemens or alc",
                        {"type": "string", "enum": ["siemens", "alc"]},
                    ),
                    {**LIMIT, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    OFFSET,
                    TZ,
                ],
                response(files_page, "files"),
            )
        },
    }
