"""Catalog filters: a parameter's code, alias or name → catalog ids, or a 400 naming the value.

A value that names nothing is refused (`not_in_catalog`) rather than answered with an empty
list: a misspelt building must not look like a building without points. A name is always a name
and an id always an id, in parameters of their own: `room=102` is the rooms named 102 (room
names are often numbers), `room_id=3` the room whose id is 3; `building_id`, `device_id` and
`unit_id` likewise. A number that names nothing but is some row's id is refused with the `_id`
parameter that would have meant it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql import catalog
from energy_api.sql.points import POINT_STATUSES, PointFilter
from energy_api.sql.where import Conn
from energy_ingest.catalog.vocabulary import BuildingIndex

MAX_ID = 2**31 - 1


def is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) < 10


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "…")


def not_in_catalog(param: str, value: str, what: str, route: str, hint: str = "") -> ApiError:
    return bad_param(
        param,
        f"{param}={_shown(value)} names no {what}; list them with /api/v2/{route}{hint}",
        "not_in_catalog",
    )


def floor(params: Params) -> int | None:
    return params.int_or_none("floor", *catalog.FLOOR_RANGE)


def check_ids(params: Params, *names: str) -> None:
    """Each `<name>_id` given is a whole number (refused before any query, like floor)."""
    for name in names:
        params.int_or_none(f"{name}_id", 1, MAX_ID)


def _named_value(params: Params, param: str) -> str | None:
    """The name parameter's value (None: absent or empty); refused beside its `_id`."""
    value = params.get(param)
    if value == "":
        value = None
    if value is not None and params.get(f"{param}_id") not in (None, ""):
        raise bad_param(
            f"{param}_id",
            f"give {param} (a name) or {param}_id (an id), not both",
            "name_and_id",
        )
    return value


def _by_id(conn: Conn, params: Params, param: str, table: str) -> tuple[int, ...] | None:
    """The row an explicit `<param>_id` names (None: absent or empty); 400 for no such row."""
    name = f"{param}_id"
    number = params.int_or_none(name, 1, MAX_ID)
    if number is None:
        return None
    if catalog.label_of(conn, table, number) is None:
        raise not_in_catalog(name, str(number), f"{param} (by id)", table)
    return (number,)


def _id_hint(conn: Conn, value: str, param: str, table: str) -> str:
    """For a number that names nothing: the row whose id it is, and how to ask for it."""
    if not is_id(value):
        return ""
    label = catalog.label_of(conn, table, int(value))
    if label is None:
        return ""
    return f"; {param} id {int(value)} is {label}: to mean it, use {param}_id={int(value)}"


def building_ids(conn: Conn, params: Params) -> tuple[int, ...] | None:
    """The building a code, name or alias names (any case and spacing), or building_id; None if
    neither is given."""
    value = _named_value(params, "building")
    if value is None:
        return _by_id(conn, params, "building", "buildings")
    found = BuildingIndex(catalog.building_labels(conn)).named(value)  # code, name, then alias
    if found:
        return tuple(b.id for b in found)
    hint = _id_hint(conn, value, "building", "buildings")
    raise not_in_catalog("building", value, "building (by code, name or alias)", "buildings", hint)


def named_ids(
    conn: Conn,
    params: Params,
    param: str,
    table: str,
    buildings: Sequence[int] | None,
) -> tuple[int, ...] | None:
    """Rooms or devices by name (any case; in every building unless `buildings`), or by
    `<param>_id`; None if neither is given."""
    value = _named_value(params, param)
    if value is None:
        return _by_id(conn, params, param, table)
    rows = catalog.find_named(conn, table, value, buildings)
    if not rows:
        within = " in that building" if buildings is not None else ""
        hint = _id_hint(conn, value, param, table)
        raise not_in_catalog(param, value, f"{param} (by name){within}", table, hint)
    return tuple(sorted(r.id for r in rows))


def tag_names(conn: Conn, values: Iterable[str], param: str = "tag") -> tuple[str, ...]:
    """The stored names of the tags asked for (any case); every unknown one is named."""
    asked = list(dict.fromkeys(v for v in values if v != ""))
    if not asked:
        return ()
    known = catalog.tags_named(conn, asked)
    unknown = [v for v in asked if v.lower() not in known]
    if unknown:
        listed = ", ".join(_shown(v) for v in unknown)
        raise bad_param(
            param,
            f"{param} {listed}: no such tag{'s' if len(unknown) > 1 else ''};"
            " list them with /api/v2/tags",
            "not_in_catalog",
        )
    return tuple(known[v.lower()] for v in asked)


def unit_ids(conn: Conn, params: Params) -> tuple[tuple[int, ...] | None, str | None]:
    """Units by symbol, key or any spelling seen, or by unit_id; the raw value also matches
    points that have no resolved unit by the unit their trend report gave."""
    value = _named_value(params, "unit")
    if value is None:
        return _by_id(conn, params, "unit", "units"), None
    ids = catalog.units_matching(conn, value)
    if not ids and not catalog.raw_unit_used(conn, value):
        hint = _id_hint(conn, value, "unit", "units")
        raise not_in_catalog("unit", value, "unit (by symbol, key or spelling)", "units", hint)
    return ids, value


def quantity(conn: Conn, params: Params) -> str | None:
    value = params.get("quantity")
    if value is None or value == "":
        return None
    known = catalog.quantities(conn)
    if value.lower() not in {q.lower() for q in known}:
        raise bad_param(
            "quantity",
            f"quantity={_shown(value)} is no unit's quantity; the units have"
            f" {', '.join(known) or 'none'} (see /api/v2/units)",
            "not_in_catalog",
        )
    return value


def flag(params: Params, name: str) -> bool | None:
    """A true/false parameter; None when absent."""
    value = params.choice(name, ["true", "false"])
    return None if value is None else value == "true"


def point_filter(conn: Conn, params: Params, kind: str | None) -> PointFilter:
    on_floor = floor(params)  # the one check that needs no query goes first
    buildings = building_ids(conn, params)
    units, raw_unit = unit_ids(conn, params)
    return PointFilter(
        q=params.get("q"),
        name=params.get("name"),
        source=params.get("source"),
        kind=kind,
        building_ids=buildings,
        floor=on_floor,
        room_ids=named_ids(conn, params, "room", "rooms", buildings),
        device_ids=named_ids(conn, params, "device", "devices", buildings),
        tags=tag_names(conn, params.all("tag")),
        unit_ids=units,
        unit_raw=raw_unit,
        quantity=quantity(conn, params),
        status=params.choice("status", POINT_STATUSES),
        resolved=flag(params, "resolved"),
        retired=flag(params, "retired"),
    )
