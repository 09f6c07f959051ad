"""Points resolved with the example site file: the issue's examples, ALC rows, overrides, tags,
and names no rule knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from energy_ingest.catalog.resolve import resolve
from energy_ingest.catalog.site import Site, load_site, parse_site

EXAMPLE = Path(__file__).parent.parent / "examples" / "site.toml"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(EXAMPLE)


def test_a_room_temperature_point_is_in_its_building_room_and_floor_with_haystack_tags(
    site: Site,
) -> None:
    r = resolve(site, "HU.R102.RMT", "siemens", descriptor="102 TEMP")
    assert (r.building, r.room, r.floor, r.device, r.point) == ("HU", "102", 1, None, "RMT")
    assert {"zone", "air", "temp", "sensor"} <= {t for t, _ in r.tags}
    assert r.origins["building"] == r.origins["room"] == r.origins["floor"]
    assert r.origins["building"].startswith("site rule line ")


@pytest.mark.parametrize(
    ("name", "building", "room", "floor", "device", "point"),
    [
        ("HU.RB02.DSET", "HU", "B02", -1, None, "DSET"),
        ("HU.R213B.NACSWT", "HU", "213B", 2, None, "NACSWT"),
        ("HULINGS.102A.ZON:MODE", "HU", "102A", 1, None, "ZON:MODE"),
        ("HULLINGS.ELEC.MOD1:AMPS A", "HU", None, None, "ELEC", "MOD1:AMPS A"),
        ("GOODHUE.AHU3.ZON:MODE", "GH", None, None, "AHU3", "ZON:MODE"),
        ("GH.HWP1.VFD:DAY.NIGHT", "GH", None, None, "HWP1", "VFD:DAY.NIGHT"),
        ("GHA1SS", "GH", None, None, "A1", "SS"),
        ("FAC.CONM", "FAC", None, None, "CONM", None),
    ],
)
def test_siemens_names_resolve_by_the_example_rules(
    site: Site,
    name: str,
    building: str,
    room: str | None,
    floor: int | None,
    device: str | None,
    point: str | None,
) -> None:
    r = resolve(site, name, "siemens")
    assert (r.building, r.room, r.floor, r.device, r.point) == (
        building,
        room,
        floor,
        device,
        point,
    )


def test_an_alc_row_resolves_by_its_location_and_control_program(site: Site) -> None:
    location = ("Carleton College", "Hulings Hall", "Facility Summary", "Basement")
    r = resolve(
        site,
        "HUL-FCU2-RM B44 / Setpoint",
        "alc",
        control_program="HUL-FCU2-RM B44",
        alc_name="Setpoint",
        location=location,
    )
    assert (r.building, r.device, r.room, r.floor) == ("HU", "FCU2", "B44", -1)
    assert r.origins["building"] == "points list Location"
    assert ("sp", "point") in r.tags
    vav = resolve(
        site,
        "x",
        "alc",
        control_program="HUL-AHUH1-VAV-B-5-RM B19",
        alc_name="N/A",
        location=location,
    )
    assert (vav.device, vav.room) == ("AHUH1-VAV-B-5", "B19")
    damper = resolve(
        site,
        "y",
        "alc",
        control_program="Crossover damper D-4",
        alc_name="Damper Status",
        location=location,
    )
    assert (damper.building, damper.device, damper.room) == ("HU", "Crossover damper D-4", None)
    assert ("damper", "point") in damper.tags


def test_an_override_has_the_last_word_and_says_so(site: Site) -> None:
    r = resolve(site, "FAC.CONM", "siemens")
    assert r.tags == (("water", "point"), ("meter", "point"))
    assert r.origins["tags"].startswith("override line ")
    assert r.origins["device"].startswith("override line ")


def test_a_name_no_rule_knows_keeps_nothing_but_says_which_building_text_was_unknown() -> None:
    site = parse_site(
        """
[[buildings]]
code = "HU"
name = "Hulings Hall"

[[naming]]
pattern = '^(?P<building>[A-Z]+)\\.(?P<point>.+)$'
"""
    )
    r = resolve(site, "EV.AHU1.SAT", "siemens")
    assert r.building is None and r.unknown_building == "EV" and r.point == "AHU1.SAT"
    nothing = resolve(site, "no dots here", "siemens")
    assert nothing.building is None and nothing.unknown_building is None and nothing.origins == {}


def test_the_first_matching_rule_of_a_field_wins_and_rules_on_other_fields_add_up() -> None:
    site = parse_site(
        """
[[buildings]]
code = "HU"
name = "Hulings Hall"

[[naming]]
pattern = '^HU\\.(?P<device>AHU\\d)'
building = "HU"

[[naming]]
pattern = '^(?P<building>HU)\\.(?P<device>[^.]+)\\.(?P<point>.+)$'
"""
    )
    r = resolve(site, "HU.AHU1X.SAT", "siemens")
    assert (r.building, r.device, r.point) == ("HU", "AHU1", None)
    other = resolve(site, "HU.FCU2.SAT", "siemens")
    assert (other.building, other.device, other.point) == ("HU", "FCU2", "SAT")
    alc = parse_site(
        """
[[naming]]
source = "alc"
field = "control_program"
pattern = '^(?P<device>FCU\\d)'

[[naming]]
source = "alc"
field = "name"
pattern = '^(?P<point>.+)$'
"""
    )
    both = resolve(alc, "n", "alc", control_program="FCU2-RM 1", alc_name="Setpoint")
    assert (both.device, both.point) == ("FCU2", "Setpoint")
    assert both.origins["device"] != both.origins["point"]


def test_rules_for_one_source_leave_the_other_alone() -> None:
    site = parse_site(
        """
[[naming]]
source = "alc"
pattern = '^(?P<device>.+)$'
"""
    )
    assert resolve(site, "A.B", "siemens").device is None
    assert resolve(site, "A.B", "alc").device == "A.B"


def test_no_floor_is_stored_from_a_room_whose_building_did_not_resolve(site: Site) -> None:
    """The example's generic rule finds room 03 in OLEX.03.LIGHTS, but OLEX names no building:
    the room cannot be stored, so neither is a floor that would follow from it."""
    r = resolve(site, "OLEX.03.LIGHTS", "siemens")
    assert (r.building, r.floor) == (None, None)
    assert "floor" not in r.origins
    placed = resolve(site, "HU.03.LIGHTS", "siemens")
    assert (placed.building, placed.room, placed.floor) == ("HU", "03", 0)
