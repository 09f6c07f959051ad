"""The site file's [[unit_rules]] read with their lines: a unit for the points whose name (or
point part, descriptor, ALC name) a pattern matches, where nothing the BAS wrote gives one."""

from __future__ import annotations

from typing import Any

from energy_ingest.catalog.site.fields import TomlFields
from energy_ingest.catalog.site.model import TAG_ON, Site, UnitRule
from energy_ingest.catalog.units import resolve_unit


class UnitRuleFields(TomlFields):
    """Reads a [[unit_rules]] entry, collecting its problems."""

    def unit_rule(self, item: dict[str, Any], line: int) -> UnitRule | None:
        self.known(item, line, "unit_rules", ("pattern", "unit", "on", "source"))
        on = self.choice(item, "on", TAG_ON, line) or "point"
        unit = self.text(item, "unit", line)
        pattern = self.regex(item, line)
        source = self.source(item, line)
        return UnitRule(pattern, unit, on, source, line) if pattern and unit else None

    def check_unit_rules(self, site: Site) -> None:
        """Each rule's unit is one pint reads, as written or through [units] and the BAS's
        spellings (as a point's own unit would be read)."""
        for rule in site.unit_rules:
            if not resolve_unit(rule.unit, site.units).resolved:
                self.problem(
                    self.key_line(rule.line, "unit"),
                    f"unit {rule.unit!r}: pint cannot read it as a unit of a known quantity; use"
                    " a pint unit name such as 'degree_Fahrenheit', a BAS spelling such as"
                    " 'DEG F', or one the [units] table maps",
                )
