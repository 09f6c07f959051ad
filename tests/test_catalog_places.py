"""What the site file can now say (catalog, step 2): a room named in the descriptor, a device's
room, patterns in overrides, floors without rooms and per building, captured values rewritten —
each rule kind on a constructed building whose rooms sit where a real campus put them, imported
through the daemon's parse-and-load path into a real PostgreSQL, beside the shared sample."""

from __future__ import annotations

from typing import Any

import pytest
from test_catalog_identity import definitions
from test_catalog_store import DEFINITIONS, ROOT, SITE, apply, put

from energy_ingest.catalog.resolve import resolve
from energy_ingest.catalog.site import SiteFileError, parse_site

EVANS = ROOT / "examples" / "evans_point_definitions.csv"  # the constructed building's export

RECORDS = {  # Point System Name → (descriptor, the room it must be in, the floor)
    "EV.FC1.SAT": ("ROOM G27 DATA RM", "G27", 0),
    "EV.FC1.FAN": ("FC1 FAN STATUS", "G27", 0),  # no room in it: FC1's, from [[devices]]
    "EV.UH1.SS": ("MECHANICAL G04", "G04", 0),
    "EV.FCU4.RT": ("RM 111", "111", 1),
    "EV.R02.RMT": ("", "002", 0),  # written both ways in one building: rewritten to 002
    "EV.R002.CO2": ("", "002", 0),
    "EV.R14.RMT": ("", "14", -1),  # a basement room the campus prefix rule puts on floor 1
    "EV.AHU1:SAT": ("", "B10", -1),  # by the override's pattern
    "EV.AHU1:RAT": ("", "B10", -1),
    "EV.1ST.LIGHTS": ("FIRST FLOOR LIGHTS", None, 1),  # a floor without a room
    "EV.BSMT.LIGHTS": ("", None, -1),
}


def site_text() -> str:
    """The example site file: its Evans Hall rules are one per naming shape of that building."""
    return SITE.read_text()


