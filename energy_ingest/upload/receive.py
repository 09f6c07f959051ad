"""One upload request received: its file parts streamed into spool/.tmp/ as they arrive (sniffed,
hashed, fsynced), checked, then renamed into incoming/<source>/ — all of them or none.

Refusals are UploadRejected(status, reason); app.py turns them into answers.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flask import request

from energy_ingest.config import Settings
from energy_ingest.errors import EnergyError
from energy_ingest.file_kinds import HEAD_BYTES, not_a_report
from energy_ingest.spool import Spool, is_report_name, printable_name, report_name, safe_name
from energy_ingest.spool.files import place
from energy_ingest.upload.multipart import (
    MultipartError,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
)

log = logging.getLogger("energy_ingest.upload")

CHUNK = 64 * 1024
FORM_OVERHEAD = 1024 * 1024  # multipart framing and small fields allowed on top of the file bytes
MAX_FIELD_BYTES = 4096
MAX_FILES = (
    100  # file parts per request: each becomes a file, so tiny parts must not flood the spool
)
TEMP_PREFIX = "upload"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
DELIMITERS = ",;\t|"
UNDELIMITED = "text without any delimiter (comma, semicolon, tab or |)"


class UploadRejected(EnergyError):
    """A request we refuse: `status` is the HTTP status, str() the short reason for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ClientGone(EnergyError):
    """The client stopped sending before the body was complete."""


@dataclass
class Stored:
    """One received file part: in .tmp while being received, then placed under incoming/."""

    field_name: str
    filename: str
    name: str
    path: Path
    renamed: str | None = None
    """Why `name` is not the client's file name made safe (the daemon would not take that one)."""
    size: int = 0
    sha256: str = ""


@dataclass
class Received:
    stored: list[Stored] = field(default_factory=list)
    body_bytes: int = 0


def receive(settings: Settings, spool: Spool, source: str, received: Received) -> None:
    """Stream the request's file parts into .tmp, check them all, then place them in incoming/."""
    token_required = settings.upload_token is not None
    if token_required and "Authorization" in request.headers:
        _check_token(settings, _bearer(request.headers["Authorization"]))
        token_required = False
    boundary = _boundary()
    limit = settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        raise UploadRejected(413, f"upload larger than the {limit}-byte limit")
    _check_free_space(spool, request.content_length or 0)

    try:
        form_token = _stream_parts(
            spool, boundary, limit, received, settings if token_required else None
        )
        if token_required:
            _check_token(settings, form_token)
        if not received.stored:
            raise UploadRejected(
                400, "no file part in the form; send the report in a part named file"
            )
        _place_all(spool, source, received.stored)
    except BaseException:
        for stored in received.stored:
            if stored.path.parent == spool.tmp:
                unlink_quietly(stored.path)
        raise


def _stream_parts(
    spool: Spool, boundary: bytes, limit: int, received: Received, check_token: Settings | None
) -> str | None:
    """Write every file part to its own temp file; return the `token` form field, if any.

    With `check_token`, a token field is checked as soon as it ends (a wrong one stops the upload).
    """
    stream = request.stream
    sink: _Sink | None = None
    field_name: str | None = None
    field_value = bytearray()
    token: str | None = None
    file_bytes = 0
    try:
        try:
            parser = MultipartParser(boundary)  # refuses a boundary it cannot use
        except MultipartError as exc:
            raise UploadRejected(400, f"malformed multipart body: {exc}") from None
        for chunk in _chunks(stream):
            received.body_bytes += len(chunk)
            if received.body_bytes > limit + FORM_OVERHEAD:
                raise UploadRejected(413, f"upload larger than the {limit}-byte limit")
            try:
                events = parser.feed(chunk)
            except MultipartError as exc:
                raise UploadRejected(400, f"malformed multipart body: {exc}") from None
            for event in events:
                if isinstance(event, PartStart):
                    if event.filename is None:
                        field_name, field_value = event.name, bytearray()
                        continue
                    if len(received.stored) >= MAX_FILES:
                        raise UploadRejected(413, f"more than {MAX_FILES} files in one request")
                    sink = _Sink.open(spool, event.name, event.filename)
                    received.stored.append(sink.stored)
                elif isinstance(event, PartData):
                    if sink is not None:
                        file_bytes += len(event.data)
                        if file_bytes > limit:
                            raise UploadRejected(413, f"upload larger than the {limit}-byte limit")
                        sink.write(event.data)
                    elif field_name == "token" and len(field_value) <= MAX_FIELD_BYTES:
                        field_value += event.data
                elif isinstance(event, PartEnd):
                    if sink is not None:
                        sink.finish()
                        sink = None
                    elif field_name == "token":
                        token = field_value.decode("utf-8", errors="replace")
                        if check_token is not None:
                            _check_token(check_token, token)
                    field_name = None
        try:
            parser.close()
        except MultipartError as exc:
            raise ClientGone(f"upload incomplete: {exc}") from None
    finally:
        if sink is not None:
            sink.abandon()
    return token


