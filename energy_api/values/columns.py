"""A JSON page's rows read as numpy columns: raw readings, and whole rollup buckets (hours
unpacked from readings_hours' day rows; days and months read from readings_daily and
readings_monthly). No Python object is made per row here; energy_api.values.rows zips the
columns into the rows of the answer.

Each point's instants and values travel as binary arrays (array_send), which numpy reads without
a Python object per element, read point by point by the primary key; a page that may not hold
them all reads a few points at a time from a server-side cursor, until it is full. Measured on
the campus heatmap (450 points × a year of days, 164,700 rows): the SQL's date_part and
scaled-average CASE on each row, its sort and fetching the rows took ~230 ms; the arrays take
~45 ms. Through the API (bench/api, docs/api.md), a raw year of one point costs 1.37 times its
rows' fetch (2.16 with PostgreSQL stamping each reading), the heatmap 0.9 (1.64).

The values are the SQL's bit for bit (energy_api.values.query): the same float operations in the
same order (energy_ingest.rollups.scale), element by element. A plan this module does not serve
exactly — a partial edge read from readings, coverage, fractions, the wide layout, a sum stored
infinite (its readings are added instead) — is answered by the SQL (`columns` is None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from energy_api.values.plan import Plan
from energy_api.values.query import hours_days_sql, per_point_sql
from energy_api.values.rollups import HOURLY
from energy_ingest.rollups.scale import SCALE, TINY, UNSCALE
from energy_ingest.store.binary import ARRAY_HEADER, PG_EPOCH_US, elements

HOURS = np.arange(0, 86_400, 3_600)  # an hour's seconds after its UTC midnight
EXACT = 2.0**-958  # a stored sum of at least this is scaled by 2^-64 and back exactly


def _scaled_back(sums: np.ndarray) -> np.ndarray:
    """Each finite stored sum as unscaled_sql(rollup_scaled_sql(h)) gives it: itself, but for a
    sum below 2^-958 whose scaling by 2^-64 loses bits (or underflows to 0, as scaled_sql)."""
    tiny = np.where(np.abs(sums) <= TINY, 0.0, sums * SCALE) * UNSCALE
    return np.where((sums >= EXACT) | (sums <= -EXACT), sums, tiny)


def _avgs(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """As avg_sql(rollup_scaled_sql(h), h.n): the scaled sum unscaled, then divided."""
    avgs: np.ndarray = _scaled_back(sums) / counts  # every count > 0: a row has readings
    return avgs


# each aggregate served: the stored column it reads, and its values from that column and n
# (None: the column itself, as min, max, first and last, and n for count)
AGGS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray] | None]] = {
    "avg": ("sum", _avgs),
    "sum": ("sum", lambda sums, _: _scaled_back(sums)),
    "min": ("min", None),
    "max": ("max", None),
    "first": ("first", None),
    "last": ("last", None),
    "count": ("n", None),
}


@dataclass(frozen=True)
class Columns:
    """A page's rows as columns, ordered by point and time: each row's point (its 1-based place
    in the plan), instant (Unix microseconds), and per aggregate served its values."""

    ords: np.ndarray
    micros: np.ndarray
    values: dict[str, np.ndarray]

    @property
    def epochs(self) -> np.ndarray:
        """Whole Unix seconds (floored, as epoch_sql)."""
        return self.micros // 1_000_000

    def head(self, rows: int) -> Columns:
        """The first `rows` rows."""
        values = {name: column[:rows] for name, column in self.values.items()}
        return Columns(self.ords[:rows], self.micros[:rows], values)

    def bounds(self, points: int) -> np.ndarray:
        """Where each point's rows begin, and after the last where they end."""
        return np.searchsorted(self.ords, np.arange(1, points + 2))


def columns(conn: psycopg.Connection[Any], plan: Plan) -> Columns | None:
    """The rows of a JSON page, at most plan.limit + 1; None when the SQL answers this plan."""
    if not _served(plan):
        return None
    if plan.interval == "raw":
        found = _per_point(conn, plan, [])
        if found is None:
            return None
        ords, micros, arrays = found
        return Columns(ords, micros, {"raw": arrays["value"]})
    names = {AGGS[a.name][0] for p in plan.points for a in plan.aggs_for(p)}
    stored: list[str] = [a for a in ("sum", "min", "max", "first", "last") if a in names]
    found = (
        _hours(conn, plan, stored) if plan.route.table == HOURLY else _per_point(conn, plan, stored)
    )
    if found is None:
        return None
    ords, micros, arrays = found
    if "sum" in arrays and not np.isfinite(arrays["sum"]).all():
        return None  # a sum beyond the float8 range: its readings are added (the SQL)
    values = {}
    for name, (column, make) in AGGS.items():
        if column in arrays:
            values[name] = arrays[column] if make is None else make(arrays[column], arrays["n"])
    return Columns(ords, micros, values)


