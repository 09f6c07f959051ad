"""Settings: the one frozen object built from the environment (nothing else reads os.environ)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import urllib.parse
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from energy_ingest.errors import ConfigError, EnergyError
from energy_ingest.localtime import local

T = TypeVar("T")

MiB = 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every knob of every energy process. Build it with `Settings.from_env()`."""

    database_url: str | None = None
    """libpq URL; None means the embedded development cluster under `pgdata_dir`."""
    pgdata_dir: Path = Path("var/pgdata")
    spool_dir: Path = Path("var/spool")
    timezone: str = "America/Chicago"
    max_upload_bytes: int = 64 * MiB
    log_level: str = "INFO"
    settle_seconds: float = 2.0
    rescan_seconds: float = 60.0
    progress_seconds: float = 10.0
    """How often the daemon logs (and shows in `status`) its progress through a long file."""
    site_file: Path | None = None
    """The site file (docs/catalog.md); None: keep the one the catalog was last applied with."""
    upload_token: str | None = dataclasses.field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    api_max_rows: int | None = None
    """A row cap on a JSON /values page as well (None: only api_max_bytes pages)."""
    api_max_bytes: int = 16 * MiB
    """Bytes of JSON rows per /values page, each row counted at its longest (energy_api.values)."""
    api_streams: int = 3
    """Streamed answers (legacy /values, CSV) at once per API worker; the unit runs 4 threads."""
    statement_timeout_ms: int = 30_000
    api_max_lag_seconds: float = 300.0
    """On a standby, how far its replay may trail the primary before /api/v2/health is degraded."""
    raw_retention_years: int | None = None
    """Raw readings' partitions wholly older than this many years are dropped by `energy-ingest
    retention`, the rollups kept (docs/scaling.md); None: every reading is kept."""
    # Data health (docs/health.md)
    health_seconds: float = 300.0
    """How often the daemon evaluates data health when no file arrives (and after each file)."""
    series_grace_seconds: float = 3600.0
    """How late a series' next report may be before it is overdue."""
    alert_repeat_seconds: float = 86_400.0
    """How often a firing alert is mentioned again (a reminder) while it stays open."""
    digest_hour: int = 7
    """The local hour (ENERGY_TIMEZONE) the daily digest goes out."""
    smtp_url: str | None = dataclasses.field(default=None, repr=False)
    """smtp://[user:password@]host[:port] (smtps:// for TLS; ?starttls for STARTTLS); None: no mail."""
    alert_to: tuple[str, ...] = ()
    alert_from: str = "energy@localhost"
    webhook_url: str | None = None
    """A URL that gets each notice as a JSON POST (chat tools); None: none."""
    public_url: str | None = None
    """The API's public base URL (https://energy.example.edu), for links in notices."""
    # Set by systemd, not by us: where to log and whom to notify.
    journald: bool = False
    notify_socket: str | None = None
    watchdog_usec: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ENERGY_* variables; report every bad one in a single ConfigError."""
        env = os.environ if env is None else env
        problems: list[str] = []
        values: dict[str, Any] = {}

        def take(var: str, field: str, convert: Callable[[str], T]) -> None:
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                return
            try:
                values[field] = convert(raw.strip())
            except ValueError as exc:
                problems.append(f"{var}={_without_password(raw)!r} {exc}")

        take("ENERGY_DATABASE_URL", "database_url", _database_url)
        take("ENERGY_PGDATA", "pgdata_dir", Path)
        take("ENERGY_SPOOL_DIR", "spool_dir", Path)
        take("ENERGY_TIMEZONE", "timezone", _timezone)
        take("ENERGY_MAX_UPLOAD_BYTES", "max_upload_bytes", _positive_int)
        take("ENERGY_LOG_LEVEL", "log_level", _log_level)
        take("ENERGY_SETTLE_SECONDS", "settle_seconds", _non_negative_float)
        take("ENERGY_RESCAN_SECONDS", "rescan_seconds", _positive_float)
        take("ENERGY_PROGRESS_SECONDS", "progress_seconds", _positive_float)
        take("ENERGY_SITE_FILE", "site_file", Path)
        take("ENERGY_UPLOAD_TOKEN", "upload_token", str)
        take("ENERGY_CORS_ORIGINS", "cors_origins", _origins)
        take("ENERGY_API_MAX_ROWS", "api_max_rows", _positive_int)
        take("ENERGY_API_MAX_BYTES", "api_max_bytes", _positive_int)
        take("ENERGY_API_STREAMS", "api_streams", _positive_int)
        take("ENERGY_STATEMENT_TIMEOUT_MS", "statement_timeout_ms", _positive_int)
        take("ENERGY_API_MAX_LAG", "api_max_lag_seconds", duration_seconds)
        take("ENERGY_RAW_RETENTION", "raw_retention_years", _years)
        take("ENERGY_HEALTH_SECONDS", "health_seconds", _positive_float)
        take("ENERGY_SERIES_GRACE", "series_grace_seconds", duration_seconds)
        take("ENERGY_ALERT_REPEAT", "alert_repeat_seconds", duration_seconds)
        take("ENERGY_DIGEST_HOUR", "digest_hour", _hour)
        take("ENERGY_SMTP_URL", "smtp_url", _smtp_url)
        take("ENERGY_ALERT_TO", "alert_to", _addresses)
        take("ENERGY_ALERT_FROM", "alert_from", _address)
        take("ENERGY_WEBHOOK_URL", "webhook_url", _http_url)
        take("ENERGY_PUBLIC_URL", "public_url", lambda raw: _http_url(raw).rstrip("/"))

        values["journald"] = bool(env.get("JOURNAL_STREAM"))
        values["notify_socket"] = env.get("NOTIFY_SOCKET") or None
        take("WATCHDOG_USEC", "watchdog_usec", _positive_int)

        if problems:
            raise ConfigError(
                "invalid configuration:\n  "
                + "\n  ".join(problems)
                + "\nFix the environment (or /etc/energy/<unit>.env) and start again."
            )
        values.update(overrides)
        return cls(**values)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return lookup_zone(self.timezone)


def _without_password(raw: str) -> str:
    """A value as an error may show it: a URL's or a libpq string's password as ***."""
    raw = re.sub(r"(\bpassword\s*=\s*)('[^']*'|\S+)", r"\1***", raw)
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*:)[^/@]*@", r"\1***@", raw, flags=re.I)


def _database_url(raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://")) and "=" not in raw:
        raise ValueError("is not a libpq URL; expected e.g. postgresql://energy@localhost/energy")
    return raw


def _timezone(raw: str) -> str:
    try:
        lookup_zone(raw)
    except ZoneNameError as exc:
        raise ValueError(exc.reason) from None  # `take` names the variable and its value
    return raw


DEFAULT_ZONE = "America/Chicago"


class ZoneNameError(EnergyError, ValueError):
    """A zone name that is not in the tz database; str() shows it (shortened) and a zone to use."""

    def __init__(self, name: object) -> None:
        self.name = name
        self.hint = _zone_hint(name)
        self.reason = f"is not an IANA time zone; try {self.hint}"
        super().__init__(f"{_shown(name)} {self.reason}")


@functools.cache
def zone_names() -> frozenset[str]:
    """Every zone name the tz database here lists (TZPATH, then the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def lookup_zone(name: object) -> zoneinfo.ZoneInfo:
    """The ZoneInfo for a zone name from a user (env, CLI, HTTP), or a ZoneNameError.

    The one place zone names from outside are checked. Only listed names reach zoneinfo: it
    would otherwise open whatever path the name spells and raise IsADirectoryError (America),
    OSError (a 300-byte name), ValueError (../x, NUL, zone.tab) or TypeError (not a str).
    """
    if isinstance(name, str) and name in zone_names():
        try:
            return zoneinfo.ZoneInfo(name)
        except (OSError, ValueError, LookupError):  # the file changed after it was listed
            pass
    raise ZoneNameError(name)


def _zone_hint(raw: object) -> str:
    """The listed zone nearest to `raw`: same name in another case or spacing, a zone of that
    city (Chicago), a zone in that region (Europe), else the default."""
    if not isinstance(raw, str):
        return DEFAULT_ZONE
    wanted = raw.strip().replace(" ", "_").lower()
    names = sorted(zone_names())
    for name in names:
        if name.lower() == wanted:
            return name
    for name in names:
        if name.lower().endswith("/" + wanted):
            return name
    region = [name for name in names if name.lower().startswith(wanted.rstrip("/") + "/")]
    if DEFAULT_ZONE in region or not region:
        return DEFAULT_ZONE
    return "Etc/UTC" if "Etc/UTC" in region else region[0]


def _shown(value: object, limit: int = 60) -> str:
    """repr() of a value for a message, cut short when huge (it may be 300 bytes of junk)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[: limit - 20]}…{size}"


def _positive_int(raw: str) -> int:
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError("is not a whole number") from None
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _positive_float(raw: str) -> float:
    value = _non_negative_float(raw)
    if value == 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be a finite number >= 0")
    return value


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?$")
_UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(raw: str) -> float:
    """'90' or '90s', '15m', '2h', '1d', '1w' → seconds (> 0)."""
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise ValueError("is not a duration; write e.g. 90s, 15m, 2h or 1d")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if not 0 < seconds < 10 * 365 * 86400:
        raise ValueError("must be more than 0 and less than ten years")
    return seconds


def _years(raw: str) -> int | None:
    """'5y' → 5 ('off': None): raw readings are partitioned by year, so retention is whole years."""
    if raw.strip().lower() == "off":
        return None
    match = re.fullmatch(r"(\d+)\s*(y|years?)", raw.strip().lower())
    if not match or int(match[1]) < 1:
        raise ValueError("is not a number of years; write e.g. 5y (raw readings are kept by year)")
    return int(match[1])


def _hour(raw: str) -> int:
    try:
        hour = int(raw)
    except ValueError:
        raise ValueError("is not an hour (0-23)") from None
    if not 0 <= hour <= 23:
        raise ValueError("is not an hour (0-23)")
    return hour


def _smtp_url(raw: str) -> str:
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("is not an SMTP URL; expected e.g. smtp://mail.example.edu:25")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    return raw


def _address(raw: str) -> str:
    if raw.count("@") != 1 or any(c in raw for c in " ,<>\r\n"):
        raise ValueError("is not an e-mail address like energy@example.edu")
    return raw


def _addresses(raw: str) -> tuple[str, ...]:
    return tuple(_address(a.strip()) for a in raw.split(",") if a.strip())


def _http_url(raw: str) -> str:
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("is not an http(s) URL")
    return raw


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"is not a log level; use one of {', '.join(LOG_LEVELS)}")
    return level


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(
                f"has {origin!r}, which is not an origin like https://dash.example.edu"
            )
    return origins


def configure_logging(settings: Settings) -> None:
    """Local time with its offset on a terminal; journald priority prefixes under systemd."""
    handler = logging.StreamHandler()
    if settings.journald:
        handler.setFormatter(JournaldFormatter())
    else:
        handler.setFormatter(ConsoleFormatter(settings.timezone))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


class ConsoleFormatter(logging.Formatter):
    """`2026-12-07 03:25:44-06:00 INFO    name: message`: the time in ENERGY_TIMEZONE with its
    offset (energy_ingest.localtime), whatever zone the machine runs in."""

    def __init__(self, zone: str) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return local(datetime.fromtimestamp(record.created, UTC), self.zone)


class JournaldFormatter(logging.Formatter):
    """`<N>message`: journald reads N as the syslog priority and adds its own timestamp."""

    PRIORITY: ClassVar[dict[str, int]] = {
        "DEBUG": 7,
        "INFO": 6,
        "WARNING": 4,
        "ERROR": 3,
        "CRITICAL": 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", "\n    ")
        return f"<{self.PRIORITY.get(record.levelname, 6)}>{text}"
