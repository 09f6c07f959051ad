"""`make run` (scripts/run) as a real process group: ready only when the listener answers, a bind
failure is an error naming the port and ENERGY_DEV_BIND, Ctrl-C stops everything cleanly."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers import insight_report, wait_until

from energy_ingest.store.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# A shell started with SIGINT ignored (e.g. the suite launched in the background, with no job
# control) cannot trap it, while gunicorn and the daemon still install their own handlers. A
# terminal's `make run` starts with SIGINT at its default, so the script is started that way.
DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Run:
    """`scripts/run` in its own process group (as a terminal runs it); output collected by line."""

    def __init__(self, env: dict[str, str]):
        self.bind = env["ENERGY_DEV_BIND"]
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DEFAULT_SIGINT, str(ROOT / "scripts" / "run")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.closed = threading.Event()  # every process of the group has closed the pipe
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line)
        self.closed.set()

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        wait_until(
            lambda: text in self.output() or self.closed.is_set(), timeout, f"{text!r} in output"
        )
        assert text in self.output(), self.output()

    def interrupt(self) -> None:
        """Ctrl-C: the terminal sends SIGINT to the whole foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        assert self.closed.wait(timeout), "a process of `make run` outlived it:\n" + self.output()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None or not self.closed.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    started: list[Run] = []

    def start(**env: str) -> Run:
        full = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
        full.pop("JOURNAL_STREAM", None)
        full["PATH"] = f"{BIN}{os.pathsep}{full.get('PATH', '')}"
        full["ENERGY_SPOOL_DIR"] = str(tmp_path / "spool")
        full["ENERGY_DEV_BIND"] = f"127.0.0.1:{_free_port()}"
        run = Run({**full, **env})
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill()


def _get(url: str) -> int:
    """The HTTP status the server answers with (any answer counts)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status


def _answers(url: str) -> bool:
    try:
        _get(url)
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_ready_is_printed_only_once_the_listener_answers(
    make_run: Callable[..., Run], database_url: str
) -> None:
    run = make_run(ENERGY_DATABASE_URL=database_url)
    run.wait_for("ready:")
    # No retry: the moment `ready:` is printed, the upload endpoint, the API and the pages answer.
    assert _get(f"http://{run.bind}/upload/") == 200
    assert _get(f"http://{run.bind}/api/v2/health") == 200
    with urllib.request.urlopen(f"http://{run.bind}/", timeout=30) as status_page:
        assert status_page.headers.get_content_type() == "text/html"
        assert b"<title>Status \xc2\xb7 energy</title>" in status_page.read()
    run.interrupt()
    assert run.finish() == 0, run.output()


@pytest.mark.slow
def test_the_dashboards_10_kb_values_get_reaches_the_api(
    make_run: Callable[..., Run], database_url: str
) -> None:
    """The campus dashboard's GET /api/values for 500 points, one `point_ids%5B%5D=N` each (as
    jQuery encodes it): over gunicorn's default limit_request_line of 4094 bytes."""
    ids = "&".join(f"point_ids%5B%5D={n}" for n in range(1000, 1500))
    path = f"/api/values?{ids}&start_time=1514354400.5&end_time=1514440800"
    assert len(f"GET {path} HTTP/1.1") >= 10_000
    run = make_run(ENERGY_DATABASE_URL=database_url)
    run.wait_for("ready:")
    host, port = run.bind.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)  # the request line exactly as given
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    # The app answered, not gunicorn (its 414/400 are HTML), and read all 500 ids (the test
    # database has none of these points, so it names them).
    assert response.getheader("Content-Type", "").startswith("application/json"), body[:300]
    assert response.status == 400, body[:300]
    assert "(500 of the 500 asked for)" in json.loads(body)["error"]["message"], body[:300]
    run.interrupt()
    assert run.finish() == 0, run.output()


