"""Test helpers: Insight reports from a known table, the daemon as a process, a cuttable DB proxy."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from itertools import count
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import energy_ingest.daemon
from energy_ingest.config import Settings
from energy_ingest.pipeline import parse_and_load
from energy_ingest.write.ledger import FileInfo


def insight_report(
    points: list[str],
    start: datetime,
    rows: int,
    *,
    minutes: int = 15,
    value: Callable[[int, int], str] | None = None,
    footer: bool = True,
) -> bytes:
    """A standard Insight trend interval report (quoted, CRLF) with `rows` rows of `points`."""
    value = value or (lambda r, c: f"{(r * 7 + c * 3) % 1000 / 10:.2f}")
    end = start + timedelta(minutes=minutes * rows)
    lines = ['"Key            Name:Suffix                                Trend Definitions Used"']
    lines += [f'"Point_{i + 1}:","{name}","","{minutes} minutes"' for i, name in enumerate(points)]
    lines += [
        f'"Time Interval:","{minutes} Minutes"',
        f'"Date Range:","{start:%-m/%-d/%Y %H:%M:%S} - {end:%-m/%-d/%Y %H:%M:%S}"',
        '"Report Timings:","All Hours"',
        '""',
        '"<>Date","Time",' + ",".join(f'"Point_{i + 1}"' for i in range(len(points))),
    ]
    for r in range(rows):
        t = start + timedelta(minutes=minutes * r)
        cells = [f'"{value(r, c)}"' for c in range(len(points))]
        lines.append(f'"{t:%-m/%-d/%Y}","{t:%H:%M:%S}",' + ",".join(cells))
    if footer:
        lines.append(
            '" ******************************** End of Report *********************************"'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


class PgProxy:
    """A TCP proxy in front of PostgreSQL that a test can cut (an outage) and restore."""

    def __init__(self, conninfo: str):
        params = conninfo_to_dict(conninfo)
        host = str(params.get("host") or "127.0.0.1")
        port = int(params.get("port") or 5432)
        self.target: tuple[int, object] = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
            if host.startswith("/")
            else (socket.AF_INET, (host, port))
        )
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        params.update(host="127.0.0.1", port=str(self.port))
        self.conninfo = make_conninfo(**{k: str(v) for k, v in params.items()})
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            self.up = False
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            family, address = self.target
            server = socket.socket(family, socket.SOCK_STREAM)
            try:
                server.connect(address)  # type: ignore[arg-type]
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        self.cut()


def cli_process(url: str, *args: str) -> subprocess.Popen[str]:
    """`energy-ingest ARGS` on database `url`, started (its output piped, as text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "energy_ingest.cli", *args],
        env={**os.environ, "ENERGY_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def daemon_in_thread(settings: Settings, **changes: float) -> Iterator[energy_ingest.daemon.Daemon]:
    """The daemon loop in a thread of the test process (so a test can reach its parts or replace
    a function), with `changes` to the settings; stopped, and checked to have stopped, on exit.
    In a thread it cannot ignore SIGIO, so write leases are off: completeness comes from inotify
    and the settle time alone."""
    d = energy_ingest.daemon.Daemon(replace(settings, **changes))
    thread = threading.Thread(target=d.run, daemon=True)
    thread.start()
    try:
        yield d
    finally:
        d.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive(), "the daemon loop must end when asked"


def watching(d: energy_ingest.daemon.Daemon) -> bool:
    return d.observer is not None and d.observer.is_alive()


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


class Daemon:
    """`energy-ingest run` in a subprocess; its log goes to a file the test can read."""

    def __init__(self, url: str, spool: Path, log: Path, **env: str):
        self.env = {
            **os.environ,
            "ENERGY_DATABASE_URL": url,
            "ENERGY_SPOOL_DIR": str(spool),
            "ENERGY_SETTLE_SECONDS": "0.5",
            "ENERGY_RESCAN_SECONDS": "1",
            **env,
        }
        self.env.pop("JOURNAL_STREAM", None) if "JOURNAL_STREAM" not in env else None
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "energy_ingest.cli", "run"],
                env=self.env,
                stdout=out,
                stderr=out,
            )
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def terminate(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def create_database(server: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        conn.execute(query)
    return make_conninfo(server, dbname=name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class Clones:
    """Databases cloned from a migrated template ahead of the tests that take them, and dropped
    after, by background threads: a test waits neither for CREATE DATABASE (~0.2 s) nor DROP.
    Three: PostgreSQL clones several at once faster than one after another (make test-fast on 2
    cores: 135 s with none ahead, 105 s with two threads, 91 s with three)."""

    def __init__(self, server: str, template: str, ahead: int = 4, threads: int = 3) -> None:
        self.server, self.template, self.ahead = server, template, ahead
        self.making = 0
        self.ready: list[str] = []
        self.doomed: list[str] = []
        self.error: Exception | None = None
        self.closing = False
        self.changed = threading.Condition()
        self.names = (f"energy_test_{os.getpid()}_{n}_{uuid.uuid4().hex[:6]}" for n in count())
        self.threads = [
            threading.Thread(target=self._work, name=f"clones-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def take(self) -> str:
        """A fresh clone's name (made now if none is ready)."""
        with self.changed:
            while not self.ready and self.error is None:
                self.changed.wait()
            if not self.ready:
                raise RuntimeError("could not clone the template database") from self.error
            name = self.ready.pop(0)
            self.changed.notify_all()
            return name

    def drop(self, name: str) -> None:
        with self.changed:
            self.doomed.append(name)
            self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        for thread in self.threads:
            thread.join()
        for name in self.ready + self.doomed:
            drop_database(self.server, name)

    def _work(self) -> None:
        while True:
            with self.changed:
                wanted = len(self.ready) + self.making < self.ahead
                while not (self.closing or self.doomed or wanted):
                    self.changed.wait()
                    wanted = len(self.ready) + self.making < self.ahead
                if self.closing or self.error is not None:
                    return
                doomed = self.doomed.pop() if self.doomed else None
                name = next(self.names) if doomed is None else ""
                self.making += doomed is None
            try:
                if doomed is not None:
                    drop_database(self.server, doomed)
                    continue
                create_database(self.server, name, template=self.template)
            except Exception as exc:  # said by take(), in the test that waits for a clone
                with self.changed:
                    self.error = exc
                    self.making -= doomed is None
                    self.changed.notify_all()
                return
            with self.changed:
                self.making -= 1
                self.ready.append(name)
                self.changed.notify_all()


class Linked(HTMLParser):
    """The URLs a page loads: every <script src> and <link href> (data: URLs aside)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        url = dict(attrs).get(wanted or "")
        if url and not url.startswith("data:"):
            self.urls.append(url)


def load_report(url: str, name: str, data: bytes, source: str = "siemens") -> None:
    """One file through the real loader in its own transaction, as the daemon loads it (zone
    America/Chicago, the tests' ENERGY_TIMEZONE)."""
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, source, len(data))
    with psycopg.connect(url) as conn, conn.transaction():
        parse_and_load(conn, io.BytesIO(data), info, tz="America/Chicago", hint=None)
