"""The sample campus for the legacy API's tests: the example site file applied, the shared export
samples imported and a trend report of Hulings Hall loaded, all through the real loader, once per
test module (the tests only read)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import create_database, drop_database

from energy_api import create_app
from energy_ingest.catalog.site import parse_site
from energy_ingest.config import Settings
from energy_ingest.pipeline import load, parse_file
from energy_ingest.write.applied_site import apply_site
from energy_ingest.write.ledger import FileInfo

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SITE = ROOT / "examples" / "site.toml"
EXPORTS = [
    DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv",
    DATA / "REAL_webctrl_points_list_report_hulings_excerpt.csv",
]
TRENDS = [
    DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv",
    DATA / "CONSTRUCTED_webctrl_trend_long_SPECULATIVE.csv",
]
# Room 102 of Hulings Hall on 2018-11-01 (CDT, UTC-5): at 00:15 it is 81.5 °F with its damper at
# 10 — heating and cooling at once; OCC is an OFF/ON point of the export's text table.
HULINGS = b"""\
"Key            Name:Suffix                                Trend Definitions Used"\r
"Point_1:","HU.R102.RMT","","15 minutes"\r
"Point_2:","HU.R102.EDMP","","15 minutes"\r
"Point_3:","HU.R102.OCC","","15 minutes"\r
"Time Interval:","15 Minutes"\r
"Date Range:","11/1/2018 00:00:00 - 11/1/2018 00:45:00"\r
"Report Timings:","All Hours"\r
""\r
"<>Date","Time","Point_1","Point_2","Point_3"\r
"11/1/2018","00:00:00","70.1","50","ON"\r
"11/1/2018","00:15:00","81.5","10","OFF"\r
"11/1/2018","00:30:00","82","30","ON"\r
"11/1/2018","00:45:00","79","5","ON"\r
"********************************* End of Report *********************************"\r
"""
T0 = 1541048400  # 2018-11-01 00:00 CDT


def site_without_unit_rules() -> str:
    """The example site file without its [[unit_rules]] (its last tables): the legacy tests'
    expectations (which points are temperatures, a rule's points) were written for the campus
    whose trended Boliou points have no unit (tests/test_catalog_unit_rules.py covers them)."""
    text = SITE.read_text()
    return text[: text.index("[[unit_rules]]")]


def _put(conn: psycopg.Connection[Any], data: bytes, name: str, source: str) -> None:
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, source, len(data))
    with conn.transaction():
        parsed = parse_file(io.BytesIO(data), info, tz="America/Chicago", hint=None)
        loaded = load(conn, parsed, info, tz="America/Chicago")
    assert loaded.result.status == "ingested", loaded.result


def load_campus(conn: psycopg.Connection[Any], site_text: str | None = None) -> None:
    text = site_text if site_text is not None else site_without_unit_rules()
    with conn.transaction():
        apply_site(conn, parse_site(text, SITE), text)
    for path in EXPORTS:
        _put(conn, path.read_bytes(), path.name, "alc" if "webctrl" in path.name else "siemens")
    for path in TRENDS:
        _put(conn, path.read_bytes(), path.name, "alc" if "webctrl" in path.name else "siemens")
    _put(conn, HULINGS, "hulings_11-01-18_00-45.csv", "siemens")


@pytest.fixture(scope="module")
def campus_url(server_conninfo: str, template_db: str) -> Iterator[str]:
    name = f"energy_test_campus_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(server_conninfo, name, template=template_db)
    with psycopg.connect(url, autocommit=True) as conn:
        load_campus(conn)
    yield url
    drop_database(server_conninfo, name)


@pytest.fixture(scope="module")
def campus_app(campus_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    settings = Settings(
        database_url=campus_url,
        spool_dir=tmp_path_factory.mktemp("spool"),
        timezone="America/Chicago",
        cors_origins=("*",),
    )
    app = create_app(settings)
    yield app
    app.extensions["energy_db"].close()


@pytest.fixture
def legacy(campus_app: Flask) -> FlaskClient:
    return campus_app.test_client()


def with_settings(app: Flask, **changes: Any) -> Flask:
    return create_app(dataclasses.replace(app.extensions["energy_settings"], **changes))
