"""The OpenAPI document is valid, lists every route, and the live app honours it (schemathesis)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_helpers import add_catalog, add_file, add_point, add_readings, every
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.serving import make_server

from energy_api.openapi.document import document


@pytest.mark.no_database
def test_the_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    served = client.get("/api/v2/openapi.json").get_json()
    assert served == document()
    assert served["openapi"] == "3.1.0"
    validate(served)


@pytest.mark.no_database
def test_every_flask_route_and_method_is_documented(app: Flask) -> None:
    paths = document()["paths"]
    routes = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v2/")]
    assert len(routes) >= 13
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
    add_catalog(db)
    sat = add_point(db, "BOLIOU.AHU1.SAT", unit="degF", interval_s=900.0)  # gaps: known
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


HOOKS = Path(__file__).with_name("api_schemathesis_hooks.py")
# positive_data_accepted (HOOKS) is schemathesis's positive_data_acceptance (ST202: the document
# allows a request the API refuses), less the /values rules that no JSON Schema can state.
CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,"
    "content_type_conformance,positive_data_accepted"
)
# The coverage phase sends every value of an enum: each of the ~600 zone names once, on one
# route, proves lookup_zone and PostgreSQL take them all; on all nine it would add ~25 s.
CONFIG = """
[[operations]]
include-name-regex = "^(?!GET /latest$)"
phases.coverage.generation.mode = "negative"
"""


def _schemathesis(location: str, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    (cwd / "schemathesis.toml").write_text(CONFIG)
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st),
            "run",
            location,
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--seed",
            "20241103",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--no-color",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
    )


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_no_schema_violation_and_no_valid_data_refused(
    live_url: str, tmp_path: Path
) -> None:
    proc = _schemathesis(f"{live_url}/api/v2/openapi.json", tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "No issues found" in proc.stdout or "passed" in proc.stdout, proc.stdout[-3000:]


def _any_tz(doc: dict[str, Any]) -> str:
    doc["components"]["schemas"]["TimeZone"] = {"type": "string"}
    return "GET /latest"


def _points_optional(doc: dict[str, Any]) -> str:
    for param in doc["paths"]["/values"]["get"]["parameters"]:
        if param["name"] == "points":
            param.update(required=False, schema={"type": "string"})
    return "GET /values"


@pytest.mark.slow
@pytest.mark.parametrize(("loosen", "param"), [(_any_tz, "tz"), (_points_optional, "points")])
def test_schemathesis_reports_a_document_that_allows_what_the_api_refuses(
    live_url: str, tmp_path: Path, loosen: Callable[[dict[str, Any]], str], param: str
) -> None:
    loose = copy.deepcopy(document())
    operation = loosen(loose)
    (tmp_path / "loose.json").write_text(json.dumps(loose))
    proc = _schemathesis(
        str(tmp_path / "loose.json"),
        tmp_path,
        "--url",
        f"{live_url}/api/v2",
        "--include-name",
        operation,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Schema-valid request rejected" in proc.stdout, proc.stdout[-3000:]
    assert f'"param":"{param}"' in proc.stdout, proc.stdout[-3000:]
