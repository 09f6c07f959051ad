"""The upload endpoint (its own process, no database credentials): `create_app()` is what gunicorn
serves, as `energy_ingest.upload:create_app()` in the unit, nginx and Makefile-prod."""

from energy_ingest.upload.app import create_app

__all__ = ["create_app"]
