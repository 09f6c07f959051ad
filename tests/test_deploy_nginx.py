"""nginx with the production site in front of the real upload app, API and daemon, as deployed.

nginx (Debian's package) runs as a foreground test instance with its own prefix, pid, logs and
temp dirs, including a copy of nginx/energy.conf in which only these are changed: the listen
ports (80 and 8080 become free loopback ports, the IPv6 listens are dropped), the two upstream
Unix sockets (/run/energy/*.sock become a temp run dir), the document root, the pages' static
folder (/opt/energy/static, into which the fixture publishes them as `make -f Makefile-prod
install` does), the /upload/ client_max_body_size (16k, so a small body proves the 413), the /upload/ client_body_timeout
(3s, so a test can wait for it) and the :80 listener's send buffer (64k, see TEST_WEB_SNDBUF).
Every substitution must find its text, so the test fails when
the site file drifts from it.

gunicorn and the daemon are started from the systemd units themselves: their ExecStart= (the
venv path swapped for this venv; `--bind` added, since systemd's socket activation does not run
here), their Environment= and the env templates' values, with the spool, database URL and
runtime dir pointed at test values. A fake $NOTIFY_SOCKET stands in for systemd: a process is
ready when it sends READY=1, as Type=notify requires. Where the kernel allows, each process
runs under MDWE (what MemoryDenyWriteExecute=yes enforces) and, as root, the upload app runs
in a network namespace of its own (PrivateNetwork=yes).
"""

from __future__ import annotations

import contextlib
import grp
import gzip
import http.client
import json
import os
import pwd
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import psycopg
import pytest
import requests
from api_server import giant_points
from deploy_helpers import env_template, require, unit_settings
from helpers import Linked
from prometheus_client.parser import text_string_to_metric_families

from energy_api.ui import PAGES, assets
from energy_api.web import CSP
from energy_ingest.spool import Spool

pytestmark = pytest.mark.nginx

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
SITE = ROOT / "nginx" / "energy.conf"
SAMPLE = ROOT / "tests" / "data" / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"
PROD_BIN = "/opt/energy/venv/bin/"
TEST_BODY_LIMIT = "16k"
TEST_UPLOAD_BODY_TIMEOUT = 3  # seconds; the site itself says 20s
# The frontend port's socket send buffer, instead of the kernel's (up to 4 MB): a client that
# reads nothing then holds up an answer as one on a slow link does.
TEST_WEB_SNDBUF = "64k"
BOUNDARY = "---------------------------0123456789012"  # the VBScript uploader's default


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"nginx exited with {proc.returncode}:\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nginx does not listen on {port}:\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} not written)"


def site_copy(upload_port: int, web_port: int, run: Path, docroot: Path, static: Path) -> str:
    conf = SITE.read_text()
    replacements = [
        ("listen [::]:8080;", ""),
        ("listen [::]:80;", ""),
        ("listen 8080;", f"listen 127.0.0.1:{upload_port};"),
        ("listen 80;", f"listen 127.0.0.1:{web_port} sndbuf={TEST_WEB_SNDBUF};"),
        ("server unix:/run/energy/upload.sock ", f"server unix:{run}/upload.sock "),
        ("server unix:/run/energy/api.sock ", f"server unix:{run}/api.sock "),
        ("root /var/www/energy;", f"root {docroot};"),
        ("alias /opt/energy/static/;", f"alias {static}/;"),  # in both servers
        ("client_max_body_size 65m;", f"client_max_body_size {TEST_BODY_LIMIT};"),
        ("client_body_timeout 20s;", f"client_body_timeout {TEST_UPLOAD_BODY_TIMEOUT}s;"),
    ]
    for old, new in replacements:
        assert old in conf, f"nginx/energy.conf no longer contains {old!r}: update this test"
        conf = conf.replace(old, new)
    return conf


def main_conf(base: Path) -> str:
    """A minimal nginx.conf around the site, like Debian's (which includes sites-enabled/*)."""
    user = ""
    if os.geteuid() == 0:
        # Workers drop to an unprivileged user as in production (www-data on Debian).
        name = "www-data"
        try:
            pwd.getpwnam(name)
            grp.getgrnam(name)
        except KeyError:
            name = "nobody nogroup"
        user = f"user {name};"
    return f"""
{user}
worker_processes 1;
daemon off;
pid {base}/nginx.pid;
error_log {base}/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {base}/access.log;
    client_body_temp_path {base}/tmp/client_body;
    proxy_temp_path {base}/tmp/proxy;
    fastcgi_temp_path {base}/tmp/fastcgi;
    uwsgi_temp_path {base}/tmp/uwsgi;
    scgi_temp_path {base}/tmp/scgi;
    include {base}/energy.conf;
}}
"""


