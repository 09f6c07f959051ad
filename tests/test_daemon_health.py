"""Data health end to end: the real daemon finds a report series overdue with no file arriving,
mails a real SMTP server, says so to systemd (STATUS=) and in the log, and sends a resolved
notice when the report is back."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import Daemon, free_port, insight_report, scalar, wait_until
from mail_server import MailServer

pytestmark = pytest.mark.daemon

ZONE = ZoneInfo("America/Chicago")


@pytest.fixture
def inbox() -> Iterator[MailServer]:
    with MailServer(free_port()) as server:
        yield server


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[str, Callable[[], list[str]]]]:
    """The notification socket systemd would give the unit (systemd itself cannot run here):
    a real datagram socket; the test reads what the daemon sends."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    seen: list[str] = []

    def received() -> list[str]:
        while True:
            try:
                seen.append(sock.recv(65536).decode())
            except BlockingIOError:
                return seen

    try:
        yield path, received
    finally:
        sock.close()


def hourly_report(run: datetime) -> tuple[str, bytes]:
    """The report an hourly Insight job writes at `run` (local): the hour before it."""
    name = f"hall_{run:%m-%d-%y_%H-%M}.csv"
    return name, insight_report(["HALL.AHU1.SAT", "HALL.AHU1.RAT"], run - timedelta(hours=1), 4)


def drop(spool: Path, name: str, content: bytes) -> None:
    (spool / ".tmp").mkdir(parents=True, exist_ok=True)
    tmp = spool / ".tmp" / (name + ".part")
    tmp.write_bytes(content)
    (spool / "incoming" / "siemens").mkdir(parents=True, exist_ok=True)
    os.rename(tmp, spool / "incoming" / "siemens" / name)


def test_an_hourly_report_that_stops_is_mailed_as_overdue_and_its_return_as_resolved(
    daemons: Callable[..., Daemon],
    spool_dir: Path,
    database_url: str,
    inbox: MailServer,
    systemd: tuple[str, Callable[[], list[str]]],
) -> None:
    mail, port = inbox, inbox.port
    notify_socket, notices = systemd
    now = datetime.now(ZONE).replace(second=0, microsecond=0, tzinfo=None)
    # The runs 140 and 80 minutes ago arrived; the one due 20 minutes ago did not (grace 10 min).
    for run in (now - timedelta(minutes=140), now - timedelta(minutes=80)):
        drop(spool_dir, *hourly_report(run))
    d = daemons(
        ENERGY_HEALTH_SECONDS="1",
        ENERGY_SERIES_GRACE="10m",
        ENERGY_SMTP_URL=f"smtp://127.0.0.1:{port}",
        ENERGY_ALERT_TO="energy-team@example.edu",
        ENERGY_ALERT_FROM="energy@example.edu",
        ENERGY_PUBLIC_URL="https://energy.example.edu",
        NOTIFY_SOCKET=notify_socket,
    )
    wait_until(lambda: mail.messages, timeout=60, what="the overdue mail")
    first = mail.messages[0]
    assert "hall" in str(first["Subject"]) and "overdue" in str(first["Subject"])
    assert first["To"] == "energy-team@example.edu"
    body = first.get_content()
    series_id = scalar(database_url, "SELECT id FROM report_series WHERE name = 'hall'")
    assert f"https://energy.example.edu/api/v2/series/{series_id}" in body
    assert scalar(database_url, "SELECT status FROM report_series WHERE name = 'hall'") == "overdue"
    assert scalar(database_url, "SELECT extract(epoch FROM cadence) FROM report_series") == 3600
    wait_until(
        lambda: any("1 series overdue" in n for n in notices()), what="STATUS= naming the overdue"
    )
    # journald gets it at error priority (the daemon's JournaldFormatter maps ERROR to <3>)
    assert any("ERROR" in line and "overdue" in line for line in d.text().splitlines())

    # The missing report arrives (late): the series is back, and the team is told.
    drop(spool_dir, *hourly_report(now - timedelta(minutes=20)))
    wait_until(lambda: len(mail.messages) >= 2, timeout=60, what="the resolved notice")
    assert "resolved" in str(mail.messages[1]["Subject"]).lower()
    assert scalar(database_url, "SELECT status FROM report_series WHERE name = 'hall'") == "ok"
    time.sleep(2.5)  # two more evaluations: nothing is sent twice
    assert len(mail.messages) == 2
    assert "Traceback" not in d.text()
    assert d.terminate() == 0
