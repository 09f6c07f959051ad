"""The explorer (/explore) in a real browser over the UI campus (tests/ui_campus.py): the
interval it picks for a range and the plot's pixels, exactly the values the data implies (a
quarter-hour year of HU.R110.RMT with no readings on YEAR_GAP, DST days of 23 and 25 hours), gaps
left empty on the canvas, an enum point's state bands, the hover's local time, zoom, the range's
buttons, the finder, the URL as the view's whole state, and the CSV of what is shown. Two points
are added to this module's campus (`extra`): readings of HU.R102.DSET (a third unit beside
HU.R102.RMT's and HU.R102.EDMP's) and FAST_POINT, a reading every minute for three days."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from api_server import production_api
from helpers import insight_report, load_report
from legacy_campus import T0
from ui_campus import (
    AUTUMN,
    SPRING,
    TZ,
    YEAR_END,
    YEAR_GAP,
    YEAR_POINT,
    YEAR_START,
    ZONE,
    UiCampus,
    Watched,
    watch,
    year_rows,
    year_value,
)

from energy_ingest.catalog.site import Site
from energy_ingest.config import Settings
from energy_ingest.health.evaluate import evaluate

pytestmark = pytest.mark.browser

DRAWN = "#chart-view[data-state=drawn]"
HEATMAP_READY = "#heatmap-view[data-state=ready]"
FAST_POINT = "BOLIOU.FAST.SAT"  # a reading every minute from FAST_START, for three days
FAST_START = datetime(2026, 1, 10)
UNLEARNT_POINT = "BOLIOU.NEW.SAT"  # 4 readings from FAST_START; no evaluation learnt its interval
DSET = [300.0, 310.0, 320.0, 330.0]  # HU.R102.DSET (ft³/min) at T0, every 15 minutes
VIEWS = ("chart-view", "heatmap-view")
GAP_DAY_NOON = int(datetime(2026, 6, 10, 12, tzinfo=ZONE).timestamp())

# per series of the chart: [t, y] of every value drawn (y neither null nor undefined)
VALUES_JS = """() => {
  if (!explorer.chart) return [];
  const [x, ...ys] = explorer.chart.data;
  return ys.map((y) => x.flatMap((t, i) => (y[i] == null ? [] : [[t, y[i]]])));
}"""

# pixels of the chart's canvas between two times (whole plot height) whose colour is the series'
LINE_PIXELS_JS = """([from, to, series]) => {
  const u = explorer.chart;
  const hex = u.series[series]._stroke;
  const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const a = Math.ceil(u.valToPos(from, "x", true));
  const b = Math.floor(u.valToPos(to, "x", true));
  if (b <= a) throw new Error(`no columns between ${from} and ${to}`);
  const px = u.ctx.getImageData(a, u.bbox.top, b - a, u.bbox.height).data;
  let n = 0;
  for (let k = 0; k < px.length; k += 4) {
    if (px[k + 3] > 64 && [0, 1, 2].every((c) => Math.abs(px[k + c] - rgb[c]) < 40)) n++;
  }
  return n;
}"""

HOVER_JS = """(t) => {
  const u = explorer.chart, r = u.over.getBoundingClientRect();
  return [r.left + u.valToPos(t, "x"), r.top + r.height / 2];
}"""


def epoch(d: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=ZONE).timestamp())


def local(t: float) -> datetime:
    return datetime.fromtimestamp(t, ZONE)


def point_id(base: str, name: str) -> int:
    data = requests.get(f"{base}/api/v2/points", params={"name": name}, timeout=10).json()["data"]
    assert [p["name"] for p in data] == [name]
    return int(data[0]["id"])


def readings(start: datetime, end: datetime) -> list[tuple[int, float]]:
    """(epoch, value) of YEAR_POINT's readings in [start, end) (aware datetimes)."""
    out = []
    for naive, value in year_rows():
        t = naive.replace(tzinfo=ZONE)
        if start <= t < end:
            out.append((int(t.timestamp()), value))
    # the autumn's repeated hour: year_rows lists it twice with the same naive times, and
    # replace(tzinfo) makes both the first (fold=0); the second is an hour later
    seen: set[int] = set()
    fixed = []
    for t, value in out:
        while t in seen:
            t += 3600
        seen.add(t)
        fixed.append((t, value))
    return sorted(fixed)


def drawn(page: Any) -> list[list[list[float]]]:
    page.wait_for_selector(DRAWN, timeout=20_000)
    values: list[list[list[float]]] = page.evaluate(VALUES_JS)
    return values


