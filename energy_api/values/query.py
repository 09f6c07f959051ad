"""The SQL of a /values plan: readings or rollup rows per point and bucket, stamped for JSON or
rendered as CSV lines by PostgreSQL."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from energy_api import csvcells
from energy_api.sql.times import epoch_sql, iso_sql
from energy_api.values.plan import LABELLED, RAW, Agg, Plan
from energy_api.values.recorded import readings_sql
from energy_api.values.rollups import (
    READINGS,
    ROLLUP_EXPR,
    ROLLUP_ROW_EXPR,
    range_sql,
    table_sql,
)
from energy_ingest.query.search import Predicate
from energy_ingest.rollups.calendar import CALENDAR, local_edges
from energy_ingest.rollups.hours import day_range_sql
from energy_ingest.rollups.scale import avg_sql, scaled_sql, unscaled_sql
from energy_ingest.store.binary import from_us

Query = tuple[sql.Composed, dict[str, Any]]  # a query and its parameters

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

# The aggregates over readings `r` (energy_api.values.rollups.ROLLUP_EXPR: the same over rollups);
# sums scaled so that they cannot overflow (energy_ingest.rollups.scale).
RAW_EXPR = {
    "avg": avg_sql(f"sum({scaled_sql('r.value')})", "count(*)"),
    "min": "min(r.value)",
    "max": "max(r.value)",
    "sum": unscaled_sql(f"sum({scaled_sql('r.value')})"),
    "count": "count(*)",
    "coverage": "count(*)",  # the count; coverage_sql makes it a share of the expected readings
    "first": "(array_agg(r.value ORDER BY r.ts))[1]",
    "last": "(array_agg(r.value ORDER BY r.ts DESC))[1]",
    "fraction": "(count(*) FILTER (WHERE r.value = sel.f{slot}))::float8 / count(*)",
}


def _grouped(
    plan: Plan,
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
    exprs = [_agg_sql(plan, j, table_exprs) for j in range(len(plan.aggs))]
    group = ["sel.ord"] + [
        column
        for column in ("sel.enum", *(f"sel.f{k}" for k in range(len(plan.fraction_index))))
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


def _rows(plan: Plan, sel: str, table: str, where: str) -> str:
    """The rollup rows of `table` (h) as they are: each is an output bucket."""
    columns = ", ".join(
        f"{_agg_sql(plan, j, ROLLUP_ROW_EXPR)} AS v{j}" for j in range(len(plan.aggs))
    )
    return (
        f"SELECT sel.ord, h.bucket AS ts, {columns} FROM {sel}"
        f" JOIN {table} ON h.point_id = sel.id WHERE {where}"
    )


def _agg_sql(plan: Plan, column: int, table_exprs: dict[str, str]) -> str:
    kinds = {p.kind for p in plan.points}
    exprs = {}
    for kind, aggs in (("number", plan.number_aggs), ("enum", plan.enum_aggs)):
        if kind in kinds:
            agg = aggs[column]
            slot = _fraction_slot(aggs, column)
            exprs[kind] = table_exprs[agg.name].format(slot=slot)
    if len(set(exprs.values())) == 1:
        return next(iter(exprs.values()))
    return f"CASE WHEN sel.enum THEN {exprs['enum']} ELSE {exprs['number']} END"


# Each bucket's next edge from its start s.ts: calendar buckets in the plan's zone, so a local day
# is 23 or 25 hours long on DST days and a month has its own days.
NEXT_EDGE = {
    "15min": "s.ts + interval '15 minutes'",
    "30min": "s.ts + interval '30 minutes'",
    "1h": "s.ts + interval '1 hour'",
    "1d": "((s.ts AT TIME ZONE %(tz)s) + interval '1 day') AT TIME ZONE %(tz)s",
    "1w": "((s.ts AT TIME ZONE %(tz)s) + interval '7 days') AT TIME ZONE %(tz)s",
    "1mo": "((s.ts AT TIME ZONE %(tz)s) + interval '1 month') AT TIME ZONE %(tz)s",
}


def value_sql(plan: Plan, column: int) -> str:
    """Output column `column` of a row s: its value, or for coverage the share of the expected
    readings its count is: least(1, n × interval_s / seconds of the bucket within [start, end)),
    null while the point's interval is unknown (points.interval_s, learned by the evaluator)."""
    value = f"s.v{column}"
    if plan.aggs[column].name != "coverage":
        return value
    length = (
        f"date_part('epoch', least({NEXT_EDGE[plan.interval]}, %(end)s)"
        " - greatest(s.ts, %(start)s))"
    )
    # a scalar subquery of no row is null: LEAST alone would take a null share for 1
    return (
        f"(SELECT least(1, {value} * pc.interval_s / nullif({length}, 0)) FROM points pc"
        " WHERE pc.id = (%(ids)s::int[])[s.ord] AND pc.interval_s IS NOT NULL)"
    )


