"""Settings come from the environment, and every bad value is named in one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from energy_ingest.config import Settings
from energy_ingest.errors import ConfigError


def test_defaults_match_the_design_table() -> None:
    s = Settings.from_env({})
    assert s.database_url is None
    assert s.spool_dir == Path("var/spool")
    assert s.timezone == "America/Chicago"
    assert s.max_upload_bytes == 64 * 1024 * 1024
    assert s.log_level == "INFO"
    assert s.settle_seconds == 2.0 and s.rescan_seconds == 60.0


def test_values_are_read_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "ENERGY_DATABASE_URL": "postgresql://energy@localhost/energy",
            "ENERGY_SPOOL_DIR": "/srv/energy/spool",
            "ENERGY_TIMEZONE": "UTC",
            "ENERGY_MAX_UPLOAD_BYTES": "1000",
            "ENERGY_LOG_LEVEL": "debug",
            "ENERGY_CORS_ORIGINS": "https://dash.example.edu, http://localhost:5173/",
        }
    )
    assert s.database_url == "postgresql://energy@localhost/energy"
    assert s.spool_dir == Path("/srv/energy/spool")
    assert s.timezone == "UTC"
    assert s.max_upload_bytes == 1000
    assert s.log_level == "DEBUG"
    assert s.cors_origins == ("https://dash.example.edu", "http://localhost:5173")


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.timezone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("ENERGY_TIMEZONE", "Chicago", "is not an IANA time zone; try America/Chicago"),
        ("ENERGY_TIMEZONE", "Mars/Olympus", "is not an IANA time zone"),
        ("ENERGY_MAX_UPLOAD_BYTES", "lots", "is not a whole number"),
        ("ENERGY_MAX_UPLOAD_BYTES", "-5", "must be greater than 0"),
        ("ENERGY_LOG_LEVEL", "LOUD", "is not a log level"),
        ("ENERGY_SETTLE_SECONDS", "soon", "is not a number of seconds"),
        ("ENERGY_SETTLE_SECONDS", "-1", "must be a finite number >= 0"),
        ("ENERGY_RESCAN_SECONDS", "0", "must be greater than 0"),
        ("ENERGY_DATABASE_URL", "localhost:5432", "is not a libpq URL"),
        ("ENERGY_CORS_ORIGINS", "dash.example.edu", "is not an origin"),
        ("ENERGY_API_MAX_ROWS", "1.5", "is not a whole number"),
        ("ENERGY_API_MAX_LAG", "soon", "is not a duration; write e.g. 90s, 15m, 2h or 1d"),
        ("ENERGY_API_MAX_LAG", "0s", "must be more than 0"),
    ],
)
def test_each_bad_value_is_named_with_what_is_wrong(var: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var: value})
    message = str(caught.value)
    assert f"{var}={value!r}" in message
    assert expected in message


@pytest.mark.parametrize(
    ("var", "value", "shown"),
    [
        ("ENERGY_SMTP_URL", "smtps://energy:s3cret@/", "'smtps://energy:***@/'"),
        (
            "ENERGY_DATABASE_URL",
            "mysql://energy:s3cret@db/energy",
            "'mysql://energy:***@db/energy'",
        ),
    ],
)
def test_a_bad_value_is_shown_without_its_password(var: str, value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var: value})
    message = str(caught.value)
    assert f"{var}={shown}" in message and "s3cret" not in message


def test_all_bad_values_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "ENERGY_TIMEZONE": "Chicago",
                "ENERGY_LOG_LEVEL": "LOUD",
                "ENERGY_MAX_UPLOAD_BYTES": "x",
            }
        )
    message = str(caught.value)
    for var in ("ENERGY_TIMEZONE", "ENERGY_LOG_LEVEL", "ENERGY_MAX_UPLOAD_BYTES"):
        assert var in message


def test_only_the_config_module_reads_the_environment() -> None:
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(root))
        for package in ("energy_ingest", "energy_api")
        for path in (root / package).rglob("*.py")
        if path.name != "config.py"
        and ("os.environ" in (text := path.read_text()) or "os.getenv" in text)
    ]
    assert offenders == []
