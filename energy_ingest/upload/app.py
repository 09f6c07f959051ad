"""The upload endpoint: a tiny Flask app that streams posted report files into the spool, nothing more.

POST /upload/<siemens|alc>   multipart/form-data, any file part(s) → 200 `OK` once every file is
                             fsynced and renamed into incoming/<source>/ (JSON with Accept: application/json)
GET  /upload/                `upload service is running`
GET  /upload/health          spool writable? free space?

It has no database credentials and imports nothing that talks to PostgreSQL. Bodies are parsed as
they arrive (upload/multipart.py) and written straight to spool/.tmp/ (upload/receive.py), so
memory use does not grow with the upload; nothing reaches incoming/ until the whole request was
good, and only under a name the ingest daemon takes (`spool.is_report_name`): `report.csv.tmp` is stored as
`report.csv`.

A refusal is answered as soon as it is decided, before the rest of the body is read; see `_refusal`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import IO

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from energy_ingest.config import Settings, configure_logging
from energy_ingest.file_kinds import SOURCES
from energy_ingest.spool import Spool
from energy_ingest.spool.files import fsync_dir, remove_stale_temps
from energy_ingest.upload.receive import (
    CHUNK,
    FORM_OVERHEAD,
    TEMP_PREFIX,
    ClientGone,
    Received,
    UploadRejected,
    not_delimited_text,
    quoted,
    receive,
    unlink_quietly,
)

__all__ = ["create_app", "not_delimited_text", "spool_health"]

log = logging.getLogger("energy_ingest.upload")

# After a refusal the rest of the body is read and dropped, so that a client which writes its whole
# request before reading the answer (the uploader does) gets the answer and not a reset connection;
# but a client that pauses for DRAIN_IDLE_SECONDS is not sending, and none holds a thread longer.
DRAIN_IDLE_SECONDS = 1.0
DRAIN_SECONDS = 10.0


def create_app(settings: Settings | None = None) -> Flask:
    """Flask app factory; gunicorn runs `energy_ingest.upload:create_app()` (settings from env)."""
    if settings is None:
        settings = Settings.from_env()
        configure_logging(settings)
    app = Flask(__name__)
    spool = Spool(settings.spool_dir)
    for name in remove_stale_temps(spool, TEMP_PREFIX):  # a worker killed mid-upload
        log.info("removed stale upload temp file %s", name)
    app.register_blueprint(_blueprint(settings, spool))

    @app.errorhandler(HTTPException)
    def plain_error(exc: HTTPException) -> Response:
        """Flask's own 404/405 pages as one line of text, like every other answer here."""
        reason = f"{exc.name}: {request.method} {request.path}"
        if exc.code == 405:
            reason += " (uploads are POST /upload/siemens or POST /upload/alc)"
        return _reply(exc.code or 500, reason)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Response:
        """A bug is a one-line 500 for the client; the traceback goes to the log, for us."""
        log.exception("internal error handling %s %s", request.method, request.path)
        return _reply(500, "internal error; nothing was stored; try again later")

    return app


def _blueprint(settings: Settings, spool: Spool) -> Blueprint:
    bp = Blueprint("upload", __name__, url_prefix="/upload")

    @bp.get("/")
    def index() -> Response:
        return Response("upload service is running\n", mimetype="text/plain")

    @bp.get("/health")
    def health() -> Response:
        status, body = spool_health(spool, settings.max_upload_bytes)
        return Response(json.dumps(body) + "\n", status=status, mimetype="application/json")

    @bp.post("/<source>")
    def upload(source: str) -> Response:
        started = time.monotonic()
        received = Received()
        try:
            if source not in SOURCES:
                raise UploadRejected(
                    404, f"unknown source {source!r}; post to /upload/siemens or /upload/alc"
                )
            receive(settings, spool, source, received)
        except UploadRejected as exc:
            _log(source, exc.status, exc.reason, received, started)
            return _refusal(exc.status, exc.reason, received, settings)
        except ClientGone as exc:
            _log(source, 400, str(exc), received, started)
            return _reply(400, str(exc))
        _log(source, 200, "stored", received, started)
        if _wants_json():
            files = [
                {
                    "field": s.field_name,
                    "filename": s.filename,
                    "name": s.path.name,
                    "path": s.path.relative_to(spool.root).as_posix(),
                    "bytes": s.size,
                    "sha256": s.sha256,
                    "renamed": s.renamed,
                }
                for s in received.stored
            ]
            return Response(json.dumps({"stored": files}) + "\n", mimetype="application/json")
        return Response("OK", mimetype="text/plain")

    return bp


