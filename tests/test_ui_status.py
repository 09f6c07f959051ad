"""The status page (/) in a real browser over the UI campus (tests/ui_campus.py): the failed file
with its reason and the exact retry command, the overdue series and its open alert, the recent
files with their counts, the backlog; it refreshes itself without reloading (and asks nothing
while its tab is hidden); and a file a real daemon is loading shows with its percent."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from helpers import daemon_in_thread, insight_report, load_report, wait_until
from test_daemon import drop
from ui_campus import (
    FAILED_NAME,
    OVERDUE_SERIES,
    TZ,
    ZONE,
    UiCampus,
    Watched,
    year_rows,
)

from energy_ingest.catalog.site import Site
from energy_ingest.config import Settings
from energy_ingest.health.evaluate import evaluate
from energy_ingest.write.ledger import FileInfo, record_failure

pytestmark = pytest.mark.browser

DAILY_SERIES = "boiler"  # overdue by half a day (module fixture `overdue_daily`)
YEAR_FILE = "plant_12-01-26_00-00.csv"
FRESH_FILE = "fresh_12-07-26_06-00.csv"  # loaded while the page is open
SLOW_FILE = "slow_12-08-26_00-00.csv"  # loaded by a daemon, held half-way
SLOW_POINTS, SLOW_ROWS = 8, 20_000


def local_text(moment: datetime) -> str:
    """A time as every page shows it: local to the server's zone, with its offset."""
    local = moment.astimezone(ZONE)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def ledger(url: str, name: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        cur = conn.execute("SELECT * FROM files WHERE name = %s", (name,))
        names = [c.name for c in cur.description or ()]
        row = cur.fetchone()
    assert row is not None, name
    return dict(zip(names, row, strict=True))


def cells(shown: Watched, row: str) -> list[str]:
    texts: list[str] = shown.page.locator(row).first.locator("td").all_inner_texts()
    return [t.strip() for t in texts]


def row_of(section: str, name: str) -> str:
    return f"#{section} tbody tr:has(:text-is({json.dumps(name, ensure_ascii=False)}))"


@pytest.fixture(scope="module", autouse=True)
def overdue_daily(ui_campus: UiCampus) -> datetime:
    """A daily report whose newest run is 36 to 37 hours old, evaluated now: overdue, and an
    open alert says so. (ui_campus's `hall` is hourly and its newest data was two days old when
    it arrived: a backfill of history, `historical`, not overdue.) Its newest run time."""
    now = datetime.now(UTC)
    newest = (now.astimezone(ZONE) - timedelta(hours=36)).replace(minute=0, second=0, microsecond=0)
    for days in (2, 1, 0):
        run = newest - timedelta(days=days)
        data = insight_report(["BOILER.HWS"], run.replace(tzinfo=None) - timedelta(hours=1), 4)
        load_report(ui_campus.url, f"{DAILY_SERIES}_{run:%m-%d-%y_%H-%M}.csv", data)
    with psycopg.connect(ui_campus.url) as conn:
        assert evaluate(conn, Settings(database_url=ui_campus.url), lambda _: Site(), now).ran
    return newest


@pytest.fixture
def status_page(open_page: Callable[..., Watched]) -> Callable[..., Watched]:
    def open_(width: int = 1280, height: int = 800) -> Watched:
        return open_page("/", width=width, height=height, wait="#refreshed:has-text('updated')")

    return open_


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_a_failed_file_shows_its_reason_and_the_exact_retry_command(
    status_page: Callable[..., Watched], ui_campus: UiCampus, width: int, height: int
) -> None:
    shown = status_page(width, height)
    row = row_of("failed", FAILED_NAME)
    file, source, when, reason, retry = cells(shown, row)
    failure = ledger(ui_campus.url, FAILED_NAME)
    assert (file, source, when) == (FAILED_NAME, "siemens", local_text(failure["ingested_at"]))
    assert reason == failure["error"]
    # ui_campus's FAILED_REASON ("NUL character") is not what the daemon says of this file
    assert reason.startswith(f"siemens/{FAILED_NAME} line 1: this is binary data, not a CSV")
    # the command of the daemon's note (shlex.quote leaves this name as it is), as its own text
    command = f"energy-ingest retry -- siemens/{FAILED_NAME}"
    assert retry.startswith(command)
    assert shown.page.locator(f"{row} code.cmd").inner_text() == command
    assert shown.page.locator("#failed h2 .count").inner_text() == "(1)"
    # the page itself is no wider than the window: the table scrolls in its box
    overflow = shown.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1


def test_the_copy_button_puts_the_retry_command_on_the_clipboard(
    status_page: Callable[..., Watched],
) -> None:
    shown = status_page()
    shown.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    button = shown.page.locator(f"{row_of('failed', FAILED_NAME)} button")
    assert button.get_attribute("aria-label") == f"Copy the retry command for {FAILED_NAME}"
    button.focus()
    shown.page.keyboard.press("Enter")  # reachable and usable from the keyboard
    # (not wait_for_function: its polling evaluates a string, which the page's CSP refuses)
    shown.page.wait_for_selector(f"{row_of('failed', FAILED_NAME)} button:text-is('Copied')")
    copied = shown.page.evaluate("navigator.clipboard.readText()")
    assert copied == f"energy-ingest retry -- siemens/{FAILED_NAME}"


def test_the_overdue_series_is_marked_and_its_alert_is_open(
    status_page: Callable[..., Watched], ui_server: str, overdue_daily: datetime
) -> None:
    shown = status_page()
    row = row_of("series", DAILY_SERIES)
    name, source, cadence, last_run, expected, status = cells(shown, row)
    assert (name, source, cadence) == (DAILY_SERIES, "siemens", "every 1 d")
    assert last_run == local_text(overdue_daily)
    assert expected == local_text(overdue_daily + timedelta(days=1))
    assert re.fullmatch(r"overdue late by 1[23] h", status), status  # 36-37 h old, daily
    assert "overdue" in (shown.page.locator(row).get_attribute("class") or "").split()
    assert shown.page.locator(f"{row} .badge.bad").inner_text() == "overdue"
    # every series the API calls overdue is marked so, and first
    api_series = requests.get(f"{ui_server}/api/v2/series", timeout=10).json()["data"]
    overdue_names = {s["name"] for s in api_series if s["status"] == "overdue"}
    assert {DAILY_SERIES, OVERDUE_SERIES} <= overdue_names  # this module's and ui_campus's
    marked = shown.page.locator("#series tbody tr.overdue td:first-child").all_inner_texts()
    assert set(marked) == overdue_names
    first = shown.page.locator("#series tbody tr td:first-child").all_inner_texts()
    assert set(first[: len(overdue_names)]) == overdue_names
    hall = {s["name"]: s["status"] for s in api_series}[OVERDUE_SERIES]
    assert cells(shown, row_of("series", OVERDUE_SERIES))[5].startswith(hall)
    count = f"({len(overdue_names)} overdue of {len(api_series)})"
    assert shown.page.locator("#series h2 .count").inner_text() == count

    # the open alerts are the API's, the overdue series' among them
    api = requests.get(f"{ui_server}/api/v2/alerts", timeout=10).json()["data"]
    overdue = [a for a in api if a["kind"] == "overdue" and DAILY_SERIES in a["summary"]]
    assert len(overdue) == 1
    [alert] = overdue
    rows = shown.page.locator("#alerts tbody tr")
    assert rows.count() == len(api)
    texts = [
        [t.strip() for t in rows.nth(i).locator("td").all_inner_texts()] for i in range(len(api))
    ]
    since = alert["fired_at"] if alert["state"] == "firing" else alert["opened_at"]
    assert ["high", "overdue", alert["summary"], local_text(datetime.fromisoformat(since))] in [
        t[:4] for t in texts
    ]
    assert shown.page.locator("#alerts h2 .count").inner_text() == f"({len(api)})"


def test_recent_files_show_the_loaded_files_with_their_counts(
    status_page: Callable[..., Watched], ui_campus: UiCampus
) -> None:
    shown = status_page()
    readings = f"{len(year_rows()):,}"  # one point, one reading a row, all of them new
    year = cells(shown, row_of("recent", YEAR_FILE))
    loaded = ledger(ui_campus.url, YEAR_FILE)
    assert year == [
        local_text(loaded["ingested_at"]),
        YEAR_FILE,
        "siemens",
        "ingested",
        *(readings, readings, "0", "0", "0", "0"),
    ]
    # each hourly report of `hall`: 4 rows of 2 points
    hall = shown.page.locator("#recent tbody tr:has(:text-matches('^hall_'))")
    assert hall.count() == 3
    for i in range(3):
        counts = [t.strip() for t in hall.nth(i).locator("td").all_inner_texts()][4:]
        assert counts == ["8", "8", "0", "0", "0", "0"]
    failed = cells(shown, row_of("recent", FAILED_NAME))
    assert failed[3:] == ["failed", "—", "—", "—", "—", "—", "—"]
    assert shown.page.locator(f"{row_of('recent', FAILED_NAME)} a[href='#failed']").count() == 1


def test_with_no_daemon_running_the_backlog_says_so_and_nothing_is_loading(
    status_page: Callable[..., Watched],
) -> None:
    shown = status_page()
    backlog = shown.page.locator("#backlog .body").inner_text()
    assert "No ingest daemon has reported in the last 30 s" in backlog
    assert re.search(r"^\d+ files? waiting in incoming/ at the last evaluation", backlog, re.M)
    assert shown.page.locator("#progress .body").inner_text() == "No file is loading."


def test_the_page_refreshes_itself_without_reloading(
    status_page: Callable[..., Watched], ui_campus: UiCampus
) -> None:
    shown = status_page()
    page = shown.page
    page.evaluate("window.stillTheSamePage = true")
    first = page.locator("#refreshed").inner_text()
    # the server zone's clock and offset (the browser's is Auckland's), a few seconds ago
    now = datetime.now(ZONE)
    offset = now.strftime("%z")
    match = re.fullmatch(rf"updated (\d\d):(\d\d):(\d\d) {offset[:3]}:{offset[3:]}", first)
    assert match, first
    h, m, s = map(int, match.groups())
    assert (now.hour * 3600 + now.minute * 60 + now.second - (h * 3600 + m * 60 + s)) % 86400 < 60
    data = insight_report(["FRESH.SAT"], datetime(2026, 12, 7, 5), 6)
    load_report(ui_campus.url, FRESH_FILE, data)
    page.wait_for_selector(row_of("recent", FRESH_FILE), timeout=15_000)
    counts = cells(shown, row_of("recent", FRESH_FILE))[4:]
    assert counts == ["6", "6", "0", "0", "0", "0"]
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.locator("#recent tbody tr").first.locator("td").nth(1).inner_text() == FRESH_FILE
    assert page.locator("#refreshed").inner_text() != first


def test_a_hidden_tab_asks_nothing_until_it_is_shown_again(
    status_page: Callable[..., Watched],
) -> None:
    shown = status_page()
    page = shown.page

    def asked() -> int:
        return sum("/api/v2/ingest" in url for url in shown.requests)

    def visibility(state: str) -> None:
        page.evaluate(
            "state => { Object.defineProperty(document, 'visibilityState',"
            " {value: state, configurable: true});"
            " document.dispatchEvent(new Event('visibilitychange')); }",
            state,
        )

    visibility("hidden")
    page.wait_for_timeout(300)  # a refresh already under way ends
    before = asked()
    page.wait_for_timeout(7_000)  # more than one refresh period
    assert asked() == before
    visibility("visible")
    wait_until(lambda: asked() > before, 5, "a refresh as soon as the tab is shown")


def slow_report() -> bytes:
    """8 points × 20,000 one-minute rows (no DST change): 10 chunks of the loader's 2,000 rows."""
    points = [f"SLOW.P{p}" for p in range(SLOW_POINTS)]
    return insight_report(points, datetime(2026, 12, 8), SLOW_ROWS, minutes=1)


@pytest.fixture
def held_daemon(
    ui_campus: UiCampus, tmp_path: Path
) -> Iterator[tuple[Any, threading.Event, threading.Event]]:
    """A daemon (in a thread) over the UI campus whose load of a file stops between two chunks,
    after it published how far it got (`held` is set), until the test sets `release`."""
    settings = Settings(
        database_url=ui_campus.url, spool_dir=tmp_path / "spool", timezone=TZ, settle_seconds=0.2
    )
    held, release = threading.Event(), threading.Event()
    with daemon_in_thread(settings, progress_seconds=0.1) as d:
        original, calls = d.progress.tick, []

        def tick(values: Callable[[], int]) -> None:
            calls.append(1)
            if len(calls) == 4:
                # past Progress's (0.1 s) and Activity's (0.5 s) pauses: this state is written
                time.sleep(0.7)
                original(values)
                held.set()
                release.wait(60)
            else:
                original(values)

        d.progress.tick = tick
        try:
            yield d, held, release
        finally:
            release.set()


def test_a_file_a_daemon_is_loading_shows_with_its_percent_then_as_loaded(
    status_page: Callable[..., Watched],
    held_daemon: tuple[Any, threading.Event, threading.Event],
    ui_server: str,
    tmp_path: Path,
) -> None:
    """The whole way: the daemon's state → ingest_activity → /api/v2/ingest → the page."""
    d, held, release = held_daemon
    shown = status_page()
    page = shown.page
    drop(tmp_path / "spool", SLOW_FILE, slow_report())
    assert held.wait(60), "the load held half-way"
    state = d.progress.state
    assert state is not None and state.path == f"siemens/{SLOW_FILE}"
    assert 0 < state.values < SLOW_POINTS * SLOW_ROWS

    bar = f"#progress .loading:has(code:text-is('{state.path}')) progress"
    page.wait_for_selector(bar, timeout=15_000)
    assert page.locator(bar).get_attribute("value") == str(state.percent)
    assert page.locator(bar).get_attribute("max") == "100"
    loading = page.locator("#progress .loading")
    assert loading.count() == 1
    assert loading.locator(".percent").inner_text() == f"{state.percent} %"
    assert loading.locator(".values").inner_text() == f"{state.values:,}"
    assert f"of {state.size / 1e6:.1f} MB read" in loading.inner_text()
    backlog = page.locator("#backlog .body").inner_text()
    assert re.match(r"1 file waiting in incoming/ \(counted ", backlog), backlog
    assert "No ingest daemon" not in backlog

    release.set()
    page.wait_for_selector("#progress p:text-is('No file is loading.')", timeout=20_000)
    page.wait_for_selector(row_of("recent", SLOW_FILE), timeout=15_000)
    counts = cells(shown, row_of("recent", SLOW_FILE))[4:6]
    assert counts == [f"{SLOW_POINTS * SLOW_ROWS:,}"] * 2


def test_a_name_the_shell_would_split_gets_the_command_shlex_quote_gives(
    status_page: Callable[..., Watched], ui_campus: UiCampus
) -> None:
    """The retry command is the one the daemon's note gives: shlex.quote of source/name."""
    name = "Plant's report é 12-06-26.csv"
    data = b"not a report"
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, "alc", len(data))
    with psycopg.connect(ui_campus.url, autocommit=True) as conn:
        record_failure(conn, info, f"alc/{name} line 1: not a trend report")
    shown = status_page()
    command = shown.page.locator(f"{row_of('failed', name)} code.cmd").inner_text()
    assert command == f"energy-ingest retry -- {shlex.quote(f'alc/{name}')}"
    assert command == "energy-ingest retry -- 'alc/Plant'\"'\"'s report é 12-06-26.csv'"
