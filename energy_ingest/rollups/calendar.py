"""Local midnights: the edges of days, weeks and months on a zone's wall clock (standard library)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, timedelta

CALENDAR = {"1d", "1w", "1mo"}


def local_midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    """Midnight of `day` on the wall clock of `zone` (as UTC: PEP 495 makes ambiguous
    local times compare unequal across zones, so every instant leaves here in UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@functools.lru_cache(maxsize=256)  # a dashboard asks for the same ranges again and again
def local_edges(
    start: datetime, end: datetime, interval: str, zone: zoneinfo.ZoneInfo
) -> tuple[datetime, ...]:
    """Local midnights that start the days, weeks (Monday) or months covering [start, end),
    plus the first edge at or after `end`: a fall-back day spans 25 h, a spring-forward day 23 h."""
    day = start.astimezone(zone).date()
    if interval == "1w":
        day -= timedelta(days=day.weekday())
    elif interval == "1mo":
        day = day.replace(day=1)
    edges = [local_midnight(day, zone)]
    while edges[-1] < end:
        if interval == "1d":
            day += timedelta(days=1)
        elif interval == "1w":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        edges.append(local_midnight(day, zone))
    return tuple(edges)
