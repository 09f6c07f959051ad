"""Development only: one WSGI listener for `make run` that routes /api/ and /upload/ like nginx.

`/` answers the API's index (GET /api/), which points at everything else. It lives beside
scripts/run, not in a package: it joins the two apps, and the read API never imports the upload
endpoint (nor energy_ingest anything of energy_api).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from energy_api import create_app as create_api
from energy_ingest.config import Settings
from energy_ingest.upload.app import create_app as create_upload


def create_app(settings: Settings | None = None) -> Any:
    api, upload = create_api(settings), create_upload(settings)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/":
            return api({**environ, "PATH_INFO": "/api/"}, start_response)
        target = api if path == "/api" or path.startswith("/api/") else upload
        return target(environ, start_response)

    return app
