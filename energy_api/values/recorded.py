"""Readings in the unit they were recorded in (store/sql/0009_unit_history.sql): for a point whose
range crosses a change of its unit, the unit its values are given in and the SQL that converts
them, or the refusal when pint (on the writers' side) found no conversion.

A point is answered in its current unit, each reading recorded in an earlier one converted by
the scale and shift the writers stored (value * scale + shift). A range wholly within an earlier
unit that cannot be converted is answered in that unit, as recorded; one across a change between
units that cannot be converted into one another is a 400 naming the point, both units and the
instant. Earlier units that mean the current one (`DEG F` before `°F`) change nothing, and a
point without earlier units in its range costs nothing: no conversion, rollups as always.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from energy_api.errors import ApiError
from energy_api.sql.points import PointRef
from energy_api.timeparse import iso


@dataclass(frozen=True)
class Span:
    """Readings of a point from `since` to `until` (None: open) recorded in `unit`, and how such
    a value is given in the point's current unit (scale and shift None: it cannot be)."""

    since: datetime | None
    until: datetime | None
    unit_id: int | None
    unit: str | None
    scale: float | None
    shift: float | None

    @property
    def as_current(self) -> bool:
        return self.scale == 1.0 and self.shift == 0.0

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return (self.since is None or self.since < end) and (
            self.until is None or self.until > start
        )

    def as_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "since": None if self.since is None else iso(self.since, zone),
            "until": None if self.until is None else iso(self.until, zone),
        }


@dataclass(frozen=True)
class Recorded:
    """How a point's values in a range are given: in `unit`, its readings recorded in the units
    of `spans` (oldest first); `converted` unless they are given as recorded."""

    point_id: int
    name: str
    unit: str | None
    spans: tuple[Span, ...]
    converted: bool

    def as_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "point": self.point_id,
            "name": self.name,
            "unit": self.unit,
            "recorded": [span.as_dict(zone) for span in self.spans],
        }


def spans(point: PointRef) -> list[Span]:
    """All of a point's spans, oldest first: its earlier units, then its current one."""
    found, since = [], None
    for e in point.earlier:
        found.append(Span(since, e.until, e.unit_id, e.unit, e.scale, e.shift))
        since = e.until
    return [*found, Span(since, None, point.unit_id, point.unit, 1.0, 0.0)]


def recorded(
    points: Sequence[PointRef], start: datetime, end: datetime, zone: ZoneInfo, param: str
) -> tuple[Recorded, ...]:
    """The points whose range [start, end) holds readings of an earlier unit, each as answered;
    a 400 (`param` names the points) for a range across units that do not convert."""
    found = []
    for point in points:
        if point.kind != "number" or not point.earlier:  # an enum's values are states
            continue
        within = tuple(s for s in spans(point) if s.overlaps(start, end))
        if all(s.as_current for s in within):
            continue
        if all(s.scale is not None for s in within):
            found.append(Recorded(point.id, point.name, point.unit, within, True))
        elif len({s.unit_id for s in within}) == 1 and within[0].unit_id is not None:
            found.append(Recorded(point.id, point.name, within[0].unit, within, False))
        else:
            raise _refusal(point, within, zone, param)
    return tuple(found)


def _refusal(point: PointRef, within: tuple[Span, ...], zone: ZoneInfo, param: str) -> ApiError:
    """Names the first change within the range where a unit on either side cannot be given in
    the point's current unit (else the end of the first span within it that cannot: never the
    last span, the current unit's)."""
    pairs = [(a, b) for a, b in itertools.pairwise(spans(point)) if a in within]
    a, b = next(
        (
            (a, b)
            for a, b in pairs
            if b in within and a.unit_id != b.unit_id and None in (a.scale, b.scale)
        ),
        next((a, b) for a, b in pairs if a.scale is None),
    )
    assert a.until is not None  # a span followed by another ends
    at = iso(a.until, zone)
    before, after = a.unit or "no unit", b.unit or "no unit"
    if b.until is None:  # b is the current unit
        why = "which cannot be converted into one another"
    else:
        odd = before if a.scale is None else after
        why = f"and {odd} cannot be converted into {point.unit or 'no unit'}, its unit now"
    return ApiError(
        400,
        "unit_not_convertible",
        f"point {point.name} (id {point.id}) was recorded in {before} before {at}"
        f" (t={int(a.until.timestamp())}) and in {after} from then on, {why}; ask for a range"
        f" that ends by {at} or starts there",
        param,
    )


def readings_sql(found: Sequence[Recorded], params: dict[str, Any]) -> str:
    """The readings `r` (point_id, ts, value) with the values of `found` converted: the table
    itself when nothing is, else a subquery PostgreSQL flattens into the query around it (the
    primary key still finds each point's range); its parameters are added to `params`."""
    cases: list[str] = []
    for r in found:
        for span in r.spans if r.converted else ():
            if span.as_current:
                continue
            k = len(cases)
            params |= {f"uc{k}": r.point_id, f"uc{k}s": span.scale, f"uc{k}o": span.shift}
            test = [f"r0.point_id = %(uc{k})s::int"]
            if span.since is not None:
                params[f"uc{k}a"] = span.since
                test.append(f"r0.ts >= %(uc{k}a)s::timestamptz")
            if span.until is not None:
                params[f"uc{k}b"] = span.until
                test.append(f"r0.ts < %(uc{k}b)s::timestamptz")
            value = f"r0.value * %(uc{k}s)s::float8 + %(uc{k}o)s::float8"
            cases.append(f"WHEN {' AND '.join(test)} THEN {value}")
    if not cases:
        return "readings r"
    return (
        f"(SELECT r0.point_id, r0.ts, CASE {' '.join(cases)} ELSE r0.value END AS value"
        " FROM readings r0) r"
    )


def header(found: Sequence[Recorded], zone: ZoneInfo) -> str:
    """meta.unit_changes as an HTTP header value (JSON, ASCII: `°` as \\u00b0)."""
    return json.dumps([r.as_dict(zone) for r in found], separators=(",", ":"))
