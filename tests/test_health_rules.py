"""The site file's [[rules]] raise alerts (energy_ingest/health/rules.py): on a real sample loaded
through the real loader, checked against the file read independently; the window's and count's
boundaries; alert = "off", no value_search and retired points; a bad rule never stops the
others; and the new keys' problems, each with its line."""

from __future__ import annotations

import csv
import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from test_catalog_rules import BASE, line_of, problems, rules
from test_catalog_store import DATA, DEFINITIONS, SITE, apply, put, trend

from energy_ingest.catalog.site import parse_site
from energy_ingest.health.findings import HIGH, NORMAL, Finding
from energy_ingest.health.rules import evaluate, statement

Conn = psycopg.Connection[Any]
CHICAGO = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")
BOLIOU = DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"


def building_id(conn: Conn, code: str) -> int:
    row = conn.execute("SELECT id FROM buildings WHERE code = %s", (code,)).fetchone()
    assert row is not None, f"no building {code}"
    return int(row[0])


def ids(conn: Conn) -> dict[str, int]:
    return dict(conn.execute("SELECT name, id FROM points").fetchall())


def rule_ids(conn: Conn) -> dict[str, int]:
    return dict(conn.execute("SELECT name, id FROM rules").fetchall())


def applied(conn: Conn, *blocks: str) -> Any:
    """The example site file with these [[rules]] instead of its own, applied; the Site."""
    text = rules(*blocks)
    apply(conn, text)
    return parse_site(text, SITE)


def by_rule(findings: list[Finding], conn: Conn) -> dict[str, list[Finding]]:
    names = {v: k for k, v in rule_ids(conn).items()}
    out: dict[str, list[Finding]] = {}
    for f in findings:
        assert f.rule_id is not None
        out.setdefault(names[f.rule_id], []).append(f)
    return out


# --- a rule on real sample data --------------------------------------------------------------


def readings_in_file(path: Path) -> dict[str, list[tuple[datetime, str]]]:
    """The report's cells per point name, read with the csv module alone (not the loader)."""
    rows = list(csv.reader(path.read_text().splitlines()))
    names = {r[0].rstrip(":"): r[1] for r in rows if r and r[0].startswith("Point_")}
    header = next(n for n, r in enumerate(rows) if r and r[0] == "<>Date")
    columns = rows[header][2:]
    out: dict[str, list[tuple[datetime, str]]] = {names[c]: [] for c in columns}
    for row in rows[header + 1 :]:
        if len(row) < 2 + len(columns):
            continue  # the footer
        local = datetime.strptime(f"{row[0]} {row[1]}", "%m/%d/%Y %H:%M:%S")
        ts = local.replace(tzinfo=CHICAGO).astimezone(UTC)
        for column, cell in zip(columns, row[2:], strict=False):
            out[names[column]].append((ts, cell.strip()))
    return out


def expected(
    cells: dict[str, list[tuple[datetime, str]]],
    above: float,
    now: datetime,
    window: timedelta,
    count: int,
) -> dict[str, tuple[int, datetime, float]]:
    """Per point: readings over `above` in the window that ends at its newest reading at or
    before now, the last one's time and value — for the points with at least `count` of them
    (a cell that is no number is no reading)."""
    out = {}
    for name, series in cells.items():
        numbers = []
        for ts, cell in series:
            try:
                numbers.append((ts, float(cell)))
            except ValueError:
                continue  # No Data, Data Loss, an enumeration without a text table
        upto = max((ts for ts, _ in numbers if ts <= now), default=None)
        if upto is None:
            continue
        hits = [(ts, v) for ts, v in numbers if upto - window < ts <= upto and v > above]
        if len(hits) >= count:
            out[name] = (len(hits), hits[-1][0], hits[-1][1])
    return out


def test_a_rule_on_a_real_sample_finds_exactly_the_points_the_file_says(conn: Conn) -> None:
    apply(conn)
    put(conn, BOLIOU.read_bytes(), BOLIOU.name.removeprefix("CONSTRUCTED_siemens_insight_"))
    boliou = building_id(conn, "BOLIOU")
    site = applied(
        conn,
        f'name = "Boliou over 72"\npoint_search = "@{boliou}"\nvalue_search = "~> 72"\n'
        'window = "1d"\ncount = 30\nalert = "high"\nurl = "/rules/boliou-warm"',
        f'name = "Boliou over 4.5"\npoint_search = "@{boliou}"\nvalue_search = "~> 4.5"\n'
        'window = "1d"\ncount = 10',
    )
    # just after the report's last row (23:45 CST): a day's window ends at each point's newest
    # reading, so it holds the whole report (from 00:00 CST)
    now = datetime(2018, 11, 30, 0, 0, tzinfo=CHICAGO)
    cells = readings_in_file(BOLIOU)
    found = by_rule(evaluate(conn, site, now), conn)
    point = ids(conn)
    for rule, above, count in (("Boliou over 72", 72, 30), ("Boliou over 4.5", 4.5, 10)):
        want = expected(cells, above, now, timedelta(days=1), count)
        assert want, f"{rule}: the sample should have points over {above}"
        got = {
            f.details["point"]: (
                f.details["matches"],
                datetime.fromisoformat(f.details["latest_ts"]),
                f.details["latest_value"],
            )
            for f in found.get(rule, [])
        }
        assert got == want, rule
        for f in found[rule]:
            assert f.point_id == point[f.details["point"]]
            assert f.subject == f"rule:{rule_ids(conn)[rule]}:point:{f.point_id}"
            assert f.building_id == boliou
            assert (f.kind, f.details["window_s"], f.details["count"]) == ("rule", 86400, count)
    # what the count excluded is really there: the room temperature's 28 readings over 72
    below = expected(cells, 72, now, timedelta(days=1), 1)
    assert below["BOLIOU.VAV.1.RM161:ROOM TEMP"][0] == 28
    # and the first row at 00:00 is inside: the supply air temperature's 93 readings all count
    assert sum(1 for _, c in cells["BOLIOU.AHU1.SAT"] if c not in ("No Data", "Data Loss")) == 93
    matches = {f.details["point"]: f.details["matches"] for f in found["Boliou over 4.5"]}
    assert matches["BOLIOU.AHU1.SAT"] == 93
    # the window ends at the data, not at now: at 02:00, when the next daily report is loaded,
    # hours after the last reading, the rule still says what the data says
    later = by_rule(evaluate(conn, site, now + timedelta(hours=2)), conn)
    assert {r: sorted(f.summary for f in fs) for r, fs in later.items()} == {
        r: sorted(f.summary for f in fs) for r, fs in found.items()
    }
    (flow,) = found["Boliou over 72"]
    assert flow.summary == (
        "Boliou over 72: BOLIOU.VAV.1.RM161:CTL FLOW was 120 at 2018-11-29 23:45-06:00"
        " (65 readings in 1 d)"
    )
    assert (flow.priority, flow.link) == (HIGH, "/rules/boliou-warm")
    assert {f.priority for f in found["Boliou over 4.5"]} == {NORMAL}
    assert {f.link for f in found["Boliou over 4.5"]} == {
        f"/api/v2/points/{f.point_id}" for f in found["Boliou over 4.5"]
    }


def test_the_example_rule_on_a_real_export_names_the_unit_and_an_enumerations_state(
    conn: Conn,
) -> None:
    apply(conn)  # the example site file as it is: "Temperature over 80", ~> 80 in the last hour
    put(conn, DEFINITIONS.read_bytes())  # the real export: HU.R102.RMT is in °F, OCC OFF/ON
    put(conn, trend({"HU.R102.RMT": ["79.5", "84.2", "80.0", "81.3"]}))
    now = datetime(2018, 11, 1, 0, 50, tzinfo=CHICAGO)
    (warm,) = evaluate(conn, parse_site(SITE.read_text(), SITE), now)
    assert warm.summary == (
        "Temperature over 80: HU.R102.RMT was 81.3 °F at 2018-11-01 00:45-05:00 (2 readings in 1 h)"
    )
    assert (warm.priority, warm.link) == (NORMAL, "/rules/too-warm")
    put(conn, trend({"HU.R102.OCC": ["OFF", "ON", "ON", "OFF"]}, day=2))
    occ = ids(conn)["HU.R102.OCC"]
    site = applied(conn, f'name = "Occupied"\npoint_search = "*{occ}"\nvalue_search = "~= 1"')
    (occupied,) = evaluate(conn, site, now + timedelta(days=1))
    assert (
        occupied.summary
        == "Occupied: HU.R102.OCC was ON at 2018-11-02 00:30-05:00 (2 readings in 1 h)"
    )
    assert occupied.details["latest_value"] == "ON"


# --- window and count ------------------------------------------------------------------------

# HU.R102.RMT on 11/1/2018 (CDT): 81 at 00:00, 79 at 00:15, 82 at 00:30, 83 at 00:45.
T0 = datetime(2018, 11, 1, 0, 0, tzinfo=CHICAGO)
ROOM = {"HU.R102.RMT": ["81", "79", "82", "83"], "HU.R103.RMT": ["70", "70", "70", "70"]}


