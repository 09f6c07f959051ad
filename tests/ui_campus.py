"""The web pages' test campus and a real browser to look at it with.

`ui_campus`: one database per test module, filled through the real loader, daemon and evaluator:
the legacy campus (site file, both vendors' exports, Hulings Hall's room 102 with its OFF/ON
point), a year of quarter-hours of HU.R110.RMT (see YEAR_*: the value is 60 + the local hour, and
one whole day has no readings), three daily reports of the `hall` series, the newest 36 hours ago
(overdue now, an open alert), and a report the daemon set aside as failed. `ui_server`: gunicorn with the
API unit's command line over it. `browser` / `open_page`: Debian's chromium driven by Playwright
(never `playwright install`), each page recording its console errors and every request that left
the origin; a screenshot of each page is left in var/test-artifacts/ (not committed).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from api_server import production_api
from helpers import (
    create_database,
    daemon_in_thread,
    drop_database,
    insight_report,
    load_report,
    wait_until,
)
from legacy_campus import load_campus

from energy_ingest.catalog.site import Site
from energy_ingest.config import Settings
from energy_ingest.health.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("ENERGY_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ZONE = ZoneInfo("America/Chicago")
TZ = "America/Chicago"
# The browser's own zone: another hemisphere, other DST dates. The pages must show the server's
# zone (ENERGY_TIMEZONE) whatever the browser's is.
BROWSER_TZ = "Pacific/Auckland"

YEAR_POINT = "HU.R110.RMT"
YEAR_START = date(2025, 12, 1)  # local midnight; 365 days to 2026-12-01
YEAR_END = date(2026, 12, 1)
YEAR_GAP = date(2026, 6, 10)  # no reading on this local day
SPRING = date(2026, 3, 8)  # 23 hours in Chicago
AUTUMN = date(2026, 11, 1)  # 25 hours
FAILED_NAME = "broken_12-06-26_06-00.csv"
FAILED_REASON = "this is binary data, not a CSV"  # part of the reason the daemon gives for it
OVERDUE_SERIES = "hall"


def year_value(local: datetime) -> float:
    return 60.0 + local.hour


def year_rows() -> list[tuple[datetime, float]]:
    """(local naive time, value) every 15 minutes of the year, in order: the autumn's repeated
    hour twice (as Insight writes it), the spring's missing hour not at all, YEAR_GAP left out."""
    t = datetime.combine(YEAR_START, datetime.min.time(), ZONE).astimezone(UTC)
    end = datetime.combine(YEAR_END, datetime.min.time(), ZONE).astimezone(UTC)
    rows = []
    while t < end:
        local = t.astimezone(ZONE)
        if local.date() != YEAR_GAP:
            rows.append((local.replace(tzinfo=None), year_value(local)))
        t += timedelta(minutes=15)
    return rows


def report(name: str, rows: list[tuple[datetime, float]]) -> bytes:
    """An Insight trend report of one point with exactly these rows."""
    lines = ['"Key            Name:Suffix                                Trend Definitions Used"']
    lines += [f'"Point_1:","{name}","","15 minutes"', '"Time Interval:","15 Minutes"']
    lines += [
        f'"Date Range:","{rows[0][0]:%-m/%-d/%Y %H:%M:%S} - {rows[-1][0]:%-m/%-d/%Y %H:%M:%S}"',
        '"Report Timings:","All Hours"',
        '""',
        '"<>Date","Time","Point_1"',
    ]
    lines += [f'"{t:%-m/%-d/%Y}","{t:%H:%M:%S}","{v:g}"' for t, v in rows]
    lines.append(
        '"********************************* End of Report *********************************"'
    )
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class UiCampus:
    url: str
    now: datetime  # when the health was evaluated
    spool: Path


