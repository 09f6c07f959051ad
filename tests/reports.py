"""Test helpers: write Siemens Insight reports from a known table; a cuttable TCP proxy to PostgreSQL."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from psycopg.conninfo import conninfo_to_dict, make_conninfo


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
