"""The embedded development cluster: starts on a fresh directory, is reused, is shared by processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from energy_ingest.store.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _pid(pgdata: Path) -> str:
    return (EmbeddedPostgres(pgdata).pgdata / "postmaster.pid").read_text().splitlines()[0]


def test_cluster_starts_on_a_cluster_directory_and_is_reused(cluster_dir: Path) -> None:
    cluster = EmbeddedPostgres(cluster_dir)
    assert not cluster.is_running()
    url = cluster.ensure_running()
    assert (cluster.pgdata / "PG_VERSION").exists()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("energy",)
    first = _pid(cluster_dir)
    assert EmbeddedPostgres(cluster_dir).ensure_running() == url
    assert _pid(cluster_dir) == first  # reused, not restarted


def test_cluster_restarts_after_a_stop_with_its_data(cluster_dir: Path) -> None:
    cluster = EmbeddedPostgres(cluster_dir)
    with psycopg.connect(cluster.ensure_running()) as conn:
        conn.execute("CREATE TABLE kept (x int)")
    cluster.stop()
    assert not cluster.is_running()
    with psycopg.connect(cluster.ensure_running()) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)


def test_a_second_process_connects_while_the_first_runs(cluster_dir: Path) -> None:
    url = EmbeddedPostgres(cluster_dir).ensure_running()
    with psycopg.connect(url) as first:
        first.execute("CREATE TABLE shared (x int)")
        first.commit()
        code = (
            "import sys, psycopg; from pathlib import Path;"
            "from energy_ingest.store.embedded import EmbeddedPostgres;"
            "u = EmbeddedPostgres(Path(sys.argv[1])).ensure_running();"
            "c = psycopg.connect(u); c.execute('INSERT INTO shared VALUES (1)'); c.commit()"
        )
        subprocess.run([sys.executable, "-c", code, str(cluster_dir)], check=True, timeout=60)
        assert first.execute("SELECT count(*) FROM shared").fetchone() == (1,)


def test_two_processes_starting_a_fresh_cluster_at_once_both_succeed(cluster_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path;"
        "from energy_ingest.store.embedded import EmbeddedPostgres;"
        "print(EmbeddedPostgres(Path(sys.argv[1])).ensure_running())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(cluster_dir)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1]


def test_a_folder_too_long_for_a_unix_socket_gets_a_short_stand_in_and_works() -> None:
    where = ROOT / "var" / f"t-{uuid.uuid4().hex[:8]}"
    cluster = EmbeddedPostgres(where / ("long-" * 20) / "pgdata")
    try:
        assert cluster.why_moved == "is too long a path for a Unix socket"
        assert len(str(cluster.pgdata)) < 70
        assert EmbeddedPostgres(cluster.requested).pgdata == cluster.pgdata  # every process agrees
        with psycopg.connect(cluster.ensure_running()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.delete()
        shutil.rmtree(where, ignore_errors=True)
    assert not cluster.pgdata.parent.exists()
