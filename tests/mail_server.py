"""A real SMTP server for tests: aiosmtpd in-process on a local port, keeping what it accepts."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self, port: int, **smtp: Any) -> None:
        self.port = port
        self.inbox = Inbox()
        self.logins: list[tuple[bytes, bytes]] = []
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port, **smtp)

    def authenticator(self, *args: Any) -> AuthResult:
        """Takes energy / s3cret:pw (the URL's %3A decoded), refuses anything else."""
        data = args[-1]
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = (data.login, data.password) == (b"energy", b"s3cret:pw")
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages
