"""The development PostgreSQL cluster under ./var/pgdata: created and started only by `make run` and
`energy-ingest devdb start`, then shared by every process of the checkout.

It uses the machine's own PostgreSQL server binaries (`initdb`, `pg_ctl`; Debian's `postgresql`
package), found on PATH or under /usr/lib/postgresql/<version>/bin. It listens only on a Unix
socket inside the data directory, so it never collides with a system server on port 5432.
In a root shell the server runs as `postgres`; when that user cannot reach the requested folder
(a checkout inside a 0700 folder, e.g. under /root or `mktemp -d`), or its path is too long for a
Unix socket, the cluster lives in /var/tmp/energy-pgdata-<uid>/<hash of the requested path>/ instead:
the same folder for every process of that checkout, and it says so.
Production always sets ENERGY_DATABASE_URL and never comes here.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import logging
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from energy_ingest.errors import EmbeddedDatabaseError

SUPERUSER = "postgres"
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
RELOCATED = Path("/var/tmp")
START_HINT = "start it with `make run` or `energy-ingest devdb start`, or set ENERGY_DATABASE_URL"

log = logging.getLogger("energy_ingest.embedded")


class EmbeddedPostgres:
    """A private cluster for `pgdata`; `ensure_running()` is safe to call from many processes.

    `requested` is the folder asked for; `pgdata` is where the cluster really lives (the same
    unless the server could not use the requested one; see the module docstring).
    """

    def __init__(self, pgdata: Path):
        self.requested = pgdata.resolve()
        self.why_moved = _unusable(self.requested)
        self.pgdata = _relocated(self.requested) if self.why_moved else self.requested
        self.started = False  # whether this object started the server (so its owner stops it)

    def where(self) -> str:
        """The cluster's folder, and why it is not the requested one if it is not."""
        if not self.why_moved:
            return str(self.pgdata)
        return f"{self.pgdata} ({self.requested} {self.why_moved})"

    def conninfo(self, dbname: str = "energy") -> str:
        return make_conninfo(host=str(self.pgdata), user=SUPERUSER, dbname=dbname)

    def ensure_running(self, dbname: str = "energy", *, start: bool = True) -> str:
        """Return the conninfo for `dbname` (created if need be) on the running cluster.

        With `start` (only `make run`, `devdb start` and the test session) the cluster is created
        and started as needed. Without it, a missing or stopped cluster is an EmbeddedDatabaseError
        saying how to start it: any other command run in a folder that has no cluster must not
        build a second, empty system there.
        """
        if not start and not self.exists():
            raise self._not_there()  # before the lock, which would create folders
        with self._lock():
            if not self.is_running():
                if not start:
                    raise self._not_there()
                if self.why_moved:
                    log.info(
                        "the development cluster for %s lives in %s: %s %s",
                        self.requested,
                        self.pgdata,
                        self.requested,
                        self.why_moved,
                    )
                if not self.exists():
                    self._initdb()
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
                self.started = True
            self._create_database(dbname)
        return self.conninfo(dbname)

    def _not_there(self) -> EmbeddedDatabaseError:
        if not self.exists():
            return EmbeddedDatabaseError(
                f"ENERGY_DATABASE_URL is unset and there is no development cluster in "
                f"{self.where()}: run this in your checkout, or {START_HINT}"
            )
        return EmbeddedDatabaseError(
            f"the development cluster in {self.where()} is not running: {START_HINT}"
        )

    def exists(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.exists():
            return False
        done = subprocess.run(
            as_server_user(server_binary("pg_ctl"), "status", "-D", str(self.pgdata)),
            capture_output=True,
            check=False,
            cwd="/",
        )
        return done.returncode == 0

    def stop(self) -> bool:
        """Stop the server if it runs; True if it did. Creates nothing where there is no cluster."""
        if not self.exists():
            return False
        with self._lock():
            if not self.is_running():
                return False
            self._run("pg_ctl", "stop", "--wait", "--silent", "-m", "fast", "-D", str(self.pgdata))
        self.started = False
        return True

    def delete(self) -> bool:
        """Stop the server and delete the cluster's data; True if there was any."""
        if not self.pgdata.exists():
            return False
        self.stop()
        with self._lock():
            shutil.rmtree(self.pgdata)
        if self.why_moved:  # the stand-in folder (and its lock file) is ours alone
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)
        return True

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        _make_folders(self.pgdata.parent)
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
        # cwd="/": initdb and pg_ctl change back to the working directory, which the `postgres`
        # user may not be allowed to enter (a checkout under /root).
        done = subprocess.run(
            as_server_user(server_binary(program), *args),
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
        )
        if done.returncode != 0:
            raise EmbeddedDatabaseError(
                f"{program} failed for {self.pgdata}: {(done.stderr or done.stdout).strip()}; "
                f"see {self.pgdata / 'server.log'}"
            )


def _unusable(pgdata: Path) -> str | None:
    """Why the server cannot use `pgdata` (said after the path), or None if it can."""
    if len(str(pgdata / SOCKET_NAME)) > MAX_SOCKET_PATH:
        return "is too long a path for a Unix socket"
    owner = _owner()
    if owner is None:
        return None
    # The nearest folder that exists: what we create below it, we create reachable.
    existing = next(p for p in (pgdata, *pgdata.parents) if p.exists())
    try:
        reach = subprocess.run(
            ["runuser", "-u", owner.pw_name, "--", "test", "-x", str(existing)],
            capture_output=True,
            check=False,
            cwd="/",
        )
    except OSError as exc:
        raise EmbeddedDatabaseError(
            f"running as root, the server must run as `{owner.pw_name}`, but `runuser` cannot "
            f"be run ({exc.strerror}): install util-linux, or set ENERGY_DATABASE_URL"
        ) from exc
    if reach.returncode == 0:
        return None
    return f"is out of reach of the `{owner.pw_name}` user, who runs the server"


def _relocated(requested: Path) -> Path:
    """The stand-in folder for `requested`: short, reachable, and the same in every process."""
    key = hashlib.sha256(str(requested).encode()).hexdigest()[:12]
    return RELOCATED / f"energy-pgdata-{os.geteuid()}" / key / "pgdata"


def _make_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, searchable by the server's user whatever the umask;
    under /var/tmp (writable by all) refuse folders that someone else made."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir()
            if _owner() is not None or path.is_relative_to(RELOCATED):
                path.chmod(0o755)
    if folder.is_relative_to(RELOCATED):
        for path in (folder, folder.parent):
            info = path.lstat()
            if (
                not stat.S_ISDIR(info.st_mode)
                or info.st_uid != os.geteuid()
                or info.st_mode & 0o022
            ):
                raise EmbeddedDatabaseError(
                    f"{path} is not a folder of yours that only you can write to: "
                    "remove it and start again"
                )


def _owner() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise EmbeddedDatabaseError("running as root and there is no `postgres` user to run the server")


def as_server_user(*command: str) -> list[str]:
    """`command` as the server's user: PostgreSQL refuses to run as root, so in a root shell
    (CI, containers) it runs as `postgres`."""
    owner = _owner()
    if owner is None:
        return list(command)
    return ["runuser", "-u", owner.pw_name, "--", *command]


def server_binary(program: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl, pg_basebackup): on PATH, else Debian's
    newest under /usr/lib/postgresql/<version>/bin."""
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
