"""The explorer's heatmaps in a real browser (tests/ui_campus.py): view=heatmap of HU.R110.RMT
(every 15 minutes for a year, value = 60 + the local hour, YEAR_GAP without readings) has a column
per local day and a cell per local hour — 23 on SPRING, 25 on AUTUMN (the repeated hour as two
halves), none on YEAR_GAP — each cell at its hour with its value, in the colour the ramp gives it
(recomputed here); hover says the local time with its offset and the value; the CSV link returns
what is drawn. view=campus has a row per point of a building (or of the `points` list) and a cell
per daily bucket the API returns, each row on its own scale (bench/ui times 450 points × a year on
the bench database)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from ui_campus import AUTUMN, SPRING, YEAR_END, YEAR_GAP, YEAR_POINT, YEAR_START, ZONE, Watched

pytestmark = pytest.mark.browser

READY = "#heatmap-view[data-state=ready]"
YEAR = f"start={YEAR_START}&end={YEAR_END}"
WHITE = (255, 255, 255)  # the canvas's background: a cell without data
# The ramp heatmap.js documents: viridis at ten equal steps, linear in between, rounded.
VIRIDIS = [
    "440154",
    "482878",
    "3e4a89",
    "31688e",
    "26828e",
    "1f9e89",
    "35b779",
    "6dcd59",
    "b4de2c",
    "fde725",
]
STEPS = [tuple(int(h[i : i + 2], 16) for i in (0, 2, 4)) for h in VIRIDIS]


def ramp(f: float) -> tuple[int, ...]:
    s = min(max(f, 0), 1) * (len(STEPS) - 1)
    i = min(math.floor(s), len(STEPS) - 2)
    u = s - i
    a, b = STEPS[i], STEPS[i + 1]
    return tuple(math.floor(a[k] + (b[k] - a[k]) * u + 0.5) for k in range(3))  # JS Math.round


def scaled(v: float, lo: float, hi: float) -> tuple[int, ...]:
    return ramp((v - lo) / (hi - lo) if hi > lo else 0.5)


def hours_in(day: date) -> int:
    """Hours of a local day in the campus's zone (23, 24 or 25)."""
    a = datetime.combine(day, datetime.min.time(), ZONE).astimezone(UTC)
    b = datetime.combine(day + timedelta(days=1), datetime.min.time(), ZONE).astimezone(UTC)
    return int((b - a).total_seconds() // 3600)


def year_days() -> list[date]:
    return [YEAR_START + timedelta(days=k) for k in range((YEAR_END - YEAR_START).days)]


def shown_number(v: float) -> str:
    """As the page writes a value (en-US, at most 3 decimals)."""
    return f"{v:,.3f}".rstrip("0").rstrip(".")


@pytest.fixture(scope="module")
def year_id(ui_server: str) -> int:
    answer = requests.get(f"{ui_server}/api/v2/points", params={"name": YEAR_POINT}, timeout=10)
    (point,) = answer.json()["data"]
    return int(point["id"])


def drawn(shown: Watched) -> dict[str, Any]:
    """What the page says it drew (energyHeatmap.last), without the canvas."""
    result: dict[str, Any] = shown.page.evaluate(
        "() => { const l = energyHeatmap.last;"
        " return {days: l.days, dates: l.dates, dpr: l.dpr, background: l.background, csv: l.csv,"
        " cells: l.cells.map(c => ({date: c.date, hour: c.hour, half: c.half, t: c.t, row: c.row,"
        " value: c.value, x: c.x, y: c.y, w: c.w, h: c.h})),"
        " rows: l.rows && l.rows.map(r => r.point.name)}; }"
    )
    return result


def pixel(shown: Watched, cell: dict[str, Any]) -> tuple[int, ...]:
    """The canvas's pixel at the centre of a cell (x, y, w, h in CSS pixels)."""
    rgba = shown.page.evaluate(
        "([x, y]) => { const l = energyHeatmap.last;"
        " return Array.from(l.canvas.getContext('2d').getImageData(x * l.dpr, y * l.dpr, 1, 1).data); }",
        [cell["x"] + cell["w"] / 2, cell["y"] + cell["h"] / 2],
    )
    assert rgba[3] == 255
    return tuple(rgba[:3])


def hover(shown: Watched, cell: dict[str, Any]) -> str:
    """Move the mouse over a cell's centre; the tooltip's text, line by line."""
    canvas = shown.page.locator(".heat-canvas")
    # the cell in the middle of the window: the finder and the range come first on the page
    canvas.evaluate(
        "(c, y) => window.scrollBy(0, c.getBoundingClientRect().top + y - innerHeight / 2)",
        cell["y"] + cell["h"] / 2,
    )
    box = canvas.bounding_box()
    x, y = box["x"] + cell["x"] + cell["w"] / 2, box["y"] + cell["y"] + cell["h"] / 2
    shown.page.mouse.move(x, y)
    tip = shown.page.locator(".heat-tip")
    tip.wait_for(state="visible")
    text: str = tip.evaluate("t => Array.from(t.children, c => c.textContent).join('\\n')")
    return text


def only(cells: list[dict[str, Any]], **where: Any) -> dict[str, Any]:
    (cell,) = [c for c in cells if all(c[k] == v for k, v in where.items())]
    return cell


def test_heatmap_has_a_cell_per_local_hour_of_each_local_day(
    open_page: Callable[..., Watched], year_id: int
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}&{YEAR}", wait=READY)
    got = drawn(shown)
    days = year_days()
    assert got["days"] == len(days) == 365
    assert got["dates"] == [d.isoformat() for d in days]
    expected = {d.isoformat(): 0 if d == YEAR_GAP else hours_in(d) for d in days}
    assert expected[SPRING.isoformat()] == 23 and expected[AUTUMN.isoformat()] == 25
    per_day = Counter(c["date"] for c in got["cells"])
    assert {d: per_day.get(d, 0) for d in expected} == expected
    assert len(got["cells"]) == sum(expected.values()) == 362 * 24 + 23 + 25
    # each cell at its local hour, with the value of that hour (60 + the hour)
    assert all(c["value"] == 60 + c["hour"] for c in got["cells"])
    assert {c["hour"] for c in got["cells"] if c["date"] == SPRING.isoformat()} == set(
        range(24)
    ) - {2}
    autumn = [c for c in got["cells"] if c["date"] == AUTUMN.isoformat()]
    halves = sorted((c for c in autumn if c["hour"] == 1), key=lambda c: c["t"])
    assert [c["half"] for c in halves] == [0, 1] and halves[1]["t"] - halves[0]["t"] == 3600
    assert halves[0]["y"] < halves[1]["y"]  # the earlier instant on top
    assert halves[0]["h"] == halves[1]["h"] == only(autumn, hour=0)["h"] / 2
    assert all(c["half"] is None for c in got["cells"] if c not in halves)
    # one column per day, in order, the same width for all
    xs = {d: only(got["cells"], date=d, hour=0)["x"] for d in ("2025-12-01", "2025-12-02")}
    assert xs["2025-12-02"] - xs["2025-12-01"] == got["cells"][0]["w"]


def test_heatmap_colours_are_the_ramp_of_the_known_values_and_a_gap_is_empty(
    open_page: Callable[..., Watched], year_id: int
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}&{YEAR}", wait=READY)
    got = drawn(shown)
    cells = got["cells"]
    assert tuple(got["background"]) == WHITE
    day = "2026-01-15"
    assert pixel(shown, only(cells, date=day, hour=0)) == (0x44, 0x01, 0x54)  # 60: the minimum
    assert pixel(shown, only(cells, date=day, hour=23)) == (0xFD, 0xE7, 0x25)  # 83: the maximum
    for hour in (5, 12, 17):
        assert pixel(shown, only(cells, date=day, hour=hour)) == scaled(60 + hour, 60, 83)
    assert scaled(72, 60, 83) == (0x21, 0x95, 0x8B)  # the ramp itself, 12/23 of the way
    # the gap day: every hour's place is background, as is the spring day's missing 02:00
    column = only(cells, date="2026-06-09", hour=0)
    gap = {**column, "x": column["x"] + column["w"]}
    for hour in range(24):
        assert pixel(shown, {**gap, "y": column["y"] + hour * column["h"]}) == WHITE
    spring = only(cells, date=SPRING.isoformat(), hour=1)
    assert pixel(shown, {**spring, "y": spring["y"] + spring["h"]}) == WHITE
    assert pixel(shown, only(cells, date=SPRING.isoformat(), hour=3)) == scaled(63, 60, 83)
    for half in (0, 1):
        assert pixel(shown, only(cells, date=AUTUMN.isoformat(), hour=1, half=half)) == scaled(
            61, 60, 83
        )
    # the legend names the range the colours span
    assert shown.page.locator(".heat-min").text_content() == "60"
    assert shown.page.locator(".heat-max").text_content() == "83"


def test_hover_says_the_local_hour_with_its_offset_and_the_value(
    open_page: Callable[..., Watched], year_id: int
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}&{YEAR}", wait=READY)
    cells = drawn(shown)["cells"]
    autumn = AUTUMN.isoformat()
    first = hover(shown, only(cells, date=autumn, hour=1, half=0))
    assert first == f"{autumn} 01:00 -05:00 – 01:00 -06:00\naverage 61"
    second = hover(shown, only(cells, date=autumn, hour=1, half=1))
    assert second == f"{autumn} 01:00 -06:00 – 02:00 -06:00\naverage 61"
    assert hover(shown, only(cells, date=SPRING.isoformat(), hour=1)) == (
        f"{SPRING} 01:00 -06:00 – 03:00 -05:00\naverage 61"
    )
    assert hover(shown, only(cells, date="2026-07-04", hour=23)) == (
        "2026-07-04 23:00 -05:00 – 2026-07-05 00:00 -05:00\naverage 83"
    )
    # a place without data says so
    column = only(cells, date="2026-06-09", hour=14)
    text = hover(shown, {**column, "x": column["x"] + column["w"]})
    assert text == f"{YEAR_GAP} 14:00\nno value"


def test_csv_link_downloads_what_is_shown(
    open_page: Callable[..., Watched], year_id: int, ui_server: str
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}&{YEAR}", wait=READY)
    got = drawn(shown)
    link = shown.page.locator("a.heat-csv")
    assert link.text_content() == "Download CSV"
    href = link.get_attribute("href")
    assert href == got["csv"] and link.get_attribute("download")
    assert href.startswith("/api/v2/values?") and "format=csv" in href
    answer = requests.get(ui_server + href, timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(int(r["t"]), float(r[YEAR_POINT])) for r in rows] == [
        (c["t"], float(c["value"])) for c in got["cells"]
    ]


def test_heatmap_without_a_range_shows_the_year_to_the_last_reading(
    open_page: Callable[..., Watched], year_id: int
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}", wait=READY)
    assert drawn(shown)["days"] == 365
    query = shown.page.evaluate("location.search")
    assert f"start={YEAR_START}" in query and f"end={YEAR_END}" in query  # the URL holds it


def test_heatmap_fits_a_phone_in_its_own_scroller(
    open_page: Callable[..., Watched], year_id: int
) -> None:
    shown = open_page(f"/explore?view=heatmap&points={year_id}&{YEAR}", 390, 844, wait=READY)
    overflow = shown.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    scroller = shown.page.evaluate(
        "(() => { const s = document.querySelector('.heat-scroll');"
        " return [s.scrollWidth > s.clientWidth, getComputedStyle(s).overflowX]; })()"
    )
    assert scroller == [True, "auto"]
    assert len(drawn(shown)["cells"]) == 362 * 24 + 23 + 25


def test_an_unknown_point_is_said_in_the_api_s_words(open_page: Callable[..., Watched]) -> None:
    shown = open_page("/explore?view=heatmap&points=999999", wait="#heatmap-view[data-state=error]")
    problem = shown.page.locator("#problem")
    assert problem.is_visible()
    assert problem.text_content() == "no such point: 999999; list points with /api/v2/points?q=..."
    # the browser itself logs the 404 it was answered: expected here, and nothing else
    assert len(shown.errors) == 1 and "404" in shown.errors[0]
    shown.errors.clear()


def campus_values(ui_server: str, href: str) -> dict[str, Any]:
    """The JSON of the campus's own request (its CSV link without format=csv)."""
    answer = requests.get(ui_server + href.replace("&format=csv", ""), timeout=30)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_campus_has_a_row_per_point_of_the_building_and_a_cell_per_daily_bucket(
    open_page: Callable[..., Watched], ui_server: str
) -> None:
    shown = open_page(f"/explore?view=campus&building=HU&{YEAR}", wait=READY)
    got = drawn(shown)
    listed = requests.get(
        f"{ui_server}/api/v2/points", params={"building": "HU", "limit": 1000}, timeout=10
    ).json()["data"]
    assert len(listed) > 5 and YEAR_POINT in {p["name"] for p in listed}
    assert got["rows"] == sorted(p["name"] for p in listed)  # one building: by name
    assert got["days"] == 365 and got["dates"][0] == str(YEAR_START)
    # every daily bucket the API has for these points, and nothing else
    series = requests.get(
        f"{ui_server}/api/v2/values",
        params={
            "points": ",".join(str(p["id"]) for p in listed),
            **dict(start=str(YEAR_START), end=str(YEAR_END), interval="1d"),
        },
        timeout=30,
    ).json()["series"]
    buckets = {(s["point"]["name"], row[0][:10]) for s in series for row in s["data"]}
    assert len(buckets) == 364  # the year point's days but YEAR_GAP; the others have none here
    assert {(got["rows"][c["row"]], c["date"]) for c in got["cells"]} == buckets
    assert len(got["cells"]) == len(buckets)
    # the year point's row on its own scale: the autumn's 25-hour day averages lowest, the
    # spring's 23-hour day highest; an ordinary day in between
    wide = campus_values(ui_server, got["csv"])
    column = wide["columns"].index(YEAR_POINT)
    values = {row[0][:10]: row[column] for row in wide["data"] if row[column] is not None}
    lo, hi = min(values.values()), max(values.values())
    assert (lo, hi) == (values[str(AUTUMN)], values[str(SPRING)])
    row = got["rows"].index(YEAR_POINT)
    assert pixel(shown, only(got["cells"], row=row, date=str(AUTUMN))) == (0x44, 0x01, 0x54)
    assert pixel(shown, only(got["cells"], row=row, date=str(SPRING))) == (0xFD, 0xE7, 0x25)
    ordinary = only(got["cells"], row=row, date="2026-02-02")
    assert ordinary["value"] == values["2026-02-02"]
    assert pixel(shown, ordinary) == scaled(values["2026-02-02"], lo, hi)
    gap = only(got["cells"], row=row, date="2026-06-09")
    assert pixel(shown, {**gap, "x": gap["x"] + gap["w"]}) == WHITE
    assert pixel(shown, {**ordinary, "y": ordinary["y"] - ordinary["h"]}) == WHITE  # no data
    text = hover(shown, only(got["cells"], row=row, date=str(SPRING)))
    assert text == f"{YEAR_POINT} (HU 110)\n{SPRING}: average {shown_number(values[str(SPRING)])}"
    assert shown.page.locator(".heat-legend").text_content().count("own scale") == 1
    # the CSV link is the same request: a column per row, a line per day with data
    table = list(csv.reader(io.StringIO(requests.get(ui_server + got["csv"], timeout=30).text)))
    assert table[0][2:] == got["rows"] and len(table) - 1 == 364


def test_campus_of_a_points_list_colours_enum_and_lone_values(
    open_page: Callable[..., Watched], ui_server: str
) -> None:
    names = ["HU.R102.RMT", "HU.R102.OCC", "HU.R102.EDMP"]
    ids = [
        requests.get(f"{ui_server}/api/v2/points/{n}", timeout=10).json()["data"]["id"]
        for n in names
    ]
    path = f"/explore?view=campus&points={','.join(map(str, ids))}&start=2018-10-15&end=2018-11-15"
    shown = open_page(path, wait=READY)
    got = drawn(shown)
    assert got["rows"] == sorted(names) and got["days"] == 31
    assert sorted((got["rows"][c["row"]], c["date"]) for c in got["cells"]) == [
        (n, "2018-11-01") for n in sorted(names)
    ]
    for cell in got["cells"]:  # one value per row: the middle of the ramp
        assert pixel(shown, cell) == ramp(0.5) == (0x23, 0x90, 0x8C)
    occ = only(got["cells"], row=got["rows"].index("HU.R102.OCC"))
    assert hover(shown, occ) == "HU.R102.OCC (HU 102)\n2018-11-01: last state ON"
    rmt = only(got["cells"], row=got["rows"].index("HU.R102.RMT"))
    assert hover(shown, rmt) == "HU.R102.RMT (HU 102)\n2018-11-01: average 78.15 °F"