Found = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]  # ords, micros, stored columns
SHORTEST = {"1d": 23 * 3_600, "1mo": 27 * 86_400}  # a bucket's fewest seconds: DST, February


def _size(instants: bytes | None) -> int:
    """How many instants a point's binary array of them holds (a length and an int8 each)."""
    return 0 if instants is None else (len(instants) - ARRAY_HEADER) // 12


def _per_point(conn: psycopg.Connection[Any], plan: Plan, stored: list[str]) -> Found | None:
    """The page's readings (raw) or whole rollup rows, from a row of arrays per point."""
    query, params = per_point_sql(plan, stored)
    cap = None if plan.limit is None else plan.limit + 1
    if plan.interval != "raw" and cap is not None and plan.cursor is None:
        assert plan.route.lo is not None and plan.route.hi is not None
        span = (plan.route.hi - plan.route.lo).total_seconds()
        if len(plan.points) * (span // SHORTEST[plan.interval] + 2) <= cap:
            cap = None  # a bucket of every point over the whole range fits
    if cap is None or len(plan.points) == 1:
        points = conn.execute(query, params, binary=True).fetchall()
    else:
        points = _until(conn, query, params, cap)
    instants = [p[1] for p in points]  # NULL for a point with no rows: none of them
    ords = np.repeat(np.array([p[0] for p in points], dtype=np.int64), [_size(a) for a in instants])
    micros = elements(instants, ">i8").astype(np.int64) + PG_EPOCH_US
    if not _in_order(ords, micros):
        return None  # rows aggregated in another order than they were read: the SQL sorts
    names = ["value"] if plan.interval == "raw" else ["n", *stored]
    arrays = {}
    for k, a in enumerate(names):
        kind, native = (">i4", np.int64) if a == "n" else (">f8", np.float64)  # counts are int4
        arrays[a] = elements([p[2 + k] for p in points], kind).astype(native)
    if cap is not None:
        ords, micros = ords[:cap], micros[:cap]
        arrays = {a: column[:cap] for a, column in arrays.items()}
    return ords, micros, arrays


def _until(
    conn: psycopg.Connection[Any], query: str, params: dict[str, Any], cap: int
) -> list[tuple[Any, ...]]:
    """The first points' rows of arrays holding `cap` rows or more, read a few points at a time
    from a server-side cursor: the points after them are never read."""
    points: list[tuple[Any, ...]] = []
    rows, batch = 0, 4
    with conn.cursor(name="energy_values_page", binary=True) as cursor:
        cursor.execute(query, params)
        while rows < cap:
            more = cursor.fetchmany(batch)
            if not more:
                break
            points += more
            rows += sum(_size(p[1]) for p in more)
            batch *= 2
    return points


def _in_order(ords: np.ndarray, micros: np.ndarray) -> bool:
    """Whether each point's instants rise (points are in order: the query sorts them)."""
    same = ords[1:] == ords[:-1]
    return bool((np.diff(micros)[same] > 0).all())


def _hours(conn: psycopg.Connection[Any], plan: Plan, stored: list[str]) -> Found:
    """The hours with readings of the page's UTC days, unpacked from readings_hours."""
    assert plan.route.lo is not None and plan.route.hi is not None
    query, params = hours_days_sql(plan, stored)
    days = conn.execute(query, params, binary=True).fetchall()
    ords = np.repeat(np.array([d[0] for d in days], dtype=np.int64), 24)
    epochs = (np.array([d[1] for d in days], dtype=np.int64).reshape(-1, 1) + HOURS).ravel()
    counts = elements([d[2] for d in days], ">i4").astype(np.int64)
    keep = (
        (counts > 0) & (epochs >= plan.route.lo.timestamp()) & (epochs < plan.route.hi.timestamp())
    )
    if plan.cursor is not None:
        ord_, ts = plan.cursor.ord, plan.cursor.ts_us / 1e6
        keep &= (ords > ord_) | ((ords == ord_) & (epochs > ts))
    rows = np.flatnonzero(keep)
    if plan.limit is not None:
        rows = rows[: plan.limit + 1]
    arrays: dict[str, np.ndarray] = {"n": counts[rows]}
    for k, a in enumerate(stored):
        arrays[a] = elements([d[3 + k] for d in days], ">f8").astype(np.float64)[rows]
    return ords[rows], epochs[rows] * 1_000_000, arrays


def _served(plan: Plan) -> bool:
    if plan.interval == "raw":
        return plan.layout != "wide"
    return (
        plan.route.whole(plan.interval)
        and not plan.route.raw_spans(plan.start, plan.end)
        and plan.stamped
        and all(a.name in AGGS for p in plan.points for a in plan.aggs_for(p))
    )