def _fraction_slot(aggs: tuple[Agg, ...], column: int) -> int:
    return sum(1 for a in aggs[:column] if a.name == "fraction")


def plan_sql(plan: Plan, *, paged: bool, csv_lines: bool = False) -> tuple[str, dict[str, Any]]:
    """The query; `csv_lines` (long layout) makes PostgreSQL render each CSV line itself."""
    width = len(plan.aggs)
    params, sel = _inputs(plan)
    readings = readings_sql(plan.recorded, params)
    wide = plan.layout == "wide"
    inner_cursor = outer_cursor = ""
    if plan.cursor is not None:
        params["c_ord"] = plan.cursor.ord
        params["c_ts"] = from_us(plan.cursor.ts_us)
        if wide:
            inner_cursor = " AND r.ts > %(c_ts)s"
            outer_cursor = " WHERE s.ts > %(c_ts)s"
        else:
            inner_cursor = " AND (sel.ord > %(c_ord)s OR (sel.ord = %(c_ord)s AND r.ts > %(c_ts)s))"
            outer_cursor = " WHERE (s.ord, s.ts) > (%(c_ord)s, %(c_ts)s)"
    bucket = INTERVALS[plan.interval]
    if bucket is None:
        source = (
            f"SELECT sel.ord, r.ts, r.value AS v0 FROM {sel} JOIN {readings}"
            f" ON r.point_id = sel.id WHERE r.ts >= %(start)s AND r.ts < %(end)s{inner_cursor}"
        )
    else:
        calendar = plan.interval in CALENDAR
        spans = plan.route.raw_spans(plan.start, plan.end)
        whole = plan.route.table != READINGS and plan.route.whole(plan.interval)
        if calendar and (spans or not whole):  # a grouped part finds buckets among edges
            params["edges"] = list(local_edges(plan.start, plan.end, plan.interval, plan.zone))
        parts = []
        for k, (lo, hi) in enumerate(spans):
            params[f"lo{k}"], params[f"hi{k}"] = lo, hi
            where = f"r.ts >= %(lo{k})s AND r.ts < %(hi{k})s{inner_cursor}"
            parts.append(_grouped(plan, sel, readings, where, bucket, RAW_EXPR, calendar))
        if plan.route.table != READINGS:
            params["rlo"], params["rhi"] = plan.route.lo, plan.route.hi
            where = range_sql(plan.route.table) + inner_cursor.replace("r.ts", "h.bucket")
            exprs = ROLLUP_ROW_EXPR if whole else ROLLUP_EXPR
            used = " ".join([where, *(_agg_sql(plan, j, exprs) for j in range(width))])
            table = table_sql(plan.route.table, used)
            if whole:
                parts.append(_rows(plan, sel, table, where))
            else:
                on_bucket = (
                    "h.bucket" if plan.interval == "1h" else bucket.replace("r.ts", "h.bucket")
                )
                parts.append(_grouped(plan, sel, table, where, on_bucket, ROLLUP_EXPR, calendar))
        source = " UNION ALL ".join(parts)
    values = ", ".join(value_sql(plan, j) for j in range(width))
    micros = "(extract(epoch FROM s.ts) * 1000000)::bigint"  # exact, for the cursor
    if wide:
        arrays = ", ".join(f"array_agg({value_sql(plan, j)} ORDER BY s.ord)" for j in range(width))
        query = (
            f"SELECT {micros}, {iso_sql('s.ts')}, {epoch_sql('s.ts')},"
            f" array_agg(s.ord ORDER BY s.ord), {arrays}"
            f" FROM ({source}) s{outer_cursor} GROUP BY s.ts ORDER BY s.ts"
        )
    elif csv_lines:
        params["labels"] = [csvcells.quoted(p.name) for p in plan.points]
        cells = " || ',' || ".join(
            _csv_cell_sql(plan, j, value_sql(plan, j), "p.states") for j in range(width)
        )
        query = (
            f"SELECT (%(labels)s::text[])[s.ord] || ',' || {iso_sql('s.ts')} || ','"
            f" || {epoch_sql('s.ts')} || ',' || {cells}"
            f" FROM ({source}) s JOIN points p ON p.id = (%(ids)s::int[])[s.ord]"
            f"{outer_cursor} ORDER BY s.ord, s.ts"
        )
    elif plan.stamped:
        query = (
            f"SELECT s.ord, date_part('epoch', s.ts), {values}"
            f" FROM ({source}) s{outer_cursor} ORDER BY s.ord, s.ts"
        )
    else:
        query = (
            f"SELECT s.ord, {micros}, {iso_sql('s.ts')}, {epoch_sql('s.ts')}, {values}"
            f" FROM ({source}) s{outer_cursor} ORDER BY s.ord, s.ts"
        )
    if paged and plan.limit is not None:
        query += f" LIMIT {int(plan.limit) + 1}"
    return query, params


