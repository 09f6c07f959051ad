"""Helpers for the API tests: load points, readings, the catalog and ledger rows with direct SQL
(the fixtures `db`, `api_settings`, `app` and `client` are in conftest.py)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

_files = itertools.count()


def add_point(
    conn: psycopg.Connection[Any],
    name: str,
    *,
    kind: str = "number",
    states: Iterable[str] = (),
    source: str = "siemens",
    unit: str | None = None,
    description: str | None = None,
    **catalog: Any,
) -> int:
    """A point; `catalog` sets its catalog columns (building_id, floor, unit_id, descriptor …)."""
    columns = ["source", "name", "kind", "states", "unit", "description", *catalog]
    values = [source, name, kind, list(states), unit, description, *catalog.values()]
    query = sql.SQL("INSERT INTO points ({}) VALUES ({}) RETURNING id").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    row = conn.execute(query, values).fetchone()
    assert row is not None
    return int(row[0])


def add_readings(
    conn: psycopg.Connection[Any], point_id: int, rows: Iterable[tuple[datetime, float]]
) -> None:
    with conn.cursor().copy("COPY readings (point_id, ts, value) FROM STDIN") as copy:
        for ts, value in rows:
            copy.write_row((point_id, ts, value))


def every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """Instants from start (inclusive) to end (exclusive), `step` apart in absolute time."""
    moment = start
    while moment < end:
        yield moment
        moment = moment + step


def add_file(
    conn: psycopg.Connection[Any],
    name: str = "",
    *,
    status: str = "ingested",
    source: str = "siemens",
    ingested_at: datetime | None = None,
    error: str | None = None,
) -> int:
    n = next(_files)
    name = name or f"report_{n}.csv"
    row = conn.execute(
        "INSERT INTO files (sha256, name, source, size_bytes, status, ingested_at, error)"
        " VALUES (%s, %s, %s, 100, %s, coalesce(%s, now()), %s) RETURNING id",
        (
            hashlib.sha256(f"{name}{n}".encode()).hexdigest(),
            name,
            source,
            status,
            ingested_at,
            error,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_row(conn: psycopg.Connection[Any], table: str, **values: Any) -> int:
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = conn.execute(query, list(values.values())).fetchone()
    assert row is not None
    return int(row[0])


def tag_item(
    conn: psycopg.Connection[Any], ids: dict[str, int], level: str, owner: int, *names: str
) -> None:
    for name in names:
        if f"#{name}" not in ids:
            ids[f"#{name}"] = insert_row(conn, "tags", name=name)
        conn.execute(
            sql.SQL("INSERT INTO {} ({}, tag_id) VALUES (%s, %s)").format(
                sql.Identifier(f"{level}_tags"), sql.Identifier(f"{level}_id")
            ),
            (owner, ids[f"#{name}"]),
        )


def add_catalog(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """A small resolved campus, written the way `catalog apply` leaves the tables; its ids by
    name: buildings by code, rooms as 'HU 102', devices, units by symbol, tags as '#name',
    points by name.

    Buildings HU (Hulings Hall, aliases HULINGS and HULLINGS) and GH (Goodhue Hall, GOODHUE) have
    points; WH is in the site file without points; OLD is neither (listed only on request).
    Rooms HU B44 (-1), HU 102 (1), HU 213B (2), GH 102 (1), and HU 310 (3) whose points are gone.
    Devices FCU2 (in HU B44), ELEC and AHU3 (no room), CH1 (no building), FCU9 (no points).
    Units °F (temperature), kW (power), unresolved DELTA, and % that no point uses.
    """
    ids: dict[str, int] = {}
    for code, name, aliases, in_site in (
        ("HU", "Hulings Hall", ["HULINGS", "HULLINGS"], True),
        ("GH", "Goodhue Hall", ["GOODHUE"], True),
        ("WH", "Watson Hall", [], True),
        ("OLD", "Old Gym", ["GYM"], False),
    ):
        ids[code] = insert_row(
            conn, "buildings", code=code, name=name, aliases=aliases, in_site=in_site
        )
    tag_item(conn, ids, "building", ids["HU"], "science")
    tag_item(conn, ids, "building", ids["GH"], "residence")
    for building, room, floor in (
        ("HU", "B44", -1),
        ("HU", "102", 1),
        ("HU", "213B", 2),
        ("GH", "102", 1),
        ("HU", "310", 3),
    ):
        ids[f"{building} {room}"] = insert_row(
            conn, "rooms", building_id=ids[building], name=room, floor=floor
        )
    tag_item(conn, ids, "room", ids["HU B44"], "mech")
    tag_item(conn, ids, "room", ids["HU 310"], "legacy")
    for device, building, room, kind in (
        ("FCU2", "HU", "HU B44", "FCU"),
        ("ELEC", "HU", None, "ELEC"),
        ("AHU3", "GH", None, "AHU"),
        ("CH1", None, None, "CH"),
        ("FCU9", "HU", "HU 310", "FCU"),
    ):
        ids[device] = insert_row(
            conn,
            "devices",
            name=device,
            building_id=ids[building] if building else None,
            room_id=ids[room] if room else None,
            type=kind,
        )
    tag_item(conn, ids, "device", ids["FCU2"], "fcu")
    tag_item(conn, ids, "device", ids["ELEC"], "elec", "meter")
    tag_item(conn, ids, "device", ids["AHU3"], "ahu")
    for key, canonical, symbol, quantity, name, spellings in (
        ("degree_Fahrenheit", "degree_Fahrenheit", "°F", "temperature", "degrees fahrenheit",
         ["DEG F", "degF"]),
        ("kilowatt", "kilowatt", "kW", "power", "kilowatts", ["KW", "kW"]),
        ("?DELTA", None, "DELTA", None, None, ["DELTA"]),
        ("percent", "percent", "%", "dimensionless", "percent", ["%"]),
    ):  # fmt: skip
        ids[symbol] = insert_row(
            conn,
            "units",
            key=key,
            canonical=canonical,
            symbol=symbol,
            quantity=quantity,
            name=name,
            resolved=canonical is not None,
            spellings=spellings,
        )
    hu, gh = ids["HU"], ids["GH"]
    points: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        ("HU.R102.RMT", dict(unit="DEG F", unit_id=ids["°F"], building_id=hu,
         room_id=ids["HU 102"], floor=1, descriptor="Room 102 temp", point_type="LAI"),
         ("air", "sensor", "temp", "zone")),
        ("HU.RB44.FCU2.SAT", dict(unit="DEG F", unit_id=ids["°F"], building_id=hu,
         room_id=ids["HU B44"], floor=-1, device_id=ids["FCU2"], point_type="BAV"),
         ("air", "sensor", "temp")),
        ("HU.RB44.FCU2.SP", dict(unit="DEG F", unit_id=ids["°F"], building_id=hu,
         room_id=ids["HU B44"], floor=-1, device_id=ids["FCU2"]), ("sp", "temp")),
        ("HULLINGS.ELEC.MOD1:KW", dict(unit="KW", unit_id=ids["kW"], building_id=hu,
         device_id=ids["ELEC"]), ()),
        ("HU.R213B.OCC", dict(kind="enum", states=["UNOCC", "OCC"], building_id=hu,
         room_id=ids["HU 213B"], floor=2, point_type="LENUM", defined_states=["UNOCC", "OCC"]),
         ("occ",)),
        ("GOODHUE.AHU3.SAT", dict(unit="degF", unit_id=ids["°F"], building_id=gh,
         device_id=ids["AHU3"], description="Supply air"), ("air", "sensor", "temp")),
        ("GH.R102.DT", dict(unit="DELTA", unit_id=ids["DELTA"], building_id=gh,
         room_id=ids["GH 102"], floor=1), ("temp", "zone")),
        ("CENTRAL.CH1.KW", dict(unit="kW", unit_id=ids["kW"], device_id=ids["CH1"],
         source="alc"), ()),
        ("LEGACY.PT", dict(unit="degF"), ()),
    ]  # fmt: skip
    for name, columns, tags in points:
        ids[name] = add_point(conn, name, **columns)
        tag_item(conn, ids, "point", ids[name], *tags)
    insert_row(conn, "tags", name="unused")
    conn.execute(
        "INSERT INTO catalog_site (path, sha256, content) VALUES ('site.toml', %s, '')",
        ("0" * 64,),
    )
    return ids
