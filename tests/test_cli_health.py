"""`energy-ingest series`, `alerts [--evaluate]` and the health line of `status`, through the real
CLI on real files: an hourly report that stopped is overdue, and every command says so."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click.testing
import pytest
from click.testing import CliRunner
from helpers import insight_report

from energy_ingest.cli import main

ZONE = ZoneInfo("America/Chicago")


@pytest.fixture
def run(database_url: str, spool_dir: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str) -> click.testing.Result:
        env = {
            "ENERGY_DATABASE_URL": database_url,
            "ENERGY_SPOOL_DIR": str(spool_dir),
            "ENERGY_SERIES_GRACE": "10m",
        }
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_series_and_alerts_show_an_hourly_report_that_stopped_as_overdue(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(ZONE).replace(second=0, microsecond=0, tzinfo=None)
    for minutes in (140, 80):  # the run due 20 minutes ago did not come
        run_at = now - timedelta(minutes=minutes)
        path = tmp_path / f"hall_{run_at:%m-%d-%y_%H-%M}.csv"
        path.write_bytes(insight_report(["HALL.SAT"], run_at - timedelta(hours=1), 4))
    assert run("import", str(tmp_path)).exit_code == 0

    before = run("alerts")  # nothing evaluated yet
    assert before.exit_code == 0 and before.output == "no open alerts\n"

    evaluated = run("alerts", "--evaluate")
    assert evaluated.exit_code == 0, evaluated.output
    first, alert = evaluated.stdout.splitlines()  # the log lines go to stderr
    assert first.startswith("evaluated in ") and "1 newly firing" in first
    assert alert.startswith("firing    high    overdue ")
    assert "hall (siemens) is overdue: no report since" in alert and "(every 1 h)" in alert

    listed = run("series")
    assert listed.exit_code == 0
    (line,) = listed.output.splitlines()
    assert line.startswith("overdue     siemens/hall  every 1 h, last run ")
    assert line.endswith("; 2 files, 1 points")

    (series,) = json.loads(run("series", "--json").output)
    assert (series["status"], series["cadence_s"], series["files"]) == ("overdue", 3600, 2)
    (found,) = json.loads(run("alerts", "--json").output)
    assert (found["kind"], found["state"], found["priority"]) == ("overdue", "firing", "high")
    assert found["link"] == f"/api/v2/series/{series['id']}"

    status = run("status")
    (health,) = [ln for ln in status.output.splitlines() if ln.startswith("health")]
    assert health.startswith("health    series 1 overdue; alerts 1 firing (1 high), 0 pending")
    # the evaluation's time, local (the tests' ENERGY_TIMEZONE, America/Chicago), with its offset
    assert re.search(r"\(evaluated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d-0[56]:00\)$", health), health
    info = json.loads(run("status", "--json").output)
    assert info["health"]["alerts"] == {"firing": 1, "pending": 0, "high": 1}
    assert info["health"]["series"] == {"overdue": 1}

    assert run("alerts", "--status", "resolved").output == "no resolved alerts\n"
