"""The OpenAPI description of the data-health routes: alerts, report series, what the ingest
daemons are doing and a point's gaps."""

from __future__ import annotations

from typing import Any

from energy_api.openapi.parts import (
    ERRORS,
    LIMIT,
    NULLABLE_INT,
    NULLABLE_STR,
    OFFSET,
    PAGE_META,
    TS,
    TZ,
    get,
    param,
    ref,
    response,
)
from energy_api.sql.activity import DAEMON_KEYS, LOADING_KEYS, STALE_SECONDS
from energy_api.sql.health import (
    ALERT_KEYS,
    ALERT_KINDS,
    ALERT_STATES,
    ALERT_STATUSES,
    PRIORITIES,
    SERIES_STATUSES,
)

INT: dict[str, Any] = {"type": "integer"}
STR: dict[str, Any] = {"type": "string"}
SERIES_FIELDS = (
    *("id", "source", "name", "cadence", "cadence_s", "last_run", "expected_next", "last_data"),
    *("last_arrival", "status", "files", "points", "overdue_s", "evaluated_at"),
)
GAP_FIELDS = ("start", "end", "missing", "duration_s")
INGEST_FIELDS = (
    *("backlog", "backlog_at", "failed", "failed_at", "loading", "daemons", "stale_after_s"),
    "tz",
)

SCHEMAS: dict[str, Any] = {
    "Alert": {
        "type": "object",
        "required": list(ALERT_KEYS),
        "properties": {
            "id": INT,
            "kind": {"type": "string", "enum": list(ALERT_KINDS)},
            "subject": {**STR, "description": "what it is about: series:3, point:42, …"},
            "priority": {"type": "string", "enum": list(PRIORITIES)},
            "state": {"type": "string", "enum": list(ALERT_STATES)},
            "summary": {**STR, "description": "one line, as in the mail's subject"},
            "details": {"type": "object"},
            "link": {**NULLABLE_STR, "description": "where to look: an API path or a URL"},
            "series_id": NULLABLE_INT,
            "point_id": NULLABLE_INT,
            "building": {**NULLABLE_STR, "description": "the building's code"},
            "opened_at": {**STR, "description": "first found (pending from then)"},
            "fired_at": TS,
            "last_seen": {**STR, "description": "the last evaluation that found it"},
            "resolved_at": TS,
            "suppressed_by": {
                **NULLABLE_INT,
                "description": "the alert that inhibits it (no notices, and /health ignores it)",
            },
        },
    },
    "Series": {
        "type": "object",
        "required": list(SERIES_FIELDS),
        "properties": {
            "id": INT,
            "source": STR,
            "name": {**STR, "description": "the file name without its run time: boliou1"},
            "cadence": {
                **NULLABLE_STR,
                "description": "ISO 8601 duration between its runs, e.g. P1D, PT15M",
            },
            "cadence_s": NULLABLE_INT,
            "last_run": TS,
            "expected_next": TS,
            "last_data": TS,
            "last_arrival": TS,
            "status": {"type": "string", "enum": list(SERIES_STATUSES)},
            "files": INT,
            "points": {**INT, "description": "points its reports carry"},
            "overdue_s": {
                **NULLABLE_INT,
                "description": "seconds past expected_next at evaluated_at (overdue only)",
            },
            "evaluated_at": TS,
        },
    },
    "IngestFile": {
        "type": "object",
        "required": list(LOADING_KEYS),
        "properties": {
            "path": {**STR, "description": "as the daemon's log names it: siemens/2024/big.csv"},
            "size": {**INT, "description": "bytes"},
            "bytes_read": INT,
            "percent": {**INT, "minimum": 0, "maximum": 100},
            "values": {**INT, "description": "values parsed so far"},
            "started_at": {**TS, "description": "when its transaction began"},
            "updated_at": {**STR, "description": "when the daemon last said how far it got"},
            "host": STR,
            "pid": INT,
        },
    },
    "IngestDaemon": {
        "type": "object",
        "required": list(DAEMON_KEYS),
        "properties": {
            "host": STR,
            "pid": INT,
            "started_at": STR,
            "updated_at": {**STR, "description": "its last word (at least every 5 s)"},
            "backlog": {**INT, "description": "files in its queue, the one loading too"},
        },
    },
    "Ingest": {
        "type": "object",
        "required": list(INGEST_FIELDS),
        "properties": {
            "backlog": {
                **NULLABLE_INT,
                "description": "files waiting in incoming/ (the one loading too): the largest"
                " count a live daemon gives (daemons sharing a spool count the same files);"
                " with none live, the count at the last evaluation of data health; null when"
                " no daemon ever said",
            },
            "backlog_at": {**TS, "description": "when that count was made"},
            "failed": {
                **NULLABLE_INT,
                "description": "files in failed/ at the last evaluation of data health",
            },
            "failed_at": TS,
            "loading": {
                "type": "array",
                "items": ref("IngestFile"),
                "description": "the files live daemons are loading now, oldest first (a file"
                " shows once it has loaded for about a second)",
            },
            "daemons": {
                "type": "array",
                "items": ref("IngestDaemon"),
                "description": "daemons that said what they do in the last stale_after_s"
                " seconds, the freshest first",
            },
            "stale_after_s": {
                **INT,
                "description": f"a daemon silent this long ({STALE_SECONDS} s) is left out:"
                " killed or stuck",
            },
            "tz": STR,
        },
    },
    "Gap": {
        "type": "object",
        "required": list(GAP_FIELDS),
        "properties": {
            "start": {**STR, "description": "the reading before it, or the range's start"},
            "end": {**STR, "description": "the reading after it, or the range's end"},
            "missing": {**INT, "description": "expected readings missed"},
            "duration_s": {"type": "number"},
        },
    },
}

