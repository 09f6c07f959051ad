"""`energy-ingest status --wait`: it returns once a running daemon has taken everything that
waited in incoming/, so that a read right after it finds the data (issue 26, friction 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from helpers import Daemon, insight_report

ENERGY_INGEST = Path(sys.executable).with_name("energy-ingest")


def test_status_wait_returns_once_the_daemon_has_taken_the_backlog(
    database_url: str, spool_dir: Path, daemons: Callable[..., Daemon]
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    for day in (1, 2, 3):
        (incoming / f"r{day}.csv").write_bytes(
            insight_report(["W.P1", "W.P2"], datetime(2024, 1, day), 96)
        )
    daemons()
    env = {**os.environ, "ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
    done = subprocess.run(
        [str(ENERGY_INGEST), "status", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backlog   siemens 0, alc 0" in done.stdout
    for day in (1, 2, 3):
        assert f"r{day}.csv  192 readings (192 new, 0 changed)" in done.stdout, done.stdout
    assert not list(incoming.iterdir())
