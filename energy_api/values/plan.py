"""What decides the rows of a /values answer: points, range, zone, interval, aggregates, layout,
cursor, which table answers (energy_api.values.rollups) and the units readings were recorded in
(energy_api.values.recorded)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from energy_api.errors import bad_param
from energy_api.sql.points import PointRef
from energy_api.values.recorded import Recorded, recorded
from energy_api.values.rollups import RAW_ROUTE, Route
from energy_ingest.store.binary import from_us, to_us

NUMBER_AGGS = ("avg", "min", "max", "sum", "count", "first", "last", "coverage")
ENUM_AGGS = ("last", "first", "count", "coverage", "fraction:<STATE>")
# coverage: the share of a bucket's expected readings that are stored, from the point's interval
# (energy_api.values.query.coverage_sql); it needs buckets, so never interval=raw
COVERAGE = "coverage"
LABELLED = {"raw", "first", "last"}  # enum results that are state labels, not numbers
LAYOUTS = ("series", "long", "wide")
UTC_ZONE = ZoneInfo("UTC")


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
        raw = orjson.dumps([self.digest, to_us(self.start), to_us(self.end), self.ord, self.ts_us])
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
            return cls(digest, from_us(start), from_us(end), ord_, ts_us)
        except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
            raise bad_param(
                "cursor", "cursor is not one this API issued; use meta.next as it was given"
            ) from None


@dataclass(frozen=True)
class Plan:
    """Everything that decides the rows of a /values answer, made once (Plan.build)."""

    points: tuple[PointRef, ...]
    start: datetime
    end: datetime
    zone: ZoneInfo  # the session's TimeZone too: its name is zone.key
    interval: str
    number_aggs: tuple[Agg, ...]
    enum_aggs: tuple[Agg, ...]
    layout: str
    cursor: Cursor | None = None
    limit: int | None = None
    fraction_index: tuple[tuple[int, ...], ...] = ()
    route: Route = RAW_ROUTE  # which table answers the whole buckets (energy_api.values.rollups)
    recorded: tuple[Recorded, ...] = ()  # points with readings of an earlier unit in the range

    @classmethod
    def build(
        cls,
        points: Sequence[PointRef],
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
        interval: str,
        aggs: tuple[Sequence[Agg], Sequence[Agg]],
        layout: str,
        *,
        cursor: Cursor | None = None,
        limit: int | None = None,
        route: Route = RAW_ROUTE,
        param: str = "points",
    ) -> Plan:
        """The plan; a 400 when a fraction names a state that an enum point lacks, or a point's
        range crosses units that do not convert (`param` names the points)."""
        number_aggs, enum_aggs = tuple(aggs[0]), tuple(aggs[1])
        found = recorded(points, start, end, zone, param)
        if any(r.converted for r in found):  # a rollup bucket may mix units: readings answer
            route = RAW_ROUTE
        return cls(
            tuple(points),
            start,
            end,
            zone,
            interval,
            number_aggs,
            enum_aggs,
            layout,
            cursor,
            limit,
            _fraction_index(points, enum_aggs),
            route,
            found,
        )

    @classmethod
    def raw(
        cls, points: Sequence[PointRef], start: datetime, end: datetime, param: str = "points"
    ) -> Plan:
        """The readings themselves of `points` in [start, end), in UTC."""
        aggs = ((RAW,), (RAW,))
        return cls.build(points, start, end, UTC_ZONE, "raw", aggs, "long", param=param)

    def each(self) -> Iterator[Plan]:
        """The plan of each point alone, in order: one read by its primary key, from the first
        row (energy_api.values.query), where the rows of several points are sorted first."""
        for i, point in enumerate(self.points):
            fractions = tuple((column[i],) for column in self.fraction_index)
            own = tuple(r for r in self.recorded if r.point_id == point.id)
            yield replace(self, points=(point,), fraction_index=fractions, recorded=own)

    def point_dict(self, point: PointRef) -> dict[str, Any]:
        """The point as a series names it, with the unit its values are given in."""
        shown = point.as_dict()
        for r in self.recorded:
            if r.point_id == point.id:
                shown["unit"] = r.unit
        return shown

    @property
    def aggs(self) -> tuple[Agg, ...]:
        """The aggregate per output column (number points decide when kinds are mixed)."""
        if self.interval == "raw":
            return (RAW,)
        if any(p.kind == "number" for p in self.points):
            return self.number_aggs
        return self.enum_aggs

    def aggs_for(self, point: PointRef) -> tuple[Agg, ...]:
        if self.interval == "raw":
            return (RAW,)
        return self.enum_aggs if point.kind == "enum" else self.number_aggs

    def paged(self, max_rows: int | None, max_bytes: int) -> Plan:
        """The plan of a JSON page: as many rows as fit in `max_bytes` at their longest
        (row_bytes), at most `max_rows`; never none."""
        rows = max(1, max_bytes // self.row_bytes())
        return replace(self, limit=rows if max_rows is None else min(rows, max_rows))

    def row_bytes(self) -> int:
        """The most bytes of JSON one row of this plan takes: [ISO 8601 with an offset of
        seconds, epoch, values…] with its comma, in the long layout the point's name too, in
        the wide one every point's values."""
        values = [sum(_value_bytes(p, a) for a in self.aggs_for(p)) for p in self.points]
        name = max(len(orjson.dumps(p.name)) + 1 for p in self.points)
        shown = {"wide": sum(values), "long": max(values) + name}.get(self.layout, max(values))
        return ROW_BYTES + shown

    def digest(self) -> str:
        key = orjson.dumps(
            [
                [p.id for p in self.points],
                self.zone.key,
                self.interval,
                [str(a) for a in self.number_aggs],
                [str(a) for a in self.enum_aggs],
                self.layout,
            ]
        )
        return hashlib.sha1(key).hexdigest()[:16]

    @property
    def stamped(self) -> bool:
        """JSON rows of buckets, stamped from epoch seconds in energy_api.values.rows."""
        return self.interval != "raw" and self.layout != "wide"

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


# A row's brackets and comma, '"1900-01-01T00:00:00+05:53:28",' and '-2208988800,'
ROW_BYTES = 3 + 31 + 12
NUMBER_BYTES = 25  # a float as orjson writes it (-2.2250738585072014e-308) and a comma


def _value_bytes(point: PointRef, agg: Agg) -> int:
    """The most bytes one value of `agg` over `point` takes in JSON, with its comma."""
    if point.kind == "enum" and agg.name in LABELLED:
        longest = max((len(orjson.dumps(state)) for state in point.states), default=0)
        return max(NUMBER_BYTES, longest + 1)
    return NUMBER_BYTES


def _fraction_index(
    points: Sequence[PointRef], enum_aggs: tuple[Agg, ...]
) -> tuple[tuple[int, ...], ...]:
    """Per fraction aggregate, each enum point's index of the state (400 if it lacks it)."""
    index = []
    for agg in enum_aggs:
        if agg.name != "fraction":
            continue
        column = []
        for point in points:
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
        index.append(tuple(column))
    return tuple(index)


def _labeller(point: PointRef, labelled: list[bool]) -> Callable[[Any], Any]:
    def convert(values: tuple[Any, ...]) -> list[Any]:
        return [point.label(v) if lab else v for v, lab in zip(values, labelled, strict=True)]

    return convert
