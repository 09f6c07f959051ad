"""A PostgreSQL primary and a hot standby streaming from it, made with Debian's server binaries
(initdb, pg_basebackup -R, pg_ctl) in a folder of their own, on free ports; as root the servers
run as `postgres`. For the tests that read the API from a standby (docs/scaling.md)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from energy_ingest.store.embedded import as_server_user, server_binary

SUPERUSER = "postgres"


def _run(*command: str) -> None:
    done = subprocess.run(as_server_user(*command), capture_output=True, text=True, cwd="/")
    assert done.returncode == 0, f"{command[0]}: {done.stderr or done.stdout}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    pgdata: Path
    port: int

    def url(self, dbname: str = "postgres") -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname)

    def start(self) -> None:
        _run(
            server_binary("pg_ctl"),
            "start",
            "-w",
            "-D",
            str(self.pgdata),
            "-l",
            f"{self.pgdata}/log",
        )

    def stop(self) -> None:
        subprocess.run(
            as_server_user(
                server_binary("pg_ctl"), "stop", "-m", "immediate", "-D", str(self.pgdata)
            ),
            capture_output=True,
            cwd="/",
        )


@contextmanager
def streaming_pair() -> Iterator[tuple[Server, Server]]:
    """(primary, standby), both running; the standby a pg_basebackup -R of the primary."""
    base = Path(tempfile.mkdtemp(prefix="energy-replica-", dir="/var/tmp"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, SUPERUSER, SUPERUSER)
    primary = Server(base / "primary", _free_port())
    standby = Server(base / "standby", _free_port())
    try:
        _run(server_binary("initdb"), "-D", str(primary.pgdata), "-U", SUPERUSER, "--auth", "trust",
             "--encoding", "UTF8", "--locale", "C", "--no-sync")  # fmt: skip
        with open(primary.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {primary.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{base}'\nfsync = off\nwal_level = replica\n"
            )
        primary.start()
        _run(server_binary("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
             "-D", str(standby.pgdata), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        with open(standby.pgdata / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {standby.port}\n")
        standby.start()
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(base, ignore_errors=True)


def caught_up(primary: Server, standby: Server, dbname: str, timeout: float = 30.0) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with psycopg.connect(primary.url(dbname), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
    deadline = time.monotonic() + timeout
    with psycopg.connect(standby.url(dbname), autocommit=True) as conn:
        while True:
            done = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)
            ).fetchone()
            if done and done[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)
