"""The site file's tables that place what the names leave out: a device's room ([[devices]]) and
type ([device_types]), a captured value rewritten ([[rewrite]]), floors ([floors], and per
building) — read with their lines (site.checker builds the Site from them)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from energy_ingest.catalog.regex import Pattern
from energy_ingest.catalog.site.fields import TomlFields
from energy_ingest.catalog.site.floors import DEFAULT_FLOOR_PREFIXES, is_floor

REWRITABLE = ("room", "device", "point")


@dataclass(frozen=True)
class DeviceEntry:
    """A device whose points' names do not say its room: "FC1 of EV is in G27"."""

    building: str  # as written: a code, name or alias
    name: str
    room: str
    line: int = 0


@dataclass(frozen=True)
class Rewrite:
    """A value a naming rule captured, rewritten where `pattern` matches it: `to` is a template
    of the pattern's named groups (`02` → `002` with pattern '^(?P<n>\\d\\d)$', to '0{n}')."""

    group: str
    pattern: Pattern
    to: str
    building: str | None = None
    source: str | None = None
    line: int = 0

    def apply(self, value: str) -> str | None:
        """The rewritten value, or None where the pattern does not match."""
        match = self.pattern.search(value)
        if match is None:
            return None
        return self.to.format_map({k: v or "" for k, v in match.groupdict().items()})


@dataclass(frozen=True)
class FloorRules:
    """A building's own floor rules, where the campus's do not fit it."""

    prefixes: Mapping[str, int] | None = None  # replaces the campus's [floors] prefixes
    rooms: Mapping[str, int] = field(default_factory=dict)  # room name → floor


class PlaceFields(TomlFields):
    """Readers of the placing tables, collecting problems with their lines."""

    def device_entry(self, item: dict[str, Any], line: int) -> DeviceEntry | None:
        self.known(item, line, "devices", ("building", "name", "room"))
        building = self.text(item, "building", line)
        name, room = self.text(item, "name", line), self.text(item, "room", line)
        return DeviceEntry(building, name, room, line) if building and name and room else None

    def rewrite(self, item: dict[str, Any], line: int) -> Rewrite | None:
        self.known(item, line, "rewrite", ("group", "pattern", "to", "building", "source"))
        group = self.choice(item, "group", REWRITABLE, line)
        if "group" not in item:
            self.problem(line, f"group is missing: one of {', '.join(REWRITABLE)}")
        to = self.text(item, "to", line)
        pattern = self.regex(item, line)
        if pattern is not None and to and not self.template(to, pattern, line):
            to = ""
        building = self.text(item, "building", line, required=False) or None
        if not (group and pattern and to):
            return None
        return Rewrite(group, pattern, to, building, self.source(item, line), line)

    def template(self, to: str, pattern: Pattern, line: int) -> bool:
        """Whether `to` is a template of the pattern's groups that formats (tried once here, so
        that no point fails on it while the catalog is locked)."""
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(to) if f is not None}
            if odd := names - set(pattern.groupindex):
                self.problem(
                    self.key_line(line, "to"),
                    f"to names {', '.join(sorted(odd))}, which the pattern has no group for;"
                    " write (?P<name>…) in the pattern, {name} in to",
                )
                return False
            to.format_map(dict.fromkeys(pattern.groupindex, ""))
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            self.problem(
                self.key_line(line, "to"),
                f"to {to!r} is not a template: {exc}; write the groups as {{name}} and a brace"
                " itself as {{ or }}",
            )
            return False
        return True

    def floor_rules(self, item: dict[str, Any], line: int) -> FloorRules:
        prefixes = None
        if "floor_prefixes" in item:
            prefixes = self.numbers(item["floor_prefixes"], self.key_line(line, "floor_prefixes"))
        rooms = self.numbers(item.get("room_floors", {}), self.key_line(line, "room_floors"))
        return FloorRules(prefixes, rooms)

    def numbers(self, table: Any, line: int) -> dict[str, int]:
        """A table of names to floor numbers: `{ B = -1, "14" = -1 }`."""
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and k.strip() and is_floor(v) for k, v in table.items()
        ):
            self.problem(
                line,
                'a floor table maps names to whole numbers: { B = -1, "14" = -1 } (within ±2,147,483,647)',
            )
            return {}
        return {k.strip(): v for k, v in table.items()}

    def floor_names(self, table: Any) -> dict[str, int]:
        if not isinstance(table, dict) or "names" not in table:
            return {}
        return self.numbers(table["names"], self.line_of("names"))

    def floors(self, table: Any) -> dict[str, int]:
        if not isinstance(table, dict) or set(table) - {"prefixes", "names"}:
            self.problem(
                self.line_of("floors"),
                "[floors] holds prefixes = { B = -1, … } and names = { Roof = 9, … }",
            )
            return dict(DEFAULT_FLOOR_PREFIXES)
        prefixes = table.get("prefixes", DEFAULT_FLOOR_PREFIXES)
        if not isinstance(prefixes, dict) or not all(
            isinstance(k, str) and k and is_floor(v) for k, v in prefixes.items()
        ):
            self.problem(
                self.line_of("prefixes"),
                "prefixes maps a room prefix to a floor number (a whole number within ±2,147,483,647)",
            )
            return dict(DEFAULT_FLOOR_PREFIXES)
        return dict(prefixes)

    def device_types(self, table: Any) -> dict[str, str]:
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and k.strip().isalpha() and isinstance(v, str) and v.strip()
            for k, v in table.items()
        ):
            self.problem(
                self.line_of("device_types"),
                "[device_types] maps a device name's leading letters to a type: FCU = \"Fan Coil"
                ' Unit"',
            )
            return {}
        return {k.strip(): v.strip() for k, v in table.items()}