def values_requests(shown: Watched) -> list[str]:
    return [u for u in shown.requests if "/api/v2/values" in u]


def stale(page: Any) -> None:
    """Mark the chart as not yet drawn, so that the next `drawn` waits for the draw that the
    action after this causes, not the one already on the page."""
    page.evaluate("document.getElementById('chart-view').dataset.state = 'x'")


def chips(page: Any) -> list[str]:
    """The names on the chosen points' chips, in order."""
    names: list[str] = page.eval_on_selector_all("#chips .mono", "xs => xs.map(x => x.textContent)")
    return names


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def hover(page: Any, t: int) -> dict[str, str]:
    page.locator("#chart-view .u-over").scroll_into_view_if_needed()
    x, y = page.evaluate(HOVER_JS, t)
    page.mouse.move(x, y)
    rows = page.eval_on_selector_all(
        ".u-legend .u-series",
        "rows => rows.map(r => [r.querySelector('.u-label').textContent,"
        " r.querySelector('.u-value').textContent])",
    )
    return dict(rows)


@pytest.fixture(scope="module")
def extra(ui_campus: UiCampus) -> None:
    """HU.R102.DSET's readings beside room 102's others, and FAST_POINT's minutes."""
    start = datetime(2018, 11, 1)
    dset = insight_report(["HU.R102.DSET"], start, 4, value=lambda r, c: f"{DSET[r]:g}")
    load_report(ui_campus.url, "dset_11-01-18_00-45.csv", dset)
    fast = insight_report([FAST_POINT], FAST_START, 3 * 1440, minutes=1)
    load_report(ui_campus.url, "fast_01-12-26_23-59.csv", fast)
    # the evaluator learns their intervals, which /gaps needs (as ui_campus has it learn the others)
    with psycopg.connect(ui_campus.url) as conn:
        assert evaluate(
            conn, Settings(database_url=ui_campus.url), lambda _: Site(), ui_campus.now
        ).ran
    # … but not UNLEARNT_POINT's, loaded after the evaluation
    unlearnt = insight_report([UNLEARNT_POINT], FAST_START, 4)
    load_report(ui_campus.url, "unlearnt_01-10-26_01-00.csv", unlearnt)


def drag(page: Any, from_: float, to: float) -> list[list[list[float]]]:
    """Drag over the chart from one instant to another (epoch seconds); what it then draws."""
    page.locator("#chart-view .u-over").scroll_into_view_if_needed()
    a = page.evaluate(HOVER_JS, from_)
    b = page.evaluate(HOVER_JS, to)
    page.evaluate("document.getElementById('chart-view').dataset.state = 'zooming'")
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(b[0], a[1], steps=5)
    page.mouse.up()
    return drawn(page)


@pytest.fixture(scope="module")
def ids(ui_server: str, extra: None) -> dict[str, int]:
    names = [YEAR_POINT, "HU.R102.OCC", "HU.R102.RMT", "HU.R102.EDMP", "HU.R102.DSET", FAST_POINT]
    names.append(UNLEARNT_POINT)
    return {name: point_id(ui_server, name) for name in names}


