"""What rollup_state says: the zone of the daily and monthly rollups, and whether they are
complete. The loader, `status` and the API read it here, with one rule for a missing row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from energy_ingest.localtime import local


@dataclass(frozen=True)
class State:
    day_zone: str
    stale_since: datetime | None
    stale_writes: int
    built_at: datetime | None
    raw_since: datetime | None = None  # raw readings before it were dropped (retention)

    def whole_since(self) -> datetime | None:
        """The first local midnight (day_zone) at or after raw_since: from there every hour, day
        and month can still be computed from raw readings; before it, only the rollups hold them."""
        if self.raw_since is None:
            return None
        zone = ZoneInfo(self.day_zone)
        moment = self.raw_since.astimezone(zone)
        midnight = datetime.combine(moment.date(), time(), zone)
        if midnight < moment:
            midnight = datetime.combine(moment.date() + timedelta(days=1), time(), zone)
        return midnight

    def describe(self, timezone: str) -> str:
        """One line for `status`: complete, or why not and what to run."""
        if self.stale_since is not None:
            return (
                f"STALE since {local(self.stale_since, timezone)}: readings were"
                " written by something other than the loader; the API answers from readings"
                " alone until `energy-ingest rollups rebuild`"
            )
        if self.day_zone != timezone:
            return (
                f"complete, but daily and monthly rollups are local to {self.day_zone}, not to"
                f" ENERGY_TIMEZONE {timezone}: `energy-ingest rollups rebuild` moves them"
            )
        kept = ""
        if self.raw_since is not None:
            kept = (
                f"; raw readings from {local(self.raw_since, timezone)} (retention), rollups before"
            )
        return f"complete (hourly, and daily and monthly in {self.day_zone}){kept}"

    def as_dict(self, timezone: str) -> dict[str, Any]:
        return {
            "complete": self.stale_since is None,
            "day_zone": self.day_zone,
            "stale_since": self.stale_since.isoformat() if self.stale_since else None,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "raw_since": self.raw_since.isoformat() if self.raw_since else None,
            "summary": self.describe(timezone),
        }


def read_state(conn: psycopg.Connection[Any]) -> State | None:
    """The one row of rollup_state: its day zone, and whether and since when it is stale; None
    when there is none (a database `energy-ingest migrate` has not finished), which every reader
    takes as stale rollups in UTC: nothing can be assumed about the rollup tables."""
    row = conn.execute(
        "SELECT day_zone, stale_since, stale_writes, built_at, raw_since FROM rollup_state"
    ).fetchone()
    return None if row is None else State(*row)
