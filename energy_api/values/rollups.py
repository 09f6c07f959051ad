"""Which table answers a /values query: the rollups when they give the same answer, else readings.

A query's output buckets that are whole — inside [start, end) and made of whole rollup buckets —
come from readings_monthly (months in the rollups' own zone), readings_daily (days and weeks
there) or readings_hourly (hours, and calendar buckets of any zone whose local midnights fall on
UTC hours). A partial first or last bucket comes from readings, for just that edge. Stale rollups
(readings written by something that does not maintain them) are never used. Hours are read from
readings_hours, their day rows, unnesting only the arrays a query needs (table_sql); answers
still name the table readings_hourly, the view of the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_api.errors import bad_param
from energy_api.timeparse import iso
from energy_ingest.rollups.calendar import CALENDAR, local_edges
from energy_ingest.rollups.hours import day_range_sql, hours_sql, used_columns
from energy_ingest.rollups.scale import avg_sql, rollup_scaled_sql, unscaled_sql
from energy_ingest.store.rollup_state import State

HOUR = timedelta(hours=1)
READINGS = "readings"
HOURLY = "readings_hourly"


@dataclass(frozen=True)
class Route:
    """`table` answers the whole buckets in [lo, hi); readings answers the rest of the range."""

    table: str = READINGS
    lo: datetime | None = None
    hi: datetime | None = None

    def raw_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        if self.lo is None or self.hi is None:
            return [(start, end)]
        return [(a, b) for a, b in ((start, self.lo), (self.hi, end)) if a < b]

    def whole(self, interval: str) -> bool:
        """Whether each row of `table` is an output bucket (WHOLE: an hour, a day, a month)."""
        return (self.table, interval) in WHOLE


RAW_ROUTE = Route()


def table_sql(table: str, used: str) -> str:
    """Rollup `table` as rows h, for a query whose SQL `used` names the columns h.… it reads:
    hours come from readings_hours, unnesting just those (energy_ingest.rollups.hours)."""
    if table == HOURLY:
        return hours_sql(used_columns(used))
    return f"{table} h"


def range_sql(table: str) -> str:
    """The rows h of rollup `table` whose buckets are in [%(rlo)s, %(rhi)s): for hours, of the
    UTC days of that range too, so that only those days are unpacked."""
    where = "h.bucket >= %(rlo)s AND h.bucket < %(rhi)s"
    if table == HOURLY:
        return f"{where} AND {day_range_sql('%(rlo)s::timestamptz', '%(rhi)s')}"
    return where


# (table, interval) whose rows are output buckets as they are
WHOLE = {(HOURLY, "1h"), ("readings_daily", "1d"), ("readings_monthly", "1mo")}

# The aggregates over rollup rows `h`, each equal to its counterpart over readings
# (energy_api.values.query.RAW_EXPR) up to the order in which floats are added: sums are added
# scaled, and an infinite stored sum is its readings' (energy_ingest.rollups.scale).
_SUM = f"sum({rollup_scaled_sql('h')})"
ROLLUP_EXPR = {
    "avg": avg_sql(_SUM, "sum(h.n)"),
    "min": "min(h.min)",
    "max": "max(h.max)",
    "sum": unscaled_sql(_SUM),
    "count": "sum(h.n)::bigint",
    "coverage": "sum(h.n)::bigint",  # the count; energy_api.values.query makes it a share
    "first": "(array_agg(h.first ORDER BY h.bucket))[1]",
    "last": "(array_agg(h.last ORDER BY h.bucket DESC))[1]",
    "fraction": "coalesce(sum(h.states[sel.f{slot} + 1]), 0)::float8 / sum(h.n)",
}


# The same for one rollup row that is a whole output bucket (Route.whole): no GROUP BY.
ROLLUP_ROW_EXPR = {
    "avg": avg_sql(rollup_scaled_sql("h"), "h.n"),
    "min": "h.min",
    "max": "h.max",
    "sum": unscaled_sql(rollup_scaled_sql("h")),
    "count": "h.n::bigint",
    "coverage": "h.n::bigint",
    "first": "h.first",
    "last": "h.last",
    "fraction": "coalesce(h.states[sel.f{slot} + 1], 0)::float8 / h.n",
}


def before_raw(
    state: State | None, start: datetime, end: datetime, zone: ZoneInfo, interval: str, route: Route
) -> tuple[datetime, datetime, str | None]:
    """(start, end, note) of a range reaching before raw_since, whose raw readings were dropped
    (ENERGY_RAW_RETENTION): answered from the rollups' whole buckets alone, its partial edge
    buckets left out and said so; refused with what to ask instead when it needs raw readings."""
    since = None if state is None else state.raw_since
    if since is None or start >= since:
        return start, end, None
    gone = f"raw readings before {iso(since, zone)} are no longer kept (ENERGY_RAW_RETENTION)"
    if interval == "raw":
        raise bad_param(
            "start",
            f"{gone}: start at or after it, or ask for interval=1h, 1d or 1mo, which the rollups"
            " keep",
        )
    if route.lo is None or route.hi is None:
        raise bad_param(
            "interval",
            f"{gone}, and this answer needs them: ask for interval=1h, 1d or 1mo over whole"
            f" buckets (days and months of {state.day_zone if state else 'UTC'})",
        )
    lo, hi = start, end
    if start < route.lo:
        lo = route.lo
    if end > route.hi and route.hi < since:
        hi = route.hi
    if (lo, hi) == (start, end):
        return start, end, gone
    return (
        lo,
        hi,
        f"{gone}: answered from the rollups' whole buckets, {iso(lo, zone)} to {iso(hi, zone)}",
    )


def choose(
    state: State | None, start: datetime, end: datetime, zone: ZoneInfo, interval: str
) -> Route:
    if interval != "1h" and interval not in CALENDAR:
        return RAW_ROUTE
    if state is None or state.stale_since is not None:
        return RAW_ROUTE
    day_zone = state.day_zone
    if interval == "1h":
        # date_bin's origin is a local midnight of tz: its hours are UTC hours iff it is on one
        origin = datetime(2000, 1, 1, tzinfo=zone).astimezone(UTC)
        if not _on_hour(origin):
            return RAW_ROUTE
        lo, hi = _ceil_hour(start), _floor_hour(end)
        return Route(HOURLY, lo, hi) if lo < hi else RAW_ROUTE
    edges = local_edges(start, end, interval, zone)
    inner = [e for e in edges if start <= e <= end]
    if len(inner) < 2:
        return RAW_ROUTE
    if zone.key == day_zone:
        table = "readings_monthly" if interval == "1mo" else "readings_daily"
        return Route(table, inner[0], inner[-1])
    if all(_on_hour(e) for e in inner):
        return Route(HOURLY, inner[0], inner[-1])
    return RAW_ROUTE


def _on_hour(moment: datetime) -> bool:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0) == moment


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR
