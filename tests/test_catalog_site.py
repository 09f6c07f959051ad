"""The site file: the example loads; every problem of a broken one is reported at once, with its
line; floors follow from rooms by the documented default."""

from __future__ import annotations

from pathlib import Path

import pytest

from energy_ingest.catalog.site import SiteFileError, floor_of, load_site, parse_site
from energy_ingest.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "examples" / "site.toml"


def test_the_example_site_file_loads_with_every_building_alias_and_rule() -> None:
    site = load_site(EXAMPLE)
    assert [b.code for b in site.buildings] == ["HU", "GH", "FAC", "BOLIOU", "EV"]
    for text in ("HU", "hulings", "HULLINGS", "Hulings Hall", " hulings  hall ", "HUL"):
        building = site.building(text)
        assert building is not None and building.code == "HU", text
    assert site.building("NOPE") is None
    assert len(site.naming) == 6 and site.naming[0].source == "siemens"
    assert site.naming[4].field == "control_program"
    assert site.units["VTONS"] == "ton_of_refrigeration"
    assert site.override("FAC.CONM", "siemens") is not None
    assert site.override("FAC.CONM", "alc") is None


@pytest.mark.parametrize(
    ("room", "floor"),
    [
        ("102", 1),
        ("213B", 2),
        ("B02", -1),
        ("b44", -1),
        ("G5", 0),
        ("Vivarium", None),
        ("", None),
        (None, None),
        ("B", None),
        ("Basement", None),
        ("9", 9),
    ],
)
def test_a_floor_follows_from_a_room_by_the_documented_default(
    room: str | None, floor: int | None
) -> None:
    assert floor_of(room) == floor


def test_floor_prefixes_can_be_changed_and_the_longest_prefix_wins() -> None:
    assert floor_of("LL3", {"L": 5, "LL": -2}) == -2
    assert floor_of("L3", {"L": 5, "LL": -2}) == 5


BROKEN = """\
[[buildings]]
code = "HU"
name = "Hulings Hall"
aliases = ["HULINGS"]

[[buildings]]
code = "HX"
name = "Other"
aliases = ["hulings"]
colour = "red"

[[naming]]
source = "siemens"
pattern = '^(?P<building>HU)\\.R(?P<room>\\d+'

[[naming]]
source = "bacnet"
pattern = '^HU\\.'

[[naming]]
pattern = '^(?P<bldg>HU)\\.'
building = "ZZ"

[[tags]]
pattern = 'RMT'
tags = ["Zone Temp"]
level = "floor"

[[points]]
source = "siemens"
floor = "one"

[lights]
on = true
"""


def test_a_broken_site_file_reports_every_problem_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(BROKEN)
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    error = caught.value
    assert isinstance(error, ConfigError)  # the CLI's one-line error and exit status 1
    problems = error.problems
    expected = [
        "line 6: 'hulings' names both HU and HX",
        "line 10: [[buildings]] has no key 'colour'; known: code, name, aliases, alc_location",
        "line 14: pattern ",  # the text as written, then re's own words and the position:
        "line 17: source 'bacnet': use one of siemens, alc",
        "line 18: pattern has no named group; name what it finds",
        "line 21: unknown group bldg; groups are building, room, device, point",
        "line 22: building 'ZZ' is not a [[buildings]] code",
        "line 26: tag 'Zone Temp' is not a tag name",
        "line 27: level 'floor': use one of point, device, room, building",
        "line 29: name is missing",
        "line 31: floor must be a whole number, e.g. -1",
        "line 33: unknown table 'lights'",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), f"{want!r} not in {problems}"
    assert len(problems) == len(expected), problems
    assert "missing ), unterminated subpattern at position 20" in problems[2]
    assert problems == sorted(problems, key=lambda p: int(p.split()[1].rstrip(":")))
    text = str(error)
    assert text.startswith(f"site file {path} has {len(expected)} problems:\n  line ")
    assert "energy-ingest catalog apply" in text


def test_a_file_that_is_not_toml_says_where() -> None:
    with pytest.raises(SiteFileError) as caught:
        parse_site('[[buildings]]\ncode = "HU\n')
    assert "not valid TOML" in str(caught.value) and "line 2" in str(caught.value)


def test_a_missing_site_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(SiteFileError) as caught:
        load_site(tmp_path / "nope.toml")
    assert "cannot be read" in str(caught.value) and "nope.toml" in str(caught.value)


def test_an_empty_site_file_is_a_site_with_nothing_in_it() -> None:
    site = parse_site("")
    assert site.buildings == () and site.naming == () and site.building("HU") is None
