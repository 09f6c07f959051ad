"""`energy-ingest psql`: psql on the database the processes use, whichever it is (issue 26)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import make_conninfo

CLI = Path(sys.executable).parent / "energy-ingest"


def _psql(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ENERGY_", "PG"))}
    return subprocess.run(
        [str(CLI), "psql", *args],
        env={**environ, "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_psql_runs_on_the_database_of_energy_database_url(database_url: str) -> None:
    done = _psql("-c", "select 1", ENERGY_DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[2].strip() == "1", done.stdout  # ?column? / ---- / 1
    # the same database as the processes: its schema is there
    tables = _psql("-tAc", "select count(*) from files", ENERGY_DATABASE_URL=database_url)
    assert (tables.returncode, tables.stdout) == (0, "0\n"), tables.stderr


def test_psql_without_a_database_says_how_to_get_one(tmp_path: Path) -> None:
    done = _psql("-c", "select 1", ENERGY_PGDATA=str(tmp_path / "pgdata"))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    assert "ENERGY_DATABASE_URL" in done.stderr, done.stderr


def test_a_password_reaches_psql_but_not_its_command_line(database_url: str) -> None:
    """`ps` shows a command line to every user of the machine; psql reads PGPASSWORD instead."""
    url = make_conninfo(database_url, password="s3cret")
    # psql's \! runs a shell, whose parent is psql: its command line, then its PGPASSWORD
    seen = _psql(
        "-c",
        '\\! tr "\\0" " " < /proc/$PPID/cmdline; echo; echo "$PGPASSWORD"',
        ENERGY_DATABASE_URL=url,
    )
    assert seen.returncode == 0, seen.stderr
    cmdline, password = seen.stdout.splitlines()
    assert "--dbname" in cmdline and "s3cret" not in cmdline, cmdline
    assert password == "s3cret"
