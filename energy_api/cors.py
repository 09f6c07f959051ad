"""CORS: only origins listed in ENERGY_CORS_ORIGINS may read the API from a browser.

`*` lets any origin read (the answer says `*`, not the origin). Credentials are never allowed:
the API has no cookies or logins, and browsers refuse `*` with credentials anyway.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOWED_HEADERS = "Accept, Content-Type, If-None-Match, If-Modified-Since"
# Every header an answer carries for a client to read: a page on another origin sees only these.
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Content-Disposition, X-Energy-Replica-Lag, X-Energy-Source,"
    " X-Energy-Unit-Changes, X-Energy-Raw-Since"
)


def register(app: Flask, origins: tuple[str, ...]) -> None:
    allowed = set(origins)

    @app.after_request
    def _cors(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if not origin or not (origin.rstrip("/") in allowed or "*" in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
