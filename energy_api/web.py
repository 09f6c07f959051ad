"""What every route uses: the app's settings, pooled connection and clock, the request's zone,
JSON answers, HTML pages' security headers and conditional GETs (ETag / Last-Modified)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import Response, current_app, request

from energy_api.db import Database
from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql import ledger
from energy_api.sql.where import Conn
from energy_api.timeparse import TimeError, parse_zone
from energy_ingest.config import Settings

JSON = "application/json"

# Every HTML page we serve (energy_api.ui's pages and the index at /api/): scripts, styles and
# data from this origin only (the charts draw on canvas; Swagger UI's icons are data: URLs).
# Here, below both, because the route modules of one layer do not import each other.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def settings() -> Settings:
    found: Settings = current_app.extensions["energy_settings"]
    return found


def database() -> Database:
    found: Database = current_app.extensions["energy_db"]
    return found


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.extensions["energy_clock"]
    return clock()


def connection(zone: ZoneInfo | None = None, timeout: float | None = None) -> Any:
    """A pooled read-only connection whose session TimeZone is `zone` (the server's if None)."""
    return database().connection(zone.key if zone else None, timeout)


def zone(params: Params | None = None) -> ZoneInfo:
    """The request's `tz` (ENERGY_TIMEZONE when absent), checked once; its name is `.key`."""
    try:
        return parse_zone((params and params.get("tz")) or settings().timezone)
    except TimeError as exc:
        raise bad_param("tz", str(exc)) from None


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON)


def html_headers(response: Response) -> Response:
    """An HTML page's security headers: its CSP, no type sniffing, no referrer to elsewhere."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def require_json() -> None:
    if "Accept" in request.headers and not request.accept_mimetypes.best_match([JSON]):
        raise ApiError(406, "not_acceptable", "this route answers application/json only")


def request_key() -> str:
    """The representation's identity: route, parameters (query and form) and negotiated type."""
    form = sorted(request.form.items(multi=True)) if request.method == "POST" else []
    return (
        f"{request.path}?{sorted(request.args.items(multi=True))}{form}|{request.accept_mimetypes}"
    )


class Conditional:
    """ETag / Last-Modified from the ingest ledger's and the catalog's watermark; 304 when the
    client is current."""

    def __init__(
        self, conn: Conn, key: str, *, stable: bool = True, evaluations: bool = False
    ) -> None:
        mark, changed, lag = ledger.watermark(conn, evaluations=evaluations)
        digest = hashlib.sha1(f"{mark}|{key}".encode()).hexdigest()[:24]
        self.etag = digest
        self.last_modified = changed.replace(microsecond=0) if changed else None
        self.stable = stable
        self.lag = lag  # on a hot standby: how far its replay trails the primary

    def fresh(self) -> bool:
        if request.if_none_match:
            return request.if_none_match.contains_weak(self.etag)  # RFC 9110: weak comparison
        since = request.if_modified_since
        return bool(self.stable and since and self.last_modified and self.last_modified <= since)

    def apply(self, response: Response) -> Response:
        response.set_etag(self.etag)
        if self.lag is not None:  # Last-Modified says what the answer holds; this, how current
            response.headers["X-Energy-Replica-Lag"] = f"{self.lag:.3f}"
        if self.last_modified is not None and self.stable:
            response.last_modified = self.last_modified
        response.cache_control.no_cache = True
        return response

    def not_modified(self) -> Response:
        return self.apply(Response(status=304))
