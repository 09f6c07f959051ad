"""Pure time handling for the API: instants, ranges and zones (no Flask, no database)."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from energy_ingest.config import ZoneNameError, lookup_zone
from energy_ingest.rollups.calendar import local_midnight

T = TypeVar("T")

EPOCH = re.compile(r"^-?\d+(\.\d+)?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
YEAR = re.compile(r"^\d{4}$")
RANGE_FORMS = (
    "today, yesterday, last_24h, last_7d, a local day (2024-11-03), month (2024-11) or year"
    " (2024), or START,END"
)
RELATIVE = {"today", "yesterday", "last_24h", "last_7d"}
LOWEST = datetime(1900, 1, 1, tzinfo=UTC)
HIGHEST = datetime(2200, 1, 1, tzinfo=UTC)


class TimeError(ValueError):
    """A time parameter that cannot be understood; str() says what forms are accepted."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class TimeRange:
    """[start, end) as aware datetimes; `relative` when it depends on the clock."""

    start: datetime
    end: datetime
    relative: bool = False


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone a `tz` parameter names; TimeError (param tz) naming it and a zone to use."""
    try:
        return lookup_zone(name)
    except ZoneNameError as exc:
        raise TimeError(str(exc), "tz") from None


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TimeError(f"{text!r} is not a date like 2024-11-03") from None


def parse_instant(text: str, zone: zoneinfo.ZoneInfo) -> datetime:
    """ISO 8601 (with or without offset; naive means `zone`), a bare date, or epoch seconds."""
    text = text.strip()
    try:
        if EPOCH.match(text):
            return datetime.fromtimestamp(float(text), UTC)
        if DATE.match(text):
            return local_midnight(parse_date(text), zone)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        parsed = None
    if parsed is None:
        raise TimeError(
            f"{text!r} is not a time; use ISO 8601 (2024-11-03T06:00:00-06:00, "
            "2024-11-03T06:00 in tz), a date (2024-11-03) or epoch seconds"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_range(text: str, zone: zoneinfo.ZoneInfo, now: datetime) -> TimeRange:
    """`today`, `yesterday`, `last_24h`, `last_7d`, `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (one local
    day, calendar month or year) or `A,B`."""
    text = text.strip()
    today = now.astimezone(zone).date()
    if text == "today":
        return TimeRange(
            local_midnight(today, zone), local_midnight(today + timedelta(1), zone), True
        )
    if text == "yesterday":
        return TimeRange(
            local_midnight(today - timedelta(1), zone), local_midnight(today, zone), True
        )
    if text == "last_24h":
        return TimeRange(now - timedelta(hours=24), now, True)
    if text == "last_7d":
        return TimeRange(now - timedelta(days=7), now, True)
    if DATE.match(text):
        day = parse_date(text)
        return TimeRange(local_midnight(day, zone), local_midnight(day + timedelta(1), zone))
    if month := MONTH.match(text):
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise TimeError(f"{text!r} is not a range: no month {number}; use {RANGE_FORMS}")
        after = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
        return TimeRange(local_midnight(date(year, number, 1), zone), local_midnight(after, zone))
    if YEAR.match(text):
        year = int(text)
        return TimeRange(
            local_midnight(date(year, 1, 1), zone), local_midnight(date(year + 1, 1, 1), zone)
        )
    if text.count(",") == 1:
        first, second = text.split(",")
        return TimeRange(parse_instant(first, zone), parse_instant(second, zone))
    raise TimeError(f"{text!r} is not a range; use {RANGE_FORMS}")


def resolve(
    start: str | None,
    end: str | None,
    range_: str | None,
    zone: zoneinfo.ZoneInfo,
    now: datetime,
) -> TimeRange:
    """The requested [start, end); defaults to the last 24 hours. Raises TimeError."""
    try:
        result = _resolve(start, end, range_, zone, now)
        for moment, param in ((result.start, "start"), (result.end, "end")):
            if not LOWEST <= moment < HIGHEST:
                raise TimeError(
                    f"{moment.isoformat()} is outside {LOWEST.year}..{HIGHEST.year - 1}",
                    "range" if range_ is not None else param,
                )
            moment.astimezone(UTC).astimezone(zone)  # representable on both clocks
    except OverflowError:
        raise TimeError("time out of range", "range" if range_ is not None else "start") from None
    return result


def _resolve(
    start: str | None,
    end: str | None,
    range_: str | None,
    zone: zoneinfo.ZoneInfo,
    now: datetime,
) -> TimeRange:
    if range_ is not None:
        if start is not None or end is not None:
            raise TimeError("give either range or start/end, not both", "range")
        result = _named(parse_range, range_, zone, now, param="range")
    elif start is None and end is None:
        result = parse_range("last_24h", zone, now)
    else:
        stop = _named(parse_instant, end, zone, param="end") if end is not None else now
        begin = (
            _named(parse_instant, start, zone, param="start")
            if start is not None
            else stop - timedelta(hours=24)
        )
        result = TimeRange(begin, stop, end is None)
    if result.end <= result.start:
        raise TimeError(
            f"end {iso(result.end, zone)} is not after start {iso(result.start, zone)}",
            "range" if range_ is not None else "end",
        )
    return result


def _named(func: Callable[..., T], *args: Any, param: str) -> T:
    try:
        return func(*args)
    except TimeError as exc:
        exc.param = param
        raise


def iso(moment: datetime, zone: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat()
