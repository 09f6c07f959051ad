"""One lookup for user-supplied zone names: ENERGY_TIMEZONE and `check --tz` refuse bad ones clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
from click.testing import CliRunner

from energy_ingest.cli import main
from energy_ingest.config import Settings, ZoneNameError, lookup_zone
from energy_ingest.errors import ConfigError

GOOD = Path(__file__).parent / "data" / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"

# Each makes zoneinfo.ZoneInfo raise something different: IsADirectoryError, OSError
# (ENAMETOOLONG), ValueError (not normalised, absolute, NUL, not a TZif file),
# ZoneInfoNotFoundError (a KeyError), TypeError.
BAD_NAMES: list[object] = [
    "America",
    "Etc",
    "America/",
    "x" * 300,
    "../etc/passwd",
    "/etc/localtime",
    "America/Chicago ",
    "America\x00Chicago",
    "zone.tab",
    "Mars/Olympus",
    "",
    None,
    5,
    b"UTC",
]


def test_lookup_zone_gives_the_zoneinfo_of_every_name_the_tz_database_lists() -> None:
    names = zoneinfo.available_timezones()
    assert "America/Chicago" in names
    for name in names:
        assert lookup_zone(name) is zoneinfo.ZoneInfo(name)


def _short(value: object) -> str:
    return repr(value)[:24]


@pytest.mark.parametrize("name", BAD_NAMES, ids=_short)
def test_lookup_zone_refuses_a_bad_name_with_a_value_error_that_names_it(name: object) -> None:
    with pytest.raises(ValueError) as caught:
        lookup_zone(name)
    assert isinstance(caught.value, ZoneNameError)
    message = str(caught.value)
    assert repr(name)[:20] in message
    assert len(message) < 200
    assert "is not an IANA time zone; try " in message
    assert message.rsplit("try ", 1)[1] in zoneinfo.available_timezones()


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("America/Chicago ", "America/Chicago"),
        ("america/new_york", "America/New_York"),
        ("Chicago", "America/Chicago"),
        ("Etc", "Etc/UTC"),
        ("Europe/", "Europe/Amsterdam"),
        ("nowhere", "America/Chicago"),
    ],
)
def test_the_suggested_zone_is_the_nearest_real_one(name: str, hint: str) -> None:
    with pytest.raises(ZoneNameError) as caught:
        lookup_zone(name)
    assert caught.value.hint == hint


@pytest.mark.parametrize(
    "name", ["America", "Etc", "x" * 300, "../etc/passwd", "zone.tab"], ids=_short
)
def test_energy_timezone_that_is_no_zone_is_a_config_error_naming_the_variable(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ENERGY_TIMEZONE": name})
    assert f"ENERGY_TIMEZONE={name!r} is not an IANA time zone; try " in str(caught.value)


@pytest.mark.parametrize("name", ["America", "Etc", "x" * 300, "America/Chicago\\"], ids=_short)
def test_check_with_a_bad_energy_timezone_prints_one_error_and_no_traceback(name: str) -> None:
    result = CliRunner().invoke(main, ["check", str(GOOD)], env={"ENERGY_TIMEZONE": name})
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Error: invalid configuration:" in result.output
    assert f"ENERGY_TIMEZONE={name!r} is not an IANA time zone; try " in result.output


@pytest.mark.parametrize("name", ["America", "Etc", "x" * 300, "/etc/localtime"], ids=_short)
def test_check_tz_that_is_no_zone_is_a_usage_error_and_no_traceback(name: str) -> None:
    result = CliRunner().invoke(main, ["check", "--tz", name, str(GOOD)])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Invalid value for --tz: " in result.output
    assert "is not an IANA time zone; try " in result.output


def test_the_installed_command_refuses_energy_timezone_america_in_one_line() -> None:
    command = Path(sys.executable).with_name("energy-ingest")
    proc = subprocess.run(
        [str(command), "check", str(GOOD)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ENERGY_TIMEZONE": "America"},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "ENERGY_TIMEZONE='America' is not an IANA time zone; try America/Chicago" in proc.stderr
