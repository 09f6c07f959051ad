"""The API docs page (/docs) in a real browser: Swagger UI (vendored) renders the served OpenAPI
document and lists every route — exactly the paths and methods of /api/v2/openapi.json — with
nothing fetched from elsewhere (no online validator), "Try it out" for GETs only, and the page
usable at phone width."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from ui_campus import Watched

pytestmark = pytest.mark.browser
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
READY = "#swagger[data-ready] .opblock"  # docs.js: Swagger UI's onComplete, and the routes drawn


def operations(ui_server: str) -> set[tuple[str, str]]:
    document = requests.get(ui_server + "/api/v2/openapi.json", timeout=10).json()
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def shown_operations(watched: Watched) -> list[tuple[str, str]]:
    """(method, path) of every operation block Swagger UI drew."""
    found = watched.page.eval_on_selector_all(
        "#swagger .opblock",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').dataset.path])""",
    )
    return [(method, path) for method, path in found]


def test_the_docs_page_lists_every_route_of_the_openapi_document(
    ui_server: str, open_page: Callable[..., Watched]
) -> None:
    expected = operations(ui_server)
    assert ("GET", "/coverage") in expected and ("POST", "/values") in expected
    shown = open_page("/docs", wait=READY)
    listed = shown_operations(shown)
    assert len(listed) == len(set(listed))  # each once
    assert set(listed) == expected
    title = shown.page.text_content("#swagger .info .title")
    assert title is not None and title.startswith("energy read API")
    assert all(not url.startswith("https://validator.swagger.io") for url in shown.requests)
    assert not shown.page.locator(
        "#swagger .validator-badge, #swagger img[src*='validator']"
    ).count()
    shown.clean()


def test_try_it_out_is_offered_for_gets_only_and_answers_from_this_origin(
    ui_server: str, open_page: Callable[..., Watched]
) -> None:
    shown = open_page("/docs", wait=READY)
    page = shown.page
    post = page.locator("#swagger .opblock-post").first
    post.locator(".opblock-summary").click()
    post.locator(".opblock-body").wait_for()
    assert post.locator("button.try-out__btn").count() == 0  # POST: not sent from here
    block = page.locator('#swagger .opblock-get:has([data-path="/coverage"])')
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    block.locator(".responses-wrapper .live-responses-table .response-col_status").first.wait_for()
    status = block.locator(".live-responses-table .response .response-col_status").first
    assert status.text_content().strip() == "200"
    sent = [url for url in shown.requests if url.startswith(ui_server + "/api/v2/coverage")]
    assert sent == [ui_server + "/api/v2/coverage?tz=America%2FChicago"]  # the example tz
    shown.clean()


def test_at_phone_width_the_docs_page_does_not_overflow(
    open_page: Callable[..., Watched],
) -> None:
    shown = open_page("/docs", width=390, height=844, wait=READY)
    page = shown.page
    block = page.locator("#swagger .opblock-get").first
    block.locator(".opblock-summary").click()
    # the opened block is drawn to its end: its responses (the last part of its body)
    block.locator(".opblock-body .responses-wrapper .response").first.wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone"
    shown.clean()
