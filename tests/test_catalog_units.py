"""BAS unit strings → canonical unit, quantity kind and plain-English names (catalog.units)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_ingest.catalog import units
from energy_ingest.catalog.units import NO_UNIT, Unit, resolve_unit, unit_key

SAMPLE = (
    Path(__file__).parent
    / "data"
    / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"
)
# Every distinct `Engineering Units:` value of SAMPLE (the test below checks this list against
# the file when it is there): all in TABLE but `C CFM`, which is in UNRESOLVED.
SAMPLE_UNITS = ["A", "C CFM", "CFM", "DEG F", "GAL", "IN WC", "KW", "KWH", "PSI"]

# Real-world BAS spellings (Siemens Insight point definitions, the Siemens and ALC format notes,
# one campus's habits) → (canonical, quantity, plain-English name).
DEG_F = ("degree_Fahrenheit", "temperature", "degrees fahrenheit")
DEG_C = ("degree_Celsius", "temperature", "degrees celsius")
KW = ("kilowatt", "power", "kilowatts")
KWH = ("kilowatt_hour", "energy", "kilowatt hours")
PERCENT = ("percent", "proportion", "percent")
RH = ("percent", "relative humidity", "percent")
GALLONS = ("gallon", "volume", "gallons")
LB_PER_HOUR = ("pound / hour", "mass flow", "pounds per hour")
CFM = ("foot ** 3 / minute", "volume flow", "cubic feet per minute")
GPM = ("gallon / minute", "volume flow", "gallons per minute")
IN_WC = ("inch_H2O", "pressure", "inches h2o")
PSI = ("pound_force_per_square_inch", "pressure", "pounds force per square inch")
AMPS = ("ampere", "electric current", "amperes")
VOLTS = ("volt", "electric potential", "volts")
TONS = ("refrigeration_ton", "power", "refrigeration tons")
FPM = ("foot / minute", "velocity", "feet per minute")
TABLE: dict[str, tuple[str, str, str]] = {
    "DEG F": DEG_F,
    "deg F": DEG_F,
    "Deg F": DEG_F,
    "DEGF": DEG_F,
    "°F": DEG_F,
    "F": DEG_F,
    "DEG C": DEG_C,
    "°C": DEG_C,
    "delta_degF": ("delta_degree_Fahrenheit", "temperature difference", "delta degrees fahrenheit"),
    "KW": KW,
    "kW": KW,
    "KWH": KWH,
    "kWh": KWH,
    "W": ("watt", "power", "watts"),
    "MW": ("megawatt", "power", "megawatts"),
    "MWH": ("megawatt_hour", "energy", "megawatt hours"),
    "KVA": ("kilovolt_ampere", "power", "kilovolt amperes"),
    "PCT": PERCENT,
    "PERCNT": PERCENT,
    "%": PERCENT,
    "PCT RH": RH,
    "%RH": RH,
    "% RH": RH,
    "GAL": GALLONS,
    "gal": GALLONS,
    "GALLONS": GALLONS,
    "lbs/h": LB_PER_HOUR,
    "LBS/HR": LB_PER_HOUR,
    "CFM": CFM,
    "cfm": CFM,
    "GPM": GPM,
    "GAL/MIN": GPM,
    "gallons per minute": GPM,
    "IN WC": IN_WC,
    "in. wc": IN_WC,
    "IN HG": ("inch_Hg", "pressure", "inches hg"),
    "PSI": PSI,
    "PSIG": PSI,
    "PA": ("pascal", "pressure", "pascals"),
    "KPA": ("kilopascal", "pressure", "kilopascals"),
    "BTU": ("british_thermal_unit", "energy", "british thermal units"),
    "BTU/HR": ("british_thermal_unit / hour", "power", "british thermal units per hour"),
    "THERMS": ("therm", "energy", "therms"),
    "TONS": TONS,
    "TON": TONS,
    "TON-HR": ("hour * refrigeration_ton", "energy", "refrigeration ton hours"),
    "HZ": ("hertz", "frequency", "hertz"),
    "RPM": ("revolutions_per_minute", "frequency", "revolutions per minute"),
    "VOLTS": VOLTS,
    "volts": VOLTS,
    "VAC": VOLTS,
    "AMPS": AMPS,
    "A": AMPS,
    "AMP": AMPS,
    "MA": ("milliampere", "electric current", "milliamperes"),
    "OHM": ("ohm", "electric resistance", "ohms"),
    "FPM": FPM,
    "FT/MIN": FPM,
    "MPH": ("mile_per_hour", "velocity", "miles per hour"),
    "PPM": ("ppm", "concentration", "ppm"),
    "FC": ("lumen / foot ** 2", "illuminance", "lumens per square foot"),
    "LUX": ("lux", "illuminance", "lux"),
    "SEC": ("second", "time", "seconds"),
    "MIN": ("minute", "time", "minutes"),
    "HR": ("hour", "time", "hours"),
    # What a real campus's exports wrote and its own importer mapped (issue 23).
    "PCNT": ("percent", "proportion", "percent"),
    "% clos": ("percent", "proportion", "percent"),
    "LBM": ("pound", "mass", "pounds"),
    "LBH": ("pound / hour", "mass flow", "pounds per hour"),
    "LBM/HR": ("pound / hour", "mass flow", "pounds per hour"),
    "PSID": ("pound_force_per_square_inch", "pressure", "pounds force per square inch"),
    "SQ. FT": ("foot ** 2", "area", "square feet"),
}

# Kept raw: nonsense, the Siemens placeholders, what pint would read as something no building
# measures (`C CFM`: coulomb × …; `UNITS`: micro-nits; `K`: Boltzmann's constant), and spellings
# this module does not guess (`VTONS`: a site says what it means, see the alias test).
# A space is a product to pint, never in a BAS spelling: `DEG C` would be degree × the speed of
# light, so `C CFM` and `kW h` stay raw too.
UNRESOLVED = ["XYZZY", "<Undefined>", "---", "C CFM", "kW h", "VTONS", "UNITS", "K", "N/A", "kvar"]
UNRESOLVED += ["kg**2", "9**9**9"]


@pytest.mark.parametrize("raw", sorted(TABLE))
def test_a_bas_unit_string_resolves_to_its_canonical_unit_quantity_and_name(raw: str) -> None:
    unit = resolve_unit(raw)
    assert (unit.canonical, unit.quantity, unit.name) == TABLE[raw]
    assert unit.resolved
    assert unit.raw == raw


def test_the_table_covers_at_least_forty_strings_and_every_one_the_issue_names() -> None:
    named = ["DEG F", "deg F", "KW", "kW", "PCT", "PERCNT", "GAL", "gal", "lbs/h"]
    named += ["CFM", "PCT RH", "KWH", "IN WC", "GPM", "PSI", "BTU", "TONS", "HZ", "VOLTS"]
    named += ["AMPS", "FPM", "PPM"]
    assert len(TABLE) >= 40
    assert [raw for raw in named if raw not in TABLE] == []
    assert [raw for raw in SAMPLE_UNITS if raw not in TABLE and raw not in UNRESOLVED] == []


def test_the_sample_point_definition_report_uses_just_the_units_listed_here() -> None:
    text = SAMPLE.read_text(encoding="utf-8", errors="replace")
    found = sorted(set(re.findall(r'"Engineering Units:","([^"]*)"', text)))
    assert found == SAMPLE_UNITS


def test_the_legacy_api_names_for_degrees_fahrenheit() -> None:
    unit = resolve_unit("DEG F")
    assert (unit.name, unit.quantity, unit.symbol) == ("degrees fahrenheit", "temperature", "°F")


@pytest.mark.parametrize("raw", UNRESOLVED)
def test_a_string_pint_cannot_place_stays_raw_and_unresolved(raw: str) -> None:
    unit = resolve_unit(f"  {raw} ")
    assert unit == Unit(raw, None, raw, None, raw, resolved=False)
    assert unit_key(unit) == "?" + raw.upper()


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\r\n"])
def test_no_unit_is_not_an_unresolved_unit(raw: str | None) -> None:
    assert resolve_unit(raw) is NO_UNIT
    assert NO_UNIT.raw is None and not NO_UNIT.resolved
    assert unit_key(NO_UNIT) is None


def test_a_site_alias_resolves_a_spelling_nobody_else_knows() -> None:
    aliases = {"vtons": "ton_of_refrigeration"}
    unit = resolve_unit("VTONS", aliases)
    assert (unit.raw, unit.canonical, unit.quantity, unit.name) == (
        "VTONS",
        "refrigeration_ton",
        "power",
        "refrigeration tons",
    )
    assert unit_key(unit) == unit_key(resolve_unit("TONS"))
    assert not resolve_unit("VTONS").resolved  # the alias is the site's, not remembered


def test_a_site_alias_overrides_a_built_in_spelling() -> None:
    assert resolve_unit("TONS", {"TONS": "ton"}).quantity == "mass"
    assert resolve_unit("TONS").quantity == "power"


def test_an_alias_pint_cannot_read_leaves_the_string_unresolved() -> None:
    unit = resolve_unit("VTONS", {"VTONS": "no_such_unit ** ("})
    assert not unit.resolved and unit.raw == "VTONS"


@pytest.mark.parametrize("raw", ["DEG F", "deg F", "Deg  F ", "\tdeg f\n", "dEg   f"])
def test_spellings_that_differ_only_in_case_and_spacing_resolve_alike(raw: str) -> None:
    unit = resolve_unit(raw)
    assert unit.raw == raw.strip()
    assert (unit.canonical, unit.quantity, unit.name) == DEG_F
    assert unit_key(unit) == "degree_Fahrenheit"


def test_unresolved_strings_that_differ_only_in_case_share_a_key() -> None:
    assert unit_key(resolve_unit("vTons")) == unit_key(resolve_unit(" VTONS")) == "?VTONS"


def test_the_unit_key_is_one_per_canonical_unit() -> None:
    keys = {unit_key(resolve_unit(raw)) for raw in ["DEG F", "deg F", "°F", "DEGF", "F"]}
    assert keys == {"degree_Fahrenheit"}
    assert unit_key(resolve_unit("CFM")) == unit_key(resolve_unit("ft^3/min"))
    assert unit_key(resolve_unit("KW")) != unit_key(resolve_unit("KWH"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.text("kmMAWhgsft%°/*^()0123456789. _-", max_size=16)))
def test_resolve_unit_never_raises_and_is_deterministic(raw: str) -> None:
    first = resolve_unit(raw)
    assert isinstance(first, Unit)
    assert resolve_unit(raw) == first
    assert first.resolved == (first.canonical is not None)


@pytest.mark.slow
def test_the_same_string_resolves_the_same_in_every_python_process() -> None:
    # pint's case-insensitive lookup picks among readings in set order, which Python's hash seed
    # changes from process to process (`ma` was milli-ampere in one, milli-year in the next).
    raws = ["ma", "pa", "ka", "gal", "s", "h", "ms", "kw", "c", "k", "units", "hr", "min", "ft"]
    code = (
        "from energy_ingest.catalog.units import resolve_unit; "
        f"print([resolve_unit(r).canonical for r in {raws!r}])"
    )
    outputs = set()
    for seed in ["1", "2", "3", "4", "5"]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        outputs.add(run.stdout)
    assert len(outputs) == 1, outputs


def test_importing_the_module_does_not_build_the_registry_or_even_import_pint() -> None:
    code = "import sys, energy_ingest.catalog.units; print('pint' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_a_campus_of_points_builds_the_registry_once() -> None:
    distinct = [*TABLE, *UNRESOLVED, ""]
    raws = [distinct[i % len(distinct)] for i in range(16_000)]
    start = time.perf_counter()
    resolved = [resolve_unit(raws[0])]
    first = time.perf_counter() - start
    resolved += [resolve_unit(raw) for raw in raws[1:]]
    elapsed = time.perf_counter() - start
    print(f"\n16,000 resolve_unit calls, {len(distinct)} distinct strings: {elapsed:.3f} s")
    print(f"the first (builds the registry, unless an earlier test did): {first:.3f} s")
    assert units._registry.cache_info().currsize == 1
    assert units._registry.cache_info().misses == 1
    assert len({unit_key(unit) for unit in resolved}) < len(distinct)
