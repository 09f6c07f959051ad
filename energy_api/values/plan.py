"""The /values query: plan (points, range, interval, aggregates, cursor) → SQL → JSON or CSV rows."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg

from energy_api import csvcells
from energy_api.errors import bad_param
from energy_api.sql.points import PointRef, epoch_sql, iso_sql
from energy_api.timeparse import from_micros, parse_zone, to_micros
from energy_api.values.rollups import RAW_ROUTE, READINGS, ROLLUP_EXPR, ROLLUP_ROW_EXPR, Route
from energy_ingest.rollups.calendar import CALENDAR, local_edges
from energy_ingest.rollups.scale import avg_sql, scaled_sql, unscaled_sql

# date_bin's origin: a local midnight of tz, so hours of half-hour zones align to the wall clock
ORIGIN = "(timestamp '2000-01-01' AT TIME ZONE %(tz)s)"
# interval name → SQL bucket expression over r.ts (local midnight for days, weeks, months)
INTERVALS: dict[str, str | None] = {
    "raw": None,
    "15min": f"date_bin('15 minutes', r.ts, {ORIGIN})",
    "30min": f"date_bin('30 minutes', r.ts, {ORIGIN})",
    "1h": f"date_bin('1 hour', r.ts, {ORIGIN})",
    # Calendar buckets: the local midnights come from Python's zoneinfo as an array; width_bucket
    # finds a reading's bucket by binary search, far cheaper than a zone conversion per row.
    "1d": "width_bucket(r.ts, %(edges)s::timestamptz[])",
    "1w": "width_bucket(r.ts, %(edges)s::timestamptz[])",
    "1mo": "width_bucket(r.ts, %(edges)s::timestamptz[])",
}
NUMBER_AGGS = ("avg", "min", "max", "sum", "count", "first", "last")
ENUM_AGGS = ("last", "first", "count", "fraction:<STATE>")
LABELLED = {"raw", "first", "last"}  # enum results that are state labels, not numbers
LAYOUTS = ("series", "long", "wide")
CSV_BATCH = 10_000


@dataclass(frozen=True)
class Agg:
    name: str
    state: str | None = None

    def __str__(self) -> str:
        return f"fraction:{self.state}" if self.name == "fraction" else self.name


RAW = Agg("raw")


def parse_aggs(text: str | None, kinds: set[str]) -> tuple[list[Agg], list[Agg]]:
    """(aggregates for number points, for enum points); the default is avg / last."""
    if text is None or not text.strip():
        return [Agg("avg")], [Agg("last")]
    aggs: list[Agg] = []
    for item in (part.strip() for part in text.split(",")):
        name, _, state = item.partition(":")
        if name == "fraction" and state:
            aggs.append(Agg("fraction", state))
        elif item in NUMBER_AGGS:
            aggs.append(Agg(item))
        else:
            raise bad_param(
                "agg",
                f"unknown aggregate {item!r}; number points: {', '.join(NUMBER_AGGS)};"
                f" enum points: {', '.join(ENUM_AGGS)}",
            )
    if len(set(aggs)) != len(aggs):
        raise bad_param("agg", f"aggregate listed twice in {text!r}")
    if "number" in kinds:
        wrong = [str(a) for a in aggs if a.name == "fraction"]
        if wrong:
            raise bad_param(
                "agg", f"{wrong[0]} is only for enum points; a number point is selected"
            )
    if "enum" in kinds:
        wrong = [str(a) for a in aggs if a.name in {"avg", "min", "max", "sum"}]
        if wrong:
            raise bad_param(
                "agg",
                f"{wrong[0]} is not defined for enum points; use {', '.join(ENUM_AGGS)}",
            )
    return aggs, aggs


@dataclass(frozen=True)
class Cursor:
    """Where a capped JSON answer stopped: after row (ord, ts) of the query with `digest`."""

    digest: str
    start: datetime
    end: datetime
    ord: int
    ts_us: int

    def encode(self) -> str:
        raw = orjson.dumps(
            [self.digest, to_micros(self.start), to_micros(self.end), self.ord, self.ts_us]
        )
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            digest, start, end, ord_, ts_us = orjson.loads(raw)
            if not (
                isinstance(digest, str)
                and all(isinstance(v, int) for v in (start, end, ord_, ts_us))
            ):
                raise ValueError("bad cursor")
            return cls(digest, from_micros(start), from_micros(end), ord_, ts_us)
        except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
            raise bad_param(
                "cursor", "cursor is not one this API issued; use meta.next as it was given"
            ) from None


@dataclass
class Plan:
    """Everything that decides the rows of a /values answer."""

    points: list[PointRef]
    start: datetime
    end: datetime
    tz: str
    interval: str
    number_aggs: list[Agg]
    enum_aggs: list[Agg]
    layout: str
    cursor: Cursor | None = None
    limit: int | None = None
    fraction_index: list[list[int]] = field(default_factory=list)
    route: Route = RAW_ROUTE  # which table answers the whole buckets (energy_api.rollups)

    @property
    def aggs(self) -> list[Agg]:
        """The aggregate per output column (number points decide when kinds are mixed)."""
        if self.interval == "raw":
            return [RAW]
        if any(p.kind == "number" for p in self.points):
            return self.number_aggs
        return self.enum_aggs

    def aggs_for(self, point: PointRef) -> list[Agg]:
        if self.interval == "raw":
            return [RAW]
        return self.enum_aggs if point.kind == "enum" else self.number_aggs

    def digest(self) -> str:
        key = orjson.dumps(
            [
                [p.id for p in self.points],
                self.tz,
                self.interval,
                [str(a) for a in self.number_aggs],
                [str(a) for a in self.enum_aggs],
                self.layout,
            ]
        )
        return hashlib.sha1(key).hexdigest()[:16]

    def resolve_fractions(self) -> None:
        """Per fraction aggregate, each enum point's index of the state (400 if it lacks it)."""
        self.fraction_index = []
        for agg in self.enum_aggs:
            if agg.name != "fraction":
                continue
            column = []
            for point in self.points:
                if point.kind != "enum":
                    column.append(-1)
                elif agg.state in point.states:
                    column.append(point.states.index(agg.state))
                else:
                    raise bad_param(
                        "agg",
                        f"{agg} is not a state of point {point.name!r};"
                        f" its states are {', '.join(point.states)}",
                    )
            self.fraction_index.append(column)

    @property
    def stamped(self) -> bool:
        """JSON rows of buckets, whose stamps run_json makes (_Stamps) from epoch seconds."""
        return self.interval != "raw" and self.layout != "wide"

    # --- SQL -------------------------------------------------------------------------------

    def _grouped(
        self,
        sel: str,
        table: str,
        where: str,
        bucket: str,
        table_exprs: dict[str, str],
        calendar: bool,
    ) -> str:
        """Per selected point and output bucket, the aggregates over `table` (readings r or a
        rollup table h) within `where`. A calendar bucket is found as its index in the array of
        edges and leaves as the edge itself."""
        exprs = [self._agg_sql(j, table_exprs) for j in range(len(self.aggs))]
        group = ["sel.ord"] + [
            column
            for column in ("sel.enum", *(f"sel.f{k}" for k in range(len(self.fraction_index))))
            if any(column in e for e in exprs)
        ]
        columns = ", ".join(f"{e} AS v{j}" for j, e in enumerate(exprs))
        alias = table.split()[-1]
        query = (
            f"SELECT sel.ord, {bucket} AS ts, {columns} FROM {sel}"
            f" JOIN {table} ON {alias}.point_id = sel.id WHERE {where}"
            f" GROUP BY {', '.join(group)}, 2"
        )
        if not calendar:
            return query
        values = ", ".join(f"g.v{j}" for j in range(len(exprs)))
        return f"SELECT g.ord, (%(edges)s::timestamptz[])[g.ts] AS ts, {values} FROM ({query}) g"

    def _rows(self, sel: str, table: str, where: str) -> str:
        """The rollup rows of `table` (h) as they are: each is an output bucket."""
        columns = ", ".join(
            f"{self._agg_sql(j, ROLLUP_ROW_EXPR)} AS v{j}" for j in range(len(self.aggs))
        )
        return (
            f"SELECT sel.ord, h.bucket AS ts, {columns} FROM {sel}"
            f" JOIN {table} ON h.point_id = sel.id WHERE {where}"
        )

    def _agg_sql(self, column: int, table_exprs: dict[str, str]) -> str:
        kinds = {p.kind for p in self.points}
        exprs = {}
        for kind, aggs in (("number", self.number_aggs), ("enum", self.enum_aggs)):
            if kind in kinds:
                agg = aggs[column]
                slot = self._fraction_slot(aggs, column)
                exprs[kind] = table_exprs[agg.name].format(slot=slot)
        if len(set(exprs.values())) == 1:
            return next(iter(exprs.values()))
        return f"CASE WHEN sel.enum THEN {exprs['enum']} ELSE {exprs['number']} END"

    def _fraction_slot(self, aggs: list[Agg], column: int) -> int:
        return sum(1 for a in aggs[:column] if a.name == "fraction")

    def sql(self, *, paged: bool, csv_lines: bool = False) -> tuple[str, dict[str, Any]]:
        """The query; `csv_lines` (long layout) makes PostgreSQL render each CSV line itself."""
        width = len(self.aggs)
        params: dict[str, Any] = {
            "ids": [p.id for p in self.points],
            "enum": [p.kind == "enum" for p in self.points],
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
        }
        fractions = ""
        names = "id, enum"
        for slot, column in enumerate(self.fraction_index):
            params[f"f{slot}"] = column
            fractions += f", %(f{slot})s::int[]"
            names += f", f{slot}"
        sel = (
            f"unnest(%(ids)s::int[], %(enum)s::bool[]{fractions})"
            f" WITH ORDINALITY AS sel({names}, ord)"
        )
        wide = self.layout == "wide"
        inner_cursor = outer_cursor = ""
        if self.cursor is not None:
            params["c_ord"] = self.cursor.ord
            params["c_ts"] = from_micros(self.cursor.ts_us)
            if wide:
                inner_cursor = " AND r.ts > %(c_ts)s"
                outer_cursor = " WHERE s.ts > %(c_ts)s"
            else:
                inner_cursor = (
                    " AND (sel.ord > %(c_ord)s OR (sel.ord = %(c_ord)s AND r.ts > %(c_ts)s))"
                )
                outer_cursor = " WHERE (s.ord, s.ts) > (%(c_ord)s, %(c_ts)s)"
        bucket = INTERVALS[self.interval]
        if bucket is None:
            source = (
                f"SELECT sel.ord, r.ts, r.value AS v0 FROM {sel} JOIN readings r"
                f" ON r.point_id = sel.id WHERE r.ts >= %(start)s AND r.ts < %(end)s{inner_cursor}"
            )
        else:
            calendar = self.interval in CALENDAR
            spans = self.route.raw_spans(self.start, self.end)
            whole = self.route.table != READINGS and self.route.whole(self.interval)
            if calendar and (spans or not whole):  # a grouped part finds buckets among edges
                params["edges"] = list(
                    local_edges(self.start, self.end, self.interval, parse_zone(self.tz))
                )
            parts = []
            for k, (lo, hi) in enumerate(spans):
                params[f"lo{k}"], params[f"hi{k}"] = lo, hi
                where = f"r.ts >= %(lo{k})s AND r.ts < %(hi{k})s{inner_cursor}"
                parts.append(self._grouped(sel, "readings r", where, bucket, _RAW_EXPR, calendar))
            if self.route.table != READINGS:
                params["rlo"], params["rhi"] = self.route.lo, self.route.hi
                where = "h.bucket >= %(rlo)s AND h.bucket < %(rhi)s" + inner_cursor.replace(
                    "r.ts", "h.bucket"
                )
                table = f"{self.route.table} h"
                if whole:
                    parts.append(self._rows(sel, table, where))
                else:
                    on_bucket = (
                        "h.bucket" if self.interval == "1h" else bucket.replace("r.ts", "h.bucket")
                    )
                    parts.append(self._grouped(sel, table, where, on_bucket, ROLLUP_EXPR, calendar))
            source = " UNION ALL ".join(parts)
        values = ", ".join(f"s.v{j}" for j in range(width))
        micros = "(extract(epoch FROM s.ts) * 1000000)::bigint"  # exact, for the cursor
        if wide:
            arrays = ", ".join(f"array_agg(s.v{j} ORDER BY s.ord)" for j in range(width))
            query = (
                f"SELECT {micros}, {iso_sql('s.ts')}, {epoch_sql('s.ts')},"
                f" array_agg(s.ord ORDER BY s.ord), {arrays}"
                f" FROM ({source}) s{outer_cursor} GROUP BY s.ts ORDER BY s.ts"
            )
        elif csv_lines:
            params["labels"] = [csvcells.quoted(p.name) for p in self.points]
            cells = " || ',' || ".join(
                self._csv_cell(j, f"s.v{j}", "p.states") for j in range(width)
            )
            query = (
                f"SELECT (%(labels)s::text[])[s.ord] || ',' || {iso_sql('s.ts')} || ','"
                f" || {epoch_sql('s.ts')} || ',' || {cells}"
                f" FROM ({source}) s JOIN points p ON p.id = (%(ids)s::int[])[s.ord]"
                f"{outer_cursor} ORDER BY s.ord, s.ts"
            )
        elif self.stamped:
            query = (
                f"SELECT s.ord, date_part('epoch', s.ts), {values}"
                f" FROM ({source}) s{outer_cursor} ORDER BY s.ord, s.ts"
            )
        else:
            query = (
                f"SELECT s.ord, {micros}, {iso_sql('s.ts')}, {epoch_sql('s.ts')}, {values}"
                f" FROM ({source}) s{outer_cursor} ORDER BY s.ord, s.ts"
            )
        if paged and self.limit is not None:
            query += f" LIMIT {int(self.limit) + 1}"
        return query, params

    def _csv_cell(self, column: int, value: str, states: str) -> str:
        """SQL rendering one CSV cell: enum labels quoted as CSV needs, numbers as text."""
        text = f"coalesce({value}::text, '')"
        enum_agg = RAW if self.interval == "raw" else self.enum_aggs[column]
        if enum_agg.name not in LABELLED or not any(p.kind == "enum" for p in self.points):
            return text
        label = f"coalesce(({states})[{value}::int + 1], '')"
        quoted = csvcells.quoted_sql(label)
        return f"CASE WHEN p.kind = 'enum' THEN {quoted} ELSE {text} END"

    # --- shaping ---------------------------------------------------------------------------

    def converters(self) -> list[Callable[[Any], Any] | None]:
        """Per point: None when values pass through, else a function mapping a value row."""
        result: list[Callable[[Any], Any] | None] = []
        for point in self.points:
            aggs = self.aggs_for(point)
            labelled = [point.kind == "enum" and a.name in LABELLED for a in aggs]
            if not any(labelled):
                result.append(None)
            else:
                result.append(_labeller(point, labelled))
        return result

    def column_names(self) -> list[str]:
        aggs = [str(a) for a in self.aggs]
        if self.layout == "wide":
            if len(aggs) == 1:
                return ["ts", "t", *(p.name for p in self.points)]
            return ["ts", "t", *(f"{p.name}:{a}" for p in self.points for a in aggs)]
        tail = ["value"] if len(aggs) == 1 else aggs
        return (["point"] if self.layout == "long" else []) + ["ts", "t", *tail]


