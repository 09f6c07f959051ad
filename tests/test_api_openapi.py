"""The OpenAPI document is valid, lists every route, and the live app honours it (schemathesis)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_helpers import add_file, add_point, add_readings, api_settings, app, client, db, every
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.serving import make_server

from energy_api.openapi import document

__all__ = ["api_settings", "app", "client", "db"]


def test_the_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    served = client.get("/api/v2/openapi.json").get_json()
    assert served == document()
    assert served["openapi"] == "3.1.0"
    validate(served)


def test_every_flask_route_and_method_is_documented(app: Flask) -> None:
    paths = document()["paths"]
    routes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("v2.")]
    assert len(routes) >= 7
    for rule in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v2")) or "/"
        assert path in paths, f"{rule.rule} is not in the OpenAPI document"
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        assert methods <= set(paths[path]), (
            f"{rule.rule}: {methods - set(paths[path])} undocumented"
        )


@pytest.fixture
def live_url(app: Flask, db: psycopg.Connection[Any]) -> Iterator[str]:
    """The real app on a real socket, over a database with a little of everything."""
    sat = add_point(db, "BOLIOU.AHU1.SAT", unit="degF")
    mode = add_point(db, "BOLIOU.AHU1.MODE", kind="enum", states=["OFF", "ON"])
    now = datetime.now(UTC).replace(microsecond=0)
    stamps = list(every(now - timedelta(days=2), now, timedelta(minutes=15)))
    add_readings(db, sat, ((ts, 50.0 + i % 7) for i, ts in enumerate(stamps)))
    add_readings(db, mode, ((ts, float(i % 2)) for i, ts in enumerate(stamps)))
    add_file(db, "boliou.csv")
    add_file(db, "bad.csv", status="failed", error="truncated")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_url: str, tmp_path: Path
) -> None:
    st = Path(sys.executable).with_name("st")
    proc = subprocess.run(
        [
            str(st),
            "run",
            f"{live_url}/api/v2/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,"
            "status_code_conformance,content_type_conformance",
            "--max-examples",
            "15",
            "--seed",
            "20241103",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "No issues found" in proc.stdout or "passed" in proc.stdout, proc.stdout[-3000:]
