"""A JSON answer's hours read as readings_hours stores them: each point's day rows, their arrays
unpacked here into the rows energy_api.values.query's SQL would give (ord, epoch, values…).

PostgreSQL unnesting one point's year of hours took ~10 ms for 8,784 rows, reading its 366
day rows 0.2 ms; loading their arrays and making the rows here cost less than fetching the
unnested rows did. The values are the SQL's bit for bit: the same float operations in the same
order (energy_ingest.rollups.scale), and a plan this module does not serve exactly — a partial
edge read from readings, coverage, fractions, the wide layout, a sum stored infinite (its
readings are added instead) — is answered by the SQL (`rows` is None).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from itertools import compress, repeat
from typing import Any

import psycopg

from energy_api.values.plan import Plan
from energy_api.values.query import hours_days_sql
from energy_api.values.rollups import HOURLY
from energy_ingest.rollups.scale import UNSCALE, scaled

HOURS = range(0, 86_400, 3_600)  # an hour's seconds after its UTC midnight
EXACT = 2.0**-958  # a stored sum of at least this is scaled by 2^-64 and back exactly


def _avgs(sums: list[float], counts: list[int]) -> list[float | None]:
    """As avg_sql(rollup_scaled_sql(h), h.n) for each finite stored sum: its scaled sum is
    within the float8 range's 2^-64, so the first branch, scaled(sum) * 2^64 / n."""
    return [
        (s / n if s >= EXACT or s <= -EXACT else scaled(s) * UNSCALE / n) if n else None
        for s, n in zip(sums, counts, strict=True)
    ]


def _sums(sums: list[float], counts: list[int]) -> list[float]:
    """As unscaled_sql(rollup_scaled_sql(h)) for each finite stored sum."""
    return [s if s >= EXACT or s <= -EXACT else scaled(s) * UNSCALE for s in sums]


# each aggregate served: the array of readings_hours it reads, and its hours' values from that
# array and n (None: the array itself, as min, max, first and last, and n for count)
AGGS: dict[str, tuple[str, Callable[[list[Any], list[int]], list[Any]] | None]] = {
    "avg": ("sum", _avgs),
    "sum": ("sum", _sums),
    "min": ("min", None),
    "max": ("max", None),
    "first": ("first", None),
    "last": ("last", None),
    "count": ("n", None),
}


def rows(conn: psycopg.Connection[Any], plan: Plan) -> list[tuple[Any, ...]] | None:
    """The rows of a JSON page of whole hours (ord, epoch seconds, values…), ordered by point
    and time, at most plan.limit + 1; None when the SQL answers this plan."""
    if not _served(plan):
        return None
    assert plan.route.lo is not None and plan.route.hi is not None
    each = [[AGGS[a.name] for a in plan.aggs_for(p)] for p in plan.points]
    arrays = sorted({array for aggs in each for array, _ in aggs} - {"n"})
    query, params = hours_days_sql(plan, arrays)
    days = conn.execute(query, params, binary=True).fetchall()
    if "sum" in arrays:
        k = 3 + arrays.index("sum")
        if not all(all(map(math.isfinite, day[k])) for day in days):
            return None  # a sum beyond the float8 range: its readings are added (the SQL)
    lo, hi = plan.route.lo.timestamp(), plan.route.hi.timestamp()
    cap = None if plan.limit is None else plan.limit + 1
    out: list[tuple[Any, ...]] = []
    for ord_, day, counts, *stored in days:
        aggs = each[ord_ - 1]
        columns = [counts if a == "n" else stored[arrays.index(a)] for a, _ in aggs]
        values = [c if f is None else f(c, counts) for c, (_, f) in zip(columns, aggs, strict=True)]
        hours = zip(repeat(ord_), [day + s for s in HOURS], *values)
        if lo <= day and day + 86_400 <= hi:
            out.extend(compress(hours, counts))
        else:  # a day the range cuts
            out.extend(r for r, n in zip(hours, counts, strict=True) if n and lo <= r[1] < hi)
        if cap is not None and len(out) >= cap + _before(out, plan):
            break
    start = _before(out, plan)
    return out[start:] if cap is None else out[start : start + cap]


def _before(out: list[tuple[Any, ...]], plan: Plan) -> int:
    """How many rows of `out` are at or before the page's cursor: pages given already."""
    if plan.cursor is None:
        return 0
    return bisect_right(out, (plan.cursor.ord, plan.cursor.ts_us / 1e6), key=_key)


def _key(row: tuple[Any, ...]) -> tuple[int, float]:
    return row[0], row[1]


def _served(plan: Plan) -> bool:
    return (
        plan.route.table == HOURLY
        and plan.route.whole(plan.interval)
        and not plan.route.raw_spans(plan.start, plan.end)
        and plan.stamped
        and all(a.name in AGGS for p in plan.points for a in plan.aggs_for(p))
    )
