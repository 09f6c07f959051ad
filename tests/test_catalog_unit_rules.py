"""[[unit_rules]]: a unit for the points whose name an engineer's pattern matches, where neither
an override, an export nor the trend report says one — so a trended point has a unit (and a
quantity) before any export. Checked like the other rules; never a recording unit."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from test_catalog_identity import definitions
from test_catalog_site import SITE_HEAD, assert_problems
from test_catalog_store import SITE, apply, point, put, trend

from energy_ingest.catalog.resolve import resolve
from energy_ingest.catalog.site import SiteFileError, parse_site

RULES = """\
[[unit_rules]]
on = "name"
pattern = '[.:](SAT|RAT|MAT|RMT|ROOM TEMP)$'
unit = "degF"

[[unit_rules]]
pattern = 'FLOW$'
unit = "CFM"
"""


def with_rules(rules: str = RULES) -> str:
    """The example site file with these unit rules instead of its own."""
    return bare() + rules


def bare() -> str:
    """The example site file without its [[unit_rules]] (the last tables in it)."""
    text = SITE.read_text()
    return text[: text.index("[[unit_rules]]")]


def test_a_unit_rule_gives_the_first_matching_rules_unit_and_says_which_line() -> None:
    text = with_rules()
    line = text.splitlines().index("[[unit_rules]]") + 1
    site = parse_site(text)
    sat = resolve(site, "BOLIOU.AHU1.SAT", "siemens")
    assert sat.by_rule == ("degF", f"unit rule line {line}")
    room = resolve(site, "BOLIOU.VAV.1.RM161:ROOM TEMP", "siemens")
    assert room.by_rule == ("degF", f"unit rule line {line}")
    # on the point part a naming rule found (the default): VAV.1.RM161:CTL FLOW's ends in FLOW
    flow = resolve(site, "BOLIOU.VAV.1.RM161:CTL FLOW", "siemens")
    assert flow.by_rule == ("CFM", f"unit rule line {line + 5}")
    assert resolve(site, "BOLIOU.AHU1.SF.S", "siemens").by_rule is None
    assert sat.unit is None  # an override's unit is another thing: it has the last word


def test_a_trended_point_without_an_export_gets_its_unit_and_quantity_from_a_rule(
    conn: psycopg.Connection[Any],
) -> None:
    status = '[[unit_rules]]\non = "name"\npattern = "SF[.]S$"\nunit = "percent"\n'
    text = with_rules(RULES + "\n" + status)
    line = text.splitlines().index("[[unit_rules]]") + 1
    apply(conn, text)
    put(conn, trend({"BOLIOU.AHU1.SAT": ["55.1", "55.3"], "BOLIOU.AHU1.SF.S": ["ON", "OFF"]}))
    sat = point(conn, "BOLIOU.AHU1.SAT")
    assert (sat["symbol"], sat["quantity"]) == ("°F", "temperature")
    assert sat["origins"]["unit"] == f"unit rule line {line}"
    status_point = point(conn, "BOLIOU.AHU1.SF.S")
    assert status_point["kind"] == "enum" and status_point["symbol"] is None  # states, no unit


def test_an_export_unit_wins_over_a_rule_and_the_rule_records_no_earlier_unit(
    conn: psycopg.Connection[Any],
) -> None:
    apply(conn, with_rules())
    put(conn, trend({"BOLIOU.AHU1.SAT": ["13.1", "13.3"]}))
    assert point(conn, "BOLIOU.AHU1.SAT")["symbol"] == "°F"  # the rule's guess …
    record = {"Point System Name": "BOLIOU.AHU1.SAT", "Point Name": "BOLIOU.AHU1.SAT"}
    put(conn, definitions({**record, "Point Type": "LAI", "Engineering Units": "DEG C"}))
    sat = point(conn, "BOLIOU.AHU1.SAT")
    assert (sat["symbol"], sat["origins"]["unit"]) == (
        "°C",
        "definition report",
    )  # … the BAS's word
    history = conn.execute("SELECT count(*) FROM unit_history").fetchone()
    assert history == (0,)  # a rule is a reading of the name, not a unit the BAS recorded in
    since = conn.execute("SELECT unit_since FROM points WHERE name = 'BOLIOU.AHU1.SAT'").fetchone()
    assert since == (None,)


def test_a_rule_added_later_is_applied_to_the_points_already_there(
    conn: psycopg.Connection[Any],
) -> None:
    apply(conn, bare())
    put(conn, trend({"BOLIOU.AHU1.SAT": ["55.1"]}))
    assert point(conn, "BOLIOU.AHU1.SAT")["symbol"] is None
    applied = apply(conn, with_rules())
    assert "BOLIOU.AHU1.SAT: unit none → degree_Fahrenheit" in applied.changes
    assert point(conn, "BOLIOU.AHU1.SAT")["quantity"] == "temperature"


BROKEN = (
    SITE_HEAD
    + """\
[[unit_rules]]
pattern = '\\.SAT$'
unit = "furlongz per fortnite"

[[unit_rules]]
unit = "degF"

[[unit_rules]]
pattern = 'RMT'
on = "room"
units = "degF"

[[unit_rules]]
pattern = '(?P<x>RMT'
source = "bacnet"
"""
)


def test_a_bad_unit_rule_is_a_problem_with_its_line_and_field() -> None:
    with pytest.raises(SiteFileError) as caught:
        parse_site(BROKEN)
    problems = caught.value.problems
    expected = [
        "line 7: unit 'furlongz per fortnite': pint cannot read it as a unit of a known quantity",
        "line 9: pattern is missing",
        "line 12: unit is missing",
        "line 14: on 'room': use one of point, name, descriptor, alc_name",
        "line 15: [[unit_rules]] has no key 'units'; known: pattern, unit, on, source",
        "line 17: unit is missing",
        "line 18: pattern '(?P<x>RMT': missing )",
        "line 19: source 'bacnet': use one of siemens, alc",
    ]
    assert_problems(problems, expected)


def test_the_example_site_file_gives_the_sample_campus_trended_points_a_unit() -> None:
    site = parse_site(SITE.read_text(), SITE)
    for name in ("BOLIOU.AHU1.SAT", "BOLIOU.VAV.1.RM161:ROOM TEMP", "HU.R102.RMT"):
        found = resolve(site, name, "siemens").by_rule
        assert found is not None and found[0] == "degF", name
    cfm = resolve(site, "BOLIOU.VAV.1.RM161:CTL FLOW", "siemens").by_rule
    assert cfm is not None and cfm[0] == "CFM"
