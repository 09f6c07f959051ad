"""Plausible ranges and health thresholds: the defaults, and the site file's [health] and
[[limits]] as rows SQL joins against (points.py resolves each point's limit in one statement)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from energy_ingest.catalog.site.health import HealthRules
from energy_ingest.query.like import glob_to_like

# [health] defaults (docs/catalog.md#health)
STALE_FACTOR = 3.0  # stale: newest reading older than its series' data end − interval × this
FLAT_HOURS = 6  # flat: this many hours of hourly rollups with one value
SPIKE_Z = 8.0  # spike: robust z-score above this
SPIKE_WINDOW_S = 24 * 3600.0  # … against the hourly means of this window before
SPIKE_COUNT = 2  # … for this many newest readings
SPIKE_MIN_BUCKETS = 12  # hourly means the window must hold
RANGE_COUNT = 3  # out of range: this many newest readings outside the limit
FLAT_BEFORE_S = 7 * 86400.0  # flat only on a point whose hourly buckets varied this long before

# Ranges by unit when nothing more specific says one: selector 'unit' matches the unit's
# symbol (the catalog's units.symbol) or the BAS's own string (points.unit); 'quantity' units.quantity.
DEFAULT_LIMITS: tuple[tuple[str, str, float, float], ...] = (
    ("unit", "°F", -40.0, 140.0),
    ("unit", "°C", -40.0, 60.0),
    ("quantity", "relative humidity", 0.0, 100.0),
    ("unit", "RH %", 0.0, 100.0),
    ("unit", "%", 0.0, 100.0),
)
# rank: most specific first. No BAS export this project reads gives a point's own range (the
# Siemens Point Definition report and the ALC Points List have no min/max fields), so after the
# site's entries come the defaults by unit.
RANKS = {"point": 1, "tag": 2, "building": 3, "unit": 4, "quantity": 4, "default": 6}


@dataclass(frozen=True)
class Thresholds:
    """The [health] settings with the defaults filled in."""

    stale_factor: float = STALE_FACTOR
    flat_hours: int = FLAT_HOURS
    spike_z: float = SPIKE_Z
    spike_window_s: float = SPIKE_WINDOW_S
    spike_count: int = SPIKE_COUNT
    range_count: int = RANGE_COUNT


def thresholds(rules: HealthRules) -> Thresholds:
    """The site's [health] settings, defaults where it gives none."""
    given = {
        k: getattr(rules, k)
        for k in Thresholds.__dataclass_fields__
        if getattr(rules, k) is not None
    }
    return Thresholds(**given)


def limit_rows(rules: HealthRules) -> list[tuple[Any, ...]]:
    """(rank, ord, selector, match, min, max, count, origin) for every site entry then every
    default: `match` is a LIKE pattern for 'point', else the exact text; `origin` says where the
    limit comes from for findings ('site file line 12', 'default for °F')."""
    rows: list[tuple[Any, ...]] = []
    for n, e in enumerate(rules.limits):
        match = glob_to_like(e.value) if e.selector == "point" else e.value
        rows.append(
            (
                RANKS[e.selector],
                n,
                e.selector,
                match,
                e.min,
                e.max,
                e.count,
                f"site file line {e.line}",
            )
        )
    for n, (selector, match, low, high) in enumerate(DEFAULT_LIMITS):
        rows.append((RANKS["default"], n, selector, match, low, high, None, f"default for {match}"))
    return rows