def test_every_room_the_exports_name_resolves_from_one_rule_per_shape(conn: Any) -> None:
    apply(conn, site_text())
    put(conn, DEFINITIONS.read_bytes())
    put(conn, EVANS.read_bytes())
    placed = {
        name: (room, floor)
        for name, room, floor in conn.execute(
            "SELECT p.name, r.name, p.floor FROM points p LEFT JOIN rooms r ON r.id = p.room_id"
            " JOIN buildings b ON b.id = p.building_id WHERE b.code = 'EV'"
        )
    }
    assert placed == {name: (room, floor) for name, (_, room, floor) in RECORDS.items()}
    # The shared sample: every room its names or descriptors give (HU.R102…, RB02, R213B,
    # HULINGS.101/102/102A) is resolved, as before.
    rooms = conn.execute(
        "SELECT DISTINCT r.name FROM points p JOIN rooms r ON r.id = p.room_id"
        " JOIN buildings b ON b.id = r.building_id WHERE b.code = 'HU' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rooms] == ["101", "102", "102A", "109", "213B", "B02"]
    origins = conn.execute(
        "SELECT origins FROM points WHERE name IN ('EV.FC1.FAN', 'EV.R02.RMT', 'EV.AHU1:SAT')"
        " ORDER BY name"
    ).fetchall()
    assert [o[0]["room"] for o in origins] == [
        "override line " + origins[0][0]["room"].split()[-1],
        "device line " + origins[1][0]["room"].split()[-1],
        origins[2][0]["room"],
    ]
    assert origins[2][0]["room"].startswith("site rule line ")
    assert origins[2][0]["room"].endswith(
        ", rewritten by line " + origins[2][0]["room"].split()[-1]
    )


@pytest.fixture
def site() -> Any:
    return parse_site(site_text())


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_each_rule_kind_places_its_point(site: Any, name: str) -> None:
    descriptor, room, floor = RECORDS[name]
    r = resolve(site, name, "siemens", descriptor=descriptor)
    assert (r.building, r.room, r.floor) == ("EV", room, floor)


def test_an_alc_location_names_a_floor_through_a_floor_group_and_floor_names() -> None:
    text = SITE.read_text() + (
        "\n[floors]\nnames = { Roof = 9 }\n" if "[floors]" not in SITE.read_text() else ""
    )
    text = text.replace("[floors]\n", "[floors]\nnames = { Roof = 9 }\n", 1)
    first = text.index("[[naming]]")
    rule = (
        '[[naming]]\nsource = "alc"\nfield = "location"\n'
        "pattern = '/(?P<floor>Basement|\\d+(?:st|nd|rd|th) Floor|Roof)$'\n\n"
    )
    site = parse_site(text[:first] + rule + text[first:])
    for segment, floor in (("2nd Floor", 2), ("Basement", -1), ("Roof", 9)):
        location = ("Carleton College", "Hulings Hall", "Facility Summary", segment)
        r = resolve(site, "HUL-EF1 / Status", "alc", control_program="HUL-EF1", location=location)
        assert (r.building, r.room, r.floor) == ("HU", None, floor), segment


def test_a_pattern_override_yields_to_an_exact_one_and_to_the_first_pattern(site: Any) -> None:
    text = site_text() + '\n[[points]]\nname = "EV.AHU1:SAT"\nroom = "B11"\n'
    text += '\n[[points]]\nname = "EV.AHU?:*"\nroom = "B12"\n'
    exact = parse_site(text)
    assert resolve(exact, "EV.AHU1:SAT", "siemens").room == "B11"
    assert resolve(exact, "EV.AHU1:RAT", "siemens").room == "B10"  # the first pattern, line order
    assert resolve(exact, "EV.AHU2:RAT", "siemens").room == "B12"


def test_the_new_tables_report_their_problems_with_lines() -> None:
    text = (
        '[[buildings]]\ncode = "EV"\nname = "Evans Hall"\nroom_floors = { "14" = "basement" }\n\n'
        '[[devices]]\nbuilding = "Nowhere"\nname = "FC1"\nroom = "G27"\n\n'
        '[[rewrite]]\ngroup = "room"\npattern = \'^(?P<n>\\d\\d)$\'\nto = "0{m}"\n\n'
        '[[rewrite]]\ngroup = "floor"\npattern = \'^(?P<n>\\d)$\'\nto = "{n}"\n\n'
        '[[naming]]\nfield = "descriptor"\nsource = "alc"\npattern = \'(?P<room>\\d+)\'\n'
    )
    with pytest.raises(SiteFileError) as caught:
        parse_site(text)
    assert caught.value.problems == [
        'line 4: a floor table maps names to whole numbers: { B = -1, "14" = -1 } (within'
        " ±2,147,483,647)",
        "line 7: building 'Nowhere' is no [[buildings]] code, name, alias or alc_location",
        "line 14: to names m, which the pattern has no group for; write (?P<name>…) in the"
        " pattern, {name} in to",
        "line 17: group 'floor': use one of room, device, point",
        "line 22: field 'descriptor': use control_program or name or location",
    ]


def test_coverage_counts_per_building_and_per_rule_and_names_the_rules_a_rule_shadows(
    conn: Any, database_url: str
) -> None:
    """The issue's surprise: a building rule placed after the example's generic equipment rule
    never fires (the generic one turns RM102 into a device); coverage says which rule took the
    points and which later rule it shadowed, with counts, as text and JSON."""
    import json

    from click.testing import CliRunner

    from energy_ingest.cli import main

    late = "\n[[naming]]\nsource = \"siemens\"\npattern = '^(?P<building>GH)\\.RM(?P<room>\\d+)\\.(?P<point>.+)$'\n"
    text = SITE.read_text() + late
    apply(conn, text)
    put(
        conn,
        definitions(
            *(
                {"Point System Name": f"GH.RM10{n}.RMT", "Point Name": "x", "Point Type": "LAI"}
                for n in range(3)
            )
        ),
    )
    put(conn, DEFINITIONS.read_bytes())
    conn.commit()
    result = CliRunner().invoke(
        main, ["catalog", "coverage", "--json"], env={"ENERGY_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    lines = text.splitlines()
    late_line = len(lines) - 2  # its [[naming]] header
    generic = (
        next(n for n, t in enumerate(lines, 1) if "(?P<device>[A-Z]+\\d*)[.:]" in t) - 2
    )  # the example's generic equipment rule's header
    rules = {r["line"]: r for r in info["rules"]}
    assert rules[late_line] == {"table": "naming", "line": late_line, "points": 0, "shadows": []}
    assert {"line": late_line, "points": 3} in rules[generic]["shadows"]
    gh = next(b for b in info["by_building"] if (b["building"], b["source"]) == ("GH", "siemens"))
    assert (
        gh["points"]
        == conn.execute(
            "SELECT count(*) FROM points p JOIN buildings b ON b.id = p.building_id"
            " WHERE b.code = 'GH' AND p.source = 'siemens'"
        ).fetchone()[0]
    )
    assert 0 < gh["percent"]["device"] <= 100 and gh["retired"] == 0
    shown = (
        CliRunner()
        .invoke(main, ["catalog", "coverage"], env={"ENERGY_DATABASE_URL": database_url})
        .output
    )
    assert f"shadows line {late_line} (3)" in shown
    assert f"  line {late_line:<5} [[naming]]       0 points\n" in shown, shown


def test_a_device_type_is_its_prefix_or_what_device_types_calls_it(conn: Any) -> None:
    apply(conn, site_text())
    put(conn, EVANS.read_bytes())
    types = dict(conn.execute("SELECT name, type FROM devices ORDER BY name").fetchall())
    assert (types["FC1"], types["FCU4"], types["UH1"], types["AHU1"]) == (
        "Fan Coil Unit",
        "Fan Coil Unit",
        "Unit Heater",
        "AHU",  # not in the example's [device_types]: its letters
    )
    apply(conn, site_text().replace('FCU = "Fan Coil Unit"', 'FCU = "Fan-coil"'))
    assert conn.execute("SELECT type FROM devices WHERE name = 'FCU4'").fetchone() == ("Fan-coil",)
    with pytest.raises(SiteFileError) as caught:
        parse_site('[device_types]\n"FC1" = "Fan Coil Unit"\n')
    assert caught.value.problems == [
        "line 1: [device_types] maps a device name's leading letters to a type: FCU = \"Fan Coil"
        ' Unit"'
    ]


@pytest.mark.parametrize(
    ("to", "problem"),
    [
        ("0{n", "to '0{n' is not a template: expected '}' before end of string"),
        (
            "{n:zz}",
            "to '{n:zz}' is not a template: Unknown format code 'z' for object of type 'str'",
        ),
    ],
)
def test_a_rewrite_template_that_cannot_format_is_a_problem_with_its_line(
    to: str, problem: str
) -> None:
    text = f'[[rewrite]]\ngroup = "room"\npattern = \'^(?P<n>0\\d)$\'\nto = "{to}"\n'
    with pytest.raises(SiteFileError) as caught:
        parse_site(text)
    assert caught.value.problems == [
        f"line 4: {problem}; write the groups as {{name}} and a brace itself as {{{{ or }}}}"
    ]


def test_a_floor_the_catalog_cannot_hold_is_a_problem_wherever_the_site_file_gives_one() -> None:
    text = (
        '[[buildings]]\ncode = "EV"\nname = "Evans Hall"\nroom_floors = { "14" = true }\n\n'
        "[floors]\nprefixes = { B = 99999999999 }\n\n"
        '[[points]]\nname = "EV.R1.T"\nfloor = 99999999999\n'
    )
    with pytest.raises(SiteFileError) as caught:
        parse_site(text)
    assert caught.value.problems == [
        'line 4: a floor table maps names to whole numbers: { B = -1, "14" = -1 } (within'
        " ±2,147,483,647)",
        "line 7: prefixes maps a room prefix to a floor number (a whole number within"
        " ±2,147,483,647)",
        "line 11: floor must be a whole number, e.g. -1 (within ±2,147,483,647)",
    ]
