"""CORS with ENERGY_CORS_ORIGINS=*: a dashboard on any origin reads the API, never with
credentials; unset, the API sends no CORS headers at all."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import energy_api
from energy_api import create_app
from energy_api.cors import EXPOSED_HEADERS
from energy_ingest.config import Settings

ORIGIN = "https://anything.example"


def client_for(settings: Settings, env: dict[str, str]) -> Iterator[FlaskClient]:
    """A test client of the API whose CORS setting is read from `env` as the units read it."""
    origins = Settings.from_env(env).cors_origins
    app = create_app(dataclasses.replace(settings, cors_origins=origins))
    yield app.test_client()
    app.extensions["energy_db"].close()


@pytest.fixture
def any_origin(settings: Settings) -> Iterator[FlaskClient]:
    yield from client_for(settings, {"ENERGY_CORS_ORIGINS": "*"})


@pytest.fixture
def no_cors(settings: Settings) -> Iterator[FlaskClient]:
    yield from client_for(settings, {})


def test_star_is_a_valid_setting_on_its_own() -> None:
    assert Settings.from_env({"ENERGY_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    assert Settings.from_env({}).cors_origins == ()


def test_with_star_a_read_from_any_origin_gets_star_and_no_credentials(
    any_origin: FlaskClient,
) -> None:
    response = any_origin.get("/api/v2/points", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.no_database
def test_with_star_an_error_answer_carries_star_too_so_the_page_can_read_it(
    any_origin: FlaskClient,
) -> None:
    response = any_origin.get("/api/v2/no-such-route", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.no_database
def test_with_star_a_preflight_for_a_form_post_allows_get_and_post(
    any_origin: FlaskClient,
) -> None:
    preflight = any_origin.options(
        "/api/v2/values",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        content_type="application/x-www-form-urlencoded",
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    methods = {m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST"} <= methods
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers


def test_with_origins_unset_no_cors_header_is_sent(no_cors: FlaskClient) -> None:
    read = no_cors.get("/api/v2/points", headers={"Origin": ORIGIN})
    preflight = no_cors.options(
        "/api/v2/values", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert read.status_code == 200
    for response in (read, preflight):
        assert not [h for h, _ in response.headers.items() if h.startswith("Access-Control-")]


def test_every_energy_header_an_answer_carries_is_exposed_to_other_origins() -> None:
    """A header the API sets for clients (X-Energy-…) that CORS does not expose is invisible to a
    page on another origin: every such name in the API's source is in EXPOSED_HEADERS."""
    source = Path(energy_api.__file__).parent
    named = {
        name
        for path in source.rglob("*.py")
        if path.name != "cors.py"
        for name in re.findall(r"X-Energy-[A-Za-z-]+", path.read_text(encoding="utf-8"))
    }
    exposed = {h.strip() for h in EXPOSED_HEADERS.split(",")}
    assert {"X-Energy-Source", "X-Energy-Raw-Since", "X-Energy-Replica-Lag"} <= named
    assert named <= exposed, named - exposed
