"""API errors: one exception type, rendered as {"error": {"status", "code", "message", "param"}}."""

from __future__ import annotations

import logging

import orjson
import psycopg
import psycopg_pool
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from energy_ingest.errors import EmbeddedDatabaseError, EnergyError

log = logging.getLogger("energy_api")

# Werkzeug's HTTP errors, renamed to stable machine-readable codes.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
}


# What says that the database cannot answer at all: a 503 for a route (register), `down` for
# /health (database_down).
DATABASE_DOWN = (
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    EmbeddedDatabaseError,
    psycopg.errors.UndefinedTable,
)


def database_down(exc: BaseException) -> tuple[str, str]:
    """/health's (database, reason) for an error of DATABASE_DOWN."""
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return "schema missing", "the database has no energy schema: run `energy-ingest migrate`"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"unreachable: {detail}", f"the database cannot be reached: {detail}"


class ApiError(EnergyError):
    """A request we refuse, with what is wrong and what to do; `param` names the culprit."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        *,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after  # seconds, for a 503 that passes


def bad_param(param: str, message: str, code: str = "invalid_parameter") -> ApiError:
    return ApiError(400, code, message, param)


def error_response(status: int, code: str, message: str, param: str | None = None) -> Response:
    body = {"error": {"status": status, "code": code, "message": message, "param": param}}
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def register(app: Flask) -> None:
    """Every error leaves as JSON; database trouble is 503, never a stack trace."""

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.param)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        allow = getattr(exc, "valid_methods", None) or []
        if status == 405:
            message = (
                f"{request.method} is not allowed on {request.path}: the API is read-only;"
                f" use {', '.join(m for m in allow if m not in ('HEAD', 'OPTIONS'))}"
            )
        elif status == 404:
            message = f"no route {request.path}; the routes are listed at /api/v2/"
        response = error_response(status, HTTP_CODES.get(status, "http_error"), message)
        if allow:
            response.headers["Allow"] = ", ".join(allow)
        return response

    @app.errorhandler(psycopg.errors.InvalidParameterValue)
    def _bad_value(exc: psycopg.errors.InvalidParameterValue) -> Response:
        # The only value we hand PostgreSQL unchecked by Python is the tz name.
        return error_response(
            400, "invalid_parameter", f"PostgreSQL refused the time zone: {exc}", "tz"
        )

    @app.errorhandler(psycopg.errors.UndefinedTable)
    def _no_schema(exc: psycopg.errors.UndefinedTable) -> Response:
        log.error("schema missing: %s", exc)
        return error_response(
            503, "schema_missing", "the database has no energy schema; run `energy-ingest migrate`"
        )

    @app.errorhandler(psycopg.errors.QueryCanceled)
    def _timeout(exc: psycopg.errors.QueryCanceled) -> Response:
        log.warning("query cancelled: %s", exc)
        return error_response(
            503,
            "query_timeout",
            "the query took longer than the statement timeout; "
            "ask for a shorter range, fewer points or a coarser interval",
        )

    @app.errorhandler(EmbeddedDatabaseError)
    def _no_dev_cluster(exc: EmbeddedDatabaseError) -> Response:
        # Development only (production sets ENERGY_DATABASE_URL): say how to start it.
        log.error("%s", exc)
        return error_response(503, "database_unavailable", str(exc))

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg_pool.PoolTimeout)
    def _unavailable(exc: Exception) -> Response:
        log.error("database unavailable: %s", exc)
        return error_response(
            503, "database_unavailable", "the database cannot be reached; try again shortly"
        )

    @app.errorhandler(Exception)
    def _internal(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(
            500, "internal_error", "internal error; it was logged for the operators"
        )