def rule(name: str, hu: int, window: str, count: int, *more: str) -> str:
    return "\n".join(
        [
            f'name = "{name}"',
            f'point_search = "@{hu}"',
            'value_search = "~> 80"',
            f'window = "{window}"',
            f"count = {count}",
            *more,
        ]
    )


def test_exactly_count_readings_in_the_window_fire_and_one_fewer_or_one_outside_do_not(
    conn: Conn,
) -> None:
    apply(conn)
    put(conn, trend(ROOM))
    hu = building_id(conn, "HU")
    site = applied(
        conn,
        rule("three in 46 min", hu, "46m", 3),  # 00:00, 00:30, 00:45
        rule("four in 46 min", hu, "46m", 4),  # one reading short
        rule("three in 45 min", hu, "45m", 3),  # 00:00 is exactly 45 min before: outside
        rule("two in 45 min", hu, "45m", 2),  # … so two are left
    )
    now = T0 + timedelta(minutes=45)
    found = by_rule(evaluate(conn, site, now), conn)
    assert sorted(found) == ["three in 46 min", "two in 45 min"]
    (three,) = found["three in 46 min"]
    assert (three.details["matches"], three.details["latest_value"]) == (3, 83)
    assert three.details["latest_ts"] == now.astimezone(UTC).isoformat()
    assert (
        three.summary
        == "three in 46 min: HU.R102.RMT was 83 at 2018-11-01 00:45-05:00 (3 readings in 46 min)"
    )
    assert found["two in 45 min"][0].details["matches"] == 2
    # a second earlier, the 00:45 reading is not yet in the window: 2 of 3
    earlier = by_rule(evaluate(conn, site, now - timedelta(seconds=1)), conn)
    assert "three in 46 min" not in earlier
    assert earlier["two in 45 min"][0].details["latest_value"] == 82


def test_alert_off_no_value_search_and_retired_points_raise_nothing(conn: Conn) -> None:
    apply(conn)
    put(conn, trend({**ROOM, "HU.R104.RMT": ["90", "90", "90", "90"]}))
    hu = building_id(conn, "HU")
    site = applied(
        conn,
        rule("on", hu, "1h", 1),
        rule("off", hu, "1h", 1, 'alert = "off"'),
        f'name = "legacy only"\npoint_search = "@{hu}"',
    )
    now = T0 + timedelta(minutes=45)
    found = by_rule(evaluate(conn, site, now), conn)
    assert sorted(found) == ["on"]
    assert sorted(f.details["point"] for f in found["on"]) == ["HU.R102.RMT", "HU.R104.RMT"]
    conn.execute("UPDATE points SET retired_at = now() WHERE name = 'HU.R104.RMT'")
    found = by_rule(evaluate(conn, site, now), conn)
    assert [f.details["point"] for f in found["on"]] == ["HU.R102.RMT"]