def hours_days_sql(plan: Plan, arrays: list[str]) -> tuple[str, dict[str, Any]]:
    """The day rows of readings_hours holding the plan's whole hours (its route's [lo, hi)):
    ord, the day's epoch seconds, and n and `arrays` in binary (array_send), by point and day
    (energy_api.values.columns)."""
    params, sel = _inputs(plan)
    params["rlo"], params["rhi"] = plan.route.lo, plan.route.hi
    columns = "".join(f", array_send(d.{a})" for a in ["n", *arrays])
    days = day_range_sql("%(rlo)s::timestamptz", "%(rhi)s", "d")
    query = (
        f"SELECT sel.ord, date_part('epoch', d.day){columns} FROM {sel}"
        f" JOIN readings_hours d ON d.point_id = sel.id WHERE {days} ORDER BY sel.ord, d.day"
    )
    return query, params


def per_point_sql(plan: Plan, stored: list[str]) -> tuple[str, dict[str, Any]]:
    """A JSON page's rows as a row per point: ord, then its instants and `stored` columns as
    binary arrays (array_send) in time order, read by the primary key point by point, from the
    page's cursor on (energy_api.values.columns). Raw plans read readings (ts and value), others
    the rollup rows that are their whole buckets (bucket, n and the `stored` columns)."""
    params, sel = _inputs(plan)
    if plan.interval == "raw":
        table, at, names = readings_sql(plan.recorded, params), "r.ts", ["ts", "value"]
        where = "r.ts >= %(start)s AND r.ts < %(end)s"
    else:
        params["rlo"], params["rhi"] = plan.route.lo, plan.route.hi
        table, at, names = f"{plan.route.table} r", "r.bucket", ["bucket", "n", *stored]
        where = "r.bucket >= %(rlo)s AND r.bucket < %(rhi)s"
    skip = ""
    if plan.cursor is not None:
        params["c_ord"], params["c_ts"] = plan.cursor.ord, from_us(plan.cursor.ts_us)
        where += f" AND (sel.ord > %(c_ord)s OR {at} > %(c_ts)s)"
        skip = " WHERE sel.ord >= %(c_ord)s"
    arrays = ", ".join(f"array_send(array_agg(x.{a}))" for a in names)
    columns = ", ".join(f"r.{a}" for a in names)
    return (
        f"SELECT sel.ord, x.* FROM {sel}, LATERAL (SELECT {arrays} FROM (SELECT {columns}"
        f" FROM {table} WHERE r.point_id = sel.id AND {where} ORDER BY {at}) x) x{skip}"
        " ORDER BY sel.ord"
    ), params


