"""Which point an export record is (catalog, step 2): ALC points of two buildings that share
names, two microblocks of one name, a Point Name that is not the System Name, retirement, the
kinds of ALC types, and ids that stay dense over re-imports — on constructed exports of exactly
those shapes, through the daemon's parse-and-load path into a real PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
from test_catalog_store import apply, put

HEADER = '"Location","Control Program","Name","Type","Offset / Polarity","Exp:Num","I/O Type"'
SHARED = ("Basement Area Rollup", "Zone Temp")  # a name both buildings' lists hold


def points_list(*rows: tuple[str, str, str, str]) -> bytes:
    """A WebCTRL Points List of (Location, Control Program, Name, Type) rows."""
    lines = [HEADER] + [
        f'"{loc}","{prog}","{name}","{kind}","","",""' for loc, prog, name, kind in rows
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def building(name: str, *extra: tuple[str, str, str]) -> bytes:
    """One building's list: the shared rollup point, its own AHU point, and `extra` rows."""
    where = f"/Carleton College/{name}/Facility Summary/Basement"
    rows = [(where, *SHARED, "BAV"), (where, f"{name[:3].upper()}-AHU1", "Supply Temp", "BAI")]
    rows += [(where, *row) for row in extra]
    return points_list(*rows)


def definitions(*records: dict[str, str], footer: bool = True) -> bytes:
    """A Siemens Point Definition report of the given records (label → value)."""
    rule = f'" {"*" * 80}"'
    lines = [rule]
    for fields in records:
        lines += ['""', *(f'"{label}:","{value}"' for label, value in fields.items()), '""', rule]
    if footer:
        lines.append(f'" {"*" * 32} End of Report {"*" * 33}"')
    return ("\r\n".join(lines) + "\r\n").encode()


def rows(conn: psycopg.Connection[Any], where: str = "true") -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT p.name, b.code, p.point_type, p.kind, p.retired_at IS NOT NULL FROM points p"
        f" LEFT JOIN buildings b ON b.id = p.building_id WHERE {where}"
        " ORDER BY p.name, b.code NULLS FIRST, p.point_type"
    ).fetchall()


def test_equal_alc_names_in_two_buildings_are_two_points_and_never_move(conn: Any) -> None:
    apply(conn)
    put(conn, building("Hulings Hall"))
    first = conn.execute("SELECT id FROM points WHERE name = %s", [" / ".join(SHARED)]).fetchall()
    put(conn, building("Goodhue Hall"))
    shared = rows(conn, f"p.name = '{' / '.join(SHARED)}'")
    assert [(code, retired) for _, code, _, _, retired in shared] == [("GH", False), ("HU", False)]
    # Dropping the first building's list again (other bytes) moves nothing back and forth.
    put(conn, building("Hulings Hall") + b"\r\n")
    again = conn.execute(
        "SELECT p.id, b.code FROM points p JOIN buildings b ON b.id = p.building_id"
        " WHERE p.name = %s ORDER BY b.code",
        [" / ".join(SHARED)],
    ).fetchall()
    assert [code for _, code in again] == ["GH", "HU"]
    assert dict((c, i) for i, c in again)["HU"] == first[0][0]


def test_two_microblocks_of_one_name_are_two_points_and_a_true_repeat_is_logged(
    conn: Any,
) -> None:
    apply(conn)
    where = "/Carleton College/Skinner Memorial Chapel/Facility Summary/Mechanical"
    data = points_list(
        (where, "CHAP-AHU1", "FILT-STAT", "BAI"),
        (where, "CHAP-AHU1", "FILT-STAT", "BALM"),
        (where, "CHAP-AHU1", "Fan Status", "BBI"),
        (where, "CHAP-AHU1", "Fan Status", "BBI"),  # the same point again: the later row wins
    )
    result = put(conn, data)
    assert rows(conn) == [
        ("CHAP-AHU1 / FILT-STAT", None, "BAI", "number", False),
        ("CHAP-AHU1 / FILT-STAT", None, "BALM", "enum", False),
        ("CHAP-AHU1 / Fan Status", None, "BBI", "enum", False),
    ]
    assert result.result.repeated == 1
    warnings = conn.execute("SELECT warnings FROM files ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert any(
        "1 points named by more than one record, each the later record kept:"
        " CHAP-AHU1 / Fan Status (lines 4, 5)" in w
        for w in warnings
    ), warnings


