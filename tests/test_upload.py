"""The upload endpoint through a real gunicorn on loopback: real HTTP, real spool, nothing mocked."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from upload_server import UploadServer, start

from energy_ingest.spool import is_report_name

DATA = Path(__file__).resolve().parent / "data"
REPORT = DATA / "REAL_siemens_insight_RECCNTR.AUDIT.TRENDRPT_171016_excerpt.csv"
BOUNDARY = "---------------------------0123456789012"
MAX_BYTES = 1024 * 1024
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    root = tmp_path_factory.mktemp("upload")
    srv = start(root / "spool", root / "gunicorn.log", max_upload_bytes=str(MAX_BYTES))
    yield srv
    srv.stop()


def multipart(*parts: tuple[str, str | bytes | None, bytes], ctype: str = "text/csv") -> bytes:
    """A multipart body built by hand, so file names go on the wire exactly as given."""
    out = b""
    for name, filename, data in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        if filename is not None:
            raw = filename if isinstance(filename, bytes) else filename.encode()
            disposition += b'; filename="' + raw + b'"'
        out += disposition + b"\r\n"
        if filename is not None:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post(
    server: UploadServer,
    body: bytes | Iterator[bytes],
    source: str = "siemens",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    return requests.post(
        server.upload_url(source),
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **(headers or {})},
        timeout=30,
    )


def csv_bytes(size: int) -> bytes:
    row = b'"11/29/2018","00:15:00","72.5","ON"\r\n'
    return (row * (size // len(row) + 1))[:size]


def xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return buf.getvalue()


def raw_request(server: UploadServer, request: bytes) -> tuple[int, bytes]:
    """Send bytes exactly as given over a socket; return (status, body) of the response."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
            head, sep, rest = response.partition(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length: *(\d+)", head)
            if sep and match and len(rest) >= int(match.group(1)):
                break
    head, _, rest = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


# --- the uploader's request ----------------------------------------------------------------------


def test_a_byte_exact_replay_of_the_uploaders_request_is_stored_unchanged(
    server: UploadServer,
) -> None:
    template = (DATA / "CONSTRUCTED_lucid_style_vbs_upload_request_INFERRED.http").read_bytes()
    head, _, body = template.partition(b"\r\n\r\n")
    report = REPORT.read_bytes()
    windows = rb"C:\Users\jondich\Documents\insight-reports\RECCNTR.AUDIT.TRENDRPT_171016.csv"
    body = body.replace(b"<raw bytes of the Insight CSV, unmodified>", report)
    body = body.replace(b'filename="boliou1_11-30-18_02-00.csv"', b'filename="' + windows + b'"')
    assert b"Content-Type: application/upload" in body
    head = head.replace(b"<n>", str(len(body)).encode())
    before = server.files()

    status, reply = raw_request(server, head + b"\r\n\r\n" + body)

    assert (status, reply) == (200, b"OK")
    assert server.files() - before == {"incoming/siemens/RECCNTR.AUDIT.TRENDRPT_171016.csv"}
    stored = server.spool / "incoming/siemens/RECCNTR.AUDIT.TRENDRPT_171016.csv"
    assert stored.read_bytes() == report


def test_a_curl_style_upload_with_json_accept_lists_names_sizes_and_sha256(
    server: UploadServer,
) -> None:
    report = REPORT.read_bytes()
    reply = requests.post(
        server.upload_url("alc"),
        files={"file": ("trend.csv", report, "application/octet-stream")},
        headers=JSON,
        timeout=10,
    )
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    (entry,) = reply.json()["stored"]
    assert entry["name"].startswith("trend")
    assert entry["bytes"] == len(report)
    assert entry["sha256"] == hashlib.sha256(report).hexdigest()
    assert entry["path"] == f"incoming/alc/{entry['name']}"
    assert (server.spool / entry["path"]).read_bytes() == report


def test_several_file_parts_under_any_field_names_are_each_stored(server: UploadServer) -> None:
    a, b = csv_bytes(5000), b"x;y\n1;2\n"
    reply = post(
        server,
        multipart(
            ("file", "several-a.csv", a), ("report", "several-b.txt", b), ("note", None, b"hi")
        ),
        headers=JSON,
    )
    assert reply.status_code == 200, reply.text
    stored = {e["name"]: e for e in reply.json()["stored"]}
    assert set(stored) == {"several-a.csv", "several-b.txt"}
    assert (server.spool / "incoming/siemens/several-a.csv").read_bytes() == a
    assert (server.spool / "incoming/siemens/several-b.txt").read_bytes() == b


SAMPLES = sorted(p.name for p in DATA.iterdir() if p.suffix.lower() in (".csv", ".txt"))


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_report_is_accepted_whatever_its_extension(
    server: UploadServer, sample: str
) -> None:
    data = (DATA / sample).read_bytes()
    reply = post(server, multipart(("file", f"{sample}.dat", data), ctype="application/upload"))
    assert (reply.status_code, reply.text) == (200, "OK")


def test_the_same_name_twice_is_never_overwritten(server: UploadServer) -> None:
    first, second = b"a,b\n1,1\n", b"a,b\n2,2\n"
    for data in (first, second):
        assert post(server, multipart(("file", "twice.csv", data))).status_code == 200
    folder = server.spool / "incoming/siemens"
    assert (folder / "twice.csv").read_bytes() == first
    assert (folder / "twice-1.csv").read_bytes() == second


def test_a_hundred_concurrent_uploads_of_one_name_give_a_hundred_intact_files(
    server: UploadServer,
) -> None:
    bodies = [csv_bytes(20_000 + i * 997) + f"{i}\r\n".encode() for i in range(100)]
    before = server.files()

    def send(data: bytes) -> requests.Response:
        return post(server, multipart(("file", "boliou1_11-30-18_02-00.csv", data)), "alc", JSON)

    with ThreadPoolExecutor(max_workers=100) as pool:
        replies = list(pool.map(send, bodies))

    assert [r.status_code for r in replies] == [200] * 100
    new = server.files() - before
    assert len(new) == 100
    assert all(re.fullmatch(r"incoming/alc/boliou1_11-30-18_02-00(-\d+)?\.csv", n) for n in new)
    on_disk = {hashlib.sha256((server.spool / n).read_bytes()).hexdigest() for n in new}
    assert on_disk == {hashlib.sha256(b).hexdigest() for b in bodies}
    assert not any(n.startswith(".tmp/") for n in server.files())


# --- rejections: a short reason, the right status, and nothing stored ------------------------------


def chunked(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


REJECTIONS = {
    "no file part": (400, "no file part", multipart(("note", None, b"a,b"))),
    "empty filename": (400, "empty file name", multipart(("file", "", b"a,b\n"))),
    "empty file": (400, "is empty", multipart(("file", "empty.csv", b""))),
    "over the limit": (413, "limit", multipart(("file", "big.csv", csv_bytes(MAX_BYTES + 1)))),
    "far over the limit": (413, "limit", multipart(("file", "huge.csv", csv_bytes(3 * MAX_BYTES)))),
    "binary": (415, "binary", multipart(("file", "a.csv", bytes(range(256)) * 20))),
    "binary after a text start": (
        415,
        "binary",
        multipart(("file", "a.csv", b"a,b\n" + bytes(range(1, 30)) * 200)),
    ),
    "zip": (415, "ZIP", multipart(("file", "reports.zip", xlsx_bytes()))),
    "xlsx named csv": (415, "Excel .xlsx", multipart(("file", "report.csv", xlsx_bytes()))),
    "old xls": (415, "xls", multipart(("file", "r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 99))),
    "html": (
        415,
        "HTML",
        multipart(("file", "r.csv", b"\n  <!DOCTYPE html>\n<html><body>a,b</body></html>")),
    ),
    "undelimited text": (415, "without any delimiter", multipart(("file", "r.csv", b"hello\n"))),
    "one good file and one bad": (
        415,
        "binary",
        multipart(("file", "good.csv", b"a,b\n"), ("file", "bad.csv", bytes(300))),
    ),
    "too many files": (
        413,
        "more than 100 files",
        multipart(*[("file", f"{i}.csv", b"a,b\n") for i in range(101)]),
    ),
    "malformed multipart": (400, "malformed multipart", b"not multipart at all " * 5000),
    "cut short": (400, "incomplete", multipart(("file", "a.csv", b"a,b\n"))[:-30]),
}


@pytest.mark.parametrize("how", ["length", "chunked"])
@pytest.mark.parametrize("case", list(REJECTIONS))
def test_a_rejected_upload_gets_a_short_reason_and_leaves_nothing_behind(
    server: UploadServer, case: str, how: str
) -> None:
    status, reason, body = REJECTIONS[case]
    before = server.files()
    reply = post(server, body if how == "length" else chunked(body))
    assert reply.status_code == status
    assert reason in reply.text
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert len(reply.text) < 200 and "Traceback" not in reply.text
    assert server.files() == before


@pytest.mark.parametrize("length", [201, 250, 4000])
def test_a_boundary_longer_than_200_bytes_is_a_400_malformed_multipart_body_not_a_500(
    server: UploadServer, length: int
) -> None:
    boundary = "b" * length
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="long.csv"\r\n\r\n'
        f"a,b\r\n1,2\r\n--{boundary}--\r\n"
    ).encode()
    before = server.files()
    reply = requests.post(
        server.upload_url(),
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=30,
    )
    assert reply.status_code == 400, reply.text
    assert reply.text.startswith("malformed multipart body: the multipart boundary must be 1-200")
    assert server.files() == before
    server.wait_for_log(r"400 malformed multipart body: the multipart boundary must be")
    assert "Traceback" not in server.log_text()


def test_a_rejection_is_json_when_json_is_accepted(server: UploadServer) -> None:
    reply = post(server, multipart(("file", "empty.csv", b"")), headers=JSON)
    assert reply.status_code == 400
    assert reply.json() == {"error": "empty.csv is empty"}


def test_a_body_that_is_not_multipart_is_refused(server: UploadServer) -> None:
    before = server.files()
    reply = requests.post(
        server.upload_url(), data=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"}, timeout=10
    )
    assert reply.status_code == 400
    assert "expected multipart/form-data" in reply.text
    assert server.files() == before


def test_an_unknown_source_is_404(server: UploadServer) -> None:
    before = server.files()
    reply = post(server, multipart(("file", "a.csv", b"a,b\n")), source="metasys")
    assert reply.status_code == 404
    assert "unknown source 'metasys'" in reply.text
    assert server.files() == before


def test_an_oversized_declared_length_is_refused_before_the_body_is_read(
    server: UploadServer,
) -> None:
    head = (
        f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\nContent-Length: {10**12}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode()
    status, body = raw_request(server, head)
    assert status == 413
    assert b"limit" in body


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_client_that_disconnects_mid_upload_leaves_nothing_behind(
    server: UploadServer, framing: str
) -> None:
    before = server.files()
    name = f"disconnect-{framing}.csv"
    body = multipart(("file", name, csv_bytes(600_000)))
    if framing == "length":
        head = f"Content-Length: {len(body)}\r\n"
        sent = body[:300_000]
    else:
        head = "Transfer-Encoding: chunked\r\n"
        sent = b"%x\r\n" % 300_000 + body[:300_000] + b"\r\n"
    request = (
        f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\n{head}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode() + sent
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + 10
        while not any(f.startswith(".tmp/upload-") for f in server.files() - before):
            assert time.monotonic() < deadline, "the server never started writing the upload"
            time.sleep(0.01)
    server.wait_for_log(rf"400 (client disconnected|upload incomplete).*'{name}'")
    assert server.files() == before


# --- file names -----------------------------------------------------------------------------------

HOSTILE_NAMES: list[tuple[bytes, str | None]] = [
    (b"../../etc/passwd", "passwd"),
    (b"..\\..\\windows\\win.ini", "win.ini"),
    (b"/etc/shadow", "shadow"),
    (b"C:\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
    (b"\\\\server\\share\\report.csv", "report.csv"),
    (b"reports/../../../escape.csv", "escape.csv"),
    (b"a\x00b.csv", "ab.csv"),
    (b"evil\x00/../../x.csv", "x.csv"),
    (b"tab\tbreak.csv", "tabbreak.csv"),
    (b"line\r\nbreak.csv", "line"),  # a raw CRLF ends the header line: the rest is not a name
    (b"x" * 10_000 + b".csv", "x" * 196 + ".csv"),
    (b"..", None),
    (b"...", None),
    (b".", None),
    (b"/", None),
    (b"   ", None),
    (b"CON", "_CON"),
    (b"nul.csv", "_nul.csv"),
    (b"COM1.csv", "_COM1.csv"),
    ("Größe ✓ 報告.csv".encode(), "Größe ✓ 報告.csv"),
    ("Gro\u0308sse.csv".encode(), "Grösse.csv"),  # decomposed ö is normalised
    ("evil\u202ecsv.exe".encode(), "evilcsv.exe"),  # right-to-left override dropped
    (b".bashrc", "bashrc"),
    (b"%2e%2e%2fetc%2fpasswd", "%2e%2e%2fetc%2fpasswd"),
]


@pytest.mark.parametrize(
    ("filename", "expected"), HOSTILE_NAMES, ids=[repr(n[:30]) for n, _ in HOSTILE_NAMES]
)
def test_a_hostile_file_name_is_stored_inside_incoming_or_refused(
    server: UploadServer, filename: bytes, expected: str | None
) -> None:
    data = f"hostile,{len(filename)}\n".encode()
    before = server.files()
    reply = post(server, multipart(("file", filename, data)), source="siemens", headers=JSON)
    if expected is None:
        assert reply.status_code == 400, reply.text
        assert "no usable characters" in reply.json()["error"]
        assert server.files() == before
        return
    assert reply.status_code == 200, reply.text
    (entry,) = reply.json()["stored"]
    stored = (server.spool / entry["path"]).resolve()
    assert stored.parent == (server.spool / "incoming/siemens").resolve()
    assert stored.read_bytes() == data
    stem, dot, ext = expected.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (expected, "")
    assert re.fullmatch(re.escape(stem) + r"(-\d+)?" + re.escape(ext), entry["name"])
    assert server.files() - before == {f"incoming/siemens/{entry['name']}"}


# Names the daemon leaves alone (files still being written, failure notes), as an uploader may send
# them: (client file name, stored name, what the log line says about the rename).
UNTAKEN_NAMES = [
    ("untaken.csv.tmp", "untaken.csv", ".tmp"),
    ("untaken.csv.part", "untaken.csv", ".part"),
    ("untaken.csv~", "untaken.csv", "~"),
    ("untaken.csv.swp", "untaken.csv", ".swp"),
    ("untaken.csv.crdownload", "untaken.csv", ".crdownload"),
    ("untaken.csv.error", "untaken.csv", ".error"),
    ("UNTAKEN.CSV.TMP", "UNTAKEN.CSV", ".TMP"),
    ("C:\\Reports\\untaken.csv.part.tmp~", "untaken.csv", ".part.tmp~"),
    ("untaken.tmp", "untaken", ".tmp"),
    ("nul.tmp", "_nul", ".tmp"),
    ("nul~", "_nul", "~"),  # what is left must be a safe name too
]


@pytest.mark.parametrize(("filename", "expected", "suffix"), UNTAKEN_NAMES)
def test_a_name_the_daemon_would_not_take_is_stored_under_one_it_takes(
    server: UploadServer, filename: str, expected: str, suffix: str
) -> None:
    data = f"renamed,{filename}\n".encode()
    before = server.files()
    reply = post(server, multipart(("file", filename, data)), headers=JSON)
    assert reply.status_code == 200, reply.text
    (entry,) = reply.json()["stored"]
    assert is_report_name(entry["name"])
    stem, dot, ext = expected.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (expected, "")
    assert re.fullmatch(re.escape(stem) + r"(-\d+)?" + re.escape(ext), entry["name"])
    assert entry["renamed"] == f"the daemon does not take {suffix} names"
    assert server.files() - before == {f"incoming/siemens/{entry['name']}"}
    assert (server.spool / entry["path"]).read_bytes() == data
    server.wait_for_log(
        re.escape(f"-> {entry['name']} ({len(data)} bytes, renamed: the daemon does not take ")
    )


@pytest.mark.parametrize("filename", ["~", "~~~", "~.tmp", "~.swp.error", "  ~.part  "])
def test_a_name_with_nothing_left_once_made_takeable_is_refused_and_says_why(
    server: UploadServer, filename: str
) -> None:
    before = server.files()
    reply = post(server, multipart(("file", filename, b"a,b\n")), headers=JSON)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert "nothing is left once the temporary suffixes are removed" in error
    assert "send the report under its own name" in error
    assert server.files() == before


# --- status pages, logging ------------------------------------------------------------------------


def test_the_index_says_the_service_is_running(server: UploadServer) -> None:
    reply = requests.get(server.url + "/upload/", timeout=10)
    assert (reply.status_code, reply.text) == (200, "upload service is running\n")


def test_health_reports_a_writable_spool_and_its_free_space(server: UploadServer) -> None:
    reply = requests.get(server.url + "/upload/health", timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "ok" and body["writable"] is True
    assert body["free_bytes"] > MAX_BYTES


def test_each_request_logs_one_line_with_source_name_bytes_and_result(
    server: UploadServer,
) -> None:
    data = b"a,b\n1,2\n"
    assert post(server, multipart(("file", "C:\\x\\logged-once.csv", data))).status_code == 200
    assert post(server, multipart(("file", "logged-415.csv", bytes(100)))).status_code == 415
    time.sleep(0.2)
    lines = server.log_text().splitlines()
    ok = [line for line in lines if "logged-once" in line]
    bad = [line for line in lines if "logged-415" in line]
    assert len(ok) == 1 and len(bad) == 1
    assert re.search(r"INFO .*upload siemens from 127\.0\.0\.1: 200 stored;", ok[0])
    assert f"-> logged-once.csv ({len(data)} bytes)" in ok[0]
    assert re.search(r"WARNING .*upload siemens from 127\.0\.0\.1: 415 ", bad[0])


# --- the shared secret ----------------------------------------------------------------------------

TOKEN = "s3cret-token-do-not-log"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    root = tmp_path_factory.mktemp("upload-token")
    srv = start(root / "spool", root / "gunicorn.log", upload_token=TOKEN, workers=1, threads=2)
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("headers", "fields", "status"),
    [
        ({}, [], 401),
        ({"Authorization": "Bearer wrong"}, [], 401),
        ({"Authorization": f"Basic {TOKEN}"}, [], 401),
        ({}, [("token", None, b"wrong")], 401),
        ({"Authorization": "Bearer wrong"}, [("token", None, TOKEN.encode())], 401),
        ({"Authorization": f"Bearer {TOKEN}"}, [], 200),
        ({}, [("token", None, TOKEN.encode())], 200),
    ],
)
def test_with_a_token_configured_only_uploads_carrying_it_are_stored(
    token_server: UploadServer,
    headers: dict[str, str],
    fields: list[tuple[str, None, bytes]],
    status: int,
) -> None:
    before = token_server.files()
    reply = post(token_server, multipart(("file", "tok.csv", b"a,b\n"), *fields), headers=headers)
    assert reply.status_code == status, reply.text
    if status == 401:
        assert "upload token" in reply.text
        assert token_server.files() == before
    else:
        assert len(token_server.files() - before) == 1
    assert TOKEN not in token_server.log_text()


def test_a_wrong_token_field_stops_the_upload_before_any_file_is_written(
    token_server: UploadServer,
) -> None:
    body = multipart(("token", None, b"wrong"), ("file", "early-401.csv", csv_bytes(500_000)))
    reply = post(token_server, body)
    assert reply.status_code == 401
    time.sleep(0.2)
    line = [x for x in token_server.log_text().splitlines() if ": 401 " in x][-1]
    assert "; no file; " in line and "early-401" not in line


def read_response(sock: socket.socket) -> tuple[int, bytes, bytes]:
    """(status, head, body) of the first final response on `sock`, skipping any 100 Continue."""
    data = b""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep and head.startswith(b"HTTP/1.1 100"):
            data = rest
            continue
        match = re.search(rb"(?i)content-length: *(\d+)", head)
        if sep and match and len(rest) >= int(match.group(1)):
            return int(head.split()[1]), head, rest[: int(match.group(1))]
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a whole response: {data!r}")
        data += chunk


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong", "Bearer ", "Basic czNjcmV0", f"Bearer {TOKEN}x"]
)
@pytest.mark.parametrize("client", ["sends no body", "expects 100-continue", "stalls mid-body"])
def test_a_wrong_bearer_token_is_refused_at_once_without_waiting_for_the_body(
    token_server: UploadServer, authorization: str, client: str
) -> None:
    body = multipart(("file", "refused-early.csv", csv_bytes(8 * 1024 * 1024)))
    head = (
        f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Authorization: {authorization}\r\n"
    )
    if client == "expects 100-continue":
        head += "Expect: 100-continue\r\n"
    sent = body[:1000] if client == "stalls mid-body" else b""
    before = token_server.files()
    with socket.create_connection(("127.0.0.1", token_server.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + sent)
        started = time.monotonic()
        status, _, reply = read_response(sock)  # the socket's 10 s timeout fails a waiting server
        waited = time.monotonic() - started
        assert status == 401, reply
        assert b"upload token" in reply
        # Still connected, the client has sent next to nothing of its 8 MiB: nothing was spooled.
        assert not any(f.startswith(".tmp/") for f in token_server.files())
    assert waited < 5, f"the 401 took {waited:.1f} s"
    token_server.wait_for_log(r"401 missing or wrong upload token[^\n]*; no file; \d+ body bytes")
    assert token_server.files() == before
    assert TOKEN not in token_server.log_text()


def test_a_client_that_sends_its_whole_body_after_a_wrong_token_still_reads_the_401(
    token_server: UploadServer,
) -> None:
    """Like the uploader, which writes the whole request before it reads the answer."""
    body = multipart(("file", "sent-anyway.csv", csv_bytes(3 * 1024 * 1024)))
    head = (
        f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        "Authorization: Bearer wrong\r\n\r\n"
    ).encode()
    before = token_server.files()
    with socket.create_connection(("127.0.0.1", token_server.port), timeout=30) as sock:
        sock.sendall(head + body)
        status, _, reply = read_response(sock)
    assert status == 401, reply
    assert token_server.files() == before
