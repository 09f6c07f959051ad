"""The site file read and checked: every problem at once, each with its line (parse_site,
load_site, read_site)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from energy_ingest.catalog.site.floors import is_floor
from energy_ingest.catalog.site.health import HealthFields
from energy_ingest.catalog.site.model import (
    GROUPS,
    LEVELS,
    MAX_ENTRIES,
    MAX_PROGRAMS,
    MAX_SITE_BYTES,
    NAME_FIELDS,
    OVERRIDABLE,
    TAG,
    TAG_ON,
    Building,
    NamingRule,
    PointOverride,
    Site,
    SiteFileError,
    TagRule,
)
from energy_ingest.catalog.site.places import PlaceFields
from energy_ingest.catalog.site.rules import RuleFields
from energy_ingest.catalog.site.unit_rules import UnitRuleFields
from energy_ingest.catalog.units import resolve_unit
from energy_ingest.catalog.vocabulary import DEFAULT_ANOMALIES, label_key


def load_site(path: Path) -> Site:
    """Read and check the site file; SiteFileError lists every problem found."""
    return read_site(path)[0]


def read_site(path: Path) -> tuple[Site, str]:
    """The checked site file and its text (what the catalog stores as applied)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SITE_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(path, [f"cannot be read: {exc}"]) from None
    if len(data) > MAX_SITE_BYTES:
        raise SiteFileError(
            path,
            [
                f"is over the limit of {MAX_SITE_BYTES:,} bytes: a site file describes a campus "
                "in rules; split what a rule can say from per-point [[points]]"
            ],
        )
    site = parse_site(text, path)
    if not site.buildings:  # an empty or truncated file would strip every point of its building
        raise SiteFileError(
            path, ["line 1: no [[buildings]]: a site file names at least one building"]
        )
    return site, text


def parse_site(text: str, path: Path = Path("site.toml")) -> Site:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SiteFileError(path, [f"not valid TOML: {exc}"]) from None
    return _Checker(text, path).site(data)


