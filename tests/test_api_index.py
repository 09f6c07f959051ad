"""The index at GET /api/: links to everything (the pages, the read API, the upload service), JSON
or HTML; `/` is the status page, behind nginx and on the development listener alike."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from energy_api import create_app
from energy_api.openapi.document import document
from energy_api.ui import PAGES
from energy_api.web import CSP
from energy_ingest.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))  # make run's listener
import devapp

LINKS = {
    "status": "/",
    "explore": "/explore",
    "catalog": "/catalog",
    "docs": "/docs",
    "api": "/api/v2/",
    "openapi": "/api/v2/openapi.json",
    "health": "/api/v2/health",
    "upload": "/upload/",
    "upload_health": "/upload/health",
}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def offline(tmp_path: Path) -> Settings:
    """Settings whose database nobody listens on: the index never needs it."""
    return Settings(
        database_url="postgresql://postgres@127.0.0.1:1/none", spool_dir=tmp_path / "spool"
    )


@pytest.fixture
def api(offline: Settings) -> Iterator[Flask]:
    app = create_app(offline)
    yield app
    app.extensions["energy_db"].close()


def test_the_api_index_lists_the_pages_the_api_its_document_health_and_the_upload_service(
    api: Flask,
) -> None:
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):  # none, curl, a client
        reply = api.test_client().get("/api/", headers=accept)
        assert reply.status_code == 200 and reply.mimetype == "application/json"
        assert reply.get_json() == {"service": "energy", "links": LINKS}
        assert "Accept" in reply.headers["Vary"]


def test_the_index_lists_the_pages_of_the_navigation_bar_in_its_order() -> None:
    assert [(name, path) for name, path, _ in PAGES] == list(LINKS.items())[: len(PAGES)]


def test_a_browser_gets_a_small_html_page_with_the_same_links(api: Flask) -> None:
    reply = api.test_client().get("/api/", headers={"Accept": BROWSER})
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    page = reply.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    for path in LINKS.values():
        assert f'<a href="{path}">' in page
    # the pages' own policy (one constant): this page loads nothing, from anywhere
    assert reply.headers["Content-Security-Policy"] == CSP
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_the_index_refuses_what_it_cannot_serve_and_unknown_parameters(api: Flask) -> None:
    client = api.test_client()
    refused = client.get("/api/", headers={"Accept": "text/csv"})
    assert refused.status_code == 406 and refused.get_json()["error"]["code"] == "not_acceptable"
    unknown = client.get("/api/?x=1")
    assert unknown.status_code == 400 and unknown.get_json()["error"]["param"] == "x"
    # only the exact path: /api/<name> belongs to the legacy API's routes, the rest is a 404
    assert client.get("/api/no-such-route").status_code == 404


@pytest.mark.slow
def test_the_index_answers_without_a_database(api: Flask) -> None:
    assert api.test_client().get("/api/").status_code == 200
    assert api.test_client().get("/api/v2/health").status_code == 503  # the database is not there


def test_the_development_listener_answers_slash_with_the_status_page(offline: Settings) -> None:
    """As nginx does in production: `/` is the status page, /api/ the index, /upload/ the upload
    service, and /static/ the pages' files (served by the API app here, with no nginx)."""
    client = Client(devapp.create_app(offline))
    root = client.get("/", headers={"Accept": BROWSER})
    assert root.status_code == 200 and root.mimetype == "text/html"
    html = root.get_data(as_text=True)
    assert "<title>Status · energy</title>" in html
    assert "default-src 'none'" in root.headers["Content-Security-Policy"]
    script = re.search(r'<script src="(/static/status\.[0-9a-f]{12}\.js)"></script>', html)
    assert script, html
    with client.get(script.group(1)) as served:  # a file: closed when done
        assert served.status_code == 200
    index = client.get("/api/")
    assert index.status_code == 200 and index.json == {"service": "energy", "links": LINKS}
    page = client.get("/api/", headers={"Accept": BROWSER})
    assert page.mimetype == "text/html" and '<a href="/upload/">' in page.get_data(as_text=True)
    # the upload service still answers its own paths, and others as before
    assert client.get("/upload/").get_data() == b"upload service is running\n"
    assert client.get("/nope").status_code == 404


def test_every_link_of_the_index_answers_through_the_development_listener(
    settings: Settings,
) -> None:
    client = Client(devapp.create_app(settings))
    links: dict[str, Any] = client.get("/api/").json["links"]
    assert links == LINKS
    for name, path in links.items():
        reply = client.get(path)
        assert reply.status_code == 200, f"{name} {path}: {reply.get_data(as_text=True)}"


V2_LINKS = {
    name: f"/api/v2/{name}"
    for name in (
        *("health", "points", "values", "latest", "files", "ingest", "alerts", "series"),
        *("buildings", "floors", "rooms", "devices", "tags", "units", "coverage"),
        "openapi.json",
    )
}


def test_the_v2_index_links_every_route_and_each_link_answers(settings: Settings) -> None:
    app = create_app(settings)
    try:
        client = app.test_client()
        body = client.get("/api/v2/").get_json()
        assert body == {"api": "energy", "version": 2, "links": V2_LINKS}
        for name, path in body["links"].items():
            assert path.removeprefix("/api/v2") in document()["paths"], name
            reply = client.get(path)
            if name == "values":  # the one route that needs a parameter says which
                assert (reply.status_code, reply.get_json()["error"]["param"]) == (400, "points")
            else:
                assert reply.status_code == 200, f"{name} {path}: {reply.get_data(as_text=True)}"
    finally:
        app.extensions["energy_db"].close()


def test_the_read_api_loads_neither_pandas_nor_pint() -> None:
    """The API's workers import the search language (energy_ingest.catalog.search), never the
    export parsers or the units library: they stay small and start fast (numpy, which /values
    reads columns with, costs a worker ~15 MB; pandas and pint ~50 more)."""
    code = (
        "import sys; from energy_api import create_app; from energy_ingest.config import Settings; "
        "create_app(Settings(database_url='postgresql://x@127.0.0.1:1/x')); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'pint'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
