"""Development only: one WSGI listener for `make run` that routes /api/ and /upload/ like nginx."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def create_app() -> Any:
    from energy_api import create_app as create_api
    from energy_ingest.upload.app import create_app as create_upload

    api, upload = create_api(), create_upload()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        target = api if path == "/api" or path.startswith("/api/") else upload
        return target(environ, start_response)

    return app