class _Checker(PlaceFields, HealthFields, RuleFields, UnitRuleFields):
    """Builds the Site, collecting problems instead of stopping at the first."""

    TOP = (
        *("buildings", "naming", "rewrite", "devices", "device_types", "floors", "tags"),
        *("units", "unit_rules", "points"),
        *("rules", "anomalies"),
        *("health", "limits"),
    )

    def site(self, data: dict[str, Any]) -> Site:
        for key in data:
            if key not in self.TOP:
                self.problem(
                    self.line_of(key), f"unknown table {key!r}; known: {', '.join(self.TOP)}"
                )
        self.nul(data, ())
        buildings = tuple(self.entries(data, "buildings", self.building))
        codes = [b.code for b in buildings]
        seen: dict[str, Building] = {}
        for b in buildings:
            for label in (b.code, b.name, b.alc_location, *b.aliases):
                if label and (other := seen.get(label_key(label))) is not None and other is not b:
                    self.problem(b.line, f"{label!r} names both {other.code} and {b.code}")
                elif label:
                    seen[label_key(label)] = b
        site = Site(
            path=self.path,
            buildings=buildings,
            naming=tuple(self.entries(data, "naming", self.naming_rule)),
            tags=tuple(self.entries(data, "tags", self.tag_rule)),
            floor_prefixes=self.floors(data.get("floors", {})),
            units=self.units(data.get("units", {})),
            device_types=self.device_types(data.get("device_types", {})),
            points=tuple(self.entries(data, "points", self.point)),
            rules=tuple(self.entries(data, "rules", self.rule)),
            anomalies=self.anomalies(data.get("anomalies", {})),
            devices=tuple(self.entries(data, "devices", self.device_entry)),
            rewrites=tuple(self.entries(data, "rewrite", self.rewrite)),
            floor_names=self.floor_names(data.get("floors", {})),
            health=self.health_rules(data, self.entries(data, "limits", self.limit)),
            unit_rules=tuple(self.entries(data, "unit_rules", self.unit_rule)),
        )
        self.check_unit_rules(site)
        size = sum(r.pattern.size for r in site.naming) + sum(r.pattern.size for r in site.tags)
        size += sum(r.pattern.size for r in site.unit_rules)
        if size > MAX_PROGRAMS:
            self.problem(
                self.line_of("tags" if site.tags else "naming"),
                f"the patterns of [[naming]], [[tags]] and [[unit_rules]] compile to {size:,} RE2"
                " instructions: "
                f"the limit is {MAX_PROGRAMS:,} (every pattern is tried on every point while the "
                "catalog is locked)",
            )
        named: dict[str, int] = {}
        for r in site.rules:
            if r.name in named:
                self.problem(
                    r.line, f"rule {r.name!r} is also on line {named[r.name]}; names are unique"
                )
            named.setdefault(r.name, r.line)
        for rule in site.naming:
            if rule.building is not None and rule.building not in codes:
                self.problem(
                    self.key_line(rule.line, "building"),
                    f"building {rule.building!r} is not a [[buildings]] code",
                )
        placed: list[tuple[str | None, int]] = [(d.building, d.line) for d in site.devices]
        placed += [(r.building, r.line) for r in site.rewrites]
        for text, line in placed:
            if text is not None and site.building(text) is None:
                self.problem(
                    self.key_line(line, "building"),
                    f"building {text!r} is no [[buildings]] code, name, alias or alc_location",
                )
        for override in site.points:
            text = override.values.get("building")
            if isinstance(text, str) and site.building(text) is None:
                self.problem(
                    self.key_line(override.line, "building"),
                    f"building {text!r} is no [[buildings]] code, name, alias or alc_location",
                )
        if self.problems:
            self.problems.sort(key=_line_number)
            raise SiteFileError(self.path, self.problems)
        return site

    def entries(self, data: dict[str, Any], table: str, make: Any) -> list[Any]:
        items = data.get(table, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            self.problem(self.line_of(table), f"{table} must be a list of [[{table}]] tables")
            return []
        headers = self.headers(table)
        if len(items) > MAX_ENTRIES[table]:
            self.problem(
                headers[0] if headers else self.line_of(table),
                f"{len(items):,} [[{table}]]: the limit is {MAX_ENTRIES[table]:,} "
                "(every rule is tried on every point while the catalog is locked)",
            )
            return []
        out = []
        for n, item in enumerate(items):
            line = headers[n] if n < len(headers) else self.line_of(table)
            made = make(item, line)
            if made is not None:
                out.append(made)
        return out

    def building(self, item: dict[str, Any], line: int) -> Building | None:
        self.known(
            item,
            line,
            "buildings",
            ("code", "name", "aliases", "alc_location", "floor_prefixes", "room_floors"),
        )
        code, name = self.text(item, "code", line), self.text(item, "name", line)
        aliases = self.texts(item, "aliases", line)
        location = self.text(item, "alc_location", line, required=False)
        floors = self.floor_rules(item, line)
        return Building(code, name, aliases, location, line, floors) if code and name else None

    def naming_rule(self, item: dict[str, Any], line: int) -> NamingRule | None:
        self.known(item, line, "naming", ("pattern", "source", "field", "building"))
        source = self.source(item, line)
        field_ = self.text(item, "field", line, required=False) or "name"
        allowed = NAME_FIELDS.get(source or "", ("name", *NAME_FIELDS["alc"]))
        if field_ not in allowed:
            self.problem(
                self.key_line(line, "field"), f"field {field_!r}: use {' or '.join(allowed)}"
            )
        pattern = self.regex(item, line)
        if pattern is not None and (odd := set(pattern.groupindex) - GROUPS):
            self.problem(
                self.key_line(line, "pattern"),
                f"unknown group {', '.join(sorted(odd))}; groups are building, room, device,"
                " point, floor",
            )
        elif pattern is not None and not pattern.groupindex:
            self.problem(
                self.key_line(line, "pattern"),
                "pattern has no named group; name what it finds: (?P<building>…), (?P<room>…), "
                "(?P<device>…), (?P<point>…) or (?P<floor>…)",
            )
        building = self.text(item, "building", line, required=False) or None
        return NamingRule(pattern, source, field_, building, line) if pattern else None

    def tag_rule(self, item: dict[str, Any], line: int) -> TagRule | None:
        self.known(item, line, "tags", ("pattern", "tags", "on", "level", "source"))
        on = self.choice(item, "on", TAG_ON, line) or "point"
        level = self.choice(item, "level", LEVELS, line) or "point"
        tags = self.texts(item, "tags", line, required=True)
        for tag in tags:
            if not TAG.match(tag):
                self.problem(
                    self.key_line(line, "tags"),
                    f"tag {tag!r} is not a tag name (a letter, then letters and digits, e.g. "
                    "zone, air, temp, sensor)",
                )
        pattern = self.regex(item, line)
        return TagRule(pattern, tags, on, level, self.source(item, line), line) if pattern else None

    def point(self, item: dict[str, Any], line: int) -> PointOverride | None:
        self.known(item, line, "points", ("name", "source", *OVERRIDABLE))
        name = self.text(item, "name", line)
        values = {k: item[k] for k in OVERRIDABLE if k in item}
        if "floor" in values and not is_floor(values["floor"]):
            self.problem(
                self.key_line(line, "floor"),
                "floor must be a whole number, e.g. -1 (within ±2,147,483,647)",
            )
        if "tags" in values:
            values["tags"] = self.texts(item, "tags", line)
        return PointOverride(name, self.source(item, line), values, line) if name else None

    def anomalies(self, table: Any) -> dict[str, tuple[str, ...]]:
        result = dict(DEFAULT_ANOMALIES)
        if not isinstance(table, dict) or set(table) - set(DEFAULT_ANOMALIES):
            self.problem(
                self.line_of("anomalies"),
                "[anomalies] holds room_temperature = [tags…] and damper = [tags…]",
            )
            return result
        for key in table:
            tags = self.texts(table, key, self.line_of("anomalies"), required=True)
            for tag in tags:
                if not TAG.match(tag):
                    self.problem(self.line_of(key), f"{key}: {tag!r} is not a tag name")
            result[key] = tags
        return result

    def units(self, table: Any) -> dict[str, str]:
        if not isinstance(table, dict) or not all(
            isinstance(v, str) and v.strip() for v in table.values()
        ):
            self.problem(self.line_of("units"), '[units] maps a BAS unit to a unit: "VTONS" = "…"')
            return {}
        units = {k.strip(): v.strip() for k, v in table.items()}
        for spelling, expression in units.items():
            if not resolve_unit(spelling, {spelling: expression}).resolved:
                self.problem(
                    self.key_line(self.line_of("units"), spelling),
                    f"unit {spelling!r} = {expression!r}: pint cannot read {expression!r} as a "
                    "unit of a known quantity; use a pint unit name such as "
                    "'ton_of_refrigeration' or 'degree_Fahrenheit'",
                )
        return units


def _line_number(problem: str) -> int:
    match = re.match(r"line (\d+):", problem)
    return int(match.group(1)) if match else 0
