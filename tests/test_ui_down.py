"""The pages over an API whose database nobody listens on: a real failure, the API under gunicorn
as its unit runs it (tests/api_server.py), not an answer faked in the browser. Each page says the
API's own words in #problem, and the browser logs nothing but the failed requests themselves.

This module's `ui_server` is that API, so ui_campus's `open_page` opens its pages (and checks, as
everywhere, that nothing left the origin and no script failed); no campus database is built."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from api_server import production_api
from ui_campus import TZ, Watched

pytestmark = pytest.mark.browser

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1
# What the API says of a route that needs the database (energy_api/__init__.py)
DOWN = "the database cannot be reached; try again shortly"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API over UNREACHABLE: ready when its index (no database needed) answers."""
    log = tmp_path_factory.mktemp("down-gunicorn") / "gunicorn.log"
    with production_api(UNREACHABLE, log, ready="/api/", ENERGY_TIMEZONE=TZ) as base:
        yield base


def api_message(base: str, path: str) -> str:
    reply = requests.get(f"{base}/api/v2/{path}", timeout=30)
    assert reply.status_code == 503
    message: str = reply.json()["error"]["message"]
    return message


def only_the_failed_requests(shown: Watched) -> None:
    """The browser's own console line for each 503 answer, and nothing else."""
    assert shown.errors and all("status of 503" in e for e in shown.errors), shown.errors
    shown.errors.clear()
    shown.clean()


def test_the_catalog_says_the_apis_message_and_nothing_else(
    ui_server: str, open_page: Callable[..., Watched]
) -> None:
    assert api_message(ui_server, "coverage?top=20") == DOWN
    shown = open_page("/catalog", wait="#main[data-state=error]")
    page = shown.page
    assert page.locator("#problem").is_visible()
    assert page.text_content("#problem") == DOWN
    assert page.locator("#buildings tr").count() == 0
    assert page.text_content("#unresolved-title") == "Unresolved points"  # no list asked for
    only_the_failed_requests(shown)


def test_the_status_page_says_the_database_is_down_in_the_apis_words(
    ui_server: str, open_page: Callable[..., Watched]
) -> None:
    health = requests.get(f"{ui_server}/api/v2/health", timeout=30)
    assert health.status_code == 503 and health.json()["status"] == "down"
    reason = health.json()["reason"]
    assert reason.startswith("the database cannot be reached: ")
    assert api_message(ui_server, "ingest") == DOWN
    shown = open_page("/", wait="#refreshed:has-text('updated')")
    page = shown.page
    assert page.locator("#health .badge.bad").inner_text() == "down"
    assert page.text_content("#health") == f"down {reason}"
    assert page.text_content("#problem") == DOWN
    only_the_failed_requests(shown)
