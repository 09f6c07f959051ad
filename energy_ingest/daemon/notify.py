"""systemd's notification protocol (sd_notify): READY, WATCHDOG, STATUS, STOPPING — a no-op elsewhere."""

from __future__ import annotations

import contextlib
import socket
import time

from energy_ingest.config import Settings


class Notifier:
    def __init__(self, settings: Settings):
        self.address = settings.notify_socket
        if self.address and self.address.startswith("@"):
            self.address = "\0" + self.address[1:]  # abstract namespace
        # Ping twice per watchdog period, as sd_watchdog_enabled(3) recommends.
        self.watchdog_interval = settings.watchdog_usec / 2e6 if settings.watchdog_usec else None
        self._last_ping = 0.0

    def send(self, *fields: str) -> None:
        if not self.address:
            return
        # If systemd went away there is nobody to tell: ignore send errors. Never block on a
        # full socket either: a status line is not worth a daemon that cannot hear SIGTERM.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
            sock.setblocking(False)
            sock.sendto("\n".join(fields).encode(), self.address)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        """Called from the loop that makes progress; rate-limited."""
        if self.watchdog_interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send("WATCHDOG=1")
