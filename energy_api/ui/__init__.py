"""The web pages: `/` the status page, `/explore`, `/catalog` and `/docs` (the API described by
its OpenAPI document). Plain HTML from templates/ and a little JavaScript from static/ that reads
the read API from the same origin; no build step. The vendored libraries (static/vendor/) are
pinned copies from the npm registry with their licences.

Every page says, in its Content-Security-Policy (web.CSP), that nothing loads from another
origin. Static files are linked by fingerprinted names (assets.py); `/static/…` is answered here
for `make run` and the tests, and by nginx itself in production.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, abort, render_template, send_file

from energy_api import web
from energy_api.ui import assets

bp = Blueprint("ui", __name__, template_folder="templates")

PAGES = (  # (endpoint, path, title) in the order of the navigation bar
    ("status", "/", "Status"),
    ("explore", "/explore", "Explore"),
    ("catalog", "/catalog", "Catalog"),
    ("docs", "/docs", "API docs"),
)
YEAR = 365 * 24 * 3600


@bp.app_template_global()
def asset(logical: str) -> str:
    return assets.url(logical)


def page(name: str) -> Response:
    html = render_template(f"{name}.html", page=name, pages=PAGES, timezone=web.settings().timezone)
    response = web.html_headers(Response(html, mimetype="text/html"))  # web.CSP
    response.cache_control.no_cache = True
    return response


for _endpoint, _path, _ in PAGES:  # each page is its template, under the same name
    bp.add_url_rule(_path, _endpoint, functools.partial(page, _endpoint), methods=["GET"])


@bp.get("/static/<path:name>")
def static(name: str) -> Response:
    """For `make run` and the tests; nginx answers these in production (nginx/energy.conf)."""
    path = assets.files().get(name)
    if path is None:
        abort(404)
    response = send_file(path, max_age=YEAR, conditional=True, etag=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