def matching_sql(plan: Plan, matches: Predicate, *, only_matching: bool) -> Query:
    """A raw plan's readings as the legacy API answers them: (epoch seconds, value, whether the
    reading matches), `matches` being a search over the reading `x` and its point `p`
    (energy_ingest.query.search); `only_matching` keeps only those that do."""
    readings, params = _matching(plan, matches)
    query = sql.SQL("SELECT floor(date_part('epoch', x.ts))::bigint, x.value, {} FROM {}").format(
        matches.sql, readings
    )
    if only_matching:
        query += sql.SQL(" WHERE {}").format(matches.sql)
    return query + sql.SQL(" ORDER BY x.ord, x.ts"), params


def matching_count_sql(plan: Plan, matches: Predicate) -> Query:
    """How many of a raw plan's readings match `matches` (as in matching_sql)."""
    readings, params = _matching(plan, matches)
    return sql.SQL("SELECT count(*) FROM {} WHERE {}").format(readings, matches.sql), params


def _matching(plan: Plan, matches: Predicate) -> Query:
    """A raw plan's readings `x` (ord, id, ts, value) joined to their points `p`."""
    params, sel = _inputs(plan)
    table = readings_sql(plan.recorded, params)
    source = (
        f"SELECT sel.ord, sel.id, r.ts, r.value FROM {sel} JOIN {table} ON r.point_id = sel.id"
        " WHERE r.ts >= %(start)s AND r.ts < %(end)s"
    )
    readings = sql.SQL("(" + source + ") x JOIN points p ON p.id = x.id")
    return sql.Composed([readings]), {**params, **matches.params}


def _inputs(plan: Plan) -> tuple[dict[str, Any], str]:
    """The plan's parameters, and its points as rows `sel`: id, enum, f0… (each fraction's
    state index) and ord (the 1-based place). One point is a row of constants, so PostgreSQL
    reads its readings by the primary key in time order, streaming from the first row; the
    rows of several points are sorted."""
    params: dict[str, Any] = {
        "ids": [p.id for p in plan.points],
        "enum": [p.kind == "enum" for p in plan.points],
        "start": plan.start,
        "end": plan.end,
        "tz": plan.zone.key,
    }
    arrays = {"id": "%(ids)s::int[]", "enum": "%(enum)s::bool[]"}
    for slot, column in enumerate(plan.fraction_index):
        params[f"f{slot}"] = list(column)
        arrays[f"f{slot}"] = f"%(f{slot})s::int[]"
    if len(plan.points) == 1:
        columns = ", ".join(f"({array})[1] AS {name}" for name, array in arrays.items())
        return params, f"(SELECT {columns}, 1::bigint AS ord) sel"
    unnested = f"unnest({', '.join(arrays.values())})"
    return params, f"{unnested} WITH ORDINALITY AS sel({', '.join(arrays)}, ord)"


def _csv_cell_sql(plan: Plan, column: int, value: str, states: str) -> str:
    """SQL rendering one CSV cell: enum labels quoted as CSV needs, numbers as text."""
    text = f"coalesce({value}::text, '')"
    enum_agg = RAW if plan.interval == "raw" else plan.enum_aggs[column]
    if enum_agg.name not in LABELLED or not any(p.kind == "enum" for p in plan.points):
        return text
    label = f"coalesce(({states})[{value}::int + 1], '')"
    quoted = csvcells.quoted_sql(label)
    return f"CASE WHEN p.kind = 'enum' THEN {quoted} ELSE {text} END"