class _Sink:
    """A temp file in .tmp/ receiving one part: sniffs its head, hashes, fsyncs on finish."""

    def __init__(self, stored: Stored, fh: IO[bytes]) -> None:
        self.stored = stored
        self.fh = fh
        self.head = bytearray()
        self.sniffed = False
        self.digest = hashlib.sha256()

    @classmethod
    def open(cls, spool: Spool, field_name: str, filename: str) -> _Sink:
        if filename == "":
            raise UploadRejected(400, f"part {field_name!r} has an empty file name")
        name, renamed = stored_name(filename)
        path = spool.tmp / f"{TEMP_PREFIX}-{uuid.uuid4().hex}.part"
        try:
            spool.tmp.mkdir(parents=True, exist_ok=True)
            fh = open(path, "xb")  # noqa: SIM115 - closed by finish() or abandon()
        except OSError as exc:
            raise _storage_error(exc) from None
        return cls(Stored(field_name, filename, name, path, renamed), fh)

    def write(self, data: bytes) -> None:
        self.stored.size += len(data)
        if not self.sniffed:
            self.head += data[: HEAD_BYTES - len(self.head)]
            if len(self.head) >= HEAD_BYTES:
                self._sniff()
        self.digest.update(data)
        try:
            self.fh.write(data)
        except OSError as exc:
            raise _storage_error(exc) from None

    def finish(self) -> None:
        if self.stored.size == 0:
            raise UploadRejected(400, f"{self.stored.name} is empty")
        if not self.sniffed:
            self._sniff()
        self.stored.sha256 = self.digest.hexdigest()
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
        except OSError as exc:
            raise _storage_error(exc) from None

    def abandon(self) -> None:
        # The bytes are being thrown away; a failed flush changes nothing.
        with contextlib.suppress(OSError):
            self.fh.close()
        unlink_quietly(self.stored.path)

    def _sniff(self) -> None:
        self.sniffed = True
        head = bytes(self.head)
        found = not_a_report(head)
        if found is not None:
            raise UploadRejected(415, f"{self.stored.name} {found.sentence()} — {found.hint}")
        if _undelimited(head):
            raise UploadRejected(
                415, f"{self.stored.name} is {UNDELIMITED}, not a CSV trend report"
            )


def stored_name(filename: str) -> tuple[str, str | None]:
    """The name a client's file is stored under (safe, and one the daemon takes), and why it is not
    simply the client's name made safe; UploadRejected(400) when nothing usable is left.

    An uploader that answers 200 moves its copy away: a name the daemon skips (`report.csv.tmp`)
    would strand the report, so it is stored under the name `spool.report_name` makes of it.
    """
    name = safe_name(filename)
    if name is None:
        raise UploadRejected(400, f"file name {quoted(filename)} has no usable characters")
    if is_report_name(name):
        return name, None
    better = report_name(name)
    stored = safe_name(better) if better else None  # `nul~` leaves `nul`: made safe again
    if better is None or stored is None or not is_report_name(stored):
        raise UploadRejected(
            400,
            f"file name {quoted(filename)}: the daemon does not take it, and nothing is left "
            "once the temporary suffixes are removed; send the report under its own name",
        )
    if name.startswith("."):
        return stored, "the daemon does not take names that start with a dot"
    dropped = name[len(better) :].strip() if name.startswith(better) else name
    return stored, f"the daemon does not take {dropped} names"


def not_delimited_text(head: bytes) -> str | None:
    """Why the first bytes of a file are not a delimited text report, or None if they may be one:
    what `energy_ingest.file_kinds` finds them to be (in the daemon's words), else text without any
    delimiter."""
    found = not_a_report(head)
    if found is not None:
        return found.what
    return UNDELIMITED if _undelimited(head) else None


def _undelimited(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    return not any(d in text for d in DELIMITERS)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The body in chunks; a client that vanishes mid-body becomes ClientGone."""
    while True:
        try:
            chunk = stream.read(CHUNK)
        except Exception as exc:  # werkzeug ClientDisconnected, gunicorn NoMoreData, socket errors
            raise ClientGone(f"client disconnected mid-upload ({type(exc).__name__})") from None
        if not chunk:
            return
        yield chunk


def _place_all(spool: Spool, source: str, stored: list[Stored]) -> None:
    """Rename every temp file into incoming/<source>/; on failure take back the ones already there."""
    placed: list[Path] = []
    try:
        for item in stored:
            target = place(item.path, spool.incoming(source), item.name)
            placed.append(target)
            item.path = target
    except OSError as exc:
        for path in placed:
            unlink_quietly(path)
        raise _storage_error(exc) from None


def _storage_error(exc: OSError) -> UploadRejected:
    log.error("spool write failed: %s", exc)
    if exc.errno in NO_SPACE:
        return UploadRejected(507, "the spool disk is full; try again later")
    reason = exc.strerror or type(exc).__name__
    return UploadRejected(503, f"the spool is not writable ({reason}); try again later")


def _check_free_space(spool: Spool, needed: int) -> None:
    try:
        stat = os.statvfs(spool.root if spool.root.exists() else spool.root.parent)
    except OSError:
        return  # the write itself will say what is wrong
    if needed and stat.f_bavail * stat.f_frsize < needed:
        raise UploadRejected(507, "the spool disk is full; try again later")


def _boundary() -> bytes:
    if request.mimetype != "multipart/form-data":
        got = request.mimetype or "no Content-Type"
        raise UploadRejected(
            400, f"expected multipart/form-data with the report in a part named file, got {got}"
        )
    boundary = request.mimetype_params.get("boundary", "")
    if not boundary:
        raise UploadRejected(400, "multipart/form-data without a boundary")
    return boundary.encode("latin-1", errors="replace")


def _bearer(header: str) -> str:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _check_token(settings: Settings, given: str | None) -> None:
    expected = settings.upload_token or ""
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise UploadRejected(
            401, "missing or wrong upload token (Authorization: Bearer … or form field token)"
        )


def quoted(text: str) -> str:
    """A client-supplied name, quoted, for one log line or answer: rendered by `spool.printable_name`, the
    one rule for showing names (control characters escaped, nothing lost), and cut at 120
    characters."""
    return f"'{printable_name(text[:120])}" + ("…'" if len(text) > 120 else "'")


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("could not remove %s: %s", path, exc)
