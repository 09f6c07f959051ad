"""The API under gunicorn exactly as systemd/energy-api.service starts it (on a loopback port),
giant readings for streams, and clients that read a stream slowly: for tests and bench/streams."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "energy-api.service"
PROD_GUNICORN = "/opt/energy/venv/bin/gunicorn"


def unit_argv() -> list[str]:
    """The unit's ExecStart= (continuation lines joined), gunicorn taken from this venv."""
    text = re.sub(r"\\\n\s*", " ", UNIT.read_text())
    (line,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    argv = shlex.split(line)
    assert argv[0] == PROD_GUNICORN, line
    return [sys.executable, "-m", "gunicorn", *argv[1:]]


def unit_capacity() -> tuple[int, int]:
    """(workers, threads per worker) of the unit's gunicorn."""
    argv = unit_argv()
    return int(argv[argv.index("--workers") + 1]), int(argv[argv.index("--threads") + 1])


@contextlib.contextmanager
def production_api(
    database_url: str, log: Path, ready: str = "/api/v2/health", **env: str
) -> Iterator[str]:
    """gunicorn with the unit's command line on 127.0.0.1:<free port>; its base URL, once `ready`
    answers 200 (the index /api/ needs no database: for an API over one that is down). Stopped
    (SIGTERM, then SIGKILL after 15 s) on exit, whatever happened."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ENERGY_", "NOTIFY_"))}
    environ.update({"ENERGY_DATABASE_URL": database_url, **env})
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*unit_argv(), "--bind", f"127.0.0.1:{port}"],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}{ready}", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer in 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def giant_points(conn: psycopg.Connection[Any], points: int, readings: int) -> list[int]:
    """`points` number points with `readings` 15-minute readings each, from 2015-01-01 UTC."""
    ids = []
    for k in range(points):
        row = conn.execute(
            "INSERT INTO points (source, name, kind) VALUES ('siemens', %s, 'number') RETURNING id",
            (f"GIANT.AHU{k}.SAT",),
        ).fetchone()
        assert row is not None
        ids.append(int(row[0]))
        conn.execute(
            "INSERT INTO readings (point_id, ts, value)"
            " SELECT %s, '2015-01-01T00:00Z'::timestamptz + n * interval '15 minutes', n %% 997"
            " FROM generate_series(0, %s - 1) n",
            (ids[-1], readings),
        )
    return ids


@dataclass
class SlowReader:
    """One GET read `rate` bytes a second through a 4 KB receive buffer, until closed: the
    client on a bad link (or a `curl --limit-rate`) that keeps a stream going for hours."""

    host: str
    port: int
    path: str
    rate: int = 8192
    received: bytearray = field(default_factory=bytearray)
    finished: bool = False  # the server ended the answer (closed the connection)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(30)
        self.sock.connect((self.host, self.port))
        request = f"GET {self.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        self.sock.sendall(request.encode())
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stopped.wait(4096 / self.rate):
            try:
                chunk = self.sock.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                self.finished = True
                return
            self.received += chunk

    @property
    def head(self) -> bytes:
        return bytes(self.received).partition(b"\r\n\r\n")[0]

    @property
    def status(self) -> int | None:
        """The status code once the status line has arrived."""
        match = re.match(rb"HTTP/1\.[01] (\d{3}) ", bytes(self.received))
        return int(match.group(1)) if match else None

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


def latencies(url: str, count: int, timeout: float = 10.0) -> list[float]:
    """Seconds each of `count` GETs of `url` (one after another, new connections) took to be
    answered 200; a request not answered within `timeout` counts as `timeout`."""
    times = []
    for _ in range(count):
        began = time.monotonic()
        try:
            status: int | None = requests.get(url, timeout=timeout).status_code
        except requests.Timeout:
            status = None
        assert status in (200, None), f"{url} was answered {status}"
        times.append(min(time.monotonic() - began, timeout))
    return times


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 1)
