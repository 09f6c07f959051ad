"""Point status (energy_ingest.health.points): stale when its live series arrives without it, out
of range, spike and flat on constructed readings (both DST days), never a finding for retired or
historical points; and the site file's [health] and [[limits]] (catalog.site.health)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from test_health_series import daily_file, today_at_noon

from energy_ingest.catalog.site.checker import parse_site
from energy_ingest.catalog.site.model import Site, SiteFileError
from energy_ingest.health import points, series
from energy_ingest.health.limits import Thresholds, thresholds
from energy_ingest.localtime import local

ZONE = ZoneInfo("America/Chicago")
SPRING = datetime(2024, 3, 10, 12, tzinfo=ZONE)  # the day the clocks went 02:00 → 03:00
AUTUMN = datetime(2024, 11, 3, 12, tzinfo=ZONE)  # the day 01:00-02:00 happened twice
NO_SITE = Site()


def point(
    conn: psycopg.Connection[Any], name: str, unit: str | None = None, kind: str = "number"
) -> int:
    """A point carried by a live report series (constructed: no file of its own), as a point
    whose report keeps arriving is; one no series carries is historical."""
    states = ["OFF", "ON"] if kind == "enum" else []
    row = conn.execute(
        "INSERT INTO points (source, name, unit, kind, states) VALUES ('siemens', %s, %s, %s, %s) "
        "RETURNING id",
        [name, unit, kind, states],
    ).fetchone()
    assert row is not None
    conn.execute(
        "INSERT INTO report_series (source, name, status) VALUES ('siemens', 'constructed', 'ok')"
        " ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "WITH f AS (INSERT INTO files (sha256, name, source, size_bytes, status)"
        " VALUES (md5(%s) || md5(%s), 'constructed.csv', 'siemens', 0, 'ingested') RETURNING id)"
        " INSERT INTO series_points (series_id, point_id, file_id)"
        " SELECT s.id, %s, f.id FROM report_series s, f WHERE s.name = 'constructed'",
        [name, name, row[0]],
    )
    return int(row[0])


def readings(
    conn: psycopg.Connection[Any], pid: int, start: datetime, end: datetime, expr: str
) -> None:
    """15-minute readings from start to end (inclusive) valued by a SQL expression of `ts` and
    `k` (the reading's number), as a file of the point's series brings them (the newest file
    that carried the point is a new one: what the evaluation judges anew)."""
    conn.execute(
        f"INSERT INTO readings (point_id, ts, value) SELECT %s, ts, {expr} FROM "
        "(SELECT ts, row_number() OVER (ORDER BY ts) - 1 AS k FROM generate_series("
        "%s::timestamptz, %s::timestamptz, interval '15 minutes') ts) g "
        "ON CONFLICT (point_id, ts) DO UPDATE SET value = EXCLUDED.value",
        [pid, start, end],
    )
    conn.execute(
        "WITH f AS (INSERT INTO files (sha256, name, source, size_bytes, status)"
        " VALUES (md5(random()::text) || md5(random()::text), 'constructed.csv', 'siemens', 0,"
        " 'ingested') RETURNING id)"
        " UPDATE series_points SET file_id = f.id FROM f WHERE point_id = %s",
        [pid],
    )


WAVY = "70 + 5 * sin(extract(epoch FROM ts) / 7200.0)"


def evaluate(conn: psycopg.Connection[Any], now: datetime, site: Site = NO_SITE) -> dict[int, Any]:
    """Rollups rebuilt, series then points refreshed; the findings by point."""
    conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
    series.refresh(conn, now, 3600.0)
    found = points.refresh(conn, site, now)
    conn.commit()
    assert len({f.point_id for f in found}) == len(found)
    return {f.point_id: f for f in found}


def status(conn: psycopg.Connection[Any], pid: int) -> str:
    row = conn.execute("SELECT status FROM point_health WHERE point_id = %s", [pid]).fetchone()
    return str(row[0]) if row else "none"


def test_a_point_gone_to_data_loss_is_stale_while_its_series_is_fine(
    conn: psycopg.Connection[Any],
) -> None:
    for back in (2, 1):
        daily_file(conn, "hall", today_at_noon(back), npoints=2, rows=96, minutes=15)
    daily_file(conn, "hall", today_at_noon(0), npoints=2, rows=96, minutes=15, lost=True)
    now = today_at_noon(0) + timedelta(minutes=5)
    with conn.transaction():
        assert series.refresh(conn, now, 3600.0) == []
        found = {f.point_id: f for f in points.refresh(conn, NO_SITE, now)}
    ids = dict(conn.execute("SELECT name, id FROM points").fetchall())
    fine, lost = ids["HALL.RM0.TEMP"], ids["HALL.RM1.TEMP"]
    assert status(conn, fine) == "ok" and fine not in found
    assert status(conn, lost) == "stale"
    f = found[lost]
    assert (f.kind, f.subject, f.priority) == ("stale", f"point:{lost}", "normal")
    assert f.series_id is not None and f.link == f"/api/v2/points/{lost}"
    yesterday = today_at_noon(1) - timedelta(minutes=15)
    assert f.summary == (
        f"HALL.RM1.TEMP: no reading since {local(yesterday, 'America/Chicago', seconds=False)}, though its"
        f" series hall has data to {local(now - timedelta(minutes=20), 'America/Chicago', seconds=False)}"
    )
    assert conn.execute("SELECT interval_s FROM points WHERE id = %s", [fine]).fetchone() == (900,)
    assert conn.execute("SELECT status FROM report_series").fetchall() == [("ok",)]


def test_out_of_range_by_the_unit_default_over_the_spring_forward_day(
    conn: psycopg.Connection[Any],
) -> None:
    hot, briefly, fine = (
        point(conn, "A.T1", "°F"),
        point(conn, "A.T2", "°F"),
        point(conn, "A.T3", "°F"),
    )
    start, end = SPRING - timedelta(days=3), SPRING
    for pid in (hot, briefly, fine):
        readings(conn, pid, start, end, WAVY)
    readings(conn, hot, end - timedelta(minutes=30), end, "212")  # the newest 3
    readings(conn, briefly, end - timedelta(minutes=15), end, "212")  # only 2
    found = evaluate(conn, end + timedelta(minutes=5))
    assert status(conn, hot) == "out_of_range"
    # two newest readings far from the hours before: not out of range (3 are), but a spike
    assert (status(conn, briefly), status(conn, fine)) == ("spike", "ok")
    assert set(found) == {hot, briefly}
    f = found[hot]
    assert f.details["min"] == -40 and f.details["max"] == 140 and f.details["count"] == 3
    assert f.summary == (
        "A.T1: 212 °F at 2024-03-10 12:00-05:00, outside -40 °F to 140 °F (default for °F) for "
        "its last 3 readings since 2024-03-10 11:30-05:00"
    )
    assert conn.execute("SELECT interval_s FROM points WHERE id = %s", [fine]).fetchone() == (900,)


def test_a_status_is_kept_until_a_file_brings_readings_and_judged_again_when_the_rules_change(
    conn: psycopg.Connection[Any],
) -> None:
    hot, fine = point(conn, "B.T1", "°F"), point(conn, "B.T2", "°F")
    start, end = SPRING - timedelta(days=3), SPRING
    for pid in (hot, fine):
        readings(conn, pid, start, end, WAVY)
    readings(conn, hot, end - timedelta(minutes=30), end, "212")
    assert set(evaluate(conn, end + timedelta(minutes=5))) == {hot}
    judged = conn.execute(
        "SELECT point_id, newest, file_id FROM point_health ORDER BY 1"
    ).fetchall()
    # the next evaluation: nothing new, the same findings from the statuses kept
    again = evaluate(conn, end + timedelta(minutes=10))
    assert set(again) == {hot} and again[hot].summary.startswith("B.T1: 212 °F at")
    assert (
        conn.execute("SELECT point_id, newest, file_id FROM point_health ORDER BY 1").fetchall()
        == judged
    )
    # a site file that allows 250 °F judges every point again: no longer out of range, but
    # still far from the hours before
    wider = parse_site('[[limits]]\nunit = "°F"\nmax = 250\n')
    assert [f.kind for f in evaluate(conn, end + timedelta(minutes=15), wider).values()] == [
        "spike"
    ]
    # and a write to readings outside the loader (psql) too
    conn.execute(
        "UPDATE readings SET value = 260 WHERE point_id = %s AND ts >= %s",
        [hot, end - timedelta(minutes=30)],
    )
    assert status(conn, fine) == "ok"
    assert evaluate(conn, end + timedelta(minutes=20), wider)[hot].kind == "out_of_range"


def test_a_site_limit_overrides_the_unit_default_most_specific_first(
    conn: psycopg.Connection[Any],
) -> None:
    site = parse_site(
        """
[[limits]]
unit = "°F"
min = 0
max = 100

[[limits]]
point = "A.OAT*"
min = -60
max = 130
count = 1
"""
    )
    oat, room = point(conn, "A.OAT1", "°F"), point(conn, "A.RM1", "°F")
    start, end = SPRING - timedelta(days=2), SPRING
    for pid in (oat, room):
        readings(conn, pid, start, end, WAVY)
    readings(conn, oat, end - timedelta(hours=1), end - timedelta(minutes=15), "-50")
    readings(conn, oat, end, end, "131")  # count = 1: the newest alone
    readings(conn, room, end - timedelta(minutes=30), end, "120")  # above the site's 100
    found = evaluate(conn, end + timedelta(minutes=5), site)
    assert (status(conn, oat), status(conn, room)) == ("out_of_range", "out_of_range")
    assert found[oat].details["limit"] == "site file line 7"
    assert found[oat].details["max"] == 130 and found[oat].details["count"] == 1
    assert found[room].details["limit"] == "site file line 2"
    # -50 three times: inside the point's own -60…130 (the unit's 0…100 would say out of
    # range, as it does for A.RM1) — only a sudden drop from the hours before
    readings(conn, oat, end - timedelta(minutes=30), end, "-50")
    found = evaluate(conn, end + timedelta(minutes=10), site)
    assert status(conn, oat) == "spike" and found[oat].kind == "spike"


def test_a_limit_is_the_most_specific_entry_point_then_tag_then_building_then_quantity(
    conn: psycopg.Connection[Any],
) -> None:
    site = parse_site(
        """[[limits]]
quantity = "temperature"
max = 200

[[limits]]
building = "HU"
max = 150

[[limits]]
tag = "zone"
max = 100

[[limits]]
point = "HU.FCU1.RM?"
max = 90
"""
    )
    hu = conn.execute(
        "INSERT INTO buildings (code, name) VALUES ('HU', 'Hulings Hall') RETURNING id"
    )
    building = (hu.fetchone() or (0,))[0]
    unit = conn.execute(
        "INSERT INTO units (key, canonical, symbol, quantity, name, resolved) VALUES "
        "('degree_Fahrenheit', 'degree_Fahrenheit', '°F', 'temperature', 'degrees fahrenheit', "
        "true) RETURNING id"
    ).fetchone()
    device = conn.execute(
        "INSERT INTO devices (building_id, name) VALUES (%s, 'FCU1') RETURNING id", [building]
    ).fetchone()
    tag = conn.execute("INSERT INTO tags (name) VALUES ('zone') RETURNING id").fetchone()
    assert unit and device and tag
    conn.execute("INSERT INTO device_tags VALUES (%s, %s)", [device[0], tag[0]])
    named = {}
    for name, in_hu, on_device in (
        ("HU.FCU1.RM1", True, True),  # its name: 90
        ("HU.FCU1.SAT", True, True),  # its device's tag: 100
        ("HU.AHU1.SAT", True, False),  # its building: 150
        ("EV.AHU1.SAT", False, False),  # its quantity: 200 (not the default 140 for °F)
    ):
        pid = point(conn, name, "DEG F")
        conn.execute(
            "UPDATE points SET unit_id = %s, building_id = %s, device_id = %s WHERE id = %s",
            [unit[0], building if in_hu else None, device[0] if on_device else None, pid],
        )
        readings(conn, pid, SPRING - timedelta(days=1), SPRING, "500")
        named[name] = pid
    found = evaluate(conn, SPRING + timedelta(minutes=5), site)
    assert {name: found[pid].details["max"] for name, pid in named.items()} == {
        "HU.FCU1.RM1": 90,
        "HU.FCU1.SAT": 100,
        "HU.AHU1.SAT": 150,
        "EV.AHU1.SAT": 200,
    }
    assert found[named["HU.FCU1.SAT"]].details["limit"] == "site file line 9"


def test_a_spike_of_two_readings_on_the_fall_back_day_is_found_and_one_is_not(
    conn: psycopg.Connection[Any],
) -> None:
    two, one = point(conn, "B.FLOW1"), point(conn, "B.FLOW2")
    start, end = AUTUMN - timedelta(days=3), AUTUMN
    for pid in (two, one):
        readings(conn, pid, start, end, WAVY)
    readings(conn, two, end - timedelta(minutes=15), end, "500")
    readings(conn, one, end, end, "500")
    found = evaluate(conn, end + timedelta(minutes=5))
    assert status(conn, two) == "spike"
    assert status(conn, one) == "ok"
    f = found[two]
    assert f.kind == "spike" and f.details["z"] > 8
    assert f.summary.startswith("B.FLOW1: 500 at 2024-11-03 12:00-06:00 is a spike, ")


def test_a_flatline_across_the_fall_back_hour_is_found_on_a_point_that_usually_varies(
    conn: psycopg.Connection[Any],
) -> None:
    stuck, constant, state = (
        point(conn, "C.DMP1", "%"),
        point(conn, "C.SP1"),
        point(conn, "C.OCC", kind="enum"),
    )
    flat_from = datetime(2024, 11, 3, 0, tzinfo=ZONE)  # 9 hours of wall clock 00:00-08:00
    end = datetime(2024, 11, 3, 8, tzinfo=ZONE)
    readings(conn, stuck, flat_from - timedelta(days=8), end, "50 + 20 * sin(k / 5.0)")
    readings(conn, stuck, flat_from, end, "42")
    readings(conn, constant, flat_from - timedelta(days=8), end, "72")
    readings(conn, state, flat_from - timedelta(days=8), end, "mod(k, 2)")
    readings(conn, state, flat_from, end, "1")
    found = evaluate(conn, end + timedelta(minutes=5))
    assert status(conn, stuck) == "flat"
    assert (status(conn, constant), status(conn, state)) == ("ok", "ok")
    assert set(found) == {stuck}
    assert found[stuck].summary.startswith(
        "C.DMP1: flat at 42 % for 6 h and more, since 2024-11-03"
    )


@pytest.mark.parametrize(
    "day", [date(2024, 3, 10), date(2024, 11, 3)], ids=["spring-forward", "fall-back"]
)
def test_out_of_range_spike_and_flat_are_found_across_the_dst_change(
    conn: psycopg.Connection[Any], day: date
) -> None:
    # each event's window holds the hour the clocks changed (02:00 local): data to 09:00
    end = datetime(day.year, day.month, day.day, 9, tzinfo=ZONE)
    start = end - timedelta(days=8)
    hot, spiky, stuck, fine = (point(conn, f"D.P{n}", "°F") for n in range(4))
    for pid in (hot, spiky, stuck, fine):
        readings(conn, pid, start, end, WAVY)
    readings(conn, hot, end - timedelta(minutes=30), end, "-60")  # the newest 3 below -40
    readings(conn, spiky, end - timedelta(minutes=15), end, "120")  # 2, inside -40…140
    readings(conn, stuck, datetime(day.year, day.month, day.day, 0, tzinfo=ZONE), end, "68")
    found = evaluate(conn, end + timedelta(minutes=5))
    assert {pid: f.kind for pid, f in found.items()} == {
        hot: "out_of_range",
        spiky: "spike",
        stuck: "flat",
    }
    assert status(conn, fine) == "ok"
    # flat for its last 6 hourly (UTC) buckets: the 6 real hours up to the newest reading's
    # (00:00-09:00 local is 10 real hours on the day the clocks went back, 8 when they went
    # forward)
    since = datetime.fromisoformat(found[stuck].details["since"])
    assert since == end.astimezone(UTC).replace(minute=0) - timedelta(hours=5)


def test_retired_and_historical_points_get_a_status_but_never_a_finding(
    conn: psycopg.Connection[Any],
) -> None:
    retired = point(conn, "D.T1", "°F")
    readings(conn, retired, SPRING - timedelta(days=1), SPRING, "500")
    conn.execute("UPDATE points SET retired_at = %s WHERE id = %s", [SPRING, retired])
    # an old series, loaded now: historical; its point reads an impossible 500 °F…
    for day in range(3):
        daily_file(
            conn,
            "old",
            datetime(2018, 11, 28 + day, 2, tzinfo=ZONE),
            rows=96,
            minutes=15,
            value="500",
        )
    conn.execute("UPDATE points SET unit = '°F'")
    found = evaluate(conn, datetime.now(UTC))
    old = conn.execute("SELECT id FROM points WHERE name = 'HALL.RM0.TEMP'").fetchone()
    assert old is not None
    assert status(conn, retired) == "retired"
    assert status(conn, old[0]) == "historical"
    assert found == {}


def test_a_status_keeps_its_since_while_it_stays_and_restarts_when_it_changes(
    conn: psycopg.Connection[Any],
) -> None:
    pid = point(conn, "E.T1", "°F")
    readings(conn, pid, SPRING - timedelta(days=1), SPRING, "300")
    first = SPRING + timedelta(minutes=5)
    evaluate(conn, first)
    evaluate(conn, first + timedelta(minutes=5))
    since = conn.execute("SELECT since FROM point_health WHERE point_id = %s", [pid]).fetchone()
    assert since == (first,)
    readings(conn, pid, SPRING - timedelta(minutes=30), SPRING, "70")
    evaluate(conn, first + timedelta(minutes=10))
    row = conn.execute(
        "SELECT status, since FROM point_health WHERE point_id = %s", [pid]
    ).fetchone()
    assert row == ("ok", first + timedelta(minutes=10))


# -- the site file's [health] and [[limits]] ----------------------------------------------------


def test_health_settings_and_limits_are_read_from_the_site_file_with_defaults_for_the_rest() -> (
    None
):
    site = parse_site(
        """
[health]
stale_factor = 4
spike_window = "24h"
range_count = 5

[[limits]]
tag = "zone"
max = 90

[[limits]]
quantity = "pressure"
min = 0
max = 10
count = 2
"""
    )
    t = thresholds(site.health)
    assert t == Thresholds(stale_factor=4.0, spike_window_s=86400.0, range_count=5)
    assert [(e.selector, e.value, e.min, e.max, e.count, e.line) for e in site.health.limits] == [
        ("tag", "zone", None, 90.0, None, 7),
        ("quantity", "pressure", 0.0, 10.0, 2, 11),
    ]
    assert thresholds(parse_site("").health) == Thresholds()


def test_bad_health_settings_and_limits_are_problems_with_their_lines() -> None:
    with pytest.raises(SiteFileError) as caught:
        parse_site(
            """
[health]
stale_factor = -1
spike_window = "soon"
flat_hours = 2.5
colour = "red"

[[limits]]
min = 0

[[limits]]
unit = "°F"
tag = "temp"
max = 1

[[limits]]
point = "X.*"

[[limits]]
building = "HU"
min = "low"
max = 5
count = 0

[[limits]]
quantity = "temperature"
min = 10
max = 5
"""
        )
    assert caught.value.problems == [
        "line 3: stale_factor must be a number above 0",
        'line 4: spike_window must be a duration from 1h to 90d, e.g. "48h" or "7d"',
        "line 5: flat_hours must be a whole number from 1 to 1000",
        "line 6: [health] has no key 'colour'; known: stale_factor, flat_hours, spike_z, "
        "spike_window, spike_count, range_count",
        "line 8: a [[limits]] entry names its points by exactly one of point (a name, * and ? "
        "allowed), tag, building, unit or quantity; this one has none",
        "line 11: a [[limits]] entry names its points by exactly one of point (a name, * and ? "
        "allowed), tag, building, unit or quantity; this one has 2 (tag, unit)",
        "line 16: a [[limits]] entry gives min, max or both",
        "line 21: min must be a number",
        "line 23: count must be a whole number from 1 to 1000",
        "line 28: max 5 is below min 10",
    ]