def test_a_busy_port_makes_run_fail_naming_the_port_and_ENERGY_DEV_BIND(
    make_run: Callable[..., Run], database_url: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = make_run(ENERGY_DATABASE_URL=database_url, ENERGY_DEV_BIND=f"127.0.0.1:{port}")
        code = run.finish()
    output = run.output()
    assert code != 0, output
    assert "ready:" not in output
    error = next(line for line in output.splitlines() if line.startswith("Error:"))
    assert f"127.0.0.1:{port}" in error and "ENERGY_DEV_BIND" in error


@pytest.mark.slow
def test_ctrl_c_with_an_upload_in_flight_stops_everything_without_a_sigkill(
    make_run: Callable[..., Run], database_url: str, tmp_path: Path
) -> None:
    run = make_run(ENERGY_DATABASE_URL=database_url)
    run.wait_for("ready:")
    wait_until(lambda: _answers(f"http://{run.bind}/upload/"), 60, "the listener")
    host, port = run.bind.rsplit(":", 1)
    report = insight_report(["X.P1", "X.P2"], datetime(2024, 1, 1), 8000)
    with socket.create_connection((host, int(port)), timeout=30) as upload:
        # An upload whose body stalls halfway, as from a slow link: a worker thread is reading it.
        upload.sendall(
            b"POST /upload/siemens HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {len(report) + 200}\r\n\r\n".encode()
            + b'--b\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + report[: len(report) // 2]
        )
        temps = tmp_path / "spool" / ".tmp"
        wait_until(
            lambda: any("health" not in p.name for p in temps.glob("*.part")),
            60,
            "the upload to reach a worker",
        )
        run.interrupt()
        code = run.finish()
    output = run.output()
    assert code == 0, output
    assert "SIGKILL" not in output and "out of memory" not in output.lower(), output
    assert "Traceback" not in output, output


@pytest.mark.slow
def test_run_on_the_embedded_cluster_stops_it_on_ctrl_c_only_if_it_started_it(
    make_run: Callable[..., Run], cluster_dir: Path
) -> None:
    cluster = EmbeddedPostgres(cluster_dir)
    first = make_run(ENERGY_PGDATA=str(cluster_dir))
    first.wait_for("ready:")
    assert _get(f"http://{first.bind}/api/v2/health") == 200
    first.interrupt()
    assert first.finish() == 0, first.output()
    assert cluster.exists() and not cluster.is_running()

    cluster.ensure_running()  # e.g. `energy-ingest devdb start` for a psql session
    second = make_run(ENERGY_PGDATA=str(cluster_dir))
    second.wait_for("ready:")
    second.interrupt()
    assert second.finish() == 0, second.output()
    assert cluster.is_running(), second.output()


def _daemon_pid(run: Run) -> int:
    """The `energy-ingest run` process that this `make run` started."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == run.proc.pid:
                    argv = (entry / "cmdline").read_bytes().split(b"\0")
                    if b"run" in argv and any(a.endswith(b"energy-ingest") for a in argv):
                        return int(entry.name)
    raise AssertionError("no ingest daemon in the process group:\n" + run.output())


@pytest.mark.slow
def test_a_part_that_dies_makes_run_stop_the_rest_and_exit_non_zero(
    make_run: Callable[..., Run], database_url: str
) -> None:
    run = make_run(ENERGY_DATABASE_URL=database_url)
    run.wait_for("ready:")
    os.kill(_daemon_pid(run), signal.SIGKILL)
    code = run.finish()
    output = run.output()
    assert code == 1, output
    assert "Error: the ingest daemon exited with status 137" in output


def _make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ENERGY_", "MAKE"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        env={**full, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_run_fails_on_a_busy_port_before_installing_anything(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # no venv, no stamp: a fresh clone's first `make run`
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        done = _make("run", f"VENV={venv}", ENERGY_DEV_BIND=f"127.0.0.1:{port}")
        seconds = time.monotonic() - started
    assert done.returncode != 0, done.stdout + done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("Error:"))
    assert f"127.0.0.1:{port}" in error and "ENERGY_DEV_BIND" in error
    assert not venv.exists() and "installing" not in done.stdout
    assert seconds < 30, seconds  # generous: no pip ran (it takes about a minute)


def test_make_run_installs_runtime_dependencies_only_and_the_tests_add_their_extras(
    tmp_path: Path,
) -> None:
    """What each target would install in a fresh venv (`make -n`: printed, not run)."""
    venv = tmp_path / "venv"
    run = _make("-n", "run", f"VENV={venv}", ENERGY_DEV_BIND=f"127.0.0.1:{_free_port()}")
    assert run.returncode == 0, run.stderr
    assert "installing runtime dependencies into" in run.stdout
    assert "pip install --quiet -e .\n" in run.stdout and "[test]" not in run.stdout
    for target in ("test", "test-fast", "lint"):
        done = _make("-n", target, f"VENV={venv}")
        assert done.returncode == 0, done.stderr
        assert "pip install --quiet -e '.[test]'" in done.stdout, done.stdout
    assert not venv.exists()
