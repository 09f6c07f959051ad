"""A /values plan's rows shaped for the answer: JSON series, long or wide rows (capped, with a
cursor), or CSV text streamed from a server-side cursor."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar

import numpy as np
import psycopg

from energy_api import csvcells
from energy_api.sql.points import PointRef
from energy_api.values import columns
from energy_api.values.plan import Cursor, Plan
from energy_api.values.query import plan_sql

CSV_BATCH = 10_000


def pg_float(value: Any) -> Any:
    """Numbers as PostgreSQL writes them (1, not 1.0), so both CSV paths agree."""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return value


def run_json(conn: psycopg.Connection[Any], plan: Plan) -> tuple[dict[str, Any], str | None]:
    """Rows capped at plan.limit; returns (body fragment, next cursor token or None)."""
    found = columns.columns(conn, plan)
    if found is not None:
        return _from_columns(conn, plan, found)
    query, params = plan_sql(plan, paged=True)
    rows = conn.execute(query, params, binary=True).fetchall()
    next_token = None
    if plan.limit is not None and len(rows) > plan.limit:
        rows = rows[: plan.limit]
        last = rows[-1]
        if plan.layout == "wide":
            ord_, ts_us = 0, last[0]
        else:
            ord_, ts_us = last[0], round(last[1] * 1_000_000) if plan.stamped else last[1]
        next_token = Cursor(plan.digest(), plan.start, plan.end, ord_, ts_us).encode()
    converters = plan.converters()
    if plan.layout == "wide":
        data = [_wide_row(plan, converters, r) for r in rows]
        return {"columns": plan.column_names(), "data": data, "rows": len(rows)}, next_token
    if plan.stamped:
        stamps = _Stamps.of(plan.zone.key)
        try:
            by_ord = _by_ord(rows, converters, stamps.known)
        except KeyError:  # buckets this worker has not stamped in this zone yet
            stamps.learn(conn, (r[1] for r in rows))
            by_ord = _by_ord(rows, converters, stamps.known)
    else:
        by_ord = _raw_by_ord(rows, converters)
    if plan.layout == "series":
        series = [
            {
                "point": plan.point_dict(point),
                "agg": _agg_names(plan, point),
                "data": by_ord.get(i, []),
            }
            for i, point in enumerate(plan.points, start=1)
        ]
        return {"series": series, "rows": len(rows)}, next_token
    data = [[plan.points[i - 1].name, *line] for i, group in by_ord.items() for line in group]
    return {"columns": plan.column_names(), "data": data, "rows": len(rows)}, next_token


def _from_columns(
    conn: psycopg.Connection[Any], plan: Plan, found: columns.Columns
) -> tuple[dict[str, Any], str | None]:
    """run_json's answer from columns (energy_api.values.columns): each row zipped from slices
    of them, its stamp looked up once per distinct second."""
    next_token = None
    if plan.limit is not None and len(found.ords) > plan.limit:
        found = found.head(plan.limit)
        last = int(found.ords[-1]), int(found.micros[-1])
        next_token = Cursor(plan.digest(), plan.start, plan.end, *last).encode()
    seconds, where = np.unique(found.epochs, return_inverse=True)
    stamps = _Stamps.of(plan.zone.key)
    distinct = seconds.tolist()
    stamps.learn(conn, distinct)
    isos = np.array([stamps.known[e][0] for e in distinct], dtype=object)[where].tolist()
    epochs = seconds[where].tolist()
    lists = {name: values.tolist() for name, values in found.values.items()}
    bounds = found.bounds(len(plan.points)).tolist()
    converters = plan.converters()
    each = []
    for i, point in enumerate(plan.points):
        a, b = bounds[i], bounds[i + 1]
        values = [lists[agg.name][a:b] for agg in plan.aggs_for(point)]
        lines = zip(isos[a:b], epochs[a:b], *values, strict=True)
        convert = converters[i]
        each.append(list(lines) if convert is None else [(t, e, *convert(v)) for t, e, *v in lines])
    if plan.layout == "series":
        series = [
            {"point": plan.point_dict(point), "agg": _agg_names(plan, point), "data": data}
            for point, data in zip(plan.points, each, strict=True)
        ]
        return {"series": series, "rows": len(found.ords)}, next_token
    data = [
        (point.name, *line)
        for point, lines in zip(plan.points, each, strict=True)
        for line in lines
    ]
    return {"columns": plan.column_names(), "data": data, "rows": len(found.ords)}, next_token


def _raw_by_ord(
    rows: list[Any], converters: list[Callable[[Any], Any] | None]
) -> dict[int, list[Any]]:
    """Each point's rows as [ISO 8601, epoch, values…], from raw rows PostgreSQL stamped (ord,
    micros, ISO 8601, epoch, v…)."""
    by_ord = {}
    for ord_, group in groupby(rows, itemgetter(0)):
        convert = converters[ord_ - 1]
        if convert is None:
            by_ord[ord_] = [r[2:] for r in group]
        else:
            by_ord[ord_] = [[r[2], r[3], *convert(r[4:])] for r in group]
    return by_ord


def _by_ord(
    rows: list[Any], converters: list[Callable[[Any], Any] | None], known: dict[float, Any]
) -> dict[int, list[Any]]:
    """Each point's rows as [ISO 8601, epoch, values…], from bucket rows (ord, epoch, v…)
    whose epochs are all `known` (a KeyError if not)."""
    by_ord = {}
    for ord_, group in groupby(rows, itemgetter(0)):
        convert = converters[ord_ - 1]
        if convert is None:
            by_ord[ord_] = [known[r[1]] + r[2:] for r in group]
        else:
            by_ord[ord_] = [[*known[r[1]], *convert(r[2:])] for r in group]
    return by_ord


class _Stamps:
    """A bucket's epoch seconds → (ISO 8601 in one zone, epoch), each made once: buckets repeat
    for every point, and for every answer of the worker (kept per zone, up to KEPT).

    A bucket not known yet gets its UTC offset from PostgreSQL in the session's zone (one query
    for all of an answer's new ones: cheaper than date_part or to_char on every row), and its
    local date and time of day are strings made once each too: a stamp costs a few lookups where
    datetime.fromtimestamp(…).isoformat() took microseconds. Stamps are written as
    datetime.isoformat writes them (an offset with seconds, of a local mean time, keeps them)."""

    KEPT = 100_000  # ~20 MB: 11 years of hours
    ZONES = 4  # zones kept at once: a client asking for every zone cannot grow the worker
    zones: ClassVar[dict[str, _Stamps]] = {}

    @classmethod
    def of(cls, zone: str) -> _Stamps:
        found = cls.zones.get(zone)
        if found is None or len(found.known) > cls.KEPT:
            if found is None and len(cls.zones) >= cls.ZONES:
                cls.zones.clear()
            found = cls.zones[zone] = cls()  # racing threads each get a whole one
        return found

    def __init__(self) -> None:
        self.known: dict[float, tuple[str, int]] = {}
        self.dates: dict[int, str] = {}
        self.clock: dict[int, str] = {}
        self.offsets: dict[int, str] = {}

    def learn(self, conn: psycopg.Connection[Any], epochs: Iterable[float]) -> None:
        """Stamps the `epochs` not known yet, in whole seconds (floored, as epoch_sql and
        to_char); `conn`'s session is in this zone."""
        seconds = {e: math.floor(e) for e in set(epochs) - self.known.keys()}
        if not seconds:
            return
        offsets = dict(
            conn.execute(
                "SELECT s, date_part('timezone', to_timestamp(s))::int"
                " FROM unnest(%s::bigint[]) AS s",
                (sorted(set(seconds.values())),),
            ).fetchall()
        )
        for epoch, second in seconds.items():
            self.add(epoch, second, offsets[second])

    def add(self, epoch: float, seconds: int, offset: int) -> None:
        day, second = divmod(seconds + offset, DAY)
        date = self.dates.get(day) or self.dates.setdefault(day, _date(day))
        clock = self.clock.get(second) or self.clock.setdefault(second, _hms(second))
        zone = self.offsets.get(offset) or self.offsets.setdefault(offset, _offset(offset))
        self.known[epoch] = (f"{date}T{clock}{zone}", seconds)


