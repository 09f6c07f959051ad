"""The site file's [[rules]] and [anomalies] (the legacy dashboard's rules and its vent-and-temp
check): checked when the file is read, stored by name so ids stay, and value types that keep
their ids as points change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_catalog_store import SITE, apply, put, trend

from energy_ingest.catalog.site import SiteFileError, parse_site

BASE = SITE.read_text().split("[[rules]]")[0]  # the example without its rules and [anomalies]


def rules(*blocks: str) -> str:
    return BASE + "".join(f"\n[[rules]]\n{b.strip()}\n" for b in blocks)


def problems(text: str) -> list[str]:
    with pytest.raises(SiteFileError) as caught:
        parse_site(text, Path("site.toml"))
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_example_rules_and_anomaly_tags_load() -> None:
    site = parse_site(SITE.read_text(), SITE)
    assert [(r.name, r.priority, r.point_search, r.value_search) for r in site.rules] == [
        ("Temperature over 80", 1, ":measurement 'temperature'", "~> 80")
    ]
    assert site.anomalies == {
        "room_temperature": ("zone", "air", "temp", "sensor"),
        "damper": ("damper",),
    }
    # without an [anomalies] table, the documented defaults
    assert parse_site(BASE, SITE).anomalies == site.anomalies


def test_a_rules_bad_search_is_a_problem_of_the_site_file_with_its_line() -> None:
    text = rules(
        'name = "a"\npoint_search = "@1 and :floor 3"',
        'name = "b"\npoint_search = "@1"\nvalue_search = "~>"',
        'name = "c"\npoint_search = "~>80"',
        'name = "a"\npoint_search = "@2"\npriority = "high"',
        'point_search = "@1"',
    )
    found = problems(text)
    floor = line_of(text, ":floor 3")
    assert (
        f"line {floor}: point_search: search: unexpected ':floor 3' at 8; write ':floor = 3'"
        in (found)
    )
    assert any(
        p.startswith(f"line {line_of(text, 'value_search')}: value_search: search:") for p in found
    )
    assert any("'~>80'" in p and "not allowed" in p for p in found), found
    assert any("priority must be a whole number" in p for p in found)
    assert any("rule 'a' is also on line" in p for p in found)
    assert any(p.endswith("name is missing") for p in found)


def test_anomaly_tags_must_be_tag_names() -> None:
    found = problems(BASE + '\n[anomalies]\ndamper = ["Damper Pos"]\nvalve = ["valve"]\n')
    assert any("[anomalies] holds room_temperature" in p for p in found), found
    found = problems(BASE + '\n[anomalies]\ndamper = ["Damper Pos"]\n')
    assert any("damper: 'Damper Pos' is not a tag name" in p for p in found), found


def stored(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, name, priority, point_search, value_search, in_site FROM rules ORDER BY id"
    ).fetchall()


def test_apply_stores_rules_by_name_keeping_ids_and_retires_dropped_ones(conn: Any) -> None:
    apply(conn, rules('name = "warm"\npoint_search = "#1"\nvalue_search = "~>80"'))
    apply(
        conn,
        rules(
            'name = "cold"\npoint_search = "#2"',
            'name = "warm"\npoint_search = "#1"\nvalue_search = "~>85"\npriority = 2',
        ),
    )
    (warm_id, *_), (cold_id, *_) = stored(conn)
    assert stored(conn) == [
        (warm_id, "warm", 2, "#1", "~>85", True),
        (cold_id, "cold", 0, "#2", "", True),
    ]
    apply(conn, rules('name = "cold"\npoint_search = "#2"'))
    assert [(r[0], r[5]) for r in stored(conn)] == [(warm_id, False), (cold_id, True)]
    apply(conn, rules('name = "warm"\npoint_search = "#1"'))
    assert [(r[0], r[5]) for r in stored(conn)] == [(warm_id, True), (cold_id, False)]
    row = conn.execute("SELECT anomalies FROM catalog_site").fetchone()
    assert row == ({"room_temperature": ["zone", "air", "temp", "sensor"], "damper": ["damper"]},)


def types(conn: psycopg.Connection[Any]) -> dict[tuple[str, ...], int]:
    return {tuple(s): i for i, s in conn.execute("SELECT id, states FROM value_types").fetchall()}


def test_each_enumeration_state_list_gets_a_type_whose_id_never_changes(conn: Any) -> None:
    apply(conn)
    with conn.transaction():
        put(conn, trend({"HU.X.MODE": ["AUTO", "OFF"], "HU.Y.MODE": ["OFF", "AUTO"]}))
    first = types(conn)
    assert first[("AUTO", "OFF")] >= 4  # 1-3 are Boolean, Integer and Float
    # a new label grows one point's list: a new type; the old one keeps its id
    with conn.transaction():
        put(conn, trend({"HU.X.MODE": ["AUTO", "HAND"]}, day=2))
    second = types(conn)
    assert second[("AUTO", "OFF")] == first[("AUTO", "OFF")]
    assert second[("AUTO", "OFF", "HAND")] > max(first.values())
    assert len(second) == len(first) + 1