def test_a_rule_that_fails_is_logged_and_skipped_and_the_others_still_raise(
    conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    apply(conn)
    put(conn, trend(ROOM))
    hu = building_id(conn, "HU")
    site = applied(conn, rule("broken", hu, "1h", 1), rule("good", hu, "1h", 1))
    # a search the checker would refuse (the file changed under a running daemon, say)
    broken = dataclasses.replace(site.rules[0], point_search="@")
    unapplied = dataclasses.replace(site.rules[1], name="not applied yet")
    site = dataclasses.replace(site, rules=(broken, unapplied, site.rules[1]))
    with caplog.at_level(logging.WARNING, logger="energy_ingest.health"):
        found = by_rule(evaluate(conn, site, T0 + timedelta(minutes=45)), conn)
    assert sorted(found) == ["good"]
    assert "rule 'broken' (site file line" in caplog.text and "was skipped" in caplog.text
    assert "rule 'not applied yet'" in caplog.text and "catalog apply" in caplog.text
    conn.execute("SELECT 1")  # the connection's transaction is still usable


def test_the_rules_new_keys_default_and_bad_ones_are_problems_with_their_lines() -> None:
    (example,) = parse_site(SITE.read_text(), SITE).rules
    assert (example.window_s, example.count, example.alert) == (3600, 1, "normal")
    text = rules(
        'name = "a"\npoint_search = "@1"\nvalue_search = "~>80"\nwindow = "15 minutes"',
        'name = "b"\npoint_search = "@1"\nvalue_search = "~>80"\ncount = 0',
        'name = "c"\npoint_search = "@1"\nvalue_search = "~>80"\nalert = "urgent"',
        'name = "d"\npoint_search = "@1"\nalert = "high"',
        'name = "e"\npoint_search = "@1"\nvalue_search = "~>80"\nwindow = "30d"\ncount = 2.5',
        'name = "f"\npoint_search = "@1"\nvalue_search = "~>80"\nwindow = 15',
    )
    found = problems(text)
    d_rule = 'name = "d"'
    assert found == [
        f"line {line_of(text, '15 minutes')}: window '15 minutes' is not a duration; write e.g."
        " 90s, 15m, 2h or 1d",
        f"line {line_of(text, 'count = 0')}: count must be a whole number from 1 to 1,000,000:"
        " how many readings in the window must satisfy value_search",
        f"line {line_of(text, 'urgent')}: alert 'urgent': use one of high, normal, off",
        f"line {line_of(text, d_rule) - 1}: window, count and alert need a value_search:"
        ' without one the rule raises no alert; add one (e.g. value_search = "~> 80") or set'
        ' alert = "off"',
        f"line {line_of(text, '30d')}: window '30d' is over the limit of 7 days (every"
        " evaluation reads the window's readings of the rule's points)",
        f"line {line_of(text, 'count = 2.5')}: count must be a whole number from 1 to"
        " 1,000,000: how many readings in the window must satisfy value_search",
        f"line {line_of(text, 'window = 15')}: window 15 must be a duration string, e.g."
        ' "15m", "1h" or "1d"',
    ]
    good = parse_site(
        BASE + '\n[[rules]]\nname = "g"\npoint_search = "@1"\nvalue_search = "~>80"\n'
        'window = "15m"\ncount = 3\nalert = "high"\n\n[[rules]]\nname = "h"\n'
        'point_search = "@1"\nalert = "off"\n',
        SITE,
    )
    assert [(r.window_s, r.count, r.alert) for r in good.rules] == [
        (900, 3, "high"),
        (3600, 1, "off"),
    ]


# --- bounded ---------------------------------------------------------------------------------


def readings_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    inner = [n for child in plan.get("Plans", []) for n in readings_nodes(child)]
    name = plan.get("Relation Name", "")
    ours = name == "readings" or name.removeprefix("readings_").isdigit()  # or a year's partition
    return ([plan] if ours else []) + inner


def test_a_rule_reads_only_its_window_of_its_points_readings(conn: Conn) -> None:
    apply(conn)
    put(conn, trend({f"HU.R{n}.RMT": ["70"] for n in range(100, 125)}))
    put(conn, trend({f"GH.R{n}.RMT": ["70"] for n in range(100, 125)}))
    now = datetime(2018, 10, 31, tzinfo=CHICAGO)
    # two weeks of 15-minute readings of the 50 points, about half of them over 80
    conn.execute(
        "INSERT INTO readings (point_id, ts, value)"
        " SELECT p.id, t, 70 + (p.id + extract(epoch FROM t)::bigint / 900) %% 21"
        " FROM points p, generate_series(%(now)s - interval '14 days', %(now)s, '15 min') t",
        {"now": now},
    )
    conn.execute("ANALYZE readings")
    hu = building_id(conn, "HU")
    site = applied(conn, rule("hot", hu, "1h", 2))
    query, bound = statement(site.rules[0], now)
    (plan,) = conn.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query, bound).fetchone()
    nodes = readings_nodes(plan[0]["Plan"])

    def rows(n: dict[str, Any]) -> int:
        return int((n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n["Actual Loops"])

    # a sequential scan only of an empty partition (the planner's cheapest way to read nothing)
    assert nodes and all(n["Node Type"] != "Seq Scan" or not rows(n) for n in nodes), nodes
    read = sum(rows(n) for n in nodes)
    # HU's 25 points × (their newest reading, then the 4 readings in the hour up to it)
    assert read == 25 * (1 + 4)
    found = evaluate(conn, site, now)
    assert 0 < len(found) < 25


def test_the_docs_rule_example_loads_and_its_problems_are_what_the_checker_says() -> None:
    page = (SITE.parent.parent / "docs" / "catalog.md").read_text()
    section = page.split("### Rules that raise alerts", 1)[1].split("\n### ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (loaded,) = parse_site(BASE + example, SITE).rules
    assert (loaded.name, loaded.window_s, loaded.count, loaded.alert) == (
        "Room too warm",
        3600,
        3,
        "high",
    )
    shown = section.split("```\nline ", 1)[1].split("```", 1)[0]
    shown_lines = ("line " + shown).strip().splitlines()
    text = SITE.read_text().replace(
        'value_search = "~> 80"\n',
        'value_search = "~> 80"\nwindow = "15 minutes"\ncount = 0\nalert = "urgent"\n',
    )
    assert problems(text) == shown_lines
