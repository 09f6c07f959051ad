"""Notices by webhook: a JSON POST to ENERGY_WEBHOOK_URL (chat tools); any 2xx means sent."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from energy_ingest.config import Settings
from energy_ingest.errors import NoticeNotSent

TIMEOUT = 10.0


def configured(settings: Settings) -> bool:
    return bool(settings.webhook_url)


def server(settings: Settings) -> str:
    """scheme://host[:port] of the webhook, for messages: a chat webhook's path is its secret."""
    url = urllib.parse.urlsplit(settings.webhook_url or "")
    return f"{url.scheme}://{url.netloc.rpartition('@')[2]}"


def send(notice_id: int, payload: dict[str, Any], settings: Settings) -> None:
    """POST the payload (with the notice's id, also in X-Energy-Notice so a receiver can tell a
    resend after a crash); NoticeNotSent (naming the server) unless it answers 2xx."""
    if not configured(settings):
        raise NoticeNotSent("the webhook is off: set ENERGY_WEBHOOK_URL to send it")
    where = f"webhook {server(settings)}"
    request = urllib.request.Request(
        settings.webhook_url or "",
        data=json.dumps({"id": notice_id, **payload}).encode(),
        headers={
            "Content-Type": "application/json",
            "User-Agent": "energy-ingest",
            "X-Energy-Notice": str(notice_id),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response
        raise NoticeNotSent(f"{where} answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise NoticeNotSent(f"{where} could not be reached: {reason}") from exc
    if not 200 <= status < 300:
        raise NoticeNotSent(f"{where} answered {status}, not 2xx")
