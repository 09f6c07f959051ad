"""Every page in a real browser (tests/ui_campus.py): it loads, says nothing on the console, asks
nothing of another origin, carries its Content-Security-Policy, and its links are reachable from
the keyboard; at 1280×800 and at phone width."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from ui_campus import Watched

pytestmark = pytest.mark.browser
PAGES = ["/", "/explore", "/catalog", "/docs"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_each_page_loads_cleanly_at_desktop_and_phone_width(
    open_page: Callable[..., Watched], path: str, width: int, height: int
) -> None:
    shown = open_page(path, width=width, height=height)
    shown.page.wait_for_timeout(300)  # anything the page does after its first answers
    overflow = shown.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} is {overflow}px wider than a {width}px window"
    shown.clean()


@pytest.mark.parametrize("path", PAGES)
def test_each_page_says_in_its_csp_that_nothing_loads_from_elsewhere(
    ui_server: str, path: str
) -> None:
    response = requests.get(ui_server + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    csp = dict(
        d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert "http" not in response.headers["Content-Security-Policy"]
