"""The legacy dashboard API at /api/ (docs/legacy-api.md): the old backend's routes and JSON
shapes, served read-only over the catalog and the readings. /api/v2 is the API for new clients."""

from energy_api.legacy import values  # noqa: F401  (adds the reading routes to bp)
from energy_api.legacy.catalog import bp

__all__ = ["bp"]
