"""Development only: one WSGI listener for `make run` that routes /api/ and /upload/ like nginx.

`/upload/` goes to the upload app, everything else (the pages, /static/, /api/) to the read API. It lives beside
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
        target = upload if path == "/upload" or path.startswith("/upload/") else api
        return target(environ, start_response)

    return app
