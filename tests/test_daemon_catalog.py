"""Point exports through the real spool, upload endpoint and daemon: sniffed by content, imported,
archived like trend reports, each change logged; the site file applied at start, and a broken one
refused before anything is touched."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
from helpers import Daemon, files_under, scalar, wait_until
from test_daemon import drop
from upload_server import start

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SITE = ROOT / "examples" / "site.toml"
DEFINITIONS = DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"
POINTS_LIST = DATA / "REAL_webctrl_points_list_report_hulings_excerpt.csv"


def test_exports_dropped_in_the_spool_are_imported_archived_and_changes_logged(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons(ENERGY_SITE_FILE=str(SITE))
    wait_until(lambda: "watching" in d.text(), what="startup")
    assert f"site file {SITE} applied" in d.text()
    drop(spool_dir, "points.csv", DEFINITIONS.read_bytes(), source="siemens")
    drop(spool_dir, "hulings points.csv", POINTS_LIST.read_bytes(), source="alc")
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 2, what="both archived")
    assert files_under(spool_dir / "incoming") == []
    archived = {
        p.relative_to(spool_dir / "archive").parts[0] for p in files_under(spool_dir / "archive")
    }
    assert archived == {"siemens", "alc"}
    with psycopg.connect(database_url) as conn:
        ledger = conn.execute("SELECT name, format, status FROM files ORDER BY name").fetchall()
        assert ledger == [
            ("hulings points.csv", "alc-points-list", "ingested"),
            ("points.csv", "siemens-point-definitions", "ingested"),
        ]
        row = conn.execute(
            "SELECT b.code, d.name, r.name FROM points p JOIN buildings b ON b.id = p.building_id"
            " JOIN devices d ON d.id = p.device_id JOIN rooms r ON r.id = p.room_id"
            " WHERE p.name = 'HUL-FCU2-RM B44 / Setpoint'"
        ).fetchone()
        assert row == ("HU", "FCU2", "B44")
    # A newer export: the one change is logged as a line of its own.
    newer = DEFINITIONS.read_bytes().replace(
        b'"Engineering Units:","GAL"', b'"Engineering Units:","LITERS"', 1
    )
    drop(spool_dir, "points-newer.csv", newer, source="siemens")
    wait_until(lambda: "points-newer.csv: FAC.CONM: unit GAL → LITERS" in d.text(), what="change")
    assert "imported siemens/points-newer.csv (siemens-point-definitions)" in d.text()
    assert "1 changed" in d.text()
    assert d.terminate() == 0


def test_an_export_posted_to_the_upload_endpoint_reaches_the_catalog(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    server = start(spool_dir, tmp_path / "gunicorn.log", workers=1, threads=2)
    try:
        d = daemons(ENERGY_SITE_FILE=str(SITE))
        wait_until(lambda: "watching" in d.text(), what="startup")
        response = requests.post(
            server.upload_url("alc"),
            files={"file": ("points.csv", POINTS_LIST.read_bytes(), "text/csv")},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            count = scalar(
                database_url, "SELECT count(*) FROM points WHERE building_id IS NOT NULL"
            )
            if count:
                break
            time.sleep(0.1)
        assert count == 38  # every row of the Hulings list is in Hulings Hall
        assert d.terminate() == 0
    finally:
        server.stop()


def test_a_broken_site_file_stops_the_daemon_before_it_touches_anything(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "site.toml"
    broken.write_text(
        '[[buildings]]\ncode = "HU"\nname = "Hulings Hall"\n\n'
        "[[naming]]\npattern = '^(?P<building>HU)\\.R(?P<room>\\d+'\n\n"
        '[units]\n"VTONS" = "not_a_unit_at_all"\n'
    )
    drop(spool_dir, "points.csv", DEFINITIONS.read_bytes())
    d = daemons(ENERGY_SITE_FILE=str(broken))
    assert d.proc is not None
    assert d.proc.wait(timeout=30) == 78  # EX_CONFIG: systemd shows it as a configuration error
    text = d.text()
    assert f"site file {broken} has 2 problems" in text
    assert "line 6: pattern" in text and "line 9: unit 'VTONS'" in text
    assert "Traceback" not in text
    assert files_under(spool_dir / "incoming") == [
        spool_dir / "incoming" / "siemens" / "points.csv"
    ]
    assert scalar(database_url, "SELECT count(*) FROM files") == 0


def test_a_nul_in_the_site_file_stops_the_daemon_with_exit_78_before_it_touches_anything(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "site.toml"
    broken.write_text('[[buildings]]\ncode = "H\\u0000U"\nname = "Hulings Hall"\n')
    drop(spool_dir, "points.csv", DEFINITIONS.read_bytes())
    d = daemons(ENERGY_SITE_FILE=str(broken))
    assert d.proc is not None
    assert d.proc.wait(timeout=30) == 78
    text = d.text()
    assert f"site file {broken} has 1 problem" in text
    assert "line 2: code contains a NUL character" in text and "Traceback" not in text
    assert files_under(spool_dir / "incoming") == [
        spool_dir / "incoming" / "siemens" / "points.csv"
    ]
    assert scalar(database_url, "SELECT count(*) FROM catalog_site") == 0
    assert scalar(database_url, "SELECT count(*) FROM files") == 0