def test_a_point_name_that_is_not_the_system_name_is_kept_and_searchable(conn: Any) -> None:
    apply(conn)
    put(
        conn,
        definitions(
            {
                "Point System Name": "HU.R102.RMT",
                "Point Name": "HU.R102.ROOM TEMP",
                "Point Type": "LAI",
            },
            {"Point System Name": "HU.R103.RMT", "Point Name": "HU.R103.RMT", "Point Type": "LAI"},
        ),
    )
    aliases = conn.execute("SELECT name, alias FROM points ORDER BY name").fetchall()
    assert aliases == [("HU.R102.RMT", "HU.R102.ROOM TEMP"), ("HU.R103.RMT", None)]


def test_points_a_newer_export_of_their_scope_leaves_out_are_retired_not_deleted(
    conn: Any,
) -> None:
    apply(conn)
    put(conn, building("Hulings Hall", ("HUL-FCU9", "Setpoint", "BSPTCS")))
    put(conn, building("Goodhue Hall"))
    pid = conn.execute("SELECT id FROM points WHERE name = 'HUL-FCU9 / Setpoint'").fetchone()[0]
    conn.execute(
        "INSERT INTO readings (point_id, ts, value) VALUES (%s, '2026-01-01T00:00Z', 70)", [pid]
    )
    newer = put(conn, building("Hulings Hall", ("HUL-FCU9", "Setpoint (renamed)", "BSPTCS")))
    assert newer.result.retired == 1
    assert "1 retired" in newer.result.summary("alc/hu.csv", "alc-points-list", "")
    retired = conn.execute(
        "SELECT p.name, p.retired_at IS NOT NULL, p.retired_by = f.id, f.name,"
        " (SELECT count(*) FROM readings r WHERE r.point_id = p.id)"
        " FROM points p JOIN files f ON f.id = p.retired_by"
    ).fetchall()
    assert [r[:3] + r[4:] for r in retired] == [("HUL-FCU9 / Setpoint", True, True, 1)]
    # The other building's list speaks only for its own building: none of its points retired.
    assert [r[0] for r in rows(conn, "p.retired_at IS NULL AND b.code = 'GH'")] == [
        "Basement Area Rollup / Zone Temp",
        "GOO-AHU1 / Supply Temp",
    ]
    # Listed again (by a newer export: other bytes), it is current again.
    put(conn, building("Hulings Hall", ("HUL-FCU9", "Setpoint", "BSPTCS")) + b"\r\n")
    assert conn.execute("SELECT retired_at FROM points WHERE id = %s", [pid]).fetchone() == (None,)


def test_only_an_export_that_lists_again_half_of_an_earlier_one_retires_its_other_points(
    conn: Any,
) -> None:
    """A partial export (one point of three) or another part of the campus (sharing a panel)
    supersedes nothing; a newer run that lists two of the three retires the third."""
    apply(conn)
    one = {"Panel Name": "MBC01", "Point Type": "LAI"}
    two = {"Panel Name": "MBC02", "Point Type": "LAI"}
    a, b, c = (
        {"Point System Name": "HU.A", "Point Name": "HU.A", **one},
        {"Point System Name": "HU.B", "Point Name": "HU.B", **one},
        {"Point System Name": "GH.C", "Point Name": "GH.C", **two},
    )
    put(conn, definitions(a, b, c))
    other_part = {"Point System Name": "HU.D", "Point Name": "HU.D", **one}
    assert put(conn, definitions(other_part)).result.retired == 0
    assert put(conn, definitions(a)).result.retired == 0  # lists one of the three again
    assert put(conn, definitions(a, c)).result.retired == 1  # two of three (A's now the second's)
    assert [(r[0], r[4]) for r in rows(conn)] == [
        ("GH.C", False),
        ("HU.A", False),
        ("HU.B", True),
        ("HU.D", False),
    ]