DAY = 86_400
EPOCH_DAY = date(1970, 1, 1).toordinal()


def _date(day: int) -> str:
    return date.fromordinal(EPOCH_DAY + day).isoformat()


def _offset(offset: int) -> str:
    """As datetime.isoformat writes a UTC offset: ±HH:MM, and :SS when it has seconds."""
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02}:{minutes:02}" + (f":{seconds:02}" if seconds else "")


def _hms(second: int) -> str:
    hours, rest = divmod(second, 3600)
    return f"{hours:02}:{rest // 60:02}:{rest % 60:02}"


def _agg_names(plan: Plan, point: PointRef) -> list[str] | None:
    return None if plan.interval == "raw" else [str(a) for a in plan.aggs_for(point)]


def _wide_row(plan: Plan, converters: list[Callable[[Any], Any] | None], row: Any) -> list[Any]:
    width = len(plan.aggs)
    values: list[Any] = [None] * (len(plan.points) * width)
    ords = row[3]
    columns = row[4:]
    for k, ord_ in enumerate(ords):
        vals = tuple(col[k] for col in columns)
        convert = converters[ord_ - 1]
        if convert is not None:
            vals = convert(vals)
        base = (ord_ - 1) * width
        values[base : base + width] = vals
    return [row[1], row[2], *values]


def _wide_csv_line(row: list[Any]) -> str:
    """ISO 8601, epoch, then cells: numbers as PostgreSQL writes them, labels as csvcells
    quotes text (csv.writer leaves a lone CR unquoted when lines end in LF)."""
    cells = [_csv_cell(v) for v in row[2:]]
    return ",".join([row[0], str(row[1]), *cells])


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return csvcells.quoted(value)
    return str(pg_float(value))


def stream_csv(cursor: psycopg.Cursor[Any], plan: Plan) -> Iterator[bytes]:
    """CSV text in batches from an executed server-side cursor: constant memory, no cap."""
    yield (",".join(csvcells.quoted(name) for name in plan.column_names()) + "\n").encode()
    converters = plan.converters()
    while rows := cursor.fetchmany(CSV_BATCH):
        if plan.layout == "long":  # lines rendered by PostgreSQL (plan_sql(csv_lines=True))
            lines = [r[0] for r in rows]
        else:
            lines = [_wide_csv_line(_wide_row(plan, converters, r)) for r in rows]
        yield ("\n".join(lines) + "\n").encode()
