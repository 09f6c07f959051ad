"""The site file: the example loads; every problem of a broken one is reported at once, with its
line; floors follow from rooms by the documented default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from energy_ingest.catalog.regex import MAX_PROGRAM, MAX_TEXT
from energy_ingest.catalog.resolve import resolve
from energy_ingest.catalog.site import (
    MAX_ENTRIES,
    MAX_PROGRAMS,
    MAX_SITE_BYTES,
    SiteFileError,
    floor_of,
    load_site,
    parse_site,
)
from energy_ingest.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "examples" / "site.toml"


def test_the_example_site_file_loads_with_every_building_alias_and_rule() -> None:
    site = load_site(EXAMPLE)
    assert [b.code for b in site.buildings] == ["HU", "GH", "FAC", "BOLIOU", "EV"]
    for text in ("HU", "hulings", "HULLINGS", "Hulings Hall", " hulings  hall ", "HUL"):
        building = site.building(text)
        assert building is not None and building.code == "HU", text
    assert site.building("NOPE") is None
    assert len(site.naming) == 8 and site.naming[0].source == "siemens"
    assert [r.field for r in site.naming].count("descriptor") == 1
    assert site.naming[6].field == "control_program"
    assert (len(site.rewrites), len(site.devices)) == (1, 1)
    assert site.override("EV.AHU1:RAT", "siemens") is not None  # by its pattern
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


def assert_problems(problems: list[str], expected: list[str]) -> None:
    """One problem for each expected start (`line 7: unit …`), and no other."""
    for want in expected:
        assert any(p.startswith(want) for p in problems), f"{want!r} not in {problems}"
    assert len(problems) == len(expected), problems


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
    assert_problems(problems, expected)
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


SITE_HEAD = '[[buildings]]\ncode = "GH"\nname = "Goodhue Hall"\n\n'


def test_rule_patterns_match_in_linear_time_so_nested_quantifiers_cannot_stall(
    tmp_path: Path,
) -> None:
    # Python's backtracking engine takes ~34 s for 29 A's and doubles with each one more; the
    # check runs in a child process so that the test ends either way.
    path = tmp_path / "site.toml"
    path.write_text(
        SITE_HEAD + "[[naming]]\npattern = '^(?P<building>GH)\\.(?P<device>([A-Z]+\\d*)+)$'\n\n"
        '[[tags]]\non = "name"\npattern = \'^GH\\.([A-Z]+\\d*)+$\'\ntags = ["odd"]\n'
    )
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from energy_ingest.catalog.resolve import resolve\n"
        "from energy_ingest.catalog.site import load_site\n"
        "site = load_site(Path(sys.argv[1]))\n"
        "for n in (29, 40, 10_000):\n"
        "    r = resolve(site, 'GH.' + 'A' * n + '!', 'siemens')\n"
        "    assert r.device is None and r.tags == (), r\n"
        "print(resolve(site, 'GH.AHU3', 'siemens').device)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "AHU3\n"


def test_a_pattern_that_compiles_to_a_huge_program_is_refused_naming_its_size_and_the_limit() -> (
    None
):
    # RE2 is linear in the name times the compiled program: [ab]{1000} inside a loop is a
    # thousand-instruction program that takes milliseconds per name, and 1,000 such tag rules
    # took 55 s per 8 KB file under the writers' lock.
    pattern = "(?:[ab]*a[ab]{1000}b)+"
    with pytest.raises(SiteFileError) as caught:
        parse_site(SITE_HEAD + f"[[tags]]\npattern = '{pattern}'\ntags = [\"odd\"]\n")
    problem = caught.value.problems[0]
    assert problem.startswith(f"line 6: pattern '{pattern}': "), problem
    assert f"over the limit of {MAX_PROGRAM:,}" in problem, problem


def test_rules_that_together_compile_to_more_than_the_budget_are_refused_naming_it() -> None:
    each = f"(?:[ab]*a[ab]{{{MAX_PROGRAM - 20}}}b)+"
    count = MAX_PROGRAMS // (MAX_PROGRAM - 20) + 1
    body = "".join(f"[[tags]]\npattern = '{each}'\ntags = [\"t{n}\"]\n" for n in range(count))
    with pytest.raises(SiteFileError) as caught:
        parse_site(SITE_HEAD + body)
    assert f"the limit is {MAX_PROGRAMS:,}" in str(caught.value), caught.value


def test_no_rule_reads_a_name_longer_than_max_text_characters() -> None:
    site = parse_site(
        SITE_HEAD + "[[naming]]\npattern = '^(?P<building>GH)\\.(?P<device>[A-Z]+)'\n\n"
        '[[tags]]\non = "name"\npattern = \'Z$\'\ntags = ["end"]\n'
    )
    longest = "GH.AHU" + "X" * (MAX_TEXT - 7) + "Z"
    found = resolve(site, longest, "siemens")
    assert found.building == "GH" and found.tags == (("end", "point"),), found
    found = resolve(site, "GH.AHU" + "X" * (MAX_TEXT - 6) + "Z", "siemens")
    assert found.building is None and found.device is None and found.tags == (), found


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("^(?P<building>GH)\\.(?P=building)", "(?P="),
        ("^(?P<building>GH)\\.\\1", "\\1"),
        ("^(?P<building>GH)(?=\\.)", "(?="),
        ("^(?P<building>GH)(?!X)", "(?!"),
        ("(?<=X)(?P<building>GH)", "(?<"),
        ("(?P<building>GH)(?>\\.)", "(?>"),
    ],
)
def test_a_pattern_the_linear_time_engine_cannot_run_is_refused_with_its_line_and_construct(
    pattern: str, construct: str
) -> None:
    with pytest.raises(SiteFileError) as caught:
        parse_site(SITE_HEAD + f"[[naming]]\npattern = '{pattern}'\n")
    assert caught.value.problems[0].startswith(f"line 6: pattern '{pattern}': "), caught.value
    assert construct in caught.value.problems[0], caught.value
    assert "backreferences" in caught.value.problems[0], caught.value


def test_the_example_and_every_rule_the_docs_show_still_load_with_their_named_groups() -> None:
    site = load_site(EXAMPLE)
    for rule in site.naming:
        assert set(rule.pattern.groupindex) <= {"building", "room", "device", "point", "floor"}
    match = site.naming[1].pattern.search("HU.R102.RMT")  # [0]: Evans Hall's floor points
    assert match is not None
    assert match.groupdict() == {"building": "HU", "room": "102", "point": "RMT"}


def test_a_site_file_over_its_size_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE_HEAD + "#" * MAX_SITE_BYTES)
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    assert f"over the limit of {MAX_SITE_BYTES:,} bytes" in str(caught.value)


@pytest.mark.parametrize("table", sorted(MAX_ENTRIES))
def test_a_table_with_more_entries_than_its_limit_is_refused_naming_the_limit(table: str) -> None:
    entry = {
        "buildings": 'code = "B{n}"\nname = "Building {n}"',
        "naming": "pattern = '^(?P<building>B{n})'",
        "tags": "pattern = 'X{n}'\ntags = [\"t\"]",
        "points": 'name = "P{n}"',
        "rules": 'name = "R{n}"\npoint_search = ":measurement \'temperature\'"',
        "devices": 'building = "HU"\nname = "FC{n}"\nroom = "{n}"',
        "rewrite": 'group = "room"\npattern = \'^(?P<n>{n})$\'\nto = "0{{n}}"',
        "limits": 'point = "P{n}"\nmax = 1',
        "unit_rules": "pattern = 'X{n}'\nunit = \"degF\"",
    }[table]
    limit = MAX_ENTRIES[table]
    body = "".join(f"[[{table}]]\n{entry.format(n=n)}\n" for n in range(limit + 1))
    with pytest.raises(SiteFileError) as caught:
        parse_site(SITE_HEAD + body)
    assert f"{limit + 1 + (table == 'buildings'):,} [[{table}]]" in str(caught.value)
    assert f"the limit is {limit:,}" in str(caught.value)


NUL_PLACES = [
    ('[[buildings]]\ncode = "H\\u0000U"\nname = "Hulings"\n', 7),
    ('[[buildings]]\ncode = "HU"\nname = "Hulings\\u0000"\n', 8),
    ('[[buildings]]\ncode = "HU"\nname = "Hulings"\naliases = ["a", "b\\u0000"]\n', 9),
    ('[[buildings]]\ncode = "HU"\nname = "Hulings"\nalc_location = "\\U00000000"\n', 9),
    ('[[naming]]\npattern = "^(?P<building>GH)\\u0000"\n', 7),
    ('[[tags]]\npattern = "X"\ntags = ["a\\u0000"]\n', 8),
    ('[units]\n"VT\\u0000ONS" = "ton_of_refrigeration"\n', 7),
    ('[units]\n"VTONS" = "ton_of_refrigeration\\u0000"\n', 7),
    ('[[points]]\nname = "GH.X"\nroom = "1\\u0000"\n', 8),
    ('[[points]]\nname = "GH.X\\u0000"\n', 7),
    ('[[rules]]\nname = "R"\npoint_search = ":measurement \'temperature\'"\nurl = "/\\u0000"\n', 9),
    ('[[rules]]\nname = "R\\u0000"\npoint_search = "@1"\n', 7),
    ('[anomalies]\ndamper = ["damper\\u0000"]\n', 7),
    ('[floors]\nprefixes = { "B\\u0000" = -1 }\n', 7),
]


@pytest.mark.parametrize(("table", "line"), NUL_PLACES)
def test_a_nul_character_anywhere_is_refused_with_its_line_since_postgresql_cannot_store_it(
    table: str, line: int
) -> None:
    with pytest.raises(SiteFileError) as caught:
        parse_site(SITE_HEAD + "\n" + table)
    nul = [p for p in caught.value.problems if "NUL" in p]
    assert len(nul) == 1, caught.value
    assert nul[0].startswith(f"line {line}: "), caught.value
    assert "PostgreSQL cannot store" in nul[0]


def test_a_text_names_a_building_by_code_then_name_then_alias_then_location() -> None:
    from energy_ingest.catalog.site import Building
    from energy_ingest.catalog.vocabulary import BuildingIndex

    old = Building("HX", "Old Hulings", aliases=("HU", "Goodhue Hall"), alc_location="North")
    hulings = Building("HU", "Hulings Hall", aliases=("north",))
    goodhue = Building("GH", "Goodhue  hall")
    index = BuildingIndex([old, hulings, goodhue])
    assert index.named(" hu ") == [hulings]  # a code before another's alias
    assert index.named("GOODHUE HALL") == [goodhue]  # a name before another's alias
    assert index.named("North") == [hulings]  # an alias before another's Location
    assert index.named("old  hulings") == [old] and index.named("nowhere") == []


def test_an_override_naming_an_unknown_building_is_a_problem_with_its_line() -> None:
    text = (
        '[[buildings]]\ncode = "HU"\nname = "Hulings Hall"\naliases = ["HULINGS"]\n\n'
        '[[points]]\nname = "HU.R1.RMT"\nbuilding = "Hulings Hall"\n\n'
        '[[points]]\nname = "HU.R2.RMT"\nbuilding = "hulings"\n\n'
        '[[points]]\nname = "XX.R3.RMT"\nroom = "101"\nbuilding = "XX"\n'
    )
    with pytest.raises(SiteFileError) as caught:
        parse_site(text)
    assert caught.value.problems == [
        "line 17: building 'XX' is no [[buildings]] code, name, alias or alc_location"
    ]


@pytest.mark.parametrize(
    ("pattern", "head"),
    [
        (r"^(?P<building>EV)\.(?P<floor>1ST|BSMT)\.", b"EV."),
        (r"^(?P<building>GH)(?P<device>A\d+)(?P<point>\w+)$", b"GHA"),
        (r"\AHU-", b"HU-"),
        (r"^(?P<building>[A-Z]+)\.R", b""),
        (r"^ab?c", b"a"),
        (r"^a{2}", b""),
        (r"(?i)^ab", b""),
        (r"^(?i:ab)c", b""),
        (r"^AB|^CD", b""),
        (r"AB", b""),
    ],
)
def test_a_rule_anchored_on_literal_text_skips_names_without_it_and_matches_as_before(
    pattern: str, head: bytes
) -> None:
    """The literal head is a pre-check only: the rule matches exactly what RE2 alone matches."""
    import re2

    from energy_ingest.catalog.regex import compile_rule, literal_head

    assert literal_head(pattern) == head
    rule, plain = compile_rule(pattern), re2.compile(pattern.encode())
    for name in ("EV.1ST.LIGHTS", "EV.BSMT.X", "GHA1SS", "HU-FCU2", "HU.R102.RMT", "abc", "aac",
                 "ac", "aab", "AB", "ab", "CD", "xAB", "EVX"):  # fmt: skip
        alone = plain.search(name.encode()) is not None
        assert (rule.search(name) is not None) == alone, (pattern, name)
