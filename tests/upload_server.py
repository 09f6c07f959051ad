"""A real gunicorn serving the upload app on a loopback port, for the upload tests and bench/upload."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

APP = "energy_ingest.upload:create_app()"


@dataclass
class UploadServer:
    spool: Path
    log: Path
    proc: subprocess.Popen[bytes]
    url: str = ""

    def upload_url(self, source: str = "siemens") -> str:
        return f"{self.url}/upload/{source}"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def files(self) -> set[str]:
        """Every file under incoming/ and .tmp/, relative to the spool root."""
        found: set[str] = set()
        for top in ("incoming", ".tmp"):
            if (self.spool / top).exists():
                found |= {
                    p.relative_to(self.spool).as_posix()
                    for p in (self.spool / top).rglob("*")
                    if not p.is_dir()
                }
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            match = re.search(pattern, text)
            if match:
                return match.group(0)
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}; log:\n{self.log_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(
    spool: Path, log: Path, *, workers: int = 2, threads: int = 8, **env: str
) -> UploadServer:
    """Start gunicorn on 127.0.0.1:<free port> with ENERGY_* from `env` only; wait until it answers."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
    environ["ENERGY_SPOOL_DIR"] = str(spool)
    environ.update({f"ENERGY_{k.upper()}": v for k, v in env.items()})
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:0",  # the kernel picks a free port; gunicorn logs which
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--no-control-socket",
        APP,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environ)
    server = UploadServer(spool=spool, log=log, proc=proc)
    try:
        server.url = server.wait_for_log(r"http://127\.0\.0\.1:\d+", timeout=20)
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(server.url + "/upload/", timeout=2).status_code == 200:
                    return server
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{server.log_text()}")
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
