"""The upload endpoint (its own process, no database credentials): `create_app()` is what gunicorn
serves, as `energy_ingest.upload:create_app()` in the unit, nginx and Makefile-prod.

    app.py        the Flask app: routes, answers, the log line per request
    receive.py    one request's file parts streamed into the spool and placed
    multipart.py  the streaming multipart/form-data parser
"""

from energy_ingest.upload.app import create_app

__all__ = ["create_app"]
