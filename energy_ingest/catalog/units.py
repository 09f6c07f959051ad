"""BAS unit strings (`DEG F`, `kW`, `PCT RH`, `CFM`, …) → canonical unit, quantity kind and
plain-English names, understood by pint; strings pint cannot place are kept raw, unresolved.

Pure: no database, no files. `resolve_unit(raw, aliases)` is the whole API; `unit_key(unit)` is
what the catalog stores one row per; `conversion(source, target)` how a value recorded in one unit
is given in another (for a point whose unit changed: write.unit_history).

How a string is resolved, in order:

1. Strip it. Empty (or None) is `NO_UNIT`: no unit at all — a binary or enum point — which the
   legacy API shows as `"value_unit": null`. It is not "unresolved": there is nothing to resolve.
2. Fold it: whitespace runs become one space, letters upper case. `DEG F`, `deg F` and `Deg  F `
   fold alike, so every step below sees only the folded form and they resolve alike.
3. The site's `aliases` (folded raw → pint expression) come first, then `BAS_SPELLINGS`: the few
   spellings of the building-automation systems that pint cannot read or reads wrongly (`DEG F` is
   degree × farad to pint, `CFM` a centi-fermi, `PCT` a peta-carat, `TONS` a mass).
4. Anything else goes to pint lowercased, name by name (`_spelled_for_pint`): a name is read as
   pint reads it in lower case (`gal`, `psi`, `min`), else in any case if that gives one reading
   (`kw` → kilowatt, `degf`, `btu`, `hz`); only the prefixes kilo, mega and milli count, and a
   name with several readings stays unresolved, as do two names side by side (a space is a
   product to pint: `C CFM`, `kW h`). So a lowercased `M` is milli, except in the
   spellings that name mega units (`MW`, `MWH`), and `a` is pint's year (`A` and `MA` are
   spelled out).
5. pint's answer is kept only if its dimensionality is a quantity kind a building has
   (`QUANTITY_KINDS`); for dimensionless units, only percent (a proportion), ppm (a
   concentration) and count. Otherwise — `XYZZY`, `<Undefined>`, `C CFM`, `kg**2` — the string
   stays raw, `resolved` False, for the coverage report to list.

Percent is the quantity "proportion", whatever it measures; the legacy dashboard's "proportion
open" (a damper or valve position) needs the point's context, which the catalog adds, not this
module. `PCT RH` and its spellings are "relative humidity".

pint's registry takes about half a second to build, so it is built once, on the first call, not
at import; results are cached per distinct folded string (a campus has ~16,000 points but a few
dozen distinct strings).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pint

__all__ = [
    "BAS_SPELLINGS",
    "NO_UNIT",
    "QUANTITY_KINDS",
    "Unit",
    "conversion",
    "fold",
    "resolve_unit",
    "unit_key",
]

MAX_UNIT_CHARS = 64  # longer is not a unit string; it is kept raw without asking pint

# Folded BAS spelling → (pint expression, quantity kind or None to take pint's). Only spellings
# pint cannot read, or reads as something no building means, belong here.
BAS_SPELLINGS: dict[str, tuple[str, str | None]] = {
    "DEG F": ("degF", None),
    "DEG C": ("degC", None),
    "F": ("degF", None),  # pint: farad
    "C": ("degC", None),  # pint: the speed of light
    "PCT": ("percent", None),  # pint: petacarat
    "PERCNT": ("percent", None),
    "PCT RH": ("percent", "relative humidity"),
    "%RH": ("percent", "relative humidity"),
    "% RH": ("percent", "relative humidity"),
    "RH": ("percent", "relative humidity"),  # pint: ronnahenry
    "CFM": ("foot ** 3 / minute", None),  # pint: centifermi
    "GPM": ("gallon / minute", None),
    "FPM": ("foot / minute", None),
    "IN WC": ("inch_H2O", None),
    "IN. WC": ("inch_H2O", None),
    "INWC": ("inch_H2O", None),
    "IN H2O": ("inch_H2O", None),
    "IN HG": ("inch_Hg", None),  # pint: inch × hectogram
    "FC": ("lumen / foot ** 2", None),  # foot-candle; pint: femto-speed-of-light
    "TON": ("ton_of_refrigeration", None),  # pint: a mass; a campus BAS means cooling
    "TONS": ("ton_of_refrigeration", None),
    "TON HR": ("ton_of_refrigeration * hour", None),
    "TON-HR": ("ton_of_refrigeration * hour", None),
    "A": ("ampere", None),  # lowercased for pint, `a` is a year
    "VAC": ("volt", None),
    "VDC": ("volt", None),
    "MW": ("megawatt", None),  # lowercased for pint, `mw` is a milliwatt
    "MWH": ("megawatt_hour", None),
    "MA": ("milliampere", None),  # lowercased for pint, a milli-year
    "PSIG": ("psi", None),  # gauge pressure: the same unit
    "PSID": ("psi", None),  # differential pressure: the same unit
    "PCNT": ("percent", None),
    "% CLOS": ("percent", None),  # a valve or damper, percent closed: a proportion
    "LBM": ("pound", None),  # pound-mass
    "LBH": ("pound / hour", None),  # steam: pounds an hour
    "LBM/HR": ("pound / hour", None),
    "SQ. FT": ("foot ** 2", None),
    "SQ FT": ("foot ** 2", None),
}

# pint dimensionality → quantity kind, the `measurement` of the legacy API.
QUANTITY_KINDS: dict[str, str] = {
    "[temperature]": "temperature",
    "[mass] * [length] ** 2 / [time] ** 3": "power",
    "[mass] * [length] ** 2 / [time] ** 2": "energy",
    "[length] ** 3": "volume",
    "[length] ** 3 / [time]": "volume flow",
    "[mass]": "mass",
    "[mass] / [time]": "mass flow",
    "[mass] / [length] / [time] ** 2": "pressure",
    "[length] / [time]": "velocity",
    "[length]": "length",
    "[length] ** 2": "area",
    "[time]": "time",
    "1 / [time]": "frequency",
    "[current]": "electric current",
    "[mass] * [length] ** 2 / [time] ** 3 / [current]": "electric potential",
    "[mass] * [length] ** 2 / [time] ** 3 / [current] ** 2": "electric resistance",
    "[luminosity] / [length] ** 2": "illuminance",
}
DIMENSIONLESS_KINDS = {
    "percent": "proportion",
    "ppm": "concentration",
    "count": "count",
}


@dataclass(frozen=True)
class Unit:
    """What a BAS unit string means.

    `raw` is the string as written, stripped (None for no unit). When resolved, `canonical` is
    pint's name (`degree_Fahrenheit`, `foot ** 3 / minute`), `symbol` its short form (`°F`),
    `quantity` the kind (`temperature`) and `name` the plain-English name (`degrees
    fahrenheit`). When not, `canonical` and `quantity` are None and `symbol` and `name` are the
    raw string, so it can still be shown as written.
    """

    raw: str | None
    canonical: str | None
    symbol: str | None
    quantity: str | None
    name: str | None
    resolved: bool


NO_UNIT = Unit(raw=None, canonical=None, symbol=None, quantity=None, name=None, resolved=False)


def fold(raw: str) -> str:
    """The form unit strings are compared in: one space between words, upper case."""
    return " ".join(raw.split()).upper()


def resolve_unit(raw: str | None, aliases: Mapping[str, str] | None = None) -> Unit:
    """What `raw` means; `aliases` (a site's BAS spelling → pint expression, matched folded)
    come before the built-in spellings. Never raises: what cannot be resolved stays raw."""
    stripped = (raw or "").strip()
    if not stripped:
        return NO_UNIT
    folded = fold(stripped)
    override = _alias(folded, aliases) if aliases else None
    meaning = _meaning(folded, override)
    if meaning is None:
        return Unit(stripped, None, stripped, None, stripped, resolved=False)
    canonical, symbol, quantity, name = meaning
    return Unit(stripped, canonical, symbol, quantity, name, resolved=True)


def unit_key(unit: Unit) -> str | None:
    """The catalog's key for a unit: one row per canonical unit (`DEG F`, `deg F` and `°F`
    share one), one per folded raw string for unresolved units, None for no unit."""
    if unit.raw is None:
        return None
    if unit.canonical is not None:
        return unit.canonical
    return "?" + fold(unit.raw)


def conversion(source: Unit, target: Unit) -> tuple[float, float] | None:
    """How a value recorded in `source` is given in `target`: (scale, shift), the value being
    `value * scale + shift` — (1, 0) for one unit, however spelt; None when they are not one
    quantity pint converts (°F and kW), or differ and either is unresolved or no unit.

    pint converts offset units through kelvin in floats (0 °F → -17.777777777777743 °C), so
    the pair is worked out in fractions by a registry of its own, then rounded once: °F → °C is
    (5/9, -160/9) to the float, and 50 °F comes out as 10.0 exactly."""
    key = unit_key(source)
    if key is not None and key == unit_key(target):
        return 1.0, 0.0
    if source.canonical is None or target.canonical is None or source.quantity != target.quantity:
        return None
    return _affine(source.canonical, target.canonical)


@functools.cache
def _affine(source: str, target: str) -> tuple[float, float] | None:
    registry = _exact_registry()
    try:  # as in _meaning: any of pint's errors means "no"
        zero = registry.Quantity(Fraction(0), source).to(target).magnitude
        one = registry.Quantity(Fraction(1), source).to(target).magnitude
        return float(one - zero), float(zero)
    except Exception:
        return None


def _alias(folded: str, aliases: Mapping[str, str]) -> str | None:
    for spelling, expression in aliases.items():
        if fold(spelling) == folded:
            return expression
    return None


@functools.cache
def _meaning(folded: str, override: str | None) -> tuple[str, str, str, str] | None:
    """(canonical, symbol, quantity, name) for a folded string, or None when unresolved."""
    if len(folded) > MAX_UNIT_CHARS:
        return None
    quantity: str | None = None
    try:  # pint raises a dozen kinds (tokenizer, syntax, undefined, arithmetic): all mean "no"
        if override is not None:
            expression: str | None = override
        elif folded in BAS_SPELLINGS:
            expression, quantity = BAS_SPELLINGS[folded]
        else:
            expression = _spelled_for_pint(folded.lower())
        if expression is None or NUMBER_POWER.search(expression):
            return None
        unit = _registry().parse_units(expression)
        quantity = quantity or _quantity(unit)
        if quantity is None:
            return None
        return str(unit), f"{unit:~P}", quantity, _name(unit)
    except Exception:
        return None


# A number raised to a power (`9**9**9`): pint would compute it, for as long as that takes.
NUMBER_POWER = re.compile(r"[\d.)]\s*(\*\*|\^)")
NAME = re.compile(r"°?[^\W\d]\w*")
PINT_WORDS = {"per", "square", "squared", "cubic"}  # pint's own preprocessor reads these
# The prefixes building units use. Any other reading is a coincidence of letters: `units` is
# micro-nits, `cfm` centi-fermi, `fc` femto-speed-of-light, `amps` atto-metres per second.
PREFIXES = {"", "kilo", "mega", "milli"}


def _spelled_for_pint(lowered: str) -> str | None:
    """`lowered` with each name replaced by pint's own (`kw` → `kilowatt`, `ft` → `foot`), or
    None when a name is unknown or ambiguous.

    A name is read as pint reads it in lower case, else in any case. Readings with other
    prefixes are dropped; of those left, one without a prefix wins (`min` is a minute, not a
    milli-inch), else there must be exactly one. pint's own case-insensitive mode is not used:
    among several readings (`ma`: milli-ampere or milli-year?) it picks in set order, which
    changes from one Python process to the next.

    A space between two names is not a product in a BAS spelling, as it is to pint (`DEG C`
    would be degree × the speed of light, a velocity): such strings stay unresolved.
    """
    words = lowered.split()
    for left, right in itertools.pairwise(words):
        if (
            {left, right}.isdisjoint(PINT_WORDS)
            and left[-1] not in "*/^("
            and right[0] not in "*/^)"
        ):
            return None
    registry = _registry()
    unknown = False

    def respell(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group()
        if name in PINT_WORDS:
            return name
        for case_sensitive in (True, False):
            readings = [
                (prefix, unit)
                for prefix, unit, _ in registry.parse_unit_name(name, case_sensitive)
                if prefix in PREFIXES
            ]
            bare = [reading for reading in readings if not reading[0]]
            if len(bare) == 1 or len(readings) == 1:
                prefix, unit = bare[0] if bare else readings[0]
                return prefix + unit
            if readings:
                break
        unknown = True
        return name

    respelled = NAME.sub(respell, lowered)
    return None if unknown else respelled


@functools.cache
def _registry() -> pint.UnitRegistry[Any]:
    import pint

    return pint.UnitRegistry()


@functools.cache
def _exact_registry() -> pint.UnitRegistry[Any]:
    """A registry in fractions, for conversions only: built on the first one a process needs."""
    import pint

    return pint.UnitRegistry(non_int_type=Fraction)


@functools.cache
def _kinds() -> dict[object, str]:
    """QUANTITY_KINDS by pint's dimensionality objects, which compare whatever their order."""
    registry = _registry()
    return {registry.get_dimensionality(key): kind for key, kind in QUANTITY_KINDS.items()}


