"""Catalog filters: a parameter's id, code, alias or name → catalog ids, or a 400 naming the value.

A value that names nothing is refused (`not_in_catalog`) rather than answered with an empty
list: a misspelt building must not look like a building without points. A digits-only value is
an id or a name; when it is both, for different rows, the answer is `ambiguous_<what>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql import catalog
from energy_api.sql.points import POINT_STATUSES, PointFilter
from energy_api.sql.where import Conn
from energy_ingest.catalog.vocabulary import BuildingIndex


def is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) < 10


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "…")


def not_in_catalog(param: str, value: str, what: str, route: str) -> ApiError:
    return bad_param(
        param,
        f"{param}={_shown(value)} names no {what}; list them with /api/v2/{route}",
        "not_in_catalog",
    )


def floor(params: Params) -> int | None:
    return params.int_or_none("floor", *catalog.FLOOR_RANGE)


def building_ids(conn: Conn, params: Params, param: str = "building") -> tuple[int, ...] | None:
    """The building an id, code, name or alias names (any case and spacing), or None if absent."""
    value = params.get(param)
    if value is None or value == "":
        return None
    buildings = catalog.building_labels(conn)
    if is_id(value) and any(b.id == int(value) for b in buildings):
        return (int(value),)
    found = BuildingIndex(buildings).named(value)  # a code beats a name, a name an alias
    if found:
        return tuple(b.id for b in found)
    raise not_in_catalog(param, value, "building (by id, code, name or alias)", "buildings")


def named_ids(
    conn: Conn,
    params: Params,
    param: str,
    table: str,
    buildings: Sequence[int] | None,
) -> tuple[int, ...] | None:
    """Rooms or devices by id or name (any case), within `buildings` when given."""
    value = params.get(param)
    if value is None or value == "":
        return None
    what = table.removesuffix("s")
    rows = catalog.find_named(conn, table, value, int(value) if is_id(value) else None, buildings)
    by_id = {r.id for r in rows if is_id(value) and r.id == int(value)}
    by_name = {r.id for r in rows if r.name.lower() == value.lower()}
    if by_id and by_name and by_id != by_name:
        as_id = ", ".join(r.label() for r in rows if r.id in by_id)
        as_name = ", ".join(f"{r.label()} (id {r.id})" for r in rows if r.id in by_name)
        raise bad_param(
            param,
            f"{param}={value!r} is ambiguous: the id of {what} {as_id} and the name of"
            f" {what} {as_name}; add building to say which",
            f"ambiguous_{what}",
        )
    found = by_id or by_name
    if not found:
        within = " in that building" if buildings is not None else ""
        raise not_in_catalog(param, value, f"{what} (by id or name){within}", table)
    return tuple(sorted(found))


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
    """Units by id, symbol, key or any spelling seen; the raw value also matches points that
    have no resolved unit by the unit their trend report gave."""
    value = params.get("unit")
    if value is None or value == "":
        return None, None
    ids = catalog.units_matching(conn, value, int(value) if is_id(value) else None)
    if not ids and not catalog.raw_unit_used(conn, value):
        raise not_in_catalog("unit", value, "unit (by id, symbol, key or spelling)", "units")
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
