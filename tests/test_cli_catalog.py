"""`energy-ingest catalog coverage|show|apply` through the real CLI, on a real database built from
the shared samples and the example site file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click.testing
import psycopg
import pytest
from click.testing import CliRunner
from test_catalog_store import DEFINITIONS, POINTS_LIST, SITE, put, trend

from energy_ingest.cli import main


@pytest.fixture
def cli(database_url: str) -> Any:
    def invoke(*args: str, **env: str) -> click.testing.Result:
        return CliRunner().invoke(
            main, list(args), env={"ENERGY_DATABASE_URL": database_url, **env}
        )

    return invoke


@pytest.fixture
def built(cli: Any, database_url: str) -> str:
    result = cli("catalog", "apply", "--site-file", str(SITE))
    assert result.exit_code == 0, result.output
    with psycopg.connect(database_url) as conn:
        put(conn, DEFINITIONS.read_bytes())
        put(conn, POINTS_LIST.read_bytes())
        put(conn, trend({"HU.R102.RMT": ["70.1"], "BOLIOU.AHU1.SAT": ["55"], "ZZ.Q7.X": ["1"]}))
    return database_url


def scalar(url: str, query: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def test_coverage_counts_agree_with_the_tables_and_name_the_unmatched_shapes(
    cli: Any, built: str
) -> None:
    result = cli("catalog", "coverage", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["points"] == scalar(built, "SELECT count(*) FROM points")
    for attribute, column in (
        ("building", "building_id"),
        ("room", "room_id"),
        ("device", "device_id"),
    ):
        expected = scalar(built, f"SELECT count(*) FROM points WHERE {column} IS NOT NULL")
        assert info["with"][attribute]["points"] == expected, attribute
    assert info["with"]["room"]["points"] > 0
    assert info["site_file"]["path"] == str(SITE)
    shapes = {s["shape"]: s for s in info["unmatched_shapes"]}
    assert shapes["ZZ.Q<n>.…"]["example"] == "ZZ.Q7.X"
    assert info["without_building"] == scalar(
        built, "SELECT count(*) FROM points WHERE building_id IS NULL"
    )
    text = cli("catalog", "coverage").output
    assert f"site file  {SITE}" in text and "ZZ.Q<n>.…   e.g. ZZ.Q7.X" in text


def test_show_gives_every_attribute_with_its_origin(cli: Any, built: str) -> None:
    result = cli("catalog", "show", "HU.R102.RMT")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("building_name    Hulings Hall   (site rule line") for line in lines)
    assert any(line.startswith("room             102   (site rule line") for line in lines)
    assert any(line.startswith("floor            1   (site rule line") for line in lines)
    assert any(line.startswith("unit             °F   (definition report)") for line in lines)
    assert any(line.startswith("trend_definition 15 minutes   (trend report)") for line in lines)
    assert any(line.startswith("tags") and "zone (point)" in line for line in lines)
    info = json.loads(cli("catalog", "show", "HU.R102.RMT", "--json").output)
    pid = info["id"]
    by_id = json.loads(cli("catalog", "show", str(pid), "--json").output)
    assert by_id["name"] == "HU.R102.RMT" and by_id["quantity"] == "temperature"
    assert {"tag": "sensor", "level": "point"} in by_id["tags"]


def test_show_an_unknown_point_is_one_clear_error(cli: Any, built: str) -> None:
    result = cli("catalog", "show", "HU.NOPE")
    assert result.exit_code == 1
    assert "no point 'HU.NOPE' in the catalog" in result.output
    assert "Traceback" not in result.output


def test_show_a_mistyped_name_suggests_the_closest_names_in_the_catalog(
    cli: Any, built: str
) -> None:
    result = cli("catalog", "show", "HU.R102.RTM")
    assert result.exit_code == 1
    closest = result.output.split("closest names: ")[1].strip().split(", ")
    assert "HU.R102.RMT" in closest and len(closest) <= 5, result.output
    assert "catalog coverage" not in result.output  # it lists shapes, not names
    nothing = cli("catalog", "show", "ZZZZZZZZZZZZZZZZ")
    assert "no name is close; search them with GET /api/v2/points?q=" in nothing.output


def test_apply_a_broken_site_file_lists_every_problem_and_changes_nothing(
    cli: Any, built: str, tmp_path: Path
) -> None:
    before = scalar(built, "SELECT sha256 FROM catalog_site")
    broken = tmp_path / "site.toml"
    broken.write_text(
        '[[buildings]]\ncode = "HU"\nname = "Hulings Hall"\n\n'
        '[[naming]]\npattern = \'(?P<room>\'\n\n[units]\n"VTONS" = "nonsense_unit"\n'
    )
    result = cli("catalog", "apply", "--site-file", str(broken))
    assert result.exit_code == 1
    assert f"site file {broken} has 2 problems" in result.output
    assert "line 6: pattern" in result.output and "line 9: unit 'VTONS'" in result.output
    assert scalar(built, "SELECT sha256 FROM catalog_site") == before


def test_apply_an_edit_changes_what_it_should_and_keeps_every_id(
    cli: Any, built: str, tmp_path: Path
) -> None:
    ids = scalar(built, "SELECT array_agg(id ORDER BY id) FROM buildings")
    edited = tmp_path / "site.toml"
    edited.write_text(SITE.read_text().replace('name = "Hulings Hall"', 'name = "Hulings Annex"'))
    result = cli("catalog", "apply", "--json", ENERGY_SITE_FILE=str(edited))
    assert result.exit_code == 0, result.output
    applied = json.loads(result.output)
    assert applied["points"] == scalar(built, "SELECT count(*) FROM points")
    assert scalar(built, "SELECT name FROM buildings WHERE code = 'HU'") == "Hulings Annex"
    assert scalar(built, "SELECT array_agg(id ORDER BY id) FROM buildings") == ids
    again = cli("catalog", "apply", ENERGY_SITE_FILE=str(edited))
    assert again.exit_code == 0 and ": " in again.output and "0 changed" in again.output


def test_apply_without_a_site_file_says_which_variable_to_set(cli: Any) -> None:
    result = cli("catalog", "apply")
    assert result.exit_code == 2
    assert "set ENERGY_SITE_FILE or give --site-file PATH" in result.output


@pytest.mark.parametrize(
    "command", [["coverage"], ["show", "X"], ["apply", "--site-file", str(SITE)]]
)
def test_catalog_commands_on_an_unmigrated_database_say_to_migrate(
    empty_database_url: str, command: list[str]
) -> None:
    result = CliRunner().invoke(
        main, ["catalog", *command], env={"ENERGY_DATABASE_URL": empty_database_url}
    )
    assert result.exit_code == 1
    assert "the database schema is behind" in result.output
    assert "run `energy-ingest migrate` first" in result.output
    assert "Traceback" not in result.output


def test_apply_refuses_an_empty_site_file_and_keeps_the_catalog(
    cli: Any, built: str, tmp_path: Path
) -> None:
    empty = tmp_path / "site.toml"
    empty.write_text("")
    buildings = scalar(built, "SELECT count(*) FROM points WHERE building_id IS NOT NULL")
    result = cli("catalog", "apply", "--site-file", str(empty))
    assert result.exit_code == 1
    assert "no [[buildings]]" in result.output
    assert scalar(built, "SELECT count(*) FROM points WHERE building_id IS NOT NULL") == buildings


@pytest.mark.slow
def test_apply_and_import_with_a_nested_quantifier_rule_finish_and_hold_the_lock_briefly(
    built: str, tmp_path: Path
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        SITE.read_text()
        + "\n[[naming]]\nsource = \"siemens\"\npattern = '^(?P<building>GH)\\.(?P<device>([A-Z]+\\d*)+)$'\n"
    )
    report = tmp_path / "odd.csv"
    report.write_bytes(trend({"GH." + "A" * 40 + "!": ["1"], "GH." + "B" * 41 + "!": ["2"]}))
    env = {**os.environ, "ENERGY_DATABASE_URL": built}
    energy_ingest = str(Path(sys.executable).parent / "energy-ingest")
    # The backtracking engine needed hours for these names: each step gets 60 s, then fails.
    for args in (("import", str(report)), ("catalog", "apply", "--site-file", str(site))):
        done = subprocess.run(
            [energy_ingest, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert scalar(built, "SELECT count(*) FROM points WHERE name LIKE 'GH.AAAA%'") == 1


def test_apply_refuses_a_nul_in_the_site_file_before_touching_the_database(
    cli: Any, built: str, tmp_path: Path
) -> None:
    before = scalar(built, "SELECT sha256 FROM catalog_site")
    broken = tmp_path / "site.toml"
    broken.write_text('[[buildings]]\ncode = "H\\u0000U"\nname = "Hulings Hall"\n')
    result = cli("catalog", "apply", "--site-file", str(broken))
    assert result.exit_code == 1, result.output
    assert f"site file {broken} has 1 problem" in result.output
    assert "line 2: code contains a NUL character" in result.output
    assert "Traceback" not in result.output
    assert scalar(built, "SELECT sha256 FROM catalog_site") == before


def test_apply_warns_of_each_override_that_names_no_point_with_its_line(
    cli: Any, database_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        SITE.read_text()
        + '\n[[points]]\nname = "HU.NO.SUCH.POINT"\nroom = "B44"\n'
        + '\n[[points]]\nname = "HU.R102.RMT"\nsource = "alc"\nroom = "102"\n'
    )
    with psycopg.connect(database_url) as conn:
        # EV.AHU1:SAT: the example's pattern override EV.AHU1:* names a point, so no warning
        put(conn, trend({"HU.R102.RMT": ["70.1"], "EV.AHU1:SAT": ["55"]}))
    result = cli("catalog", "apply", "--site-file", str(site))
    assert result.exit_code == 0, result.output
    lines = len(SITE.read_text().splitlines())
    fac = SITE.read_text().splitlines().index('name = "FAC.CONM"')  # the example's own override
    assert result.stderr.splitlines() == [
        f"warning: line {fac}: [[points]] name 'FAC.CONM' names no point of siemens in the"
        " catalog (yet)",
        f"warning: line {lines + 2}: [[points]] name 'HU.NO.SUCH.POINT' names no point in the"
        " catalog (yet)",
        f"warning: line {lines + 6}: [[points]] name 'HU.R102.RMT' names no point of alc in the"
        " catalog (yet)",
    ]
    applied = json.loads(cli("catalog", "apply", "--site-file", str(site), "--json").stdout)
    assert len(applied["unmatched"]) == 3


def test_show_and_coverage_write_times_local_with_their_offset(cli: Any, built: str) -> None:
    """The operators' one time convention (energy_ingest/localtime.py), not the session's UTC."""
    shown = cli("catalog", "show", "HU.R102.RMT", ENERGY_TIMEZONE="America/Chicago")
    assert shown.exit_code == 0, shown.output
    # the report's 11/1/2018 00:00 is local midnight, CDT (-05:00) that day
    assert "first_reading    2018-11-01 00:00:00-05:00\n" in shown.output, shown.output
    covered = cli("catalog", "coverage", ENERGY_TIMEZONE="America/Chicago")
    assert re.search(r"applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d-0[56]:00\)", covered.output), (
        covered.output
    )
    as_json = json.loads(cli("catalog", "show", "HU.R102.RMT", "--json").output)
    assert as_json["first_reading"] == "2018-11-01T05:00:00+00:00"
