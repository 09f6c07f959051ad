"""The whole OpenAPI 3.1 document of /api/v2: its own routes' paths, the catalog's, and itself."""

from __future__ import annotations

from typing import Any

from energy_api.openapi import catalog, health, v2
from energy_api.openapi.parts import ERRORS, response


def document() -> dict[str, Any]:
    """The whole document; /api/v2/openapi.json serves it and the tests validate it."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "energy read API",
            "version": "2.0.0",
            "description": "Read-only access to building-automation points and readings."
            " Errors are {error: {status, code, message, param}}. Responses carry ETag and"
            " Last-Modified from the ingest ledger; revalidate for a 304.",
        },
        "servers": [{"url": "/api/v2"}],
        "paths": {
            **v2.paths(),
            **catalog.paths(),
            **health.paths(),
            "/openapi.json": {
                "get": {
                    "summary": "this document",
                    "responses": {
                        "200": response({"type": "object"}, "OpenAPI 3.1"),
                        "400": ERRORS["400"],
                        "405": ERRORS["405"],
                        "406": ERRORS["406"],
                    },
                }
            },
        },
        "components": {"schemas": {**v2.SCHEMAS, **catalog.schemas(), **health.SCHEMAS}},
    }