def pg_float(value: Any) -> Any:
    """Numbers as PostgreSQL writes them (1, not 1.0), so both CSV paths agree."""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return value


def _labeller(point: PointRef, labelled: list[bool]) -> Callable[[Any], Any]:
    def convert(values: tuple[Any, ...]) -> list[Any]:
        return [point.label(v) if lab else v for v, lab in zip(values, labelled, strict=True)]

    return convert


# The aggregates over readings `r` (energy_api.rollups.ROLLUP_EXPR: the same over rollups); sums
# scaled so that they cannot overflow (energy_ingest.rollups.scale).
_RAW_EXPR = {
    "avg": avg_sql(f"sum({scaled_sql('r.value')})", "count(*)"),
    "min": "min(r.value)",
    "max": "max(r.value)",
    "sum": unscaled_sql(f"sum({scaled_sql('r.value')})"),
    "count": "count(*)",
    "first": "(array_agg(r.value ORDER BY r.ts))[1]",
    "last": "(array_agg(r.value ORDER BY r.ts DESC))[1]",
    "fraction": "(count(*) FILTER (WHERE r.value = sel.f{slot}))::float8 / count(*)",
}


# --- execution --------------------------------------------------------------------------------


def run_json(conn: psycopg.Connection[Any], plan: Plan) -> tuple[dict[str, Any], str | None]:
    """Rows capped at plan.limit; returns (body fragment, next cursor token or None)."""
    query, params = plan.sql(paged=True)
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
    lines = _Lines(plan)
    by_ord = {
        ord_: lines(group, converters[ord_ - 1]) for ord_, group in groupby(rows, itemgetter(0))
    }
    if plan.layout == "series":
        series = [
            {"point": point.as_dict(), "agg": _agg_names(plan, point), "data": by_ord.get(i, [])}
            for i, point in enumerate(plan.points, start=1)
        ]
        return {"series": series, "rows": len(rows)}, next_token
    data = [[plan.points[i - 1].name, *line] for i, group in by_ord.items() for line in group]
    return {"columns": plan.column_names(), "data": data, "rows": len(rows)}, next_token