def spool_health(spool: Spool, max_upload_bytes: int) -> tuple[int, dict[str, object]]:
    """(HTTP status, body): 200 if a file can be written to .tmp/ and an upload fits on disk."""
    probe = spool.tmp / f"{TEMP_PREFIX}-health-{uuid.uuid4().hex}.part"
    body: dict[str, object] = {"status": "ok", "writable": True}
    try:
        spool.tmp.mkdir(parents=True, exist_ok=True)
        for source in SOURCES:
            spool.incoming(source).mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        os.unlink(probe)
        fsync_dir(spool.tmp)
    except OSError as exc:
        unlink_quietly(probe)
        return 503, {"status": "error", "writable": False, "error": exc.strerror or str(exc)}
    stat = os.statvfs(spool.tmp)
    free = stat.f_bavail * stat.f_frsize
    body["free_bytes"] = free
    body["max_upload_bytes"] = max_upload_bytes
    if free < max_upload_bytes:
        body["status"] = "low on space"
        return 507, body
    return 200, body


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
    return best == "application/json"


def _reply(status: int, reason: str) -> Response:
    if _wants_json():
        return Response(
            json.dumps({"error": reason}) + "\n", status=status, mimetype="application/json"
        )
    return Response(reason + "\n", status=status, mimetype="text/plain")


def _refusal(status: int, reason: str, received: Received, settings: Settings) -> Response:
    """The answer to a refused request, sent at once; then the rest of the body is dropped.

    The answer goes out before another byte of the body is read: a client that sends its headers
    and waits (a wrong token, a declared length over the limit) gets it at once. Then, for a client
    that writes its whole body before reading (the uploader), the rest is read and dropped — closing
    a socket with unread data makes the kernel reset the connection, and the client would lose the
    answer — but only while it keeps sending, for at most DRAIN_SECONDS and the upload limit. A
    drain cut short makes gunicorn close the connection (it cannot tell where the next request
    would start); WSGI forbids the app to send `Connection: close` itself.
    """
    answer = _reply(status, reason)
    body = answer.get_data()
    budget = settings.max_upload_bytes + FORM_OVERHEAD - received.body_bytes
    length = request.content_length
    if length is not None and length - received.body_bytes > budget:
        budget = 0  # more is coming than we would ever read: gunicorn closes the connection
    stream = request.stream
    # gunicorn hands the app its socket; the drain needs it for a read timeout (None elsewhere,
    # e.g. the Flask test client, whose body is all there).
    sock = request.environ.get("gunicorn.socket")

    def answer_then_drain() -> Iterator[bytes]:
        yield body
        _drain(stream, sock if isinstance(sock, socket.socket) else None, budget)

    return Response(
        answer_then_drain(),
        status=status,
        headers={"Content-Length": str(len(body))},
        content_type=answer.content_type,
    )


def _drain(stream: IO[bytes], sock: socket.socket | None, budget: int) -> None:
    """Read and drop up to `budget` bytes while the client keeps sending (see `_refusal`)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    prior = sock.gettimeout() if sock is not None else None
    try:
        while budget > 0:
            if sock is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                sock.settimeout(min(DRAIN_IDLE_SECONDS, left))
            chunk = stream.read(min(CHUNK, budget))
            if not chunk:
                return
            budget -= len(chunk)
    except Exception:  # a pause (timeout) or a client gone: nobody is sending any more
        return
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(prior)


def _log(source: str, status: int, result: str, received: Received, started: float) -> None:
    files = (
        ", ".join(
            f"{quoted(s.filename)} -> {s.path.name} ({s.size} bytes"
            + (f", renamed: {s.renamed})" if s.renamed else ")")
            if status == 200
            else f"{quoted(s.filename)} ({s.size} bytes)"
            for s in received.stored
        )
        or "no file"
    )
    level = logging.INFO if status == 200 else logging.WARNING
    log.log(
        level,
        "upload %s from %s: %d %s; %s; %d body bytes in %.2fs",
        source,
        request.remote_addr,
        status,
        result,
        files,
        received.body_bytes,
        time.monotonic() - started,
    )