@dataclass
class Web:
    base: Path
    run: Path
    docroot: Path
    static: Path  # the pages' files, published (production: /opt/energy/static)
    spool: Path
    upload_port: int  # production :8080 (upload and API; the Insight server's port)
    web_port: int  # production :80 (the campus dashboard's files, the pages and API)
    log: Path
    access_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.access_log = self.base / "access.log"

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    """nginx with the site copy; the upstream sockets exist only while `stack` runs."""
    nginx = require("nginx")
    # Not under pytest's 0700 tmp root: nginx's workers run as www-data and must get in.
    base = Path(tempfile.mkdtemp(prefix="energy-nginx-"))
    base.chmod(0o755)
    run, docroot, static, spool = base / "run", base / "www", base / "static", base / "spool"
    for path in (run, docroot, base / "tmp"):
        path.mkdir(mode=0o755)
        path.chmod(0o755)
    Spool(spool).ensure()
    assert len(assets.publish(static)) == len(assets.files())
    upload_port, web_port = free_ports(2)
    (base / "energy.conf").write_text(site_copy(upload_port, web_port, run, docroot, static))
    (base / "nginx.conf").write_text(main_conf(base))
    log = base / "error.log"
    with open(base / "nginx.out", "wb") as out:
        proc = subprocess.Popen(
            [nginx, "-p", f"{base}/", "-c", str(base / "nginx.conf"), "-e", str(log)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(upload_port, proc, log)
        wait_for_port(web_port, proc, log)
        yield Web(base, run, docroot, static, spool, upload_port, web_port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def post_like_the_uploader(url: str, filename: str, data: bytes) -> requests.Response:
    """The Insight server's VBScript request, byte for byte: multipart, part `file`."""
    body = (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/upload\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return requests.post(
        url,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=30,
    )


def spool_files(spool: Path) -> set[str]:
    return {str(p.relative_to(spool)) for p in spool.rglob("*") if p.is_file()}


def dashboard_values_path(points: int) -> str:
    """The campus dashboard's GET /api/values for a building of `points` points: one
    `point_ids[]=N` each, brackets percent-encoded as jQuery sends them."""
    ids = "&".join(f"point_ids%5B%5D={n}" for n in range(1000, 1000 + points))
    return f"/api/values?{ids}&start_time=1514354400.5&end_time=1514440800"


def get_raw(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of a GET whose request line is sent exactly as given."""
    return get_on(http.client.HTTPConnection("127.0.0.1", port, timeout=30), path)


def get_on(conn: http.client.HTTPConnection, path: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of a GET of `path` on `conn`, which it closes."""
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def assert_reached_the_app(status: int, content_type: str, body: bytes) -> None:
    """The API answered, not nginx or gunicorn (their 414/400/431 are HTML or plain text), and
    read every id: the test database has none of the points, so it names all of them."""
    assert content_type.startswith("application/json"), (status, content_type, body[:300])
    answer = json.loads(body)
    assert status == 400, (status, body[:300])
    assert re.search(r"\((\d+) of the \1 asked for\)", answer["error"]["message"]), answer


# --- nginx alone ----------------------------------------------------------------------------


def test_the_site_passes_nginx_t_inside_debians_own_nginx_conf(tmp_path: Path) -> None:
    """The file exactly as installed: Debian's nginx.conf with sites-enabled/* → our site only."""
    nginx = require("nginx")
    stock = Path("/etc/nginx/nginx.conf")
    if not stock.exists():
        pytest.skip("no /etc/nginx/nginx.conf (Debian's nginx package)")
    if os.geteuid() != 0:
        pytest.skip("nginx -t with the stock config opens /var/log/nginx and /run: needs root")
    conf = stock.read_text()
    include = "include /etc/nginx/sites-enabled/*;"
    assert include in conf
    (tmp_path / "nginx.conf").write_text(conf.replace(include, f"include {SITE};"))
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_the_pages_and_static_blocks_are_the_same_in_both_servers() -> None:
    """Both ports serve the pages and /static/ (the index at /api/ links the pages on either)."""
    site = SITE.read_text()
    for start in (r"location ~ \^/\(explore\|catalog\|docs\)\?\$ \{", r"location /static/ \{"):
        blocks = re.findall(start + r"(.*?)\n    \}", site, re.S)
        assert len(blocks) == 2, start
        assert blocks[0] == blocks[1], start


def test_the_test_instance_config_passes_nginx_t(web: Web) -> None:
    nginx = require("nginx")
    result = subprocess.run(
        [nginx, "-t", "-p", f"{web.base}/", "-c", str(web.base / "nginx.conf"), "-e", str(web.log)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_nginx_serves_the_campus_dashboards_files_itself_at_every_other_path_of_port_80(
    web: Web,
) -> None:
    """The dashboard's files from the document root, by nginx alone; but `/`, the pages and
    /static/ are ours (docs/deploy.md step 10): the dashboard's start page is /index.html, and a
    file of the document root at one of our paths is not served."""
    (web.docroot / "index.html").write_text("<!doctype html><title>energy</title>\n")
    (web.docroot / "assets").mkdir(exist_ok=True)
    (web.docroot / "assets" / "app.js").write_text("console.log('energy');\n")
    (web.docroot / "dashboard").mkdir(exist_ok=True)
    (web.docroot / "dashboard" / "index.html").write_text("<!doctype html><title>boliou</title>\n")
    (web.docroot / "explore").write_text("the dashboard's own explore\n")
    (web.docroot / "static").mkdir(exist_ok=True)
    (web.docroot / "static" / "app.css").write_text("/* the dashboard's own */\n")

    index = requests.get(web.url(web.web_port, "/index.html"), timeout=10)
    assert index.status_code == 200
    assert index.text == "<!doctype html><title>energy</title>\n"
    assert index.headers["Content-Type"].startswith("text/html")
    folder = requests.get(web.url(web.web_port, "/dashboard/"), timeout=10)
    assert folder.status_code == 200
    assert folder.text == "<!doctype html><title>boliou</title>\n"

    script = requests.get(web.url(web.web_port, "/assets/app.js"), timeout=10)
    assert script.status_code == 200
    assert script.text == "console.log('energy');\n"
    assert script.headers["Content-Type"] == "application/javascript"
    assert script.headers["X-Content-Type-Options"] == "nosniff"

    assert requests.get(web.url(web.web_port, "/missing.js"), timeout=10).status_code == 404
    # Ours: `/` and /explore go to the API (no API runs here: nginx's 502), /static/ to the
    # published folder, where app.css has no such unfingerprinted name.
    assert requests.get(web.url(web.web_port, "/"), timeout=10).status_code == 502
    assert requests.get(web.url(web.web_port, "/explore"), timeout=10).status_code == 502
    assert requests.get(web.url(web.web_port, "/static/app.css"), timeout=10).status_code == 404


def test_nginx_itself_answers_413_to_an_oversize_upload_and_nothing_reaches_the_spool(
    web: Web,
) -> None:
    before = spool_files(web.spool)
    response = post_like_the_uploader(
        web.url(web.upload_port, "/upload/siemens"), "huge.csv", b"1,2,3\r\n" * 10_000
    )
    assert response.status_code == 413
    assert response.text.startswith("upload too large for nginx"), response.text
    assert spool_files(web.spool) == before


def test_nginx_itself_answers_414_to_a_request_line_longer_than_its_32k_buffers(
    web: Web,
) -> None:
    """The API's gunicorn takes request lines of any length: nginx is the cap. No upstream runs
    here, so a request nginx passed on would be a 502, not a 414."""
    path = dashboard_values_path(2_000)
    assert len(f"GET {path} HTTP/1.1") > 32 * 1024
    for port in (web.upload_port, web.web_port):
        status, _, body = get_raw(port, path)
        assert status == 414, (port, body[:300])


def test_uploads_are_taken_only_on_8080_and_8080_serves_no_dashboard_file(web: Web) -> None:
    on_80 = post_like_the_uploader(web.url(web.web_port, "/upload/siemens"), "a.csv", b"x")
    assert on_80.status_code in (404, 405)
    (web.docroot / "index.html").write_text("<!doctype html><title>energy</title>\n")
    assert requests.get(web.url(web.web_port, "/index.html"), timeout=10).status_code == 200
    assert requests.get(web.url(web.upload_port, "/index.html"), timeout=10).status_code == 404
    assert requests.get(web.url(web.upload_port, "/anything"), timeout=10).status_code == 404


def test_the_pages_exact_paths_and_only_those_go_to_the_api_on_both_ports(web: Web) -> None:
    """No API runs here, so a request nginx passes on is its 502; anything else is a 404."""
    for port in (web.upload_port, web.web_port):
        for _, path, _ in PAGES:
            assert requests.get(web.url(port, path), timeout=10).status_code == 502, (port, path)
        query = web.url(port, "/explore?points=BOLIOU.AHU1.SAT&view=chart")
        assert requests.get(query, timeout=10).status_code == 502
        for path in ("/explore/", "/Explore", "/status", "/docs/x", "/catalog.html", "/apidocs"):
            assert requests.get(web.url(port, path), timeout=10).status_code == 404, (port, path)


def fetch(port: int, path: str, **headers: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    """(status, headers, body as sent: not decompressed) of a GET whose path is sent as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


IMMUTABLE = "public, max-age=31536000, immutable"  # as the API app says for make run (ui/__init__)
# By the logical name's extension (LICENSE and NOTICE have none); scripts as either JavaScript
# type, as Debian's mime.types may give either (browsers run both under nosniff).
STATIC_TYPES = {
    ".css": {"text/css; charset=utf-8"},
    ".js": {"application/javascript; charset=utf-8", "text/javascript; charset=utf-8"},
    ".txt": {"text/plain; charset=utf-8"},
    "": {"text/plain; charset=utf-8"},
}


def test_nginx_serves_every_published_file_from_disk_itself_on_both_ports(web: Web) -> None:
    """No API runs here, so a request passed on would be a 502: each file is nginx's answer,
    exactly its bytes, kept a year, typed by its extension."""
    for port in (web.upload_port, web.web_port):
        for logical, served in assets.manifest().items():
            status, headers, body = fetch(
                port, f"/static/{served}", **{"Accept-Encoding": "identity"}
            )
            assert status == 200, (port, served)
            assert body == (assets.STATIC / logical).read_bytes(), served
            assert headers["Cache-Control"] == IMMUTABLE, served
            assert headers["X-Content-Type-Options"] == "nosniff", served
            assert headers["Content-Type"] in STATIC_TYPES[PurePosixPath(logical).suffix], served
            assert "Content-Encoding" not in headers, served
            assert "ETag" in headers and "Last-Modified" in headers, served


def test_nginx_gzips_scripts_and_styles_for_a_browser_that_asks(web: Web) -> None:
    for logical in ("app.css", "common.js", "vendor/swagger-ui-5.36.0/swagger-ui-bundle.js"):
        data = (assets.STATIC / logical).read_bytes()
        for port in (web.upload_port, web.web_port):
            path = assets.url(logical)
            status, headers, body = fetch(port, path, **{"Accept-Encoding": "gzip, deflate, br"})
            assert status == 200, (port, path)
            assert headers["Content-Encoding"] == "gzip", (port, path)
            assert "Accept-Encoding" in headers["Vary"]
            assert headers["Cache-Control"] == IMMUTABLE
            assert gzip.decompress(body) == data
            assert len(body) < len(data) / 2, (logical, len(body), len(data))


def test_a_name_not_published_is_nginxs_own_404_never_cached(web: Web) -> None:
    """An unfingerprinted or unknown name, a folder, a path out of the folder: nginx's HTML 404
    (the API app's 404 is JSON, and no API runs here), without the year-long Cache-Control."""
    css = assets.manifest()["app.css"]
    missing = [
        "/static/app.css",
        "/static/app.000000000000.css",
        f"/static/{css}/",
        f"/static/{css.upper()}",
        "/static/",
        "/static/vendor",
        "/static/vendor/",
        "/static/../nginx.conf",  # the test instance's nginx.conf is next to the static folder
        "/static/%2e%2e/nginx.conf",
        "/static/..%2fnginx.conf",
    ]
    for port in (web.upload_port, web.web_port):
        for path in missing:
            status, headers, body = fetch(port, path)
            assert status == 404, (port, path, status)
            assert headers["Content-Type"].startswith("text/html"), (port, path)
            assert b"<center>nginx</center>" in body, (port, path)
            assert "Cache-Control" not in headers, (port, path)


def test_a_hidden_name_in_the_published_folder_is_never_served(web: Web) -> None:
    """publish copies each file as `.name.tmp` before renaming it, and a crash can leave one
    (readable, 0644, like everything there): nginx answers any hidden name with its own 404, in
    any folder, without the year-long Cache-Control."""
    css = assets.manifest()["app.css"]
    plot = PurePosixPath(assets.manifest()["vendor/uplot-1.6.32/uPlot.iife.min.js"])
    hidden = [
        f".{css}.tmp",
        f"{plot.parent}/.{plot.name}.tmp",
        ".hidden/app.css",  # a hidden folder too
    ]
    for name in hidden:
        path = web.static / name
        path.parent.mkdir(mode=0o755, exist_ok=True)
        path.parent.chmod(0o755)
        path.write_bytes(b"/* half a file */")
        path.chmod(0o644)
    try:
        for port in (web.upload_port, web.web_port):
            for name in hidden:
                status, headers, body = fetch(port, f"/static/{name}")
                assert status == 404, (port, name, status, body)
                assert b"<center>nginx</center>" in body, (port, name)
                assert "Cache-Control" not in headers, (port, name)
            # the published names beside them are served as ever
            assert fetch(port, f"/static/{css}")[0] == 200
            assert fetch(port, f"/static/{plot}")[0] == 200
    finally:
        for name in hidden:
            (web.static / name).unlink()
        (web.static / ".hidden").rmdir()


# --- nginx in front of the three processes --------------------------------------------------


MDWE_EXEC = """
import ctypes, os, sys
ctypes.CDLL(None).prctl(65, 1, 0, 0, 0)  # PR_SET_MDWE: no memory both writable and executable
os.execvp(sys.argv[1], sys.argv[1:])
"""


def sandbox_prefix(unit: str) -> list[str]:
    """What of the unit's sandbox this machine can reproduce without systemd."""
    prefix = [sys.executable, "-c", MDWE_EXEC]
    if unit == "energy-upload" and os.geteuid() == 0 and shutil.which("unshare"):
        probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
        if probe.returncode == 0:
            prefix = ["unshare", "--net", "--", *prefix]
    return prefix


class Notify:
    """The datagram socket systemd offers as $NOTIFY_SOCKET (sd_notify), on the test's side.

    Like systemd it reads every message as it arrives, on a thread of its own: a sender blocks
    once net.unix.max_dgram_qlen (10) messages wait unread, and the daemon pings every second.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self.closed = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.closed.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if ready:
                self.messages.append(self.sock.recv(65536).decode(errors="replace"))

    def wait_for(self, line: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(line in message.splitlines() for message in list(self.messages)):
            if proc.poll() is not None:
                pytest.fail(f"{log.stem} exited with {proc.returncode} before {line}:\n{tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"{log.stem} sent no {line} within {seconds} s:\n{tail(log)}")
            time.sleep(0.05)

    def close(self) -> None:
        self.closed.set()
        self.reader.join()
        self.sock.close()


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    notify: Notify
    log: Path
    ready: bool = False


def command(unit: str, extra: list[str]) -> list[str]:
    """The unit's ExecStart=, with the production venv replaced by this one."""
    (exec_start,) = unit_settings(SYSTEMD / f"{unit}.service")["Service.ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0].startswith(PROD_BIN), exec_start
    program = argv[0].removeprefix(PROD_BIN)
    if program == "gunicorn":
        return [sys.executable, "-m", "gunicorn", *argv[1:], *extra]
    return [str(Path(sys.executable).parent / program), *argv[1:], *extra]


def environment(unit: str, overrides: dict[str, str]) -> dict[str, str]:
    """The unit's Environment= and env template, test values on top; no production path left."""
    inherited = ("ENERGY_", "NOTIFY_SOCKET", "WATCHDOG_", "LISTEN_", "JOURNAL_STREAM")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    for assignment in unit_settings(SYSTEMD / f"{unit}.service").get("Service.Environment", []):
        key, _, value = assignment.partition("=")
        env[key] = value
    env.update(env_template(unit))
    env.update(overrides)
    for key, value in env.items():
        if key.startswith(("ENERGY_", "XDG_")):
            assert not value.startswith(("/var/lib/energy", "/run/", "/etc/energy")), (key, value)
            assert "CHANGE-ME" not in value, key
    return env


def start(web: Web, unit: str, extra: list[str], overrides: dict[str, str]) -> Service:
    runtime = web.run / unit
    runtime.mkdir(exist_ok=True)
    env = environment(unit, {"XDG_RUNTIME_DIR": str(runtime), **overrides})
    argv = [*sandbox_prefix(unit), *command(unit, extra)]
    notify_path = web.run / f"notify-{unit}.sock"
    notify_path.unlink(missing_ok=True)
    notify = Notify(notify_path)
    env["NOTIFY_SOCKET"] = str(notify.path)
    log = web.base / f"{unit}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=web.base, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Service(unit, proc, notify, log)


def stop(services: list[Service], seconds: float) -> list[str]:
    """SIGTERM to all, as systemd sends it; what went wrong (nothing when all exited 0 in time)."""
    problems = []
    for service in services:
        service.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for service in services:
        try:
            service.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if service.name == "energy-ingest":  # where it is stuck, into its log (faulthandler)
                service.proc.send_signal(signal.SIGUSR1)
                time.sleep(1)
            service.proc.kill()
            service.proc.wait()
            problems.append(
                f"{service.name} ignored SIGTERM for {seconds} s:\n{tail(service.log, 80)}"
            )
        else:
            # Before READY=1 a process may not have its SIGTERM handler yet; systemd knows that too.
            if service.proc.returncode != 0 and service.ready:
                problems.append(
                    f"{service.name} exited {service.proc.returncode} on SIGTERM:\n{tail(service.log)}"
                )
        service.notify.close()
    return problems


@pytest.fixture
def stack(web: Web, database_url: str) -> Iterator[dict[str, Service]]:
    """energy-upload and energy-api under gunicorn on the sockets nginx proxies to, and the daemon."""
    spool = {"ENERGY_SPOOL_DIR": str(web.spool)}
    services: dict[str, Service] = {}
    try:
        services["energy-ingest"] = start(
            web,
            "energy-ingest",
            [],
            {
                **spool,
                "ENERGY_DATABASE_URL": database_url,
                "ENERGY_SETTLE_SECONDS": "0.3",
                "ENERGY_RESCAN_SECONDS": "1",
                "WATCHDOG_USEC": "2000000",
            },
        )
        services["energy-upload"] = start(
            web, "energy-upload", ["--bind", f"unix:{web.run}/upload.sock"], spool
        )
        services["energy-api"] = start(
            web,
            "energy-api",
            ["--bind", f"unix:{web.run}/api.sock"],
            {"ENERGY_DATABASE_URL": database_url},
        )
        for service in services.values():
            service.notify.wait_for("READY=1", service.proc, service.log, 60)
            service.ready = True
        yield services
    finally:
        problems = stop(list(services.values()), 30)
        if problems:
            pytest.fail("\n\n".join(problems))


def test_a_report_posted_through_nginx_like_the_uploader_is_read_back_through_nginx(
    web: Web, stack: dict[str, Service]
) -> None:
    daemon = stack["energy-ingest"]
    # WatchdogSec= in the unit kills a daemon that does not ping; with WATCHDOG_USEC=2 s it must.
    daemon.notify.wait_for("WATCHDOG=1", daemon.proc, daemon.log, 6)

    posted = post_like_the_uploader(
        web.url(web.upload_port, "/upload/siemens"), SAMPLE.name, SAMPLE.read_bytes()
    )
    assert posted.status_code == 200, posted.text
    assert posted.text.strip() == "OK"

    query = {"points": "BOLIOU.AHU1.SAT", "start": "2018-11-29", "end": "2018-11-30"}
    values_url = web.url(web.upload_port, "/api/v2/values")
    deadline = time.monotonic() + 15
    while True:
        answer = requests.get(values_url, params=query, timeout=10)
        if answer.status_code == 200 and answer.json()["series"][0]["data"]:
            break
        if time.monotonic() > deadline:
            pytest.fail(
                f"not readable within 15 s; last answer {answer.status_code}: {answer.text[:500]}"
                f"\n{tail(daemon.log)}"
            )
        time.sleep(0.2)

    assert answer.headers.get("Content-Encoding") == "gzip", "nginx gzips JSON"
    (series,) = answer.json()["series"]
    assert series["point"]["name"] == "BOLIOU.AHU1.SAT"
    data = series["data"]
    assert len(data) == 93  # 96 rows, 3 of them `Data Loss`
    first_iso, first_epoch, first_value = data[0]
    assert datetime.fromisoformat(first_iso) == datetime(2018, 11, 29, 6, tzinfo=UTC)
    assert first_epoch == 1543471200
    assert first_value == pytest.approx(55.65)
    assert data[-1][2] == pytest.approx(55.62)

    # The frontend's port serves the same API, and CSV streams through nginx unbuffered.
    on_80 = requests.get(web.url(web.web_port, "/api/v2/values"), params=query, timeout=10)
    assert on_80.json()["series"][0]["data"] == data
    csv = requests.get(values_url, params={**query, "format": "csv", "layout": "long"}, timeout=10)
    assert csv.status_code == 200
    lines = csv.text.splitlines()
    assert lines[0] == "point,ts,t,value"
    assert len(lines) == 1 + 93

    # Prometheus reads the pipeline's health on :8080 from this host; :80 does not serve it.
    def metrics() -> dict[str, float]:
        answer = requests.get(web.url(web.upload_port, "/metrics"), timeout=10)
        assert answer.status_code == 200, answer.text
        return {
            f"{s.name}{sorted(s.labels.items())}": s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }

    series = "constructed_siemens_insight_boliou1"  # the file name without its run time
    age = f"energy_series_last_ingest_age_seconds[('series', '{series}'), ('source', 'siemens')]"
    deadline = time.monotonic() + 15
    while age not in (seen := metrics()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert 0 <= seen[age] < 60, seen
    assert seen["energy_backlog_files[]"] == 0
    assert requests.get(web.url(web.web_port, "/metrics"), timeout=10).status_code == 404

    archived = [p.name for p in (web.spool / "archive" / "siemens").rglob("*") if p.is_file()]
    assert archived == [SAMPLE.name]
    assert not any((web.spool / "incoming" / "siemens").iterdir())


def test_the_pages_come_from_the_api_and_what_they_load_from_nginx_on_both_ports(
    web: Web, stack: dict[str, Service]
) -> None:
    for port in (web.upload_port, web.web_port):
        for _, path, title in PAGES:
            page = requests.get(web.url(port, path), timeout=10)
            assert page.status_code == 200, (port, path, page.text[:300])
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert page.headers["Content-Security-Policy"] == CSP
            assert page.headers["Cache-Control"] == "no-cache"
            assert f"<title>{title} · energy</title>" in page.text
            linked = Linked(page.text).urls
            assert assets.url("app.css") in linked and assets.url("common.js") in linked
            for url in linked:
                assert url.startswith("/static/"), (path, url)
                status, headers, body = fetch(port, url, **{"Accept-Encoding": "identity"})
                assert status == 200, (port, url)
                assert headers["Cache-Control"] == IMMUTABLE
                assert body == assets.files()[url.removeprefix("/static/")].read_bytes()
    explore = requests.get(web.url(web.web_port, "/explore?points=BOLIOU.AHU1.SAT"), timeout=10)
    assert explore.status_code == 200 and "<title>Explore · energy</title>" in explore.text


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket: the API's gunicorn asked directly, as nginx would ask it."""

    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(self.path))


def ask_the_api(web: Web, path: str) -> tuple[int, str, bytes]:
    return get_on(UnixHTTPConnection(web.run / "api.sock"), path)


def test_with_the_api_running_static_is_answered_from_the_folder_alone(
    web: Web, stack: dict[str, Service]
) -> None:
    """The API app answers /static/ too (for make run). Asked directly, it serves a name of its
    manifest and not a name it does not know; nginx answers from the folder only: 404 for the
    app's name once it is not published, 200 for a name only the folder has (an earlier
    release's). So nginx never passed these on."""
    served = assets.manifest()["common.js"]
    published, hidden = web.static / served, web.static / f".{served}.aside"
    earlier = web.static / "app.0123456789ab.css"  # a name an earlier release published
    earlier.write_bytes(b"/* an earlier release */\n")
    earlier.chmod(0o644)
    published.rename(hidden)
    try:
        status, content_type, body = ask_the_api(web, f"/static/{served}")
        assert (status, body) == (200, (assets.STATIC / "common.js").read_bytes())
        status, content_type, body = ask_the_api(web, "/static/app.0123456789ab.css")
        assert (status, content_type) == (404, "application/json"), body
        for port in (web.upload_port, web.web_port):
            status, headers, body = fetch(port, f"/static/{served}")
            assert status == 404 and b"<center>nginx</center>" in body, (port, status, body)
            status, headers, body = fetch(port, "/static/app.0123456789ab.css")
            assert (status, body) == (200, b"/* an earlier release */\n"), port
            assert headers["Cache-Control"] == IMMUTABLE
    finally:
        hidden.rename(published)
        earlier.unlink()


def test_the_dashboards_10_kb_values_get_reaches_the_api_through_nginx_on_both_ports(
    web: Web, stack: dict[str, Service]
) -> None:
    """500 points, one `point_ids%5B%5D=N` each: over nginx's default 8k header buffers and
    gunicorn's default limit_request_line (4094), so both limits must have been raised."""
    path = dashboard_values_path(500)
    assert len(f"GET {path} HTTP/1.1") >= 10_000
    for port in (web.upload_port, web.web_port):
        assert_reached_the_app(*get_raw(port, path))
    # The site's comment promises room for a 1,500-point building (~31.6 KB).
    longest = dashboard_values_path(1_500)
    assert len(f"GET {longest} HTTP/1.1") > 31_000
    assert_reached_the_app(*get_raw(web.web_port, longest))


def limit_conn(zone: str) -> int:
    """The site's `limit_conn <zone> N;` (the same N in every location that has it)."""
    found = set(re.findall(rf"^\s*limit_conn {zone} (\d+);", SITE.read_text(), re.MULTILINE))
    assert len(found) == 1, f"expected one limit for {zone} in nginx/energy.conf, got {found}"
    return int(found.pop())


def connect_from(source: str, port: int, request: bytes) -> socket.socket:
    """A connection from the loopback address `source` that sends `request` (maybe partial)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    sock.sendall(request)
    return sock


def first_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, body) of the response on `sock`: a body by Content-Length, or up to the close
    (status 0: closed without an answer)."""
    data = b""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if sep and length and len(rest) >= int(length.group(1)):
            return int(head.split()[1]), rest[: int(length.group(1))]
        chunk = sock.recv(65536)
        if not chunk:
            return (int(head.split()[1]) if head else 0), rest
        data += chunk


def answered(socks: list[socket.socket], count: int, seconds: float) -> list[int]:
    """Wait until `count` of `socks` have an answer (or were closed); their indexes. Then half a
    second more, in which no other may answer."""
    done: list[int] = []
    deadline = time.monotonic() + seconds
    while len(done) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(done)} of {len(socks)} requests were answered, not {count}")
        waiting = [s for i, s in enumerate(socks) if i not in done]
        readable, _, _ = select.select(waiting, [], [], 0.1)
        done += [socks.index(s) for s in readable]
    waiting = [s for i, s in enumerate(socks) if i not in done]
    assert select.select(waiting, [], [], 0.5)[0] == [], "more requests were answered"
    return sorted(done)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def threads(unit: str, *, per_worker: bool = False) -> int:
    """How many requests the unit's gunicorn serves at once (--workers x --threads), or one of
    its workers (--threads)."""
    (exec_start,) = unit_settings(SYSTEMD / f"{unit}.service")["Service.ExecStart"]
    workers = re.search(r"--workers (\d+)", exec_start)
    each = re.search(r"--threads (\d+)", exec_start)
    assert workers and each, exec_start
    return int(each.group(1)) * (1 if per_worker else int(workers.group(1)))


class Trickle:
    """Keeps requests slow but alive: one more body byte per connection every half second, as a
    slow client sends (client_body_timeout never fires), until stopped."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.socks = socks
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.5):
            for sock in self.socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def test_slow_clients_from_one_address_cannot_hold_the_upload_service_or_the_api(
    web: Web, stack: dict[str, Service]
) -> None:
    """As many slow requests from one address as a service has threads: nginx passes on only
    limit_conn of them and answers the rest 503 at once, another address is still served, and
    once the slow ones stall, client_body_timeout lets them go."""
    slow = "127.0.0.2"  # a second client address on the loopback; requests uses 127.0.0.1
    allowed = limit_conn("energy_upload_per_client")
    capacity = threads("energy-upload")
    # gunicorn's gthread worker queues a request it accepted while its threads are busy: an
    # address that could hold every thread of one worker would stall whoever that worker takes
    # next (seen in CI: the other address's upload waited 30 s).
    assert allowed < threads("energy-upload", per_worker=True), "one address could hold a worker"
    upload_head = (
        f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="slow.csv"\r\n\r\na,b\r\n'
    ).encode()
    socks = [connect_from(slow, web.upload_port, upload_head) for _ in range(capacity)]
    trickle = Trickle(socks)
    try:
        refused = answered(socks, capacity - allowed, 30)
        for i in refused:
            status, body = first_response(socks[i])
            assert status == 503, body
            assert body.startswith(b"too many requests at once from your address"), body
        served = post_like_the_uploader(
            web.url(web.upload_port, "/upload/siemens"), "other-address.csv", b"a,b\r\n1,2\r\n"
        )
        assert served.status_code == 200, "another address is served meanwhile"

        # Slow API requests: nginx buffers a POST body before passing it on, so these hold no
        # API thread, but they count for their address all the same.
        api_allowed = limit_conn("energy_api_per_client")
        api_head = (
            b"POST /api/v2/values HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\npoints="
        )
        api_socks = [connect_from(slow, web.upload_port, api_head) for _ in range(api_allowed + 2)]
        api_trickle = Trickle(api_socks)
        try:
            for i in answered(api_socks, 2, 30):
                assert first_response(api_socks[i])[0] == 503
            health = requests.get(web.url(web.upload_port, "/api/v2/health"), timeout=10)
            assert health.status_code == 200, "another address still reads the API"
        finally:
            api_trickle.stop()
            for sock in api_socks:
                sock.close()

        # Stalled, the slow uploads are let go after client_body_timeout: nginx ends them (the
        # sockets' 30 s timeout fails the test otherwise) and the upload service, which had
        # exactly `allowed` of them, logs each as cut short and keeps nothing.
        trickle.stop()
        for i, sock in enumerate(socks):
            if i not in refused:
                first_response(sock)
        log = stack["energy-upload"].log
        wait_until(
            lambda: (
                len(re.findall(r": 400 (client disconnected|upload incomplete)", tail(log, 400)))
                >= allowed
            ),
            30,
            f"the upload service logs {allowed} uploads cut short",
        )
        assert len(
            re.findall(r": 400 (client disconnected|upload incomplete)", tail(log, 400))
        ) == (allowed)
        assert not list((web.spool / ".tmp").glob("upload-*.part"))
        whole = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="slow-again.csv"\r\n\r\n'
            f"a,b\r\n1,2\r\n--{BOUNDARY}--\r\n"
        ).encode()
        again = connect_from(
            slow,
            web.upload_port,
            f"POST /upload/siemens HTTP/1.1\r\nHost: x\r\nContent-Length: {len(whole)}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
            + whole,
        )
        socks.append(again)
        assert first_response(again)[0] == 200, "the address can upload again"
    finally:
        trickle.stop()
        for sock in socks:
            sock.close()


def test_pages_of_json_are_buffered_by_nginx_so_clients_that_never_read_them_hold_no_api_thread(
    web: Web, stack: dict[str, Service], database_url: str
) -> None:
    """More clients than the API has threads ask for a few MB of JSON each and never read a byte:
    nginx takes each whole answer from gunicorn (in memory, then a temporary file), so the
    threads are free again and another client is answered at once. With `proxy_buffering off`
    every thread waited on its client until send_timeout (30 s)."""
    with psycopg.connect(database_url) as conn:
        (point,) = giant_points(conn, 1, 96_000)  # 1,000 days, ~4.4 MB of JSON
    capacity = threads("energy-api")
    per_address = limit_conn("energy_api_per_client") - 1
    addresses = [f"127.0.0.{2 + k}" for k in range(-(-(capacity + 2) // per_address))]
    request = (
        f"GET /api/v2/values?points={point}&start=2015-01-01T00:00Z&end=2018-01-01T00:00Z"
        " HTTP/1.1\r\nHost: x\r\n\r\n"
    ).encode()
    socks = []
    try:
        for address in addresses:
            for _ in range(per_address):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
                )  # a client that never reads
                sock.bind((address, 0))
                sock.connect(("127.0.0.1", web.web_port))
                sock.sendall(request)
                socks.append(sock)
        time.sleep(2)  # every answer is being written by now, to nginx or into a full socket
        started = time.monotonic()
        small = requests.get(web.url(web.web_port, "/api/v2/health"), timeout=30)
        took = time.monotonic() - started
        assert small.status_code == 200
        assert took < 5, f"a small request waited {took:.1f} s behind {len(socks)} unread answers"
        status, body = first_response(socks[0])
        assert status == 200, body[:300]
        assert body.count(b"],[") == 96_000 - 1, "the answer is every reading"
    finally:
        for sock in socks:
            sock.close()