def _quantity(unit: pint.Unit) -> str | None:
    names = list(_parts(unit))
    if unit.dimensionless:
        return DIMENSIONLESS_KINDS.get(names[0][0]) if len(names) == 1 else None
    kind = _kinds().get(unit.dimensionality)
    if kind == "temperature" and any(name.startswith("delta_") for name, _ in names):
        return "temperature difference"
    return kind


def _parts(unit: pint.Unit) -> list[tuple[str, float]]:
    import pint.util

    parts = pint.util.to_units_container(unit).items()
    return [(name, float(cast(float, power))) for name, power in parts]


# --- plain-English names: pint's long names, spaced, lower case, plural -----------------------

POWERS = {2.0: "square", 3.0: "cubic"}
UNCOUNTABLE = {"percent", "hertz", "lux", "siemens", "ppm", "dimensionless"}
IRREGULAR = {"foot": "feet"}
# pint names shaped <unit>_<qualifier> (degree_Fahrenheit, inch_H2O, pound_force): the head
# noun, the word that takes the plural, comes first; in all others (kilowatt_hour,
# british_thermal_unit, refrigeration_ton) it comes last.
HEAD_FIRST = {"degree", "inch", "foot", "pound", "meter", "mile"}


def _name(unit: pint.Unit) -> str:
    """`degrees fahrenheit`, `cubic feet per minute`, `kilowatt hours`, `pounds per hour`."""
    parts = _parts(unit)
    above = [(name, power) for name, power in parts if power > 0]
    below = [(name, -power) for name, power in parts if power < 0]
    words = [
        _spoken(name, power, plural=i == len(above) - 1) for i, (name, power) in enumerate(above)
    ]
    words += [f"per {_spoken(name, power, plural=False)}" for name, power in below]
    return " ".join(words)


def _spoken(name: str, power: float, *, plural: bool) -> str:
    words = name.lower().split("_")
    if plural:
        words = _plural_words(words)
    prefix = POWERS.get(power)
    suffix = "" if prefix or power == 1 else f" to the power {power:g}"
    return f"{prefix + ' ' if prefix else ''}{' '.join(words)}{suffix}"


def _plural_words(words: list[str]) -> list[str]:
    if "per" in words:
        cut = words.index("per")
        return _plural_words(words[:cut]) + words[cut:]
    if words[0] == "delta" and len(words) > 1:
        return ["delta", *_plural_words(words[1:])]
    head = 0 if words[0] in HEAD_FIRST else len(words) - 1
    return [*words[:head], _plural(words[head]), *words[head + 1 :]]


def _plural(word: str) -> str:
    if word in UNCOUNTABLE or word.endswith("s"):
        return word
    if word in IRREGULAR:
        return IRREGULAR[word]
    if re.search(r"(ch|sh|x|z)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"
