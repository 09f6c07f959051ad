"""energy_api: the read-only HTTP API over the stored points and readings (`create_app()`).

Packages: v2 (the /api/v2 routes), legacy (the dashboard's /api/ routes), values (readings over a
range), sql (the SQL both APIs share), openapi (the /api/v2 document). Modules: web (what every
route uses: settings, connection, clock, zone, JSON, conditional GETs), errors, params (a
request's parameters), timeparse, db (the connection pool), streams (streamed answers' slots),
csvcells, cors, index (GET /api/), metrics (GET /metrics, Prometheus), ui (the web pages: /, /explore,
/catalog, /docs and their /static/ files).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from energy_api import cors, errors, index, metrics, ui
from energy_api.db import Database
from energy_api.legacy import catalog as legacy_catalog
from energy_api.legacy import values as legacy_values
from energy_api.streams import Streams
from energy_api.v2 import catalog, health, routes, values
from energy_ingest.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """The Flask app; nothing connects to PostgreSQL until the first request (after fork)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)  # ui serves /static/ (fingerprinted)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["energy_settings"] = settings
    app.extensions["energy_db"] = Database(settings)
    app.extensions["energy_streams"] = Streams(settings.api_streams)
    app.extensions["energy_clock"] = lambda: datetime.now(UTC)
    errors.register(app)
    cors.register(app, settings.cors_origins)
    app.register_blueprint(index.bp, url_prefix="/api")
    app.register_blueprint(legacy_catalog.bp, url_prefix="/api")
    app.register_blueprint(legacy_values.bp, url_prefix="/api")
    app.register_blueprint(routes.bp, url_prefix="/api/v2")
    app.register_blueprint(values.bp, url_prefix="/api/v2")
    app.register_blueprint(catalog.bp, url_prefix="/api/v2")
    app.register_blueprint(health.bp, url_prefix="/api/v2")
    app.register_blueprint(metrics.bp)
    app.register_blueprint(ui.bp)
    return app
