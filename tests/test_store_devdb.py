"""The development cluster: only `make run`/`devdb start` create or start it, it works from a 0700
folder (relocated when the `postgres` user cannot reach it), and a test session stops what it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from energy_ingest.store.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    """The environment of a developer's shell with no database configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("JOURNAL_STREAM", None)
    return {**env, **extra}


def _cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "energy-ingest"), *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def private_checkout() -> Iterator[Path]:
    """A folder inside a `mktemp -d` folder (mode 0700), like a clone under /root in a container."""
    top = Path(tempfile.mkdtemp(prefix="energy-0700-"))
    assert top.stat().st_mode & 0o777 == 0o700
    checkout = top / "energy"
    checkout.mkdir()
    yield checkout
    EmbeddedPostgres(checkout / "var" / "pgdata").delete()
    shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize("command", ["status", "migrate", "import", "run"])
def test_a_command_in_a_folder_without_a_cluster_says_so_and_creates_none(
    tmp_path: Path, command: str
) -> None:
    report = tmp_path / "report.csv"
    report.write_text("not read: there is no database")
    args = [command, str(report)] if command == "import" else [command]
    done = _cli(tmp_path, *args)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"no development cluster in {EmbeddedPostgres(tmp_path / 'var' / 'pgdata').pgdata}" in (
        output
    )
    assert "energy-ingest devdb start" in output and "ENERGY_DATABASE_URL" in output
    assert "Traceback" not in output and "schema is behind" not in output
    assert not (tmp_path / "var" / "pgdata").exists()
    assert not EmbeddedPostgres(tmp_path / "var" / "pgdata").pgdata.exists()


@pytest.mark.slow
def test_a_command_with_the_cluster_stopped_says_how_to_start_it_and_leaves_it_stopped(
    cluster_dir: Path, tmp_path: Path
) -> None:
    cluster = EmbeddedPostgres(cluster_dir)
    cluster.ensure_running()
    cluster.stop()
    for command in ("migrate", "status"):
        done = _cli(tmp_path, command, ENERGY_PGDATA=str(cluster_dir))
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert f"the development cluster in {cluster.where()} is not running" in output
        assert "start it with `make run` or `energy-ingest devdb start`" in output
        assert not cluster.is_running()


@pytest.mark.slow
def test_devdb_start_status_and_stop_from_a_0700_folder(private_checkout: Path) -> None:
    cluster = EmbeddedPostgres(private_checkout / "var" / "pgdata")

    started = _cli(private_checkout, "devdb", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == cluster.conninfo()
    if os.geteuid() == 0:
        # `postgres` cannot reach a 0700 folder: the cluster lives elsewhere, and says where.
        assert not str(cluster.pgdata).startswith(str(private_checkout))
        assert f"lives in {cluster.pgdata}" in started.stderr
    assert (cluster.pgdata / "PG_VERSION").exists()

    migrated = _cli(private_checkout, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_schema.sql" in migrated.stdout
    status = _cli(private_checkout, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "database  reachable" in status.stdout
    running = _cli(private_checkout, "devdb", "status")
    assert running.returncode == 0 and f"running in {cluster.pgdata}" in running.stdout

    stopped = _cli(private_checkout, "devdb", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped embedded PostgreSQL in {cluster.pgdata}" in stopped.stdout
    assert not cluster.is_running()
    idle = _cli(private_checkout, "devdb", "status")
    assert idle.returncode == 3 and "not running" in idle.stdout

    deleted = _cli(private_checkout, "devdb", "delete")
    assert deleted.returncode == 0 and "deleted embedded PostgreSQL" in deleted.stdout
    assert not cluster.pgdata.exists()
    if cluster.pgdata != cluster.requested:
        assert not cluster.pgdata.parent.exists()  # nothing of it is left in /var/tmp


@pytest.mark.slow
def test_devdb_stop_and_status_where_there_is_no_cluster_create_nothing(tmp_path: Path) -> None:
    stopped = _cli(tmp_path, "devdb", "stop")
    assert stopped.returncode == 0 and "no development cluster in" in stopped.stdout
    status = _cli(tmp_path, "devdb", "status")
    assert status.returncode == 3 and "no development cluster in" in status.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_fresh_test_database_is_migrated(database_url: str) -> None:
    # Also the inner session of the test below: the smallest test that needs the cluster.
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('files') IS NOT NULL").fetchone() == (True,)


def _test_session(pgdata: Path) -> subprocess.CompletedProcess[str]:
    node = f"{Path(__file__).name}::test_a_fresh_test_database_is_migrated"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
        cwd=Path(__file__).parent,
        env=_env(ENERGY_PGDATA=str(pgdata)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_test_session_stops_the_embedded_cluster_it_started_and_only_that(
    cluster_dir: Path,
) -> None:
    cluster = EmbeddedPostgres(cluster_dir)
    first = _test_session(cluster_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (cluster.pgdata / "PG_VERSION").exists()  # the session did use it
    assert not cluster.is_running()

    cluster.ensure_running()  # a developer's `make run` is using it
    second = _test_session(cluster_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert cluster.is_running()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root shell runs the server as another user")
def test_a_root_shell_without_runuser_gets_one_clear_error(tmp_path: Path) -> None:
    done = _cli(tmp_path, "devdb", "start", PATH=str(BIN))  # no /usr/sbin: no runuser
    assert done.returncode == 1
    assert done.stderr.startswith("Error: running as root, the server must run as")
    assert "install util-linux" in done.stderr and "Traceback" not in done.stderr
