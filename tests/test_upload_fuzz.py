"""Hostile multipart bodies and headers against the upload app: always a 2xx/4xx, never a stray file.

The app runs in-process through Flask's test client (real files in a real spool, nothing mocked) so
that tens of thousands of requests fit in about a minute; tests/test_upload.py sends the same kind
of requests through a real gunicorn.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_ingest.config import Settings
from energy_ingest.spool import is_report_name
from energy_ingest.upload.app import create_app
from energy_ingest.upload.multipart import MultipartError, MultipartParser

pytestmark = pytest.mark.slow

MAX_BYTES = 64 * 1024
TOKEN = "fuzz-token"
TCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
SUFFIXES = ("", ".csv", ".tmp", ".part", "~", ".swp", ".crdownload", ".error", ".CSV.TMP", "~~")
CHARSETS = ("UTF-8", "utf-8", "iso-8859-1", "idna", "punycode", "undefined", "rot13", "nope", "")


@dataclass
class Spooled:
    """One app over one spool, reused by every example; `new()` lists what an example added."""

    app: Flask
    client: FlaskClient
    root: Path
    seen: set[Path] = field(default_factory=set)

    def temps(self) -> list[str]:
        tmp = self.root / ".tmp"
        return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []

    def incoming(self) -> set[Path]:
        return {p for p in (self.root / "incoming").rglob("*") if p.is_file()}

    def clear(self) -> None:
        for path in self.incoming():
            path.unlink()


def spooled(root: Path, token: str | None = None) -> Spooled:
    app = create_app(Settings(spool_dir=root, max_upload_bytes=MAX_BYTES, upload_token=token))
    return Spooled(app, app.test_client(), root)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Spooled]:
    base = tmp_path_factory.mktemp("fuzz")
    return {False: spooled(base / "open"), True: spooled(base / "token", TOKEN)}


# --- what a request is made of ---------------------------------------------------------------

boundaries = st.one_of(
    st.text(TCHARS, min_size=1, max_size=70),
    st.sampled_from([0, 1, 70, 71, 199, 200, 201, 202, 300, 5000]).map(lambda n: "b" * n),
    st.text(min_size=0, max_size=30),  # any character at all, including ones no header may carry
)

filenames = st.one_of(
    st.builds(
        lambda stem, suffix: stem + suffix,
        st.text(min_size=0, max_size=20),
        st.sampled_from(SUFFIXES),
    ),
    st.sampled_from(["", ".", "..", "~", ".tmp", "...tmp", " .part", "CON.tmp", "nul~", "a/b.tmp"]),
    st.text(min_size=0, max_size=300),
)


# Strategies are built once here: building them inside every draw costs more than the request.
field_names = st.sampled_from(["file", "report", "token", "", 'x"y'])
disposition_kinds = st.sampled_from([b"form-data", b"attachment", b""])
name_kinds = st.sampled_from(["file", "file", "field", "extended", "raw"])
charsets = st.sampled_from(CHARSETS)
short_text = st.text(max_size=20)
short_bytes = st.binary(max_size=40)
header_kinds = st.sampled_from(["normal", "normal", "none", "no disposition", "huge"])
part_types = st.sampled_from([b"", b"Content-Type: text/csv", b"Content-Type: application/upload"])
junk_lengths = st.sampled_from([100, 16 * 1024, 20_000])
content_kinds = st.sampled_from(["csv", "csv", "bytes", "empty", "big", "boundary-like"])
csv_contents = st.sampled_from([b"a,b\r\n1,2\r\n", b'"<>Date","Time"\n', b"x;y\n"])
part_bytes = st.binary(max_size=200)
big_rows = st.sampled_from([1000, 13_000, 20_000])


@st.composite
def disposition(draw: st.DrawFn) -> bytes:
    out = b"Content-Disposition: " + draw(disposition_kinds)
    out += b'; name="' + draw(field_names).encode() + b'"'
    kind = draw(name_kinds)
    if kind == "file":
        out += b'; filename="' + draw(filenames).encode("utf-8", "surrogatepass") + b'"'
    elif kind == "extended":
        value = draw(short_text).encode("utf-8", "surrogatepass")
        if draw(st.booleans()):
            value = b"".join(b"%%%02X" % b for b in value)
        out += b"; filename*=" + draw(charsets).encode() + b"''" + value + b".csv"
    elif kind == "raw":
        out += b"; " + draw(short_bytes)
    return out


@st.composite
def part(draw: st.DrawFn, delimiter: bytes, nl: bytes) -> bytes:
    headers = draw(header_kinds)
    out = delimiter + nl
    if headers == "normal":
        out += draw(disposition()) + nl
        content_type = draw(part_types)
        if content_type:
            out += content_type + nl
    elif headers == "no disposition":
        out += b"Content-Type: text/csv" + nl
    elif headers == "huge":
        out += b"X-Junk: " + b"j" * draw(junk_lengths) + nl
    out += nl
    content = draw(content_kinds)
    if content == "csv":
        out += draw(csv_contents)
    elif content == "bytes":
        out += draw(part_bytes)
    elif content == "big":
        out += b"a,b\r\n" * draw(big_rows)
    elif content == "boundary-like":
        out += b"a,b" + nl + delimiter[:-1] + nl + delimiter + b"x" + nl
    return out + nl


@dataclass(frozen=True)
class Hostile:
    content_type: str | None
    body: bytes
    headers: dict[str, str]
    declared: int | None  # a Content-Length other than the body's own, or None


ctype_kinds = st.sampled_from(
    ["plain", "plain", "plain", "quoted", "none", "no boundary", "odd", "other"]
)
other_types = st.sampled_from(["text/csv", "multipart/mixed; boundary=b", "", "a/b; c"])
newlines = st.sampled_from([b"\r\n", b"\n"])
preambles = st.binary(max_size=20)
mutations = st.sampled_from(["as is", "as is", "truncate", "splice", "delete", "random"])
spliced = st.binary(min_size=1, max_size=50)
random_bodies = st.binary(max_size=2000)
authorizations = st.sampled_from([None, None, f"Bearer {TOKEN}", "Bearer wrong", "Basic x", ""])
declared_lengths = st.sampled_from([None, None, None, 0, 100, 10**9])


@st.composite
def hostile_requests(draw: st.DrawFn) -> Hostile:
    boundary = draw(boundaries)
    raw_boundary = boundary.encode("utf-8", "surrogatepass")
    ctype_kind = draw(ctype_kinds)
    content_type: str | None = {
        "plain": f"multipart/form-data; boundary={boundary}",
        "quoted": f'multipart/form-data; boundary="{boundary}"; charset=utf-8',
        "none": None,
        "no boundary": "multipart/form-data",
        "odd": f"Multipart/Form-Data;boundary={boundary};boundary=other;=;;x",
        "other": "",
    }[ctype_kind]
    if ctype_kind == "other":
        content_type = draw(other_types)

    nl = draw(newlines)
    delimiter = b"--" + raw_boundary
    parts = draw(st.lists(part(delimiter, nl), max_size=4))
    if draw(st.integers(0, 20)) == 0:
        parts *= 30  # many parts: more than the 100 files one request may carry
    body = draw(preambles) + b"".join(parts) + delimiter + b"--" + nl

    how = draw(mutations)
    if how == "truncate":
        body = body[: draw(st.integers(0, len(body)))]
    elif how == "splice":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(spliced) + body[at:]
    elif how == "delete":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + body[at + draw(st.integers(1, 50)) :]
    elif how == "random":
        body = draw(random_bodies)

    headers = {}
    auth = draw(authorizations)
    if auth is not None:
        headers["Authorization"] = auth
    if draw(st.booleans()):
        headers["Accept"] = "application/json"
    declared = draw(declared_lengths)
    if declared == 100:
        declared = len(body) + 100  # a body that stops before its declared end
    return Hostile(content_type, body, headers, declared)


def send(client: FlaskClient, req: Hostile, source: str = "siemens") -> tuple[int, bytes]:
    environ = {}
    if req.content_type is not None:
        environ["CONTENT_TYPE"] = req.content_type
    if req.declared is not None:
        environ["CONTENT_LENGTH"] = str(req.declared)
    reply = client.post(
        f"/upload/{source}", data=req.body, headers=req.headers, environ_overrides=environ
    )
    return reply.status_code, reply.get_data()


# --- the properties --------------------------------------------------------------------------


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(req=hostile_requests(), with_token=st.booleans())
def test_every_hostile_request_is_answered_2xx_or_4xx_and_leaves_no_stray_file(
    apps: dict[bool, Spooled], req: Hostile, with_token: bool
) -> None:
    spool = apps[with_token]
    before = spool.incoming()
    status, body = send(spool.client, req)
    try:
        assert 200 <= status < 500, (status, body)
        assert b"Traceback" not in body and len(body) < 100_000
        assert spool.temps() == [], "nothing may stay in .tmp/"
        added = spool.incoming() - before
        if status != 200:
            assert added == set(), "a refused upload must not reach incoming/"
            return
        stored = {spool.root / entry["path"]: entry for entry in _json_or_guess(body, spool)}
        assert added == set(stored), "exactly the files the answer names reached incoming/"
        for path, entry in stored.items():
            data = path.read_bytes()
            assert len(data) == entry["bytes"] > 0
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert is_report_name(path.name), f"{path.name} would never be taken by the daemon"
    finally:
        spool.clear()


def _json_or_guess(body: bytes, spool: Spooled) -> list[dict[str, object]]:
    """The stored files from a JSON answer; for a plain `OK`, what is on disk (sizes unchecked)."""
    if body.startswith(b"{"):
        stored: list[dict[str, object]] = json.loads(body)["stored"]
        return stored
    assert body == b"OK"
    return [
        {
            "path": p.relative_to(spool.root).as_posix(),
            "bytes": p.stat().st_size,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
        for p in spool.incoming()
    ]


@settings(max_examples=500, deadline=None)
@given(filename=filenames)
def test_any_client_file_name_is_refused_or_stored_under_a_name_the_daemon_takes(
    apps: dict[bool, Spooled], filename: str
) -> None:
    spool = apps[False]
    raw = filename.encode("utf-8", "surrogatepass")
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + raw
        + b'"\r\n\r\na,b\r\n1,2\r\n--b--\r\n'
    )
    reply = spool.client.post(
        "/upload/siemens",
        data=body,
        content_type="multipart/form-data; boundary=b",
        headers={"Accept": "application/json"},
    )
    try:
        if reply.status_code == 400:
            assert reply.json is not None and reply.json["error"]
            assert spool.incoming() == set()
            return
        assert reply.status_code == 200, reply.get_data()
        assert reply.json is not None
        (entry,) = reply.json["stored"]
        assert is_report_name(entry["name"]), entry
        assert (spool.root / entry["path"]).read_bytes() == b"a,b\r\n1,2"
    finally:
        spool.clear()
        assert spool.temps() == []


@settings(max_examples=2_000, deadline=None)
@given(
    boundary=st.binary(max_size=260),
    body=st.binary(max_size=600),
    cuts=st.lists(st.integers(0, 600), max_size=8),
)
def test_the_parser_raises_nothing_but_a_multipart_error_for_any_bytes(
    boundary: bytes, body: bytes, cuts: list[int]
) -> None:
    edges = [0, *sorted({c for c in cuts if c < len(body)}), len(body)]
    try:
        parser = MultipartParser(boundary)
        for a, b in itertools.pairwise(edges):
            parser.feed(body[a:b])
        parser.close()
    except MultipartError:
        pass
