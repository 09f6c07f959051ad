"""Hourly rollups as rows, read from readings_hours (a row per point and UTC day, its hours as
arrays) unnesting only the arrays a query uses: every reader of hours reads them so.

The view readings_hourly unnests all six arrays and slices the states of every hour; one point's
year at interval=1h spent most of its time there (issue 27: 17 ms unnesting six arrays in psql,
7 ms unnesting the two an average needs). The rows and columns are the view's, and a predicate
on `day` (the UTC midnight) reaches readings_hours' primary key: DAY_RANGE.
"""

from __future__ import annotations

import re

ARRAYS = ("n", "sum", "min", "max", "first", "last")  # unnested as needed, n always (n > 0)
# the columns of a row, as the view defines them, from d (the day row) and u (its hour i)
_DERIVED = {
    "point_id": "d.point_id",
    "day": "d.day",
    "bucket": "d.day + (u.i - 1) * interval '1 hour'",
    "first_ts": "d.day + (u.i - 1) * interval '1 hour'",
    "last_ts": "d.day + u.i * interval '1 hour' - interval '1 microsecond'",
    "states": "d.states[(u.i - 1) * (cardinality(d.states) / 24) + 1"
    " : u.i * (cardinality(d.states) / 24)]",
}
COLUMNS = frozenset(ARRAYS) | _DERIVED.keys()


def hours_sql(columns: set[str], alias: str = "h") -> str:
    """The hourly rows of readings_hours with `columns` (point_id, day and bucket always), as a
    table `alias` to join: what readings_hourly holds, of just those columns."""
    unknown = columns - COLUMNS
    if unknown:
        raise ValueError(f"readings_hourly has no column {', '.join(sorted(unknown))}")
    arrays = [a for a in ARRAYS if a == "n" or a in columns]
    derived = [c for c in _DERIVED if c in {"point_id", "day", "bucket"} | columns]
    selected = [f"{_DERIVED[c]} AS {c}" for c in derived] + [f"u.{a}" for a in arrays]
    return (
        f"(SELECT {', '.join(selected)} FROM readings_hours d CROSS JOIN LATERAL"
        f" unnest({', '.join(f'd.{a}' for a in arrays)}) WITH ORDINALITY"
        f" AS u({', '.join(arrays)}, i) WHERE u.n > 0) {alias}"
    )


def used_columns(text: str, alias: str = "h") -> set[str]:
    """The columns of hourly rows `alias` that the SQL `text` names (alias.column)."""
    return set(re.findall(rf"\b{re.escape(alias)}\.(\w+)", text)) & COLUMNS


def day_range_sql(lo: str, hi: str, alias: str = "h") -> str:
    """A predicate on the UTC days of hours in [lo, hi) (SQL timestamptz expressions): only
    rows of those days are unpacked, found by readings_hours' primary key."""
    return f"{alias}.day >= date_trunc('day', {lo}, 'UTC') AND {alias}.day < {hi}"