class _Lines:
    """One point's rows as [ISO 8601, epoch, values…]. Raw rows come stamped (ord, micros, ISO
    8601, epoch, v…); bucket rows come as (ord, epoch, v…) and are stamped here (_Stamps)."""

    def __init__(self, plan: Plan) -> None:
        self.stamps = _Stamps(parse_zone(plan.tz)) if plan.stamped else None

    def __call__(self, group: Iterable[Any], convert: Callable[[Any], Any] | None) -> list[Any]:
        stamps = self.stamps
        if stamps is None:
            if convert is None:
                return [r[2:] for r in group]
            return [[r[2], r[3], *convert(r[4:])] for r in group]
        if convert is None:
            return [stamps[r[1]] + r[2:] for r in group]
        return [[*stamps[r[1]], *convert(r[2:])] for r in group]


class _Stamps(dict[float, tuple[str, int]]):
    """A bucket's epoch seconds → (ISO 8601 in the zone, epoch), each made once: buckets repeat
    for every point, and stamping them here is cheaper than to_char on every row."""

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self.zone = zone

    def __missing__(self, epoch: float) -> tuple[str, int]:
        seconds = math.floor(epoch)  # as epoch_sql and to_char: whole seconds
        stamp = self[epoch] = (datetime.fromtimestamp(seconds, self.zone).isoformat(), seconds)
        return stamp


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
        if plan.layout == "long":  # lines rendered by PostgreSQL (Plan.sql(csv_lines=True))
            lines = [r[0] for r in rows]
        else:
            lines = [_wide_csv_line(_wide_row(plan, converters, r)) for r in rows]
        yield ("\n".join(lines) + "\n").encode()
