"""The site file's data-health tables, read with their lines: [health] (thresholds) and
[[limits]] (plausible ranges by point, tag, building, unit or quantity); health.limits applies
the defaults for what the file leaves out."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from energy_ingest.catalog.site.fields import TomlFields

HEALTH_KEYS = (
    "stale_factor",
    "flat_hours",
    "spike_z",
    "spike_window",
    "spike_count",
    "range_count",
)
LIMIT_SELECTORS = ("point", "tag", "building", "unit", "quantity")
LIMIT_KEYS = (*LIMIT_SELECTORS, "min", "max", "count")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class LimitEntry:
    """A plausible range for the points one selector names (exactly one of point, tag,
    building, unit, quantity): readings outside [min, max], `count` in a row, are out of range."""

    selector: str  # one of LIMIT_SELECTORS
    value: str  # a name glob for point, else the tag, building code, unit symbol or quantity
    min: float | None = None
    max: float | None = None
    count: int | None = None
    line: int = 0


@dataclass(frozen=True)
class HealthRules:
    """What the site file says about data health; None: not given (health.limits has defaults)."""

    stale_factor: float | None = None
    flat_hours: int | None = None
    spike_z: float | None = None
    spike_window_s: float | None = None
    spike_count: int | None = None
    range_count: int | None = None
    limits: tuple[LimitEntry, ...] = field(default_factory=tuple)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class HealthFields(TomlFields):
    """Reads [health] and one [[limits]] entry, each problem with its line."""

    def health_table(self, table: Any) -> dict[str, Any]:
        line = self.line_of("health")
        if not isinstance(table, dict):
            self.problem(line, "[health] must be a table: stale_factor = 3, flat_hours = 6, …")
            return {}
        for key in table:
            if key not in HEALTH_KEYS:
                self.problem(
                    self.key_line(line, key),
                    f"[health] has no key {key!r}; known: {', '.join(HEALTH_KEYS)}",
                )
        out: dict[str, Any] = {}
        for key in ("stale_factor", "spike_z"):
            if key in table:
                if _number(table[key]) and table[key] > 0:
                    out[key] = float(table[key])
                else:
                    self.problem(self.key_line(line, key), f"{key} must be a number above 0")
        for key in ("flat_hours", "spike_count", "range_count"):
            if key in table:
                if _whole(table[key]) and 1 <= table[key] <= 1000:
                    out[key] = int(table[key])
                else:
                    self.problem(
                        self.key_line(line, key), f"{key} must be a whole number from 1 to 1000"
                    )
        if "spike_window" in table:
            raw = table["spike_window"]
            match = _DURATION.match(raw) if isinstance(raw, str) else None
            seconds = float(match[1]) * _SECONDS[match[2]] if match else 0.0
            if not 3600 <= seconds <= 90 * 86400:
                self.problem(
                    self.key_line(line, "spike_window"),
                    'spike_window must be a duration from 1h to 90d, e.g. "48h" or "7d"',
                )
            else:
                out["spike_window_s"] = seconds
        return out

    def limit(self, item: dict[str, Any], line: int) -> LimitEntry | None:
        self.known(item, line, "limits", LIMIT_KEYS)
        chosen = [k for k in LIMIT_SELECTORS if k in item]
        if len(chosen) != 1:
            self.problem(
                line,
                "a [[limits]] entry names its points by exactly one of point (a name, * and ? "
                f"allowed), tag, building, unit or quantity; this one has {len(chosen) or 'none'}"
                + (f" ({', '.join(chosen)})" if chosen else ""),
            )
            return None
        selector = chosen[0]
        value = self.text(item, selector, line)
        bounds: dict[str, float | None] = {"min": None, "max": None}
        for key in bounds:
            if key in item:
                if _number(item[key]):
                    bounds[key] = float(item[key])
                else:
                    self.problem(self.key_line(line, key), f"{key} must be a number")
        if "min" not in item and "max" not in item:
            self.problem(line, "a [[limits]] entry gives min, max or both")
            return None
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            self.problem(self.key_line(line, "max"), f"max {high:g} is below min {low:g}")
        count = item.get("count")
        if count is not None and not (_whole(count) and 1 <= count <= 1000):
            self.problem(
                self.key_line(line, "count"), "count must be a whole number from 1 to 1000"
            )
            count = None
        if not value:
            return None
        return LimitEntry(selector, value, low, high, count, line)

    def health_rules(self, data: dict[str, Any], limits: list[LimitEntry]) -> HealthRules:
        settings = self.health_table(data.get("health", {}))
        return HealthRules(**settings, limits=tuple(limits))
