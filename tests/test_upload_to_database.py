"""End to end: a report POSTed like the Insight uploader does is in PostgreSQL within 3 s."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
from helpers import Daemon
from upload_server import start

DATA = Path(__file__).parent / "data"


def test_a_posted_report_is_in_the_database_within_three_seconds(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    server = start(spool_dir, tmp_path / "gunicorn.log", workers=1, threads=2)
    try:
        d = daemons()
        deadline = time.monotonic() + 20
        while "watching" not in d.text() and time.monotonic() < deadline:
            time.sleep(0.05)
        sample = (DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv").read_bytes()
        started = time.monotonic()
        response = requests.post(
            server.upload_url("siemens"),
            files={
                "file": (
                    r"C:\Users\jondich\Documents\insight-reports\boliou1_11-30-18_02-00.csv",
                    sample,
                    "application/upload",
                )
            },
            timeout=10,
        )
        assert (response.status_code, response.text) == (200, "OK")
        stored = 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            while time.monotonic() - started < 3:
                row = conn.execute("SELECT count(*) FROM readings").fetchone()
                stored = row[0] if row else 0
                if stored:
                    break
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            assert stored > 0, f"no readings after {elapsed:.1f} s"
            assert conn.execute("SELECT name, status FROM files").fetchall() == [
                ("boliou1_11-30-18_02-00.csv", "ingested")
            ]
    finally:
        server.stop()