def build(url: str, spool: Path) -> datetime:
    with psycopg.connect(url, autocommit=True) as conn:
        load_campus(conn)
    load_report(url, "plant_12-01-26_00-00.csv", report(YEAR_POINT, year_rows()))
    # the daemon sets a report with a NUL aside: failed/, a note, a ledger row with its reason
    settings = Settings(database_url=url, spool_dir=spool, timezone=TZ, settle_seconds=0.2)
    broken = insight_report(["HALL.SAT"], datetime(2026, 12, 6, 5), 4).replace(
        b"05:15:00", b"05:\x0015:00"
    )
    incoming = spool / "incoming" / "siemens"
    with daemon_in_thread(settings):
        wait_until(lambda: incoming.is_dir(), 20, "the daemon made its spool")
        (spool / "incoming" / FAILED_NAME).write_bytes(broken)
        os.replace(spool / "incoming" / FAILED_NAME, incoming / FAILED_NAME)
        wait_until(lambda: (spool / "failed" / "siemens" / FAILED_NAME).exists(), 30, "failed/")
    # three daily reports of `hall`, the newest 36 hours ago: the next was due 12 hours ago (a
    # series whose newest data is many cadences old when it arrives is history, not overdue)
    now = datetime.now(UTC).replace(microsecond=0)
    newest = (now.astimezone(ZONE) - timedelta(hours=36)).replace(minute=0, second=0, tzinfo=None)
    for k in (2, 1, 0):
        run = newest - timedelta(days=k)
        data = insight_report(["HALL.SAT", "HALL.RAT"], run - timedelta(hours=1), 4)
        load_report(url, f"{OVERDUE_SERIES}_{run:%m-%d-%y_%H-%M}.csv", data)
    with psycopg.connect(url) as conn:
        result = evaluate(conn, Settings(database_url=url), lambda _: Site(), now)
        assert result.ran
    return now


@pytest.fixture(scope="module")
def ui_campus(
    server_conninfo: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiCampus]:
    name = f"energy_test_ui_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(server_conninfo, name, template=template_db)
    spool = tmp_path_factory.mktemp("ui-spool")
    try:
        now = build(url, spool)
        yield UiCampus(url, now, spool)
    finally:
        drop_database(server_conninfo, name)


@pytest.fixture(scope="module")
def ui_server(ui_campus: UiCampus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API under gunicorn, as its unit runs it, over the UI campus: its base URL."""
    log = tmp_path_factory.mktemp("ui-gunicorn") / "gunicorn.log"
    with production_api(ui_campus.url, log, ENERGY_TIMEZONE=TZ) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page and what it did: console errors and uncaught exceptions, requests elsewhere."""

    page: Any
    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], f"requests that left {self.origin}: {self.foreign}"


def watch(browser: Any, origin: str, path: str, width: int = 1280, height: int = 800) -> Watched:
    """`origin + path` loaded (network idle) in a new browser context in BROWSER_TZ, watched
    from before its first request; the caller closes `.page.context`."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, timezone_id=BROWSER_TZ
    )
    page = context.new_page()
    watched = Watched(page, origin)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"uncaught: {e}"))

    def seen(req: Any) -> None:
        watched.requests.append(req.url)
        if not req.url.startswith((origin + "/", "data:", "blob:")):
            watched.foreign.append(req.url)

    page.on("request", seen)
    page.goto(origin + path, wait_until="networkidle")
    return watched


@pytest.fixture
def open_page(
    browser: Any, ui_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Watched]]:
    """open_page('/explore?…', width=1280, height=800): the page loaded (network idle) in a new
    browser context; on teardown a screenshot per page and the check that nothing left the
    origin and nothing was logged as an error."""
    opened: list[tuple[Watched, Any]] = []

    def open_(path: str, width: int = 1280, height: int = 800, wait: str | None = None) -> Watched:
        watched = watch(browser, ui_server, path, width, height)
        opened.append((watched, watched.page.context))
        if wait:
            watched.page.wait_for_selector(wait, timeout=20_000)
        return watched

    yield open_
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name)[:120]
    for k, (watched, context) in enumerate(opened):
        try:
            watched.page.screenshot(path=ARTIFACTS / f"{test}-{k}.png", full_page=True)
        finally:
            context.close()
        watched.clean()