def test_alc_types_take_their_kind_and_binary_ones_are_enumerations(conn: Any) -> None:
    apply(conn)
    where = "/Carleton College/Hulings Hall/Facility Summary/Roof"
    put(
        conn,
        points_list(
            *(
                (where, "HUL-EF1", name, kind)
                for name, kind in (
                    ("Alarm", "BALM"), ("Net In", "BNI"), ("Flow", "ANI"), ("Total", "POLLTOT"),
                    ("Mystery", "BFM"),
                )
            )
        ),
    )  # fmt: skip
    kinds = {name.split(" / ")[1]: kind for name, _, _, kind, _ in rows(conn)}
    assert kinds == {
        "Alarm": "enum",
        "Net In": "enum",
        "Flow": "number",
        "Total": "number",
        "Mystery": "number",
    }


def test_re_importing_exports_and_trends_keeps_point_ids_dense(conn: Any) -> None:
    apply(conn)
    data = building("Hulings Hall")
    for n in range(5):  # other bytes each time: a real import, not a duplicate
        put(conn, data + b"\r\n" * n)
    top = conn.execute("SELECT max(id), count(*) FROM points").fetchone()
    assert top == (2, 2)
    from test_catalog_store import trend

    for day in (1, 2, 3):
        put(conn, trend({"HU.R102.RMT": ["70.1"], "HU.R103.RMT": ["71"]}, day=day))
    assert conn.execute("SELECT max(id), count(*) FROM points").fetchone() == (4, 4)


def test_coverage_and_show_say_what_is_retired_unknown_or_named_twice(
    conn: Any, database_url: str
) -> None:
    """Through the real CLI: coverage counts retired points and lists unknown types; show gives
    a point's second name and retirement, and names each point an ambiguous name could be."""
    from click.testing import CliRunner

    from energy_ingest.cli import main

    apply(conn)
    put(conn, building("Hulings Hall", ("HUL-EF1", "Mystery", "BFM"), ("HUL-EF1", "Alarm", "BALM")))
    put(conn, building("Goodhue Hall"))
    put(conn, building("Hulings Hall") + b"\r\n")  # leaves the two HUL-EF1 points out
    put(
        conn,
        definitions(
            {
                "Point System Name": "HU.R102.RMT",
                "Point Name": "HU.R102.ROOM TEMP",
                "Point Type": "LAI",
            }
        ),
    )
    conn.commit()

    def cli(*args: str) -> Any:
        result = CliRunner().invoke(main, list(args), env={"ENERGY_DATABASE_URL": database_url})
        return result

    covered = cli("catalog", "coverage", "--json")
    assert covered.exit_code == 0, covered.output
    info = json.loads(covered.output)
    assert (info["retired"], info["unknown_types"]) == (2, [{"type": "BFM", "points": 1}])
    per_building = {(b["building"], b["source"]): b for b in info["by_building"]}
    assert (per_building["HU", "alc"]["unknown_types"], per_building["HU", "alc"]["retired"]) == (
        1,
        2,
    )
    assert per_building["GH", "alc"]["unknown_types"] == 0
    text = cli("catalog", "coverage").output
    assert "retired    2 (newer exports leave them out)" in text
    assert "  'BFM': 1 point\n" in text

    shown = json.loads(cli("catalog", "show", "HUL-EF1 / Mystery", "--json").output)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", shown["retired"])
    assert re.fullmatch(r"file\d+\.csv", shown["retired_by"])
    text = cli("catalog", "show", "HUL-EF1 / Mystery").output  # ENERGY_TIMEZONE: Chicago
    assert re.search(r"^retired +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d-0[56]:00$", text, re.M), text
    assert json.loads(cli("catalog", "show", "HU.R102.RMT", "--json").output)["alias"] == (
        "HU.R102.ROOM TEMP"
    )
    twice = cli("catalog", "show", "Basement Area Rollup / Zone Temp")
    assert twice.exit_code != 0
    assert "names 2 points" in twice.output
    assert "(alc, GH, BAV)" in twice.output and "(alc, HU, BAV)" in twice.output