PATH_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "example": "1",
}


GAPS_400 = response(
    ref("Error"),
    "bad or unknown parameter (end not after start, …); or interval_unknown (param ref): the"
    " point's interval between readings is not known yet (the daemon learns it from its"
    " readings; points trended on change of value have none)",
)


def _with_400(answer: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    return {**operation, "responses": {**operation["responses"], "400": answer}}


def _page(item: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": meta, "data": {"type": "array", "items": ref(item)}},
    }


def _one(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["data"], "properties": {"data": ref(item)}}


def paths() -> dict[str, Any]:
    alerts_meta = {
        **PAGE_META,
        "required": [*PAGE_META["required"], "tz", "counts"],
        "properties": {
            **PAGE_META["properties"],
            "counts": {
                "type": "object",
                "description": "every alert by state (whatever the filters)",
                "additionalProperties": INT,
            },
        },
    }
    series_meta = {"type": "object", "required": ["count", "tz"]}
    gaps_meta = {
        "type": "object",
        "required": ["count", "truncated", "interval_s", "start", "end", "tz"],
        "properties": {
            "count": INT,
            "truncated": {"type": "boolean", "description": "more gaps than limit"},
            "interval_s": {"type": "number"},
            "start": STR,
            "end": STR,
            "tz": STR,
        },
    }
    return {
        "/alerts": {
            "get": get(
                "alerts the daemon's evaluation raised, newest first",
                [
                    param(
                        "status",
                        "open (default: pending or firing), resolved, or all",
                        {"type": "string", "enum": list(ALERT_STATUSES)},
                    ),
                    param("kind", "alert kind", {"type": "string", "enum": list(ALERT_KINDS)}),
                    param(
                        "priority", "high or normal", {"type": "string", "enum": list(PRIORITIES)}
                    ),
                    {**LIMIT, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    OFFSET,
                    TZ,
                ],
                response(_page("Alert", alerts_meta), "alerts"),
            )
        },
        "/alerts/{id}": {
            "get": get("one alert", [PATH_ID, TZ], response(_one("Alert"), "the alert"))
        },
        "/series": {
            "get": get(
                "report series (a source's files of one report), as last evaluated",
                [
                    param(
                        "status", "series status", {"type": "string", "enum": list(SERIES_STATUSES)}
                    ),
                    param(
                        "source", "siemens or alc", {"type": "string", "enum": ["siemens", "alc"]}
                    ),
                    TZ,
                ],
                response(_page("Series", series_meta), "series by source and name"),
            )
        },
        "/ingest": {
            "get": {
                "summary": "the backlog and the files the ingest daemons are loading now (never"
                " cached: it changes every second while a file loads)",
                "parameters": [TZ],
                "responses": {
                    "200": response(ref("Ingest"), "what the ingest daemons are doing"),
                    **{code: ERRORS[code] for code in ("400", "405", "406", "503")},
                },
            }
        },
        "/series/{id}": {
            "get": get("one report series", [PATH_ID, TZ], response(_one("Series"), "the series"))
        },
        "/points/{ref}/gaps": {
            "get": _with_400(
                GAPS_400,
                get(
                    "gaps in a point's readings: spans over 1.5 × its interval without one",
                    [
                        {**PATH_ID, "name": "ref", "description": "point id or exact name"},
                        param("start", "inclusive; the forms of /values' start"),
                        param("end", "exclusive; the forms of /values' end"),
                        TZ,
                        param(
                            "limit",
                            "at most this many gaps (default 1000)",
                            {"type": "integer", "minimum": 1, "maximum": 10000},
                        ),
                    ],
                    response(_page("Gap", gaps_meta), "the gaps, in time order"),
                ),
            )
        },
    }


# GET /api/v2/health
HEALTH = {
    "type": "object",
    "required": [
        *("status", "reason", "database", "last_ingest", "readings"),
        *("alerts", "series", "evaluated_at", "replica"),
    ],
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
        "alerts": {
            "type": ["object", "null"],
            "description": "alerts firing, and of them high priority (null: database down);"
            " any high-priority one that no other suppresses makes the status degraded",
            "required": ["firing", "high"],
            "properties": {"firing": {"type": "integer"}, "high": {"type": "integer"}},
        },
        "series": {
            "type": ["object", "null"],
            "description": "report series by status, as last evaluated",
            "required": ["overdue", "ok", "historical"],
            "additionalProperties": {"type": "integer"},
        },
        "evaluated_at": {
            **TS,
            "description": "when the daemon last evaluated data health; older than three"
            " ENERGY_HEALTH_SECONDS (or never) while files exist makes the status degraded",
        },
        "replica": {
            "type": ["object", "null"],
            "description": "null on a primary; on a hot standby, how far its answers trail the"
            " primary: a lag over ENERGY_API_MAX_LAG, or no WAL arriving, makes the status"
            " degraded",
            "required": ["lag_s", "replayed_at", "streaming"],
            "properties": {
                "lag_s": {
                    "type": ["number", "null"],
                    "description": "seconds its replay trails the primary: 0 while it has"
                    " replayed all it received (null: nothing replayed yet)",
                },
                "replayed_at": {
                    **TS,
                    "description": "when the last transaction it replayed committed on the primary",
                },
                "streaming": {
                    "type": "boolean",
                    "description": "its WAL receiver runs (false: it cannot tell how far behind"
                    " it is)",
                },
            },
        },
    },
}
