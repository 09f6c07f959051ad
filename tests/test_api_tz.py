"""Every route that takes `tz` refuses a bad zone name with 400 naming it, never a 500."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from api_helpers import add_point, insert_row
from flask.testing import FlaskClient
from psycopg import sql
from psycopg.conninfo import make_conninfo

from energy_api import create_app
from energy_api.openapi.document import document
from energy_ingest.config import Settings

# (method, path, other parameters): every route and method that accepts tz
ROUTES = [
    ("GET", "/api/v2/points", ""),
    ("GET", "/api/v2/points/1", ""),
    ("GET", "/api/v2/values", "points=1"),
    ("POST", "/api/v2/values", "points=1"),
    ("GET", "/api/v2/latest", ""),
    ("POST", "/api/v2/latest", ""),
    ("GET", "/api/v2/files", ""),
    ("GET", "/api/v2/ingest", ""),
    ("GET", "/api/v2/alerts", ""),
    ("GET", "/api/v2/alerts/1", ""),
    ("GET", "/api/v2/series", ""),
    ("GET", "/api/v2/series/1", ""),
    ("GET", "/api/v2/points/1/gaps", ""),
    ("GET", "/api/v2/coverage", ""),
]

# (what it is, the tz value as it travels percent-encoded, what the message must show of it)
BAD_ZONES = [
    ("a region directory", "America", "'America'"),
    ("another directory", "Etc", "'Etc'"),
    ("a directory with a slash", "America%2F", "'America/'"),
    ("300 bytes", "x" * 300, "'xxxxxxxxxx"),
    ("a path out of the tz database", "..%2Fetc%2Fpasswd", "'../etc/passwd'"),
    ("an absolute path", "%2Fetc%2Flocaltime", "'/etc/localtime'"),
    ("a trailing space", "America%2FChicago%20", "'America/Chicago '"),
    ("a NUL byte", "America%00Chicago", "'America\\x00Chicago'"),
    # Werkzeug keeps undecodable bytes percent-encoded, so that is what the message shows
    ("invalid UTF-8", "%FF%FE", "'%FF%FE'"),
]


@pytest.fixture(scope="module")
def client(server_conninfo: str, template_db: str) -> Iterator[FlaskClient]:
    """One database (one point) and app for the module's ~60 requests: the API only reads."""
    name = f"energy_test_tz_{uuid.uuid4().hex[:12]}"
    ident = sql.Identifier(name)
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(ident, sql.Identifier(template_db))
        )
    url = make_conninfo(server_conninfo, dbname=name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            add_point(conn, "BOLIOU.AHU1.SAT", unit="degF", interval_s=900.0)  # gaps: known
            series = insert_row(conn, "report_series", source="siemens", name="boliou1")
            insert_row(
                conn,
                "alerts",
                **{"kind": "overdue", "subject": f"series:{series}", "priority": "high"},
                **{"state": "firing", "summary": "boliou1 overdue", "series_id": series},
                **{"opened_at": "2026-03-02T12:00Z", "last_seen": "2026-03-02T12:00Z"},
            )
        app = create_app(Settings(database_url=url, timezone="America/Chicago"))
        try:
            yield app.test_client()
        finally:
            app.extensions["energy_db"].close()
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def _request(client: FlaskClient, method: str, path: str, query: str) -> Any:
    if method == "GET":
        return client.get(f"{path}?{query}")
    return client.post(
        path, data=query.encode("ascii"), content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize(
    ("method", "path", "other"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
@pytest.mark.parametrize(("what", "encoded", "shown"), BAD_ZONES, ids=[w for w, _, _ in BAD_ZONES])
def test_a_bad_tz_is_a_400_that_names_the_value_and_suggests_a_zone(
    client: FlaskClient,
    method: str,
    path: str,
    other: str,
    what: str,
    encoded: str,
    shown: str,
) -> None:
    query = "&".join(q for q in (other, f"tz={encoded}") if q)
    response = _request(client, method, path, query)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("invalid_parameter", "tz")
    message = error["message"]
    assert shown in message, message
    assert len(message) < 200, f"a huge value is shortened in the message: {message}"
    words = set(re.split(r"[\s,;()]+", message))
    assert words & zoneinfo.available_timezones(), f"no valid zone suggested: {message}"


def test_the_same_routes_answer_200_for_a_good_tz(client: FlaskClient) -> None:
    for method, path, other in ROUTES:
        query = "&".join(q for q in (other, "tz=Asia%2FKolkata") if q)
        response = _request(client, method, path, query)
        assert response.status_code == 200, (method, path, response.get_data(as_text=True))


def test_the_routes_tested_are_every_route_that_documents_tz() -> None:
    documented = set()
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            form = operation.get("requestBody", {}).get("content", {})
            for body in form.values():
                names += list(body["schema"].get("properties", {}))
            if "tz" in names:
                documented.add((method.upper(), path))
    tested = {
        (m, re.sub(r"/(alerts|series)/1$", r"/\1/{id}", re.sub(r"/points/1", "/points/{ref}", p)))
        for m, p in ((m, p.removeprefix("/api/v2")) for m, p, _ in ROUTES)
    }
    assert tested == documented
