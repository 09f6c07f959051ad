"""Every page in a real browser (tests/ui_campus.py): it loads and finishes, says nothing on the
console or in #problem, asks nothing of another origin and does not overflow, at 1280×800 and at
phone width; it carries the Content-Security-Policy (web.CSP), and so does the HTML index at
/api/."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from ui_campus import Watched

from energy_api.web import CSP

pytestmark = pytest.mark.browser

# Path → the selector that says the page is done: the checks look at the finished page, not at a
# page some fixed time after its first answers. Each page's own signal (a shared
# `body[data-ready]` would have to be set by common.js for every page alike):
READY = {
    "/": "#refreshed:has-text('updated')",  # status.js wrote the time of its first refresh
    "/explore": "#results li",  # no point chosen, so no chart: finder.js listed the points
    "/catalog": "#main[data-state=ready]",  # catalog.js filled every section
    "/docs": "#swagger[data-ready] .opblock",  # Swagger UI's onComplete, routes drawn
}
# The policy written out, so that loosening the constant fails here too.
DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@pytest.mark.parametrize("path", list(READY))
@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_each_page_loads_cleanly_at_desktop_and_phone_width(
    open_page: Callable[..., Watched], path: str, width: int, height: int
) -> None:
    shown = open_page(path, width=width, height=height, wait=READY[path])
    overflow = shown.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} is {overflow}px wider than a {width}px window"
    assert shown.page.locator("#problem").is_hidden(), shown.page.text_content("#problem")
    shown.clean()


def test_the_policy_lets_nothing_load_from_another_origin() -> None:
    assert dict(d.strip().split(" ", 1) for d in CSP.split(";")) == DIRECTIVES


@pytest.mark.parametrize("path", [*READY, "/api/"])
def test_each_page_and_the_api_index_carry_exactly_the_pages_csp(ui_server: str, path: str) -> None:
    response = requests.get(ui_server + path, headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
