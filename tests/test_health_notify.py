"""Notices through a real SMTP server (aiosmtpd, in-process) and a real HTTP receiver: the grouped
immediate mail, the resolved notice, the daily digest, retries while the server is down, JSON."""

from __future__ import annotations

import dataclasses
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import psycopg
import pytest
from alert_helpers import MINUTE, T0, Campus, evaluate, out_of_range, overdue
from helpers import free_port
from mail_server import MailServer

from energy_ingest.config import Settings
from energy_ingest.health import outbox

Conn = psycopg.Connection[Any]


class Receiver(http.server.ThreadingHTTPServer):
    """An HTTP server in a thread that keeps each POST and answers `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hooks/SECRET-TOKEN"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts.append((dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with MailServer(free_port()) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def text(mail: EmailMessage) -> str:
    """The mail's text as written (SMTP carries it with CRLF line ends)."""
    return str(mail.get_content()).replace("\r\n", "\n")


def mail_settings(settings: Settings, port: int) -> Settings:
    return dataclasses.replace(
        settings,
        smtp_url=f"smtp://127.0.0.1:{port}",
        alert_to=("energy-team@example.edu", "ops@example.edu"),
        alert_from="energy@example.edu",
        public_url="https://energy.example.edu",
    )


def test_the_high_alerts_of_one_evaluation_arrive_as_one_grouped_mail(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings(settings, smtp.port)
    campus = Campus(conn)
    boliou, hulings = campus.series("boliou1"), campus.series("hulings")
    (point,) = campus.points(None, [], ["HU.SAT"])
    findings = [overdue(boliou, "boliou1"), overdue(hulings, "hulings"), out_of_range(point)]
    for minutes in (0, 5, 10):  # the out-of-range point fires too, at 10 min: digest only
        evaluate(conn, findings, T0 + minutes * MINUTE, settings)
    assert outbox.deliver(conn, settings, T0 + 10 * MINUTE) == (1, 0)
    (mail,) = smtp.messages
    assert mail["Subject"] == "[energy] 2 new high alerts — boliou1 (siemens) is overdue"
    assert mail["To"] == "energy-team@example.edu, ops@example.edu"
    assert mail["From"] == "energy@example.edu"
    assert mail["Message-ID"] == "<energy-notice-1@example.edu>"
    body = text(mail)
    assert "New (2):" in body
    assert "[high] overdue: hulings (siemens) is overdue" in body
    assert f"https://energy.example.edu/api/v2/series/{boliou}\n" in body
    assert f"https://energy.example.edu/api/v2/series/{hulings}\n" in body
    assert "since Mon 7 Dec 2026 06:00 CST" in body  # local time (America/Chicago)
    assert "HU.SAT" not in body and "°F" not in body  # normal: the digest tells it
    assert outbox.deliver(conn, settings, T0 + 11 * MINUTE) == (0, 0)  # sent once


def test_a_resolved_notice_goes_out_when_an_overdue_series_returns(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings(settings, smtp.port)
    campus = Campus(conn)
    boliou, hulings = campus.series("boliou1"), campus.series("hulings")
    (point,) = campus.points(None, [], ["HU.SAT"])
    both = [overdue(boliou, "boliou1"), overdue(hulings, "hulings"), out_of_range(point)]
    for minutes in (0, 5, 10):
        evaluate(conn, both, T0 + minutes * MINUTE, settings)
    outbox.deliver(conn, settings, T0 + 10 * MINUTE)
    # boliou1's report arrives; the point's reading is back in range (it was never mailed).
    for minutes in (15, 20, 25, 30):
        evaluate(conn, [overdue(hulings, "hulings")], T0 + minutes * MINUTE, settings)
    assert outbox.deliver(conn, settings, T0 + 30 * MINUTE) == (1, 0)
    resolved = smtp.messages[1]
    assert resolved["Subject"] == (
        "[energy] 1 resolved — back to normal: boliou1 (siemens) is overdue"
    )
    body = text(resolved)
    assert "Resolved — back to normal (1):" in body
    assert "since Mon 7 Dec 2026 06:00 CST, resolved Mon 7 Dec 2026 06:15 CST" in body
    assert "hulings" not in body and "HU.SAT" not in body
    assert len(smtp.messages) == 2


def test_new_and_resolved_alerts_of_one_evaluation_share_one_mail(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings(settings, smtp.port)
    campus = Campus(conn)
    boliou, burton = campus.series("boliou1"), campus.series("burton")
    evaluate(conn, [overdue(boliou, "boliou1")], T0, settings)
    evaluate(conn, [overdue(burton, "burton")], T0 + 5 * MINUTE, settings)
    assert outbox.deliver(conn, settings, T0 + 5 * MINUTE) == (2, 0)
    first, second = smtp.messages
    assert first["Subject"] == "[energy] 1 new high alert — boliou1 (siemens) is overdue"
    assert second["Subject"] == (
        "[energy] 1 new high alert, 1 resolved — burton (siemens) is overdue"
    )
    body = text(second)
    assert body.index("New (1):\n  [high] overdue: burton") < body.index(
        "Resolved — back to normal (1):\n  [high] overdue: boliou1"
    )


def test_the_daily_digest_lists_open_new_and_resolved_alerts_once_a_day(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings(settings, smtp.port)
    campus = Campus(conn)
    boliou, hulings = campus.series("boliou1"), campus.series("hulings")
    points = campus.points(None, [], ["HU.SAT", "HU.RAT"])
    morning = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)  # 06:30 in Chicago
    findings = [overdue(boliou, "boliou1"), *map(out_of_range, points)]
    for minutes in (0, 5, 10):
        evaluate(conn, findings, morning + minutes * MINUTE, settings)
    for minutes in (15, 20, 25):  # HU.RAT is back in range at 06:45 and stays so
        evaluate(conn, findings[:2], morning + minutes * MINUTE, settings)
    evaluate(conn, [*findings[:2], overdue(hulings, "hulings")], morning + 30 * MINUTE, settings)
    assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'digest'").fetchone() == (1,)
    evaluate(conn, [*findings[:2], overdue(hulings, "hulings")], morning + 35 * MINUTE, settings)
    outbox.deliver(conn, settings, morning + 35 * MINUTE)
    (digest,) = [m for m in smtp.messages if "digest" in str(m["Subject"])]
    # At 07:00: boliou1, HU.SAT and hulings (firing in that very evaluation) open and new;
    # HU.RAT new and resolved since.
    assert digest["Subject"] == "[energy] daily digest Mon 7 Dec 2026: 3 open, 4 new, 1 resolved"
    body = text(digest)
    assert "Alerts since Sun 6 Dec 2026 07:00 CST." in body
    assert "Open (3):\n  [high] overdue: boliou1 (siemens) is overdue" in body
    assert f"https://energy.example.edu/api/v2/points/{points[1]}" in body
    assert "Resolved since the last digest (1):" in body
    # Later the same day (hulings resolves): no second digest; the next morning: one more.
    evaluate(conn, findings[:2], morning + 8 * 60 * MINUTE, settings)
    assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'digest'").fetchone() == (1,)
    evaluate(conn, findings[:2], morning + 24 * 60 * MINUTE + 30 * MINUTE, settings)
    subjects = [s for (s,) in conn.execute("SELECT subject FROM notices WHERE kind = 'digest'")]
    assert subjects[1] == "[energy] daily digest Tue 8 Dec 2026: 2 open, 0 new, 1 resolved"


def test_no_digest_is_sent_when_there_is_nothing_to_say(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings(settings, smtp.port)
    evaluate(conn, [], datetime(2026, 12, 7, 13, 5, tzinfo=UTC), settings)
    assert conn.execute("SELECT count(*) FROM notices").fetchone() == (0,)
    assert conn.execute("SELECT digest_at FROM health_state").fetchone() == (
        datetime(2026, 12, 7, 13, 5, tzinfo=UTC),
    )


def test_mail_while_the_server_is_down_is_retried_and_arrives_exactly_once(
    conn: Conn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there yet
    settings = mail_settings(settings, port)
    series = Campus(conn).series("boliou1")
    evaluate(conn, [overdue(series)], T0, settings)
    caplog.set_level(logging.INFO, logger="energy_ingest.health")
    assert outbox.deliver(conn, settings, T0) == (0, 1)
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "notice 1 (immediate by mail, '[energy] 1 new high alert" in text
    assert f"mail server 127.0.0.1:{port} could not be reached" in text
    assert "tried again in 1 min" in text
    attempts, next_try, error, sent = conn.execute(
        "SELECT attempts, next_try, last_error, sent_at FROM notices"
    ).fetchone() or (0, None, None, None)
    conn.commit()
    assert (attempts, next_try, sent) == (1, T0 + MINUTE, None)
    assert "could not be reached" in error
    assert outbox.deliver(conn, settings, T0 + 30 * timedelta(seconds=1)) == (0, 0)  # not yet
    assert outbox.deliver(conn, settings, T0 + MINUTE) == (0, 1)  # still down: 5 min next
    with MailServer(port) as smtp:
        assert outbox.deliver(conn, settings, T0 + 5 * MINUTE) == (0, 0)
        assert outbox.deliver(conn, settings, T0 + 6 * MINUTE) == (1, 0)
        assert outbox.deliver(conn, settings, T0 + 120 * MINUTE) == (0, 0)
        (mail,) = smtp.messages
    assert mail["Message-ID"] == "<energy-notice-1@example.edu>"
    assert conn.execute("SELECT attempts, last_error FROM notices").fetchone() == (3, None)


def test_the_webhook_receives_each_notice_as_json(
    conn: Conn, settings: Settings, receiver: Receiver
) -> None:
    settings = dataclasses.replace(settings, webhook_url=receiver.url)
    series = Campus(conn).series("boliou1")
    assert outbox.channels(settings) == ["webhook"]
    evaluate(conn, [overdue(series)], T0, settings)
    assert outbox.deliver(conn, settings, T0) == (1, 0)
    ((headers, body),) = receiver.posts
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Energy-Notice"] == "1"
    payload = json.loads(body)
    assert payload["id"] == 1 and payload["notice"] == "immediate"
    assert payload["subject"] == "[energy] 1 new high alert — boliou1 (siemens) is overdue"
    assert "boliou1 (siemens) is overdue" in payload["text"]
    (alert,) = payload["new"]
    assert alert["kind"] == "overdue" and alert["subject"] == f"series:{series}"
    assert alert["link"] == f"/api/v2/series/{series}"
    assert alert["opened_at"] == "2026-12-07T12:00:00+00:00"


def test_a_webhook_answering_an_error_is_retried_without_naming_its_secret_path(
    conn: Conn, settings: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dataclasses.replace(settings, webhook_url=receiver.url)
    evaluate(conn, [overdue(Campus(conn).series("boliou1"))], T0, settings)
    receiver.status = 503
    caplog.set_level(logging.WARNING, logger="energy_ingest.health")
    assert outbox.deliver(conn, settings, T0) == (0, 1)
    (warning,) = [
        r for r in caplog.records if r.name == "energy_ingest.health" and "notice" in r.getMessage()
    ]
    assert "webhook http://127.0.0.1:" in warning.getMessage()
    assert "answered 503" in warning.getMessage()
    assert "SECRET" not in warning.getMessage()
    receiver.status = 200
    assert outbox.deliver(conn, settings, T0 + MINUTE) == (1, 0)
    assert len(receiver.posts) == 2


def test_with_mail_and_a_webhook_each_notice_goes_both_ways(
    conn: Conn, settings: Settings, smtp: MailServer, receiver: Receiver
) -> None:
    settings = dataclasses.replace(mail_settings(settings, smtp.port), webhook_url=receiver.url)
    evaluate(conn, [overdue(Campus(conn).series("boliou1"))], T0, settings)
    assert outbox.deliver(conn, settings, T0) == (2, 0)
    assert (len(smtp.messages), len(receiver.posts)) == (1, 1)


def test_without_mail_or_webhook_nothing_is_queued_and_the_log_says_so_once(
    conn: Conn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    outbox._say_off.cache_clear()
    caplog.set_level(logging.INFO, logger="energy_ingest.health")
    series = Campus(conn).series("boliou1")
    evaluate(conn, [overdue(series)], T0, settings)
    evaluate(conn, [overdue(series)], T0 + MINUTE, settings)
    assert conn.execute("SELECT count(*) FROM notices").fetchone() == (0,)
    said = [r for r in caplog.records if "notices are off" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
    assert "ENERGY_SMTP_URL" in said[0].getMessage()


def test_mail_logs_in_with_the_urls_user_and_password(conn: Conn, settings: Settings) -> None:
    port = free_port()
    server = MailServer(port, auth_require_tls=False)  # no TLS certificate here
    server.controller.SMTP_kwargs["authenticator"] = server.authenticator
    settings = mail_settings(settings, port)
    evaluate(conn, [overdue(Campus(conn).series("boliou1"))], T0, settings)
    with server:
        wrong = dataclasses.replace(settings, smtp_url=f"smtp://energy:nope@127.0.0.1:{port}")
        assert outbox.deliver(conn, wrong, T0) == (0, 1)
        (error,) = conn.execute("SELECT last_error FROM notices").fetchone() or ("",)
        conn.commit()
        assert f"mail server 127.0.0.1:{port} refused the login (535" in error
        assert "check the user and password in ENERGY_SMTP_URL" in error
        assert "nope" not in error
        right = dataclasses.replace(
            settings, smtp_url=f"smtp://energy:s3cret%3Apw@127.0.0.1:{port}"
        )
        assert outbox.deliver(conn, right, T0 + MINUTE) == (1, 0)
    # (smtplib tries AUTH PLAIN, then LOGIN, before it gives up on a password)
    assert set(server.logins) == {(b"energy", b"nope"), (b"energy", b"s3cret:pw")}
    assert server.logins[-1] == (b"energy", b"s3cret:pw")
    assert len(server.messages) == 1


def test_starttls_asked_of_a_server_without_it_says_what_to_change(
    conn: Conn, settings: Settings, smtp: MailServer
) -> None:
    settings = dataclasses.replace(
        mail_settings(settings, smtp.port), smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls"
    )
    evaluate(conn, [overdue(Campus(conn).series("boliou1"))], T0, settings)
    assert outbox.deliver(conn, settings, T0) == (0, 1)
    (error,) = conn.execute("SELECT last_error FROM notices").fetchone() or ("",)
    assert "does not offer STARTTLS" in error and "smtps://" in error
    assert smtp.messages == []


def test_a_notice_another_daemon_is_sending_is_not_sent_again(
    conn: Conn, settings: Settings, smtp: MailServer, database_url: str
) -> None:
    settings = mail_settings(settings, smtp.port)
    evaluate(conn, [overdue(Campus(conn).series("boliou1"))], T0, settings)
    with psycopg.connect(database_url) as other:
        other.execute("SELECT id FROM notices FOR UPDATE").fetchall()  # sending it, say
        assert outbox.deliver(conn, settings, T0) == (0, 0)
        other.execute("UPDATE notices SET sent_at = %s", (T0,))
        other.commit()
    assert outbox.deliver(conn, settings, T0 + MINUTE) == (0, 0)
    assert smtp.messages == []


def test_failed_notices_wait_one_five_fifteen_minutes_then_hourly() -> None:
    waits = [outbox.backoff(n) for n in range(1, 6)]
    assert waits == [MINUTE, 5 * MINUTE, 15 * MINUTE, 60 * MINUTE, 60 * MINUTE]
