"""Development only: one WSGI listener for `make run` in the place of nginx.

`/upload/` goes to the upload app, everything else to the read API's app: /api/, the pages (`/`
is the status page) and /static/, which nginx serves from disk in production and the API app
answers here itself. It lives beside scripts/run, not in a package: it joins the two apps, and
the read API never imports the upload endpoint (nor energy_ingest anything of energy_api).
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
