"""The BAS point types an export names, and the kind of value each holds: pure, so the read API
(which must not load the export parsers' pandas) can tell a known type from an unknown one.

Siemens Insight: LAI/LAO analog, LDI/LDO digital, LENUM, L2SL… multi-state, LPACI pulse
accumulator. ALC WebCTRL microblocks: BAI/BAO/BAV BACnet analog, BBI/BBO/BBV binary,
BMSI/BMSO/BMSV multi-state, BSPTCS setpoint, ANI/BNI analog/binary network inputs, BALM a binary
alarm, POLLTOT a pulse totaliser. A type in neither set takes `enum` when the export gives it
states, else `number`, and `catalog coverage` lists it as unknown.
"""

from __future__ import annotations

# `enum`: states (a binary point is an enumeration, its states the export's or none); `number`.
ENUM_TYPES = frozenset({
    "LDI", "LDO", "LENUM", "L2SL", "L2SP", "LFSSL", "LFSSP", "LOOAL", "LOOAP", "LOOED",
    "BBV", "BBI", "BBO", "BV", "BI", "BO", "BMSV", "BMSI", "BMSO", "MSV", "MSI", "MSO",
    "BNI", "BNO", "BALM",
})  # fmt: skip
NUMBER_TYPES = frozenset({
    "LAI", "LAO", "LPACI", "BAV", "BAI", "BAO", "AV", "AI", "AO", "BSPTCS",
    "ANI", "ANO", "POLLTOT",
})  # fmt: skip


def normal(point_type: str | None) -> str:
    """A type as the sets spell it (the SQL `upper(trim(point_type))` agrees)."""
    return (point_type or "").upper().strip()


def kind_of(point_type: str | None, has_states: bool) -> str:
    """The kind of value a point of this type holds."""
    known = normal(point_type)
    if known in ENUM_TYPES or (known not in NUMBER_TYPES and has_states):
        return "enum"
    return "number"


def is_known(point_type: str | None) -> bool:
    """Whether the type is one of the two sets (no type at all is not an unknown one)."""
    known = normal(point_type)
    return not known or known in ENUM_TYPES or known in NUMBER_TYPES
