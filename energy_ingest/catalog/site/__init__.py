"""The site file (ENERGY_SITE_FILE, TOML): how one campus names its buildings, rooms, devices and
points — data, not code. Loading it reports every problem at once, each with its line.

    [[buildings]]   code, name, aliases, alc_location (the ALC Location segment naming it)
    [[naming]]      ordered rules: a regular expression with named groups building, room,
                    device, point, floor; optional source (siemens, alc), field (ALC:
                    control_program, name or location; Siemens: name or descriptor) and
                    building (the building of every name the rule matches, for patterns
                    without a building group)
    [[rewrite]]     a captured room, device or point rewritten: group, pattern, to (02 → 002)
    [[devices]]     a device's room, for the points whose names do not say it: building,
                    name, room
    [device_types]  a device name's leading letters → its type: FCU = "Fan Coil Unit"
    [floors]        how a floor follows from a room: prefixes = { B = -1, G = 0 }, else its
                    first digit; names = { Roof = 9 } for a floor group's words
                    (site.floors); a building may have its own floor_prefixes and
                    room_floors
    [[tags]]        a regular expression on the point part, the whole name, the descriptor or the
                    ALC name → tags (Project Haystack names where one fits), at a level
    [units]         BAS unit string → a unit pint reads ("VTONS" = "ton_of_refrigeration")
    [[unit_rules]]  a unit for number points whose name (point part, descriptor, ALC name) a
                    pattern matches, where no override, export or trend report gives one
    [[points]]      per-point overrides: name (exact, or a pattern with * and ?) and source,
                    then building, room, floor, device, unit, tags
    [[rules]]       the legacy dashboard's rules: name, priority, url, point_search and
                    value_search in its search language (energy_ingest.catalog.search); with a
                    value_search, an alert (energy_ingest.health.rules): window, count, alert
    [anomalies]     the tags that make a point a room temperature (room_temperature) or a damper
                    (damper) for the dashboard's vent-and-temp check
    [health]        data-health thresholds: stale_factor, flat_hours, spike_z, spike_window,
                    spike_count, range_count (site.health; defaults in health.limits)
    [[limits]]      a plausible range: one of point (glob), tag, building, unit, quantity; min,
                    max, count

See examples/site.toml for the sample campus, with a comment on every choice.

    model.py     what a checked site file says (Site and its entries), and the lookups in it
    checker.py   the file read and checked: every problem at once, with its line
    fields.py    TOML values read with their lines (TomlFields)
    places.py    the placing tables: [[devices]], [[rewrite]], a building's floor rules
    rules.py     [[rules]]: the legacy rule and the alert it raises
    unit_rules.py  [[unit_rules]]: a unit by name, checked like the point's own would be read
    health.py    the data-health tables: [health] and [[limits]] (HealthRules, LimitEntry)
    floors.py    which floor a room or a floor's name is on
"""

from energy_ingest.catalog.site.checker import load_site, parse_site, read_site
from energy_ingest.catalog.site.floors import DEFAULT_FLOOR_PREFIXES, floor_named, floor_of
from energy_ingest.catalog.site.model import (
    MAX_ENTRIES,
    MAX_PROGRAMS,
    MAX_SITE_BYTES,
    Building,
    NamingRule,
    PointOverride,
    Rule,
    Site,
    SiteFileError,
    TagRule,
    is_pattern,
)

__all__ = [
    "DEFAULT_FLOOR_PREFIXES",
    "MAX_ENTRIES",
    "MAX_PROGRAMS",
    "MAX_SITE_BYTES",
    "Building",
    "NamingRule",
    "PointOverride",
    "Rule",
    "Site",
    "SiteFileError",
    "TagRule",
    "floor_named",
    "floor_of",
    "is_pattern",
    "load_site",
    "parse_site",
    "read_site",
]
