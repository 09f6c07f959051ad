"""The one time convention for operators: a moment as the campus reads it, in ENERGY_TIMEZONE's
local time with its UTC offset (`2026-12-07 03:25:44-06:00`), so that a line read in another
zone, or in the autumn's repeated hour, still names one instant. Log lines, `status`, the other
commands and notices use it; the API writes the same instant in ISO 8601 (`T` between the
date and the time)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(ts: datetime, zone: str, *, seconds: bool = True) -> str:
    """'2026-12-07 03:25:44-06:00' (or '2026-12-07 03:25-06:00' without seconds)."""
    t = ts.astimezone(ZoneInfo(zone))
    offset = t.strftime("%z")  # '-0600'
    clock = t.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{clock}{offset[:3]}:{offset[3:]}"


def span(first: datetime, last: datetime, zone: str) -> str:
    """'2017-06-05 00:00–00:30-05:00' within one local day and offset, else both in full:
    '2026-03-07 00:00-06:00 – 2026-03-09 23:45-05:00'."""
    a, b = (t.astimezone(ZoneInfo(zone)) for t in (first, last))
    if a.date() == b.date() and a.utcoffset() == b.utcoffset():
        return f"{local(a, zone, seconds=False)[:16]}–{local(b, zone, seconds=False)[11:]}"
    return f"{local(a, zone, seconds=False)} – {local(b, zone, seconds=False)}"