@pytest.fixture(scope="module")
def small_pages(ui_campus: UiCampus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second API over the same campus whose /values JSON pages hold 1,200 rows."""
    log = tmp_path_factory.mktemp("ui-small-pages") / "gunicorn.log"
    with production_api(ui_campus.url, log, ENERGY_TIMEZONE=TZ, ENERGY_API_MAX_ROWS="1200") as base:
        yield base


@contextlib.contextmanager
def page_at(browser: Any, base: str, path: str) -> Iterator[Watched]:
    """open_page's watch, for a page of another server than ui_server."""
    watched = watch(browser, base, path)
    try:
        yield watched
        watched.clean()
    finally:
        watched.page.context.close()


def test_a_known_week_draws_every_reading_and_leaves_the_gap_day_empty(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start=2026-06-08&end=2026-06-13")
    (series,) = drawn(shown.page)
    # 5 days are 480 quarter-hours, fewer than the plot's pixels: every reading, raw
    assert shown.page.evaluate("explorer.pixels") >= 480
    assert shown.page.evaluate("explorer.interval") == "raw"
    expected = readings(datetime(2026, 6, 8, tzinfo=ZONE), datetime(2026, 6, 13, tzinfo=ZONE))
    assert len(expected) == 4 * 96
    assert [(int(t), v) for t, v in series] == expected
    assert not [t for t, _ in series if local(t).date() == YEAR_GAP]
    # the range line: both ends as local times with their offsets
    assert shown.page.inner_text("#range-text") == (
        "2026-06-08 00:00 -05:00 to 2026-06-13 00:00 -05:00 (end excluded), America/Chicago"
    )
    # one request for the values, with the range and no interval (raw)
    (request,) = values_requests(shown)
    assert parse_qs(urlsplit(request).query) == {
        "points": [str(year)],
        "start": ["2026-06-08"],
        "end": ["2026-06-13"],
    }
    # the canvas: no line from the last reading of the 9th to the first of the 11th
    page = shown.page
    page.locator("#chart-view .u-over").scroll_into_view_if_needed()
    last = epoch(date(2026, 6, 9), 23, 45)
    first = epoch(date(2026, 6, 11))
    assert page.evaluate(LINE_PIXELS_JS, [last + 600, first - 600, 1]) == 0
    assert page.evaluate(LINE_PIXELS_JS, [epoch(date(2026, 6, 8), 1), last, 1]) > 100
    assert page.evaluate(LINE_PIXELS_JS, [first, epoch(date(2026, 6, 12), 23), 1]) > 100


def test_a_year_is_one_request_of_daily_averages_with_the_gap_day_missing(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start={YEAR_START}&end={YEAR_END}")
    (series,) = drawn(shown.page)
    page = shown.page
    # 8,760 hours would not fit the plot's pixels; 365 days do
    assert 365 <= page.evaluate("explorer.pixels") < 8760
    assert page.evaluate("explorer.interval") == "1d"
    days = [local(t).date() for t, _ in series]
    assert len(series) == 364
    gap = (YEAR_GAP - YEAR_START).days
    assert days == [YEAR_START + timedelta(days=k) for k in range(365) if k != gap]
    # 60 + the local hour averaged over each day's hours: 23 on SPRING, 25 on AUTUMN
    averages = {local(t).date(): v for t, v in series}
    assert averages[SPRING] == pytest.approx(60 + (276 - 2) / 23)
    assert averages[AUTUMN] == pytest.approx(60 + (276 + 1) / 25)
    assert averages[date(2026, 1, 15)] == pytest.approx(71.5)
    # exactly one request for values, daily; no other per-point request (no gaps for rollups)
    (request,) = values_requests(shown)
    assert parse_qs(urlsplit(request).query)["interval"] == ["1d"]
    assert not [u for u in shown.requests if "/gaps" in u]
    # a gap on the canvas around the missing day, lines on either side
    page.locator("#chart-view .u-over").scroll_into_view_if_needed()
    noon = GAP_DAY_NOON
    assert page.evaluate(LINE_PIXELS_JS, [noon - 8 * 3600, noon + 8 * 3600, 1]) == 0
    assert page.evaluate(LINE_PIXELS_JS, [noon - 30 * 86400, noon - 2 * 86400, 1]) > 20
    assert page.evaluate(LINE_PIXELS_JS, [noon + 2 * 86400, noon + 30 * 86400, 1]) > 20


def test_a_year_at_phone_width_is_weekly_and_fits_the_window(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(
        f"/explore?points={year}&start={YEAR_START}&end={YEAR_END}", width=390, height=844
    )
    series = drawn(shown.page)[0]
    page = shown.page
    assert 53 <= page.evaluate("explorer.pixels") < 365
    assert page.evaluate("explorer.interval") == "1w"
    # weeks start on Monday; 2025-12-01 is one: 52 whole weeks and a day
    assert len(series) == 53
    assert {local(t).weekday() for t, _ in series} == {0}
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


@pytest.mark.parametrize(
    "day,start,end,hours",
    [(AUTUMN, "2026-10-15", "2026-11-15", 25), (SPRING, "2026-02-20", "2026-03-20", 23)],
)
def test_hourly_buckets_follow_dst(
    open_page: Callable[..., Watched],
    ids: dict[str, int],
    day: date,
    start: str,
    end: str,
    hours: int,
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start={start}&end={end}")
    (series,) = drawn(shown.page)
    page = shown.page
    assert page.evaluate("explorer.interval") == "1h"
    on_day = [(local(t), v) for t, v in series if local(t).date() == day]
    assert len(on_day) == hours
    assert [v for _, v in on_day] == [year_value(t) for t, _ in on_day]
    if day == AUTUMN:
        # the repeated hour, both times, shown in local time with its offset
        ones = [t for t, _ in on_day if t.hour == 1]
        assert [t.utcoffset() for t in ones] == [timedelta(hours=-5), timedelta(hours=-6)]
        legend = hover(page, int(ones[1].timestamp()))
        assert legend["Time"] == "2026-11-01 01:00 -06:00"
        assert legend[YEAR_POINT] == "61"


def test_hover_shows_local_time_with_offset_and_values_with_units(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    shown = open_page(f"/explore?points={ids[YEAR_POINT]}&start=2026-06-08&end=2026-06-13")
    drawn(shown.page)
    legend = hover(shown.page, epoch(date(2026, 6, 8), 12))
    assert legend == {"Time": "2026-06-08 12:00 -05:00", YEAR_POINT: "72"}
    legend = hover(shown.page, epoch(date(2026, 6, 12), 17, 15))
    assert legend == {"Time": "2026-06-12 17:15 -05:00", YEAR_POINT: "77"}
    # a point with a unit and an enum point: the value with its unit, the state's name
    occ, rmt = ids["HU.R102.OCC"], ids["HU.R102.RMT"]
    shown = open_page(f"/explore?points={rmt},{occ}&start=2018-11-01&end=2018-11-01T01:00")
    drawn(shown.page)
    legend = hover(shown.page, T0 + 900)
    assert legend == {
        "Time": "2018-11-01 00:15 -05:00",
        "HU.R102.RMT": "81.5 °F",
        "HU.R102.OCC": "OFF",
    }


def test_an_enum_point_draws_one_band_per_run_of_a_state(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    occ = ids["HU.R102.OCC"]
    shown = open_page(f"/explore?points={occ}")
    page = shown.page
    drawn(page)
    # no range in the URL: the 7 days ending with the day of the newest reading, written back
    assert query(page)["start"] == ["2018-10-26"] and query(page)["end"] == ["2018-11-02"]
    assert page.evaluate("explorer.interval") == "raw"
    (band,) = page.evaluate("explorer.bands")
    assert band["name"] == "HU.R102.OCC"
    runs = [(r["state"], r["from"], r["to"]) for r in band["runs"]]
    # ON, OFF, ON, ON every 15 minutes: three runs, the last one lasting its two readings' time
    assert runs == [
        ("ON", T0, T0 + 900),
        ("OFF", T0 + 900, T0 + 1800),
        ("ON", T0 + 1800, T0 + 3600),
    ]
    colours = [r["colour"] for r in band["runs"]]
    assert colours[0] == colours[2] != colours[1]
    legend = page.locator(".band-name").inner_text()
    assert "HU.R102.OCC" in legend and "OFF" in legend and "ON" in legend
    # over two hours the runs are wide: the canvas has their colours at each one's middle, and
    # nothing before the first reading
    shown = open_page(f"/explore?points={occ}&start=2018-10-31T23:00&end=2018-11-01T01:00")
    page = shown.page
    drawn(page)
    page.locator("canvas.band").scroll_into_view_if_needed()
    sampled = page.evaluate(
        """(times) => {
          const u = explorer.chart, canvas = document.querySelector("canvas.band");
          const g = canvas.getContext("2d"), ratio = canvas.width / canvas.clientWidth;
          return times.map((t) => {
            const x = Math.round(u.valToPos(t, "x") * ratio);
            const p = g.getImageData(x, Math.round(4 * ratio), 1, 1).data;
            return p[3] ? "#" + [0, 1, 2].map((k) => p[k].toString(16).padStart(2, "0")).join("")
              : null;
          });
        }""",
        [T0 + 450, T0 + 1350, T0 + 2700, T0 - 1800],
    )
    assert sampled == [colours[0], colours[1], colours[2], None]


def test_dragging_over_the_chart_zooms_in_with_a_finer_interval(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start={YEAR_START}&end={YEAR_END}")
    page = shown.page
    drawn(page)
    (series,) = drag(page, epoch(date(2026, 6, 8)), epoch(date(2026, 6, 13)))
    q = query(page)
    start = datetime.fromisoformat(q["start"][0]).replace(tzinfo=ZONE)
    end = datetime.fromisoformat(q["end"][0]).replace(tzinfo=ZONE)
    # the drag's ends, to the minute, within a pixel's time (a day / 3) of the 8th and the 13th
    assert abs(start - datetime(2026, 6, 8, tzinfo=ZONE)) < timedelta(hours=12)
    assert abs(end - datetime(2026, 6, 13, tzinfo=ZONE)) < timedelta(hours=12)
    assert page.evaluate("explorer.interval") == "raw"
    assert [(int(t), v) for t, v in series] == readings(start, end)
    assert len(values_requests(shown)) == 2


def test_the_range_buttons_and_date_inputs(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start={YEAR_START}&end={YEAR_END}")
    page = shown.page
    drawn(page)

    def press(name: str) -> tuple[str, str]:
        stale(page)
        page.get_by_role("button", name=name, exact=True).click()
        drawn(page)
        q = query(page)
        return q["start"][0], q["end"][0]

    assert press("Week") == ("2026-11-24", "2026-12-01")
    assert press("◀ Earlier") == ("2026-11-17", "2026-11-24")
    assert press("Later ▶") == ("2026-11-24", "2026-12-01")
    assert press("Zoom out") == ("2026-11-20", "2026-12-05")
    assert press("Month") == ("2026-11-05", "2026-12-05")
    # after Month, earlier and later are calendar months (October has 31 days, not 30)
    assert press("◀ Earlier") == ("2026-10-05", "2026-11-05")
    assert press("◀ Earlier") == ("2026-09-05", "2026-10-05")
    assert press("Later ▶") == ("2026-10-05", "2026-11-05")
    assert press("Later ▶") == ("2026-11-05", "2026-12-05")
    assert press("Day") == ("2026-12-04", "2026-12-05")
    assert press("Latest") == ("2026-11-30", "2026-12-01")
    assert press("Year") == ("2025-12-01", "2026-12-01")
    assert page.evaluate("explorer.interval") == "1d"
    # the inputs: the first day and the last day shown (the URL's end is exclusive)
    assert page.input_value("#range-start") == "2025-12-01"
    assert page.input_value("#range-through") == "2026-11-30"
    stale(page)
    page.fill("#range-start", "2026-06-09")
    drawn(page)
    assert query(page)["start"] == ["2026-06-09"] and query(page)["end"] == ["2026-12-01"]
    stale(page)
    page.fill("#range-through", "2026-06-11")
    series = drawn(page)[0]
    assert query(page)["start"] == ["2026-06-09"] and query(page)["end"] == ["2026-06-12"]
    assert [local(t).date() for t, _ in series] == [date(2026, 6, 9)] * 96 + [
        date(2026, 6, 11)
    ] * 96


def test_the_finder_narrows_building_room_point_and_the_url_round_trips(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page("/explore", wait="#results li")
    page = shown.page
    assert page.is_disabled("#find-room")
    page.select_option("#find-building", "HU")
    page.wait_for_selector("#find-room option[value='110']", state="attached")
    rooms = page.eval_on_selector_all("#find-room option", "os => os.map(o => o.value)")
    assert rooms == ["", "101", "102", "102A", "109", "110", "213B", "B02", "B19", "B22", "B44"]
    page.select_option("#find-room", "110")
    page.wait_for_function("() => document.getElementById('found').textContent === '1 point.'")
    assert page.eval_on_selector_all("#results .mono", "xs => xs.map(x => x.textContent)") == [
        YEAR_POINT
    ]
    assert query(page) == {"building": ["HU"], "room": ["110"]}
    # from the keyboard: focus the result's checkbox and press space
    page.focus("#results input[type=checkbox]")
    page.keyboard.press("Space")
    (series,) = drawn(page)
    q = query(page)
    assert q["points"] == [str(year)]
    # no range given: the 7 days ending with the newest reading's day
    assert (q["start"], q["end"]) == (["2026-11-24"], ["2026-12-01"])
    assert len(series) == 7 * 96
    assert chips(page) == [YEAR_POINT]
    # a second point by free text, then reload: the same view from the URL alone
    page.select_option("#find-room", "102")
    page.wait_for_function("() => document.getElementById('found').textContent === '9 points.'")
    page.fill("#find-q", "RMT")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results .mono')].map(x => x.textContent).join()"
        " === 'HU.R102.RMT'"
    )
    stale(page)
    page.check("#results input[type=checkbox]")
    drawn(page)
    rmt = ids["HU.R102.RMT"]
    q = query(page)
    assert q["points"] == [f"{year},{rmt}"]
    assert q["building"] == ["HU"] and q["room"] == ["102"] and q["q"] == ["RMT"]
    search = page.evaluate("location.search")
    request = page.evaluate("explorer.request")
    page.reload(wait_until="networkidle")
    drawn(page)
    assert page.evaluate("location.search") == search
    assert page.evaluate("explorer.request") == request
    assert page.input_value("#find-building") == "HU"
    assert page.input_value("#find-room") == "102"
    assert page.input_value("#find-q") == "RMT"
    assert chips(page) == [YEAR_POINT, "HU.R102.RMT"]
    # remove the first from its chip
    stale(page)
    page.get_by_role("button", name=f"Remove {YEAR_POINT}").click()
    drawn(page)
    assert query(page)["points"] == [str(rmt)]
    # HU.R102.RMT has no readings in these 7 days: the page says so instead of an empty plot
    assert page.evaluate("explorer.chart") is None
    assert page.inner_text("#chart-info") == (
        "No readings of these points from 2026-11-24 00:00 -06:00 to 2026-12-01 00:00 -06:00."
    )


def test_the_view_tabs_set_the_url_and_show_their_section(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start=2026-06-08&end=2026-06-13")
    page = shown.page
    drawn(page)

    def pressed() -> list[str]:
        return page.eval_on_selector_all(
            "#views button",
            "bs => bs.map(b => b.dataset.view + ':' + b.getAttribute('aria-pressed'))",
        )

    def hidden() -> dict[str, bool]:
        return {k: page.evaluate(f"document.getElementById('{k}').hidden") for k in VIEWS}

    def heatmap_days() -> list[str]:
        page.wait_for_selector(HEATMAP_READY, timeout=20_000)
        dates: list[str] = page.evaluate("energyHeatmap.last.dates")
        return dates

    week = [str(date(2026, 6, 8) + timedelta(days=k)) for k in range(5)]
    assert pressed() == ["chart:true", "heatmap:false", "campus:false"]
    assert hidden() == {"chart-view": False, "heatmap-view": True}
    page.click("#views button[data-view=heatmap]")
    # the heatmap of the URL's range, which stays as it was
    assert heatmap_days() == week
    assert query(page)["view"] == ["heatmap"]
    assert (query(page)["start"], query(page)["end"]) == (["2026-06-08"], ["2026-06-13"])
    assert pressed() == ["chart:false", "heatmap:true", "campus:false"]
    assert hidden() == {"chart-view": True, "heatmap-view": False}
    page.reload(wait_until="networkidle")
    assert heatmap_days() == week
    assert pressed() == ["chart:false", "heatmap:true", "campus:false"]
    assert hidden() == {"chart-view": True, "heatmap-view": False}
    stale(page)
    page.click("#views button[data-view=chart]")
    drawn(page)
    assert query(page)["view"] == ["chart"]
    assert hidden() == {"chart-view": False, "heatmap-view": True}


@pytest.mark.parametrize(
    "path,interval",
    [("start=2026-06-08&end=2026-06-13", "raw"), (f"start={YEAR_START}&end={YEAR_END}", "1d")],
)
def test_the_csv_link_downloads_what_is_shown(
    open_page: Callable[..., Watched], ui_server: str, ids: dict[str, int], path: str, interval: str
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&{path}")
    (series,) = drawn(shown.page)
    assert shown.page.evaluate("explorer.interval") == interval
    link = shown.page.locator("#chart-csv")
    assert link.get_attribute("download") == ""
    response = requests.get(ui_server + link.get_attribute("href"), timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["ts", "t", YEAR_POINT]
    assert [int(t) for _, t, _ in rows[1:]] == [int(t) for t, _ in series]
    assert [float(v) for _, _, v in rows[1:]] == pytest.approx([v for _, v in series])
    assert len(rows) - 1 == (384 if interval == "raw" else 364)
    # the local time column is in the server's zone with its offset
    assert rows[1][0] == (
        "2026-06-08T00:00:00-05:00" if interval == "raw" else "2025-12-01T00:00:00-06:00"
    )


def test_an_unknown_point_says_so_on_the_page(open_page: Callable[..., Watched]) -> None:
    shown = open_page("/explore?points=999999&start=2026-06-08&end=2026-06-13")
    shown.page.wait_for_selector("#problem:not([hidden])")
    assert "999999" in shown.page.inner_text("#problem")
    # the browser logs the 404 itself; that is the API answering, not the page failing
    shown.errors[:] = [e for e in shown.errors if "404" not in e]


def test_points_named_rather_than_numbered_are_drawn(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    shown = open_page(f"/explore?points={YEAR_POINT}&start=2026-06-08&end=2026-06-13")
    page = shown.page
    (series,) = drawn(page)
    expected = readings(datetime(2026, 6, 8, tzinfo=ZONE), datetime(2026, 6, 13, tzinfo=ZONE))
    assert [(int(t), v) for t, v in series] == expected
    assert chips(page) == [YEAR_POINT]
    # its gaps (asked by name) break the line over the missing day
    page.locator("#chart-view .u-over").scroll_into_view_if_needed()
    last, first = epoch(date(2026, 6, 9), 23, 45), epoch(date(2026, 6, 11))
    assert page.evaluate(LINE_PIXELS_JS, [last + 600, first - 600, 1]) == 0
    assert any("/api/v2/points/HU.R110.RMT/gaps?" in u for u in shown.requests)
    # a name and an id together, repeated parameters too; no range: 7 days to the newest reading
    rmt = ids["HU.R102.RMT"]
    shown = open_page(f"/explore?points={YEAR_POINT}&points={rmt}")
    page = shown.page
    drawn(page)
    assert (query(page)["start"], query(page)["end"]) == (["2026-11-24"], ["2026-12-01"])
    assert chips(page) == [YEAR_POINT, "HU.R102.RMT"]
    # its chip removes the point the URL names by its name
    stale(page)
    page.get_by_role("button", name=f"Remove {YEAR_POINT}").click()
    drawn(page)
    assert query(page)["points"] == [str(rmt)]


def test_the_raw_readings_are_given_up_at_the_first_page_with_too_many(
    browser: Any, small_pages: str, ids: dict[str, int]
) -> None:
    # three days of FAST_POINT: 288 quarter-hours would fit, so raw readings are asked for first;
    # 4,320 readings come in pages of 1,200 (this server's ENERGY_API_MAX_ROWS), and the first
    # page already holds more readings than the plot has pixels
    end = FAST_START + timedelta(days=3)
    path = f"/explore?points={ids[FAST_POINT]}&start={FAST_START:%Y-%m-%d}&end={end:%Y-%m-%d}"
    with page_at(browser, small_pages, path) as shown:
        (series,) = drawn(shown.page)
        assert shown.page.evaluate("explorer.pixels") < 1200
        assert shown.page.evaluate("explorer.interval") == "15min"
        assert len(series) == 288
        asked = [parse_qs(urlsplit(u).query) for u in values_requests(shown)]
        assert [(q.get("interval"), "cursor" in q) for q in asked] == [
            (None, False),
            (["15min"], False),
        ]


@pytest.mark.parametrize(
    "names",
    [
        ["HU.R102.RMT"],
        ["HU.R102.RMT", "HU.R102.EDMP"],
        ["HU.R102.RMT", "HU.R102.EDMP", "HU.R102.DSET"],
    ],
)
def test_at_most_two_y_axes_and_the_plot_keeps_the_pixels_it_was_asked_for(
    open_page: Callable[..., Watched], ids: dict[str, int], names: list[str]
) -> None:
    refs = ",".join(str(ids[n]) for n in names)
    shown = open_page(f"/explore?points={refs}&start=2018-11-01&end=2018-11-01T01:00")
    page = shown.page
    drawn(page)
    # the plot is at least as wide as the pixels the interval was chosen for
    width = page.evaluate("explorer.chart.bbox.width / uPlot.pxRatio")
    assert width >= page.evaluate("explorer.pixels")
    units = page.evaluate("explorer.chart.series.slice(1).map(s => s.scale.replace('unit:', ''))")
    axes = page.evaluate("explorer.chart.axes.slice(1).map(a => a.scale.replace('unit:', ''))")
    assert sorted(units) == sorted(
        {"HU.R102.RMT": "°F", "HU.R102.EDMP": "psi", "HU.R102.DSET": "ft³/min"}[n] for n in names
    )
    assert axes == units[:2]
    caption = page.inner_text("#chart-info")
    if len(names) == 3:
        assert f"only two y axes: {units[2]} drawn to scale without one (hover to read)" in caption
        legend = hover(page, T0 + 900)
        assert legend["HU.R102.DSET"] == "310 ft³/min"
        assert legend["HU.R102.EDMP"] == "10 psi"
    else:
        assert "axes" not in caption


def test_a_range_button_that_fails_says_why(open_page: Callable[..., Watched]) -> None:
    shown = open_page("/explore?points=999999")
    page = shown.page
    page.wait_for_selector("#problem:not([hidden])")
    page.evaluate("() => { const p = document.getElementById('problem'); p.hidden = true; }")
    # Week needs the range's end, hence the point's newest reading: the API's 404, said
    page.get_by_role("button", name="Week", exact=True).click()
    page.wait_for_selector("#problem:not([hidden])", timeout=5_000)
    assert page.inner_text("#problem") == (
        "no such point: 999999; list points with /api/v2/points?q=..."
    )
    # the browser logs the 404s itself; nothing else (no unhandled rejection)
    assert shown.errors and all("404" in e for e in shown.errors)
    shown.errors.clear()


def test_a_zoom_in_the_repeated_hour_keeps_its_offset(
    open_page: Callable[..., Watched], ids: dict[str, int]
) -> None:
    year = ids[YEAR_POINT]
    shown = open_page(f"/explore?points={year}&start={AUTUMN}&end={AUTUMN}T03:00")
    page = shown.page
    drawn(page)
    assert page.evaluate("explorer.interval") == "raw"
    # drag over 01:10:30 to 01:49:30 of the second 01:00 hour (−06:00): to whole minutes
    second = datetime(2026, 11, 1, 1, tzinfo=ZONE, fold=1)
    assert second.utcoffset() == timedelta(hours=-6)
    (series,) = drag(page, second.timestamp() + 630, second.timestamp() + 2970)
    q = query(page)
    assert (q["start"], q["end"]) == (["2026-11-01T01:10-06:00"], ["2026-11-01T01:50-06:00"])
    start = datetime.fromisoformat(q["start"][0])
    end = datetime.fromisoformat(q["end"][0])
    assert [(int(t), v) for t, v in series] == readings(start, end)
    assert [local(t).utcoffset() for t, _ in series] == [timedelta(hours=-6)] * 3
    assert page.inner_text("#range-text") == (
        "2026-11-01 01:10 -06:00 to 2026-11-01 01:50 -06:00 (end excluded), America/Chicago"
    )
    # the first 01:00 hour (−05:00) needs no offset: a naive time means it
    shown = open_page(f"/explore?points={year}&start={AUTUMN}&end={AUTUMN}T03:00")
    page = shown.page
    drawn(page)
    first = datetime(2026, 11, 1, 1, tzinfo=ZONE)
    (series,) = drag(page, first.timestamp() + 630, first.timestamp() + 2970)
    q = query(page)
    assert (q["start"], q["end"]) == (["2026-11-01T01:10"], ["2026-11-01T01:50"])
    assert [local(t).utcoffset() for t, _ in series] == [timedelta(hours=-5)] * 3


@pytest.mark.parametrize(
    "given,kept",
    [
        ("end=2026-06-13", ("2026-06-06", "2026-06-13")),
        ("start=2026-06-08", ("2026-06-08", "2026-06-15")),
    ],
)
def test_one_end_of_the_range_is_kept_and_the_other_is_a_week_away(
    open_page: Callable[..., Watched], ids: dict[str, int], given: str, kept: tuple[str, str]
) -> None:
    shown = open_page(f"/explore?points={ids[YEAR_POINT]}&{given}")
    (series,) = drawn(shown.page)
    q = query(shown.page)
    assert (q["start"][0], q["end"][0]) == kept
    start, end = (datetime.fromisoformat(k).replace(tzinfo=ZONE) for k in kept)
    assert [(int(t), v) for t, v in series] == readings(start, end)


def test_a_point_whose_interval_is_not_known_yet_is_drawn_without_asking_for_its_gaps(
    open_page: Callable[..., Watched], ids: dict[str, int], ui_server: str
) -> None:
    """/gaps answers 400 for such a point (docs/api.md): the chart reads `interval_s` first, so
    the browser has no failed request to log."""
    point = requests.get(f"{ui_server}/api/v2/points/{ids[UNLEARNT_POINT]}", timeout=10).json()
    assert point["data"]["interval_s"] is None
    day = FAST_START.date()
    shown = open_page(
        f"/explore?points={ids[UNLEARNT_POINT]}&start={day}&end={day + timedelta(days=1)}",
        wait="#chart-view[data-state=drawn]",
    )
    assert shown.page.evaluate("explorer.interval") == "raw"
    assert shown.page.evaluate("explorer.drawn") == 4
    assert not [u for u in shown.requests if "/gaps" in u]
