"""What a site file says, checked: its buildings, rules, overrides and places (site.checker
reads it), and the lookups the resolver makes in it."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from energy_ingest.catalog.regex import Pattern
from energy_ingest.catalog.site.floors import DEFAULT_FLOOR_PREFIXES, floor_named, floor_of
from energy_ingest.catalog.site.health import HealthRules
from energy_ingest.catalog.site.places import DeviceEntry, FloorRules, Rewrite
from energy_ingest.catalog.vocabulary import DEFAULT_ANOMALIES, BuildingIndex, label_key
from energy_ingest.errors import ConfigError

# Bounds that keep reading and applying the file (under the writers' lock) short: every rule is
# tried on every point, an apply re-resolves them all (docs/catalog.md#limits).
MAX_SITE_BYTES = 4 << 20
MAX_ENTRIES: Mapping[str, int] = {
    "buildings": 2_000,
    "naming": 200,
    "tags": 1_000,
    "points": 20_000,
    "rules": 1_000,
    "devices": 20_000,
    "rewrite": 200,
    "limits": 1_000,
    "unit_rules": 1_000,
}
# RE2 instructions of all [[naming]], [[tags]] and [[unit_rules]] patterns (regex.py)
MAX_PROGRAMS = 20_000
GROUPS = frozenset({"building", "room", "device", "point", "floor"})
NAME_FIELDS = {"siemens": ("name", "descriptor"), "alc": ("control_program", "name", "location")}
TAG_ON = ("point", "name", "descriptor", "alc_name")
LEVELS = ("point", "device", "room", "building")
TAG = re.compile(r"^[a-z][A-Za-z0-9]*$")  # Haystack's tag name rule
OVERRIDABLE = ("building", "room", "floor", "device", "unit", "tags")
_DEVICE_TYPE = re.compile(r"^[A-Za-z]+")


class SiteFileError(ConfigError):
    """The site file cannot be used: every problem, one per line, each with its line number."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"site file {path} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n"
            f"{listed}\nFix the file, then run `energy-ingest catalog apply` (the daemon reads "
            "it when it starts)."
        )


@dataclass(frozen=True)
class Building:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    alc_location: str | None = None
    line: int = 0
    floors: FloorRules = field(default_factory=FloorRules)


@dataclass(frozen=True)
class NamingRule:
    pattern: Pattern
    source: str | None = None
    field: str = "name"
    building: str | None = None  # the building of what it matches (no building group)
    line: int = 0


@dataclass(frozen=True)
class TagRule:
    pattern: Pattern
    tags: tuple[str, ...]
    on: str = "point"
    level: str = "point"
    source: str | None = None
    line: int = 0


@dataclass(frozen=True)
class UnitRule:
    """A [[unit_rules]] entry: the unit of a point whose text `on` (TAG_ON) the pattern matches,
    where neither an override, an export nor the trend report gives one."""

    pattern: Pattern
    unit: str  # as a BAS would write it: read through [units] and the BAS's spellings
    on: str = "point"
    source: str | None = None
    line: int = 0


@dataclass(frozen=True)
class PointOverride:
    name: str
    source: str | None
    values: Mapping[str, Any]
    line: int = 0

    def names(self, name: str, source: str) -> bool:
        """Whether the override is the point's: its source, and its name exactly or, with * or
        ?, as a pattern (`EV.FC1:*`)."""
        if self.source not in (None, source):
            return False
        return fnmatch.fnmatchcase(name, self.name) if is_pattern(self.name) else name == self.name


ALERT_LEVELS = ("high", "normal", "off")  # a [[rules]] alert: its priority, or legacy-only
MAX_RULE_WINDOW_S = 7 * 86400  # evaluated every few minutes: a rule reads its window's readings
MAX_RULE_COUNT = 1_000_000


@dataclass(frozen=True)
class Rule:
    """A [[rules]] entry: the legacy dashboard's rule and, with a value_search, a health alert
    when `count` of a selected point's readings in the last `window_s` seconds satisfy it."""

    name: str
    point_search: str
    value_search: str = ""
    priority: int = 0
    url: str = ""
    line: int = 0
    window_s: float = 3600.0
    count: int = 1
    alert: str = "normal"  # ALERT_LEVELS


