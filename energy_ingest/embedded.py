"""The development PostgreSQL cluster under ./var/pgdata, started on demand and shared by processes.

It uses the machine's own PostgreSQL server binaries (`initdb`, `pg_ctl`; Debian's `postgresql`
package), found on PATH or under /usr/lib/postgresql/<version>/bin. It listens only on a Unix
socket inside the data directory, so it never collides with a system server on port 5432.
Production always sets ENERGY_DATABASE_URL and never comes here.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from energy_ingest.errors import EmbeddedDatabaseError

SUPERUSER = "postgres"
SOCKET_NAME = ".s.PGSQL.5432"


class EmbeddedPostgres:
    """A private cluster in `pgdata`; `ensure_running()` is safe to call from many processes."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata.resolve()
        if len(str(self.pgdata / SOCKET_NAME)) > 100:
            raise EmbeddedDatabaseError(
                f"{self.pgdata} is too long a path for a Unix socket; "
                "set ENERGY_PGDATA to a shorter directory"
            )

    def conninfo(self, dbname: str = "energy") -> str:
        return make_conninfo(host=str(self.pgdata), user=SUPERUSER, dbname=dbname)

    def ensure_running(self, dbname: str = "energy") -> str:
        """Create, start and provision the cluster as needed; return the conninfo for `dbname`."""
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._run(
                    "pg_ctl",
                    "start",
                    "--wait",
                    "--silent",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.pgdata / "server.log"),
                    "-o",
                    f"-c listen_addresses='' -c unix_socket_directories='{self.pgdata}'",
                )
            self._create_database(dbname)
        return self.conninfo(dbname)

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        done = subprocess.run(
            self._as_owner(_binary("pg_ctl"), "status", "-D", str(self.pgdata)),
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def stop(self) -> None:
        with self._lock():
            if self.is_running():
                self._run(
                    "pg_ctl", "stop", "--wait", "--silent", "-m", "fast", "-D", str(self.pgdata)
                )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with open(self.pgdata.parent / f".{self.pgdata.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        owner = _owner()
        if owner is not None:
            os.chown(self.pgdata, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.pgdata),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            # A throwaway development cluster: durability traded for speed.
            conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def _create_database(self, dbname: str) -> None:
        try:
            with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
                ).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.Error as exc:
            raise EmbeddedDatabaseError(
                f"embedded PostgreSQL in {self.pgdata} is not answering: {exc}; "
                f"see {self.pgdata / 'server.log'}"
            ) from exc

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            self._as_owner(_binary(program), *args), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise EmbeddedDatabaseError(
                f"{program} failed for {self.pgdata}: {(done.stderr or done.stdout).strip()}; "
                f"see {self.pgdata / 'server.log'}"
            )

    @staticmethod
    def _as_owner(*command: str) -> list[str]:
        # PostgreSQL refuses to run as root: in a root shell (CI, containers) it runs as `postgres`.
        owner = _owner()
        if owner is None:
            return list(command)
        return ["runuser", "-u", owner.pw_name, "--", *command]


def _owner() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise EmbeddedDatabaseError("running as root and there is no `postgres` user to run the server")


def _binary(program: str) -> str:
    found = shutil.which(program)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{program}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise EmbeddedDatabaseError(
        f"no `{program}` found: install the PostgreSQL server (apt-get install postgresql) "
        "or set ENERGY_DATABASE_URL to an existing database"
    )
