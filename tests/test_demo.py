"""`energy-ingest demo`: the demo campus is the same bytes on every run (but for its last days),
every file is a report `check` recognises, and it loads through the real spool and daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from helpers import wait_until

from energy_ingest.cli import main
from energy_ingest.demo import (
    FAILED_NAME,
    FLAT_POINT,
    LIVE_SERIES,
    STAGES,
    demo_files,
    live_files,
)

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "examples" / "site.toml"
NOW = datetime(2026, 12, 7, 3, 30, tzinfo=UTC)


def test_the_history_is_the_same_bytes_on_every_run_and_only_the_last_days_follow_now() -> None:
    first, again, later = demo_files(NOW), demo_files(NOW), demo_files(NOW + timedelta(days=9))
    assert [(f.name, f.data) for f in first] == [(f.name, f.data) for f in again]
    fixed = [(f.source, f.name, f.data) for f in first if f.stage != STAGES[2]]
    assert fixed == [(f.source, f.name, f.data) for f in later if f.stage != STAGES[2]]
    live = [f.name for f in first if f.stage == STAGES[2]]
    # daily at the hour, the newest 36 hours before now (Chicago time in the name)
    assert live == [
        "evans_12-03-26_09-00.csv",
        "evans_12-04-26_09-00.csv",
        "evans_12-05-26_09-00.csv",
    ]
    assert [f.name for f in later if f.stage == STAGES[2]][-1] == "evans_12-14-26_09-00.csv"
    assert [f.stage for f in first] == sorted((f.stage for f in first), key=STAGES.index)
    assert len(first) == 54 and sum(f.readings for f in first) == 631_008


def _cells(data: bytes) -> list[list[str]]:
    """A report's values, row by row, without the row's date and time."""
    rows = [line.split(",") for line in data.decode().splitlines()]
    return [row[2:] for row in rows if row[0][1:2].isdigit()]


@pytest.mark.parametrize(
    "start",
    [NOW, datetime(2027, 3, 13, tzinfo=UTC), datetime(2027, 11, 6, tzinfo=UTC)],
    ids=["a week", "spring forward", "fall back"],
)
def test_the_last_days_hold_the_same_values_at_any_hour_so_health_judges_them_alike(
    start: datetime,
) -> None:
    # at some hours of the week the live files once held weekend or night readings, against
    # which the flat point's pinned value (and the supply's evening drop) were spikes: the demo's
    # health then depended on when it ran
    expected = [_cells(f.data) for f in live_files(NOW)]
    assert [len(rows) for rows in expected] == [96, 96, 96]
    for hour in range(8 * 24):
        now = start + timedelta(hours=hour, minutes=7)
        assert [_cells(f.data) for f in live_files(now)] == expected, now


def test_every_file_is_a_report_check_recognises_with_nothing_rejected_but_the_broken_one(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    wrote = runner.invoke(
        main, ["demo", "--files", str(tmp_path)], env={"ENERGY_TIMEZONE": "America/Chicago"}
    )
    assert wrote.exit_code == 0, wrote.output
    assert wrote.output.startswith("wrote 54 files (")
    paths = sorted(tmp_path.glob("*/*.csv"))
    assert len(paths) == 54
    checked = runner.invoke(
        main, ["check", *map(str, paths)], env={"ENERGY_TIMEZONE": "America/Chicago"}
    )
    assert checked.exit_code == 1  # the broken file, on purpose
    lines = checked.output.splitlines()
    assert [ln for ln in lines if ln.startswith("ERROR")] == [
        f"ERROR {tmp_path}/siemens/{FAILED_NAME} line 1: this is binary data, not a CSV trend "
        "report — export the trend report as CSV text; a workbook, a PDF, an archive or other "
        "binary file is not accepted"
    ]
    described = [ln for ln in lines if ln.startswith(str(tmp_path))]
    assert len(described) == 53 and all(", 0 rejected, " in ln for ln in described)
    # the spring's missing hour and the autumn's repeated one, as Insight writes them
    march = next(ln for ln in described if "hulings_04-01-25_00-05.csv" in ln)
    assert "2972 rows" in march and "2025-03-31T23:45:00-05:00" in march
    november = next(ln for ln in described if "goodhue_12-01-25_00-05.csv" in ln)
    assert "2884 rows" in november
    june = next(ln for ln in described if "goodhue_07-01-25_00-05.csv" in ln)
    assert "2784 rows" in june  # 30 days less the missing 10th
    assert "1 of 54 file(s) would not load" in checked.output


def _demo(url: str, spool: Path) -> tuple[str, float]:
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": url,
        "ENERGY_SPOOL_DIR": str(spool),
        "ENERGY_SITE_FILE": str(SITE),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, seconds


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


@pytest.mark.daemon
@pytest.mark.slow
def test_files_into_a_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder would go")
    wrote = CliRunner().invoke(main, ["demo", "--files", str(tmp_path / "taken" / "demo")])
    assert wrote.exit_code == 1, wrote.output
    where = tmp_path / "taken" / "demo" / "siemens"
    assert wrote.output.startswith(f"Error: {where}: Not a directory; "), wrote.output
    assert "check the path and its permissions" in wrote.output
    assert "Traceback" not in wrote.output


def test_the_demo_loads_through_the_running_daemon_into_a_resolved_catalog_with_its_faults(
    database_url: str, spool_dir: Path, daemons: Any
) -> None:
    daemon = daemons(ENERGY_SITE_FILE=str(SITE))
    wait_until(lambda: bool(_rows(database_url, "SELECT FROM ingest_activity")), 30, "the daemon")
    out, seconds = _demo(database_url, spool_dir)
    print(f"\n{out}demo loaded in {seconds:.1f} s")
    assert out.splitlines()[0].startswith(f"daemon: pid {daemon.proc.pid} on ")  # type: ignore[union-attr]
    assert "point exports: 2 files loaded, 27 points" in out
    assert "2025 history: 48 files loaded, 630,144 readings" in out
    assert "recent days: 3 files loaded, 864 readings" in out
    assert (
        f"a broken file: set aside in failed/: siemens/{FAILED_NAME} line 1: this is binary data"
        in out
    )
    assert "done: 54 files (53 loaded, 0 already loaded, 1 failed), 631,008 readings" in out

    total = sum(f.readings for f in demo_files(datetime.now(UTC)))
    assert _rows(database_url, "SELECT count(*) FROM readings") == [(total,)]
    # every point in a building; rooms and devices where names say them; units from the exports
    unresolved = _rows(
        database_url,
        """SELECT p.name FROM points p LEFT JOIN units u ON u.id = p.unit_id
           WHERE p.building_id IS NULL
              OR (p.name LIKE '%.R%.RMT' AND p.room_id IS NULL)
              OR (p.source = 'siemens' AND p.kind = 'number' AND u.symbol IS NULL)
              OR (p.scope <> '' AND (p.room_id IS NULL OR p.device_id IS NULL))""",
    )
    assert unresolved == []
    assert _rows(database_url, "SELECT count(*) FROM points") == [(29,)]
    note = spool_dir / "failed" / "siemens" / f"{FAILED_NAME}.error"
    assert "this is binary data, not a CSV trend report" in note.read_text()
    series = dict(_rows(database_url, "SELECT name, status FROM report_series"))
    assert series == {
        LIVE_SERIES: "overdue",
        "hulings": "historical",
        "goodhue": "historical",
        "boliou": "historical",
        "hul_fcu_trends": "historical",
    }
    flat = _rows(
        database_url,
        f"SELECT h.status FROM point_health h JOIN points p ON p.id = h.point_id WHERE p.name = '{FLAT_POINT}'",
    )
    assert flat == [("flat",)]


@pytest.mark.slow
def test_with_no_daemon_running_the_demo_runs_its_loop_and_a_second_run_changes_nothing(
    database_url: str, spool_dir: Path
) -> None:
    out, seconds = _demo(database_url, spool_dir)
    print(f"\n{out}demo loaded in {seconds:.1f} s")
    assert out.startswith("daemon: none is running; loading in this process")
    assert "done: 54 files (53 loaded, 0 already loaded, 1 failed), 631,008 readings" in out
    assert _rows(database_url, "SELECT count(*) FROM ingest_activity") == [(0,)]  # it stopped
    again, _ = _demo(database_url, spool_dir)
    assert again.splitlines()[:4] == [
        "point exports: 2 files already loaded: not dropped again",
        "2025 history: 48 files already loaded: not dropped again",
        "recent days: 3 files already loaded: not dropped again",
        "a broken file: 1 file already loaded (set aside in failed/ then): not dropped again",
    ]
    assert "done: 54 files (0 loaded, 53 already loaded, 1 failed), 0 readings" in again
    assert _rows(database_url, "SELECT count(*) FROM readings") == [(631_008,)]
    assert len(list((spool_dir / "failed" / "siemens").glob("*.csv"))) == 1