@dataclass(frozen=True)
class Site:
    path: Path | None = None
    buildings: tuple[Building, ...] = ()
    naming: tuple[NamingRule, ...] = ()
    tags: tuple[TagRule, ...] = ()
    floor_prefixes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_FLOOR_PREFIXES))
    units: Mapping[str, str] = field(default_factory=dict)
    device_types: Mapping[str, str] = field(default_factory=dict)  # FCU → "Fan Coil Unit"
    points: tuple[PointOverride, ...] = ()
    rules: tuple[Rule, ...] = ()
    devices: tuple[DeviceEntry, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    floor_names: Mapping[str, int] = field(default_factory=dict)
    anomalies: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ANOMALIES)
    )
    health: HealthRules = field(default_factory=HealthRules)  # [health] and [[limits]]
    unit_rules: tuple[UnitRule, ...] = ()

    def building(self, text: str | None) -> Building | None:
        """The building a code, name, alias or ALC Location segment names (catalog/vocabulary.py),
        or None."""
        found = self._index.named(text) if text else []
        return found[0] if found else None

    @functools.cached_property
    def _index(self) -> BuildingIndex[Building]:
        return BuildingIndex(self.buildings)

    def override(self, name: str, source: str) -> PointOverride | None:
        """The override of the point: one naming it exactly, else the first whose pattern
        (`EV.FC1:*`) matches its name."""
        exact, patterns = self._overrides
        return next((o for o in (*exact.get(name, ()), *patterns) if o.names(name, source)), None)

    @functools.cached_property
    def _overrides(self) -> tuple[dict[str, list[PointOverride]], list[PointOverride]]:
        exact: dict[str, list[PointOverride]] = {}
        patterns = []
        for o in self.points:
            if is_pattern(o.name):
                patterns.append(o)
            else:
                exact.setdefault(o.name, []).append(o)
        return exact, patterns

    def room_floor(self, building: str | None, room: str | None) -> int | None:
        """The floor of `room` in the building of code `building`, by its rules or the campus's
        (site.floors)."""
        rules = self._floor_rules.get(building or "")
        if rules is None:  # the campus's rules
            return floor_of(room, self.floor_prefixes)
        if room and room.strip().upper() in rules.rooms:
            return rules.rooms[room.strip().upper()]
        prefixes = rules.prefixes if rules.prefixes is not None else self.floor_prefixes
        return floor_of(room, prefixes)

    def floor_named(self, text: str | None) -> int | None:
        return floor_named(text, self.floor_names)

    @functools.cached_property
    def _floor_rules(self) -> dict[str, FloorRules]:
        return {
            b.code: FloorRules(b.floors.prefixes, {k.upper(): v for k, v in b.floors.rooms.items()})
            for b in self.buildings
            if b.floors.prefixes is not None or b.floors.rooms
        }

    def device_type(self, device: str) -> str | None:
        """A device's type: its name's leading letters (`FCU2` → `FCU`), named by
        [device_types] where the site file names it (`Fan Coil Unit`)."""
        match = _DEVICE_TYPE.match(device)
        if match is None:
            return None
        prefix = match.group(0).upper()
        return self._device_types.get(prefix, prefix)

    @functools.cached_property
    def _device_types(self) -> dict[str, str]:
        return {k.strip().upper(): v for k, v in self.device_types.items()}

    def rewrite(
        self, group: str, source: str, building: str | None, value: str
    ) -> tuple[str, Rewrite] | None:
        """`value` through the first [[rewrite]] of `group` for the source and the building (a
        code) whose pattern matches it: the new value and the rule; None where none does."""
        for rule, code in self._rewrites:
            if rule.group != group or rule.source not in (None, source):
                continue
            rewritten = rule.apply(value) if code in (None, building) else None
            if rewritten is not None:
                return rewritten, rule
        return None

    @functools.cached_property
    def _rewrites(self) -> tuple[tuple[Rewrite, str | None], ...]:
        """Each rewrite with its building's code, looked up once (None: every building)."""
        named = ((r, self.building(r.building) if r.building else None) for r in self.rewrites)
        return tuple((r, b.code if b else None) for r, b in named if b or not r.building)

    def device_room(self, building: str | None, device: str | None) -> DeviceEntry | None:
        """The [[devices]] entry placing `device` of the building of code `building`."""
        return self._devices.get((building or "", label_key(device or "")))

    @functools.cached_property
    def _devices(self) -> dict[tuple[str, str], DeviceEntry]:
        found: dict[tuple[str, str], DeviceEntry] = {}
        for d in self.devices:
            building = self.building(d.building)
            if building is not None:
                found.setdefault((building.code, label_key(d.name)), d)
        return found


def is_pattern(name: str) -> bool:
    """An override's name with * or ? names every point it matches (fnmatch)."""
    return any(c in name for c in "*?[")
