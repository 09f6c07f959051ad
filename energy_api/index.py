"""GET /api/: where everything is — the web pages, the read API, its OpenAPI document and health,
the upload service.

JSON for programs and curl, a small HTML page for a browser (whichever `Accept` prefers). `/`
itself is the status page (energy_api.ui), in production and under `make run` alike. Only the
exact path /api/ is taken here: the legacy dashboard API, when it comes, owns /api/<name> routes
beside it.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, request
from markupsafe import escape

from energy_api import web
from energy_api.errors import ApiError
from energy_api.params import Params

bp = Blueprint("index", __name__)
JSON = "application/json"
HTML = "text/html"

# (name, path, what it is). The pages are energy_api.ui's PAGES (a sibling this module does not
# import; tests/test_api_index.py checks that both list the same).
LINKS = (
    ("status", "/", "status page: the pipeline's health at a glance"),
    ("explore", "/explore", "explorer: find points, chart and download their readings"),
    ("catalog", "/catalog", "catalog: buildings, floors, rooms, devices and their points"),
    ("docs", "/docs", "API docs: the read API, from its OpenAPI description"),
    ("api", "/api/v2/", "the read API (v2): links to its routes"),
    ("openapi", "/api/v2/openapi.json", "OpenAPI 3.1 description of the read API"),
    ("health", "/api/v2/health", "read API health: database, last ingest"),
    ("upload", "/upload/", "upload service: POST /upload/siemens or /upload/alc"),
    ("upload_health", "/upload/health", "upload service health: spool writable, free space"),
)
NOTE = (
    "In production the upload service is on port 8080 only; the pages and the read API are on"
    " 80 and 8080."
)

PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>energy</title>
<h1>energy</h1>
<ul>
{items}
</ul>
<p>{note}</p>
</html>
"""


@bp.get("/")
def index() -> Response:
    Params(request, ())
    best = (
        request.accept_mimetypes.best_match([JSON, HTML]) if "Accept" in request.headers else JSON
    )
    if best is None:
        raise ApiError(
            406, "not_acceptable", "this page is served as application/json or text/html"
        )
    root = request.script_root
    if best == HTML:
        items = "\n".join(
            f'<li><a href="{escape(root + path)}">{escape(root + path)}</a> — {escape(what)}'
            for _, path, what in LINKS
        )
        # the pages' CSP and headers: this one loads nothing at all
        response = web.html_headers(
            Response(PAGE.format(items=items, note=escape(NOTE)), mimetype=HTML)
        )
    else:
        body = {"service": "energy", "links": {name: root + path for name, path, _ in LINKS}}
        response = Response(orjson.dumps(body), mimetype=JSON)
    response.vary.add("Accept")
    return response
