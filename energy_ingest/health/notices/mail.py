"""Notices by e-mail: ENERGY_SMTP_URL through smtplib (STARTTLS or TLS, login when given)."""

from __future__ import annotations

import smtplib
import ssl
import urllib.parse
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from energy_ingest.config import Settings
from energy_ingest.errors import NoticeNotSent

TIMEOUT = 10.0


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_url and settings.alert_to)


def server(settings: Settings) -> str:
    """host:port of the mail server, for messages (never the password the URL may hold)."""
    url = urllib.parse.urlsplit(settings.smtp_url or "")
    return f"{url.hostname}:{_port(url)}"


def message_id(notice_id: int, settings: Settings) -> str:
    """The same for every attempt at one notice, so that a copy resent after a crash (sent, not
    yet marked sent) is recognisable as the same message."""
    domain = settings.alert_from.rpartition("@")[2] or "localhost"
    return f"<energy-notice-{notice_id}@{domain}>"


def build(
    notice_id: int, created_at: datetime, subject: str, body: str, settings: Settings
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.alert_from
    msg["To"] = ", ".join(settings.alert_to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(created_at)
    msg["Message-ID"] = message_id(notice_id, settings)
    msg.set_content(body)
    return msg


def send(message: EmailMessage, settings: Settings) -> list[str]:
    """Hand the message to the mail server; NoticeNotSent (naming the server) if it is not
    configured, cannot be reached, or refuses it. Returns the recipients it refused while it took
    the others (the message counts as sent: sending it again would double it for them)."""
    if not configured(settings):
        raise NoticeNotSent("mail is off: set ENERGY_SMTP_URL and ENERGY_ALERT_TO to send it")
    url = urllib.parse.urlsplit(settings.smtp_url or "")
    host, port = url.hostname or "", _port(url)
    where = f"mail server {host}:{port}"
    starttls = "starttls" in urllib.parse.parse_qs(url.query, keep_blank_values=True) or (
        url.scheme == "smtp" and port == 587
    )
    try:
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(
                    urllib.parse.unquote(url.username), urllib.parse.unquote(url.password or "")
                )
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise NoticeNotSent(
            f"{where} refused the login ({exc.smtp_code} {_text(exc.smtp_error)}):"
            " check the user and password in ENERGY_SMTP_URL"
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise NoticeNotSent(
            f"{where} does not offer STARTTLS: use smtps:// if it speaks TLS from the start,"
            " or drop ?starttls from ENERGY_SMTP_URL"
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise NoticeNotSent(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise NoticeNotSent(
            f"{where} refused every recipient ({', '.join(exc.recipients)}): check ENERGY_ALERT_TO"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise NoticeNotSent(f"{where} could not be reached: {exc or type(exc).__name__}") from exc
    return sorted(refused)


def _port(url: urllib.parse.SplitResult) -> int:
    if url.port:
        return url.port
    return 465 if url.scheme == "smtps" else 25


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw
