"""The catalog in a real PostgreSQL: exports and trends in either order, re-import, change lines,
`apply_site`, stable ids — with the example site file and the shared samples."""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rollup_helpers import rollup_differences

from energy_ingest.catalog.site import parse_site
from energy_ingest.pipeline import load, parse_file
from energy_ingest.write.applied_site import apply_site
from energy_ingest.write.ledger import FileInfo

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SITE = ROOT / "examples" / "site.toml"
DEFINITIONS = DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"
POINTS_LIST = DATA / "REAL_webctrl_points_list_report_hulings_excerpt.csv"
_names = itertools.count()


def put(conn: psycopg.Connection[Any], data: bytes, name: str = "") -> Any:
    """A file through the same parse-and-load path the daemon and `import` use."""
    name = name or f"file{next(_names)}.csv"
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, "siemens", len(data))
    fp = io.BytesIO(data)
    report = parse_file(fp, info.name, tz="America/Chicago", hint=None)
    return load(conn, report, info, tz="America/Chicago")


def apply(conn: psycopg.Connection[Any], text: str | None = None) -> Any:
    text = SITE.read_text() if text is None else text
    return apply_site(conn, parse_site(text, SITE), text)


def trend(points: dict[str, list[str]], day: int = 1) -> bytes:
    """A small Siemens Insight trend report of the given points and their cells, on 11/`day`/2018."""
    lines = ['"Key            Name:Suffix                                Trend Definitions Used"']
    for i, name in enumerate(points, 1):
        lines.append(f'"Point_{i}:","{name}","","15 minutes"')
    lines.append('"Time Interval:","15 Minutes"')
    lines.append(f'"Date Range:","11/{day}/2018 00:00:00 - 11/{day}/2018 01:00:00"')
    lines.append('"Report Timings:","All Hours"')
    lines.append('""')
    lines.append('"<>Date","Time",' + ",".join(f'"Point_{i}"' for i in range(1, len(points) + 1)))
    count = max(len(v) for v in points.values())
    for row in range(count):
        cells = ",".join(f'"{v[row]}"' for v in points.values())
        lines.append(f'"11/{day}/2018","00:{15 * row:02d}:00",{cells}')
    lines.append(
        '"********************************* End of Report *********************************"'
    )
    return ("\r\n".join(lines) + "\r\n").encode()


