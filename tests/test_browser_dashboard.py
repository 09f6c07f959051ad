"""The dashboard's call sequence from a real browser on another origin: headless Chromium (Debian's
`chromium`, driven by Playwright from PyPI — never `playwright install`) loads a stand-in page
(tests/dashboard/index.html) from one origin, which calls the API under gunicorn on another:
buildings → floors → rooms → points (POSTed search) → points/verify → points/ids → values with
point_ids[]. CORS decides whether the browser lets the page read the answers."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import free_port

PAGE = Path(__file__).resolve().parent / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The stand-in page, served by a static file server of its own."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(PAGE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def start_api(
    database_url: str, cors: str | None, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ENERGY_DATABASE_URL": database_url, "ENERGY_TIMEZONE": "America/Chicago"}
    env.pop("ENERGY_CORS_ORIGINS", None)
    if cors is not None:
        env["ENERGY_CORS_ORIGINS"] = cors
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "4",
             "-b", f"127.0.0.1:{port}", "energy_api:create_app()"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/types", timeout=2).close()
            return proc, base
        except requests.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"gunicorn did not answer:\n{log.read_text()}")


def show(page_origin: str, api: str) -> dict[str, Any]:
    """Open the page in headless Chromium and read back what it shows."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{page_origin}/index.html?api={api}")
            page.wait_for_selector("#done:has-text('done')", timeout=30_000)
            texts = {
                key: page.locator(f"#{key} li").all_inner_texts()
                for key in ("buildings", "rooms", "points")
            }
            for key in ("floors", "verify", "ids", "error"):
                texts[key] = page.inner_text(f"#{key}")
            texts["values"] = [
                row.locator("td").all_inner_texts() for row in page.locator("#values tr").all()
            ]
            return texts
        finally:
            browser.close()


def test_the_dashboards_calls_from_chromium_on_another_origin(
    campus_url: str, page_origin: str, tmp_path: Path
) -> None:
    proc, api = start_api(campus_url, page_origin, tmp_path / "gunicorn.log")
    try:
        shown = show(page_origin, api)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert shown["error"] == ""
    assert shown["buildings"] == [
        "Boliou Hall",
        "Evans Hall",
        "Faculty Club",
        "Goodhue Hall",
        "Hulings Hall",
    ]
    assert shown["floors"] == "-1, 1, 2"
    assert shown["rooms"] == ["B02", "B19", "B22", "B44"]  # Hulings' basement
    points = shown["points"]
    assert {"HU.R102.RMT", "HU.R102.EDMP"} <= set(points) and "HU.R102.OCC" not in points
    assert shown["verify"] == f"{len(points)} points match"
    assert len(shown["ids"].split(",")) == len(points)
    rmt = [(t, v) for name, t, v in shown["values"] if name == "HU.R102.RMT"]
    assert rmt == [
        ("2018-11-01T05:00:00.000Z", "70.1"),
        ("2018-11-01T05:15:00.000Z", "81.5"),
        ("2018-11-01T05:30:00.000Z", "82"),
        ("2018-11-01T05:45:00.000Z", "79"),
    ]
    assert [v for name, _, v in shown["values"] if name == "HU.R102.EDMP"] == [
        "50",
        "10",
        "30",
        "5",
    ]


def test_without_cors_the_browser_keeps_the_answers_from_the_page(
    campus_url: str, page_origin: str, tmp_path: Path
) -> None:
    """The negative control: the same page and API, no ENERGY_CORS_ORIGINS — Chromium blocks the
    first cross-origin read, so the page shows its error and nothing else."""
    proc, api = start_api(campus_url, None, tmp_path / "gunicorn.log")
    try:
        shown = show(page_origin, api)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert shown["error"].startswith("error: Failed to fetch"), shown["error"]
    assert shown["buildings"] == [] and shown["values"] == []
