"""Which floor a room or a floor's name is on — the site file's floor rules, pure.

A room is on the floor its building's `room_floors` says, else that of its longest matching
prefix (the building's `floor_prefixes`, else the campus's [floors] prefixes: `B02` → -1,
`G5` → 0), else that of its first digit (`102` → 1, `213B` → 2); a room that says nothing
(`Vivarium`) is on no floor. A floor's name, as a naming rule's `floor` group finds it (`1ST`,
`2nd Floor`, `BSMT`, an ALC Location's `Basement`), is the site's [floors] names' number for it,
else a number it spells (`3`, `3RD`, `Floor 3`, `3rd Floor`), else a basement's -1 or a ground
floor's 0; anything else (`Roof`, unless [floors] names it) is no floor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_FLOOR_PREFIXES: Mapping[str, int] = {"B": -1, "G": 0}
FLOOR_WORDS: Mapping[str, int] = {
    "BASEMENT": -1, "BSMT": -1, "LL": -1, "LOWER LEVEL": -1, "CELLAR": -1,
    "GROUND": 0, "GRND": 0, "GROUND FLOOR": 0,
}  # fmt: skip
_NUMBERED = re.compile(
    r"^(?:(?:FLOOR|FLR|FL|LEVEL|LVL)\s*)?(-?\d{1,3})(?:ST|ND|RD|TH)?(?:\s*(?:FLOOR|FLR|FL))?$"
)


def is_floor(value: object) -> bool:
    """A floor number the site file may give: a whole number the catalog's column holds."""
    return type(value) is int and -(2**31) <= value < 2**31


def fold(text: str) -> str:
    return " ".join(text.upper().split())


def floor_of(room: str | None, prefixes: Mapping[str, int] = DEFAULT_FLOOR_PREFIXES) -> int | None:
    """The floor a room is on by the prefix rule (`B02` → -1, `G5` → 0), else its first digit
    (`102` → 1, `213B` → 2); None when the room says nothing (`Vivarium`)."""
    if not room:
        return None
    text = room.strip().upper()
    for prefix in sorted(prefixes, key=len, reverse=True):
        if text.startswith(prefix.upper()) and text[len(prefix) : len(prefix) + 1].isdigit():
            return prefixes[prefix]
    return int(text[0]) if text[:1].isdigit() else None


def floor_named(text: str | None, names: Mapping[str, int] | None = None) -> int | None:
    """The floor a floor's name means (see the module's docstring), or None."""
    if not text:
        return None
    key = fold(text)
    for name, number in (names or {}).items():
        if fold(name) == key:
            return number
    if key in FLOOR_WORDS:
        return FLOOR_WORDS[key]
    match = _NUMBERED.match(key)
    return int(match.group(1)) if match else None