def catalog(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Everything the catalog says, without ids (which depend on the order things arrived)."""
    return conn.execute(
        """
        SELECT p.source, p.name, p.kind, p.states, b.code, r.name, p.floor, d.name, u.key,
               p.descriptor, p.point_type, p.defined_states, p.origins,
               ARRAY(SELECT t.name FROM point_tags pt JOIN tags t ON t.id = pt.tag_id
                     WHERE pt.point_id = p.id ORDER BY 1),
               ARRAY(SELECT r2.ts::text || '=' || r2.value FROM readings r2
                     WHERE r2.point_id = p.id ORDER BY r2.ts)
        FROM points p LEFT JOIN buildings b ON b.id = p.building_id
        LEFT JOIN rooms r ON r.id = p.room_id LEFT JOIN devices d ON d.id = p.device_id
        LEFT JOIN units u ON u.id = p.unit_id ORDER BY p.source, p.name, p.scope
        """
    ).fetchall()


def point(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
    row = conn.execute(
        """
        SELECT p.id, p.kind, p.states, b.code, b.name, r.name, p.floor, d.name, u.symbol,
               u.quantity, u.name, p.origins,
               ARRAY(SELECT t.name FROM point_tags pt JOIN tags t ON t.id = pt.tag_id
                     WHERE pt.point_id = p.id
                     UNION SELECT t.name FROM device_tags dt JOIN tags t ON t.id = dt.tag_id
                     WHERE dt.device_id = p.device_id)
        FROM points p LEFT JOIN buildings b ON b.id = p.building_id
        LEFT JOIN rooms r ON r.id = p.room_id LEFT JOIN devices d ON d.id = p.device_id
        LEFT JOIN units u ON u.id = p.unit_id WHERE p.name = %s
        """,
        (name,),
    ).fetchone()
    assert row is not None, f"no point {name}"
    keys = "id kind states building building_name room floor device symbol quantity unit_name origins tags"
    return dict(zip(keys.split(), row, strict=True))


def test_the_definition_report_resolves_the_acceptance_points(conn: Any) -> None:
    apply(conn)
    result = put(conn, DEFINITIONS.read_bytes())
    assert result.result.status == "ingested"
    assert result.result.created == result.result.points > 10
    ev = point(conn, "GOODHUE.AHU3.ZON:MODE")
    assert (ev["building"], ev["device"], ev["kind"]) == ("GH", "AHU3", "enum")
    raw = DEFINITIONS.read_bytes().decode()
    assert ev["states"]  # its text table's labels, in the table's order
    positions = [raw.index(f"- {label}") for label in ev["states"]]
    assert positions == sorted(positions)
    amps = point(conn, "HULLINGS.ELEC.MOD1:AMPS A")
    assert amps["building"] == "HU" and amps["building_name"] == "Hulings Hall"
    ledger = conn.execute("SELECT format, points, status FROM files").fetchone()
    assert ledger == ("siemens-point-definitions", result.result.points, "ingested")


def test_a_trended_point_without_a_definition_resolves_by_the_naming_rules(conn: Any) -> None:
    apply(conn)
    put(conn, trend({"HU.R102.RMT": ["70.1", "70.3"], "HU.RB02.DSET": ["1", "2"]}))
    rmt = point(conn, "HU.R102.RMT")
    assert (rmt["building"], rmt["room"], rmt["floor"]) == ("HU", "102", 1)
    assert {"zone", "air", "temp", "sensor"} <= set(rmt["tags"])
    assert point(conn, "HU.RB02.DSET")["floor"] == -1


def test_the_alc_points_list_resolves_device_room_and_building(conn: Any) -> None:
    apply(conn)
    put(conn, POINTS_LIST.read_bytes())
    setpoint = point(conn, "HUL-FCU2-RM B44 / Setpoint")
    assert (setpoint["building"], setpoint["device"], setpoint["room"]) == ("HU", "FCU2", "B44")
    assert setpoint["floor"] == -1
    assert setpoint["origins"]["building"] == "points list Location"


@pytest.mark.slow
def test_every_order_of_trends_and_exports_gives_the_same_catalog(conn: Any) -> None:
    mode_states = ["OCC", "UNOCC", "OCC"]  # labels a trend report writes for an enum
    files = {
        "trends": trend(
            {
                "HU.R102.RMT": ["70.1", "70.3", "70.2"],
                "GOODHUE.AHU3.ZON:MODE": mode_states,
                "GH.GENRUN": ["ON", "OFF", "ON"],
            }
        ),
        # Another day (the same times again would make the later file win: order matters then).
        "more trends": trend(
            {"GH.GENRUN": ["OFF", "OFF", "ON"], "HU.R109.OCC": ["1", "0", "1"]}, day=2
        ),
        "definitions": DEFINITIONS.read_bytes(),
        "points list": POINTS_LIST.read_bytes(),
    }
    seen: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for order in itertools.permutations(files):
        conn.execute(
            "TRUNCATE readings, point_tags, device_tags, room_tags, building_tags, points, devices,"
            " rooms, units, tags, buildings, catalog_site, files RESTART IDENTITY CASCADE"
        )
        apply(conn)
        for name in order:
            put(conn, files[name])
        seen[order] = catalog(conn)
    first = next(iter(seen.values()))
    assert len(first) > 60
    occ = next(row for row in first if row[1] == "HU.R109.OCC")
    # An LDO trended as the text table's numbers (1, 0, 1): stored as its states ON, OFF, ON.
    assert (occ[2], occ[3], [r.split("=")[1] for r in occ[-1]]) == (
        "enum",
        ["OFF", "ON"],
        ["1", "0", "1"],
    )
    for order, built in seen.items():
        assert built == first, f"{order} differs"


def test_reimporting_the_same_export_changes_nothing(conn: Any) -> None:
    apply(conn)
    put(conn, DEFINITIONS.read_bytes())
    before = catalog(conn)
    edited = DEFINITIONS.read_bytes() + b"\r\n"  # other bytes, same content: not a duplicate
    again = put(conn, edited).result
    assert again.status == "ingested"
    assert (again.created, again.updated, again.unchanged) == (0, 0, again.points)
    assert again.changes == [] and again.resolved_changes == 0
    assert catalog(conn) == before


def test_a_newer_export_updates_what_changed_and_names_each_change(conn: Any) -> None:
    apply(conn)
    put(conn, DEFINITIONS.read_bytes())
    text = DEFINITIONS.read_bytes().decode("utf-8")
    assert '"Engineering Units:","GAL"' in text
    newer = text.replace('"Engineering Units:","GAL"', '"Engineering Units:","LITERS"', 1)
    result = put(conn, newer.encode()).result
    assert result.updated == 1
    assert result.changes[0] == "FAC.CONM: unit GAL → LITERS"
    assert any(line.startswith("FAC.CONM: unit") for line in result.changes[1:])  # resolved too
    assert point(conn, "FAC.CONM")["quantity"] == "volume"


def all_ids(conn: psycopg.Connection[Any]) -> Any:
    """Every id of points, buildings, rooms, devices and tags."""
    return conn.execute(
        "SELECT (SELECT array_agg(id ORDER BY id) FROM points),"
        " (SELECT array_agg(id ORDER BY id) FROM buildings),"
        " (SELECT array_agg(id ORDER BY id) FROM rooms),"
        " (SELECT array_agg(id ORDER BY id) FROM devices),"
        " (SELECT array_agg(id ORDER BY id) FROM tags)"
    ).fetchone()


def test_apply_keeps_every_id_and_re_resolves_in_one_go(conn: Any) -> None:
    apply(conn)
    put(conn, DEFINITIONS.read_bytes())
    put(conn, trend({"HU.R102.RMT": ["70.1"], "HU.R213B.RMT": ["71"]}))
    ids = all_ids(conn)
    before = catalog(conn)
    again = apply(conn)
    assert again.changed == 0 and again.points == len(before)
    assert catalog(conn) == before
    # A rule change: Hulings renamed; ids of everything stay, the name follows.
    renamed = SITE.read_text().replace('name = "Hulings Hall"', 'name = "Hulings Science Hall"')
    assert renamed != SITE.read_text()
    apply(conn, renamed)
    after = all_ids(conn)
    assert after == ids
    assert point(conn, "HU.R102.RMT")["building_name"] == "Hulings Science Hall"


def test_a_definition_reorders_trended_states_and_their_readings(conn: Any) -> None:
    apply(conn)
    put(conn, trend({"GH.GENRUN": ["ON", "OFF", "ON"]}))
    assert point(conn, "GH.GENRUN")["states"] == ["ON", "OFF"]
    put(conn, DEFINITIONS.read_bytes())  # its text table: 0 - OFF, 1 - ON
    assert point(conn, "GH.GENRUN")["states"] == ["OFF", "ON"]
    values = [
        r[0]
        for r in conn.execute(
            "SELECT value FROM readings WHERE point_id = %s ORDER BY ts",
            (point(conn, "GH.GENRUN")["id"],),
        )
    ]
    assert values == [1.0, 0.0, 1.0]  # still ON, OFF, ON
    # its rollups were recomputed with the readings: state counts by the new indexes
    assert rollup_differences(conn) == []
    counts = conn.execute(
        "SELECT states FROM readings_daily WHERE point_id = %s", (point(conn, "GH.GENRUN")["id"],)
    ).fetchall()
    assert counts == [([1, 2],)]  # OFF once, ON twice
    assert conn.execute("SELECT stale_since FROM rollup_state").fetchone() == (None,)


@pytest.mark.slow
def test_a_hostile_export_imports_bounded_and_an_unresolved_one_still_imports(conn: Any) -> None:
    from energy_ingest.catalog.exports.point_export import MAX_FIELD_CHARS, MAX_STATES

    apply(conn)
    states = "\r\n".join(f'"                         {n} - STATE{n}"' for n in range(100_000))
    record = (
        '"Point System Name:","NOWHERE.X.Y"\r\n"Point Name:","NOWHERE.X.Y"\r\n'
        '"Point Type:","LENUM"\r\n'
        f'"Descriptor:","{"D" * 1_000_000}"\r\n"Text Table:","HUGE"\r\n{states}\r\n'
        '" ********************************************************************************"\r\n'
        '"Point System Name:","ZZTOP"\r\n"Point Name:","ZZTOP"\r\n"Point Type:","LAI"\r\n'
        '"Engineering Units:","FURLONGS PER FORTNIGHT SQUARED"\r\n'
        '"****************************** End of Report ******************************"\r\n'
    )
    result = put(conn, record.encode()).result
    assert (result.status, result.points) == ("ingested", 2)
    row = conn.execute(
        "SELECT kind, cardinality(states), length(descriptor), building_id FROM points"
        " WHERE name = 'NOWHERE.X.Y'"
    ).fetchone()
    assert row == ("enum", MAX_STATES, MAX_FIELD_CHARS, None)
    unit = conn.execute(
        "SELECT u.resolved, u.symbol FROM points p JOIN units u ON u.id = p.unit_id"
        " WHERE p.name = 'ZZTOP'"
    ).fetchone()
    assert unit == (False, "FURLONGS PER FORTNIGHT SQUARED")  # kept raw, for coverage to list
    warnings = conn.execute("SELECT warnings FROM files").fetchone()
    assert warnings is not None and any("cut" in w for w in warnings[0]), warnings
