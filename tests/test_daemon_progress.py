"""A long file is not a silence: the daemon says when a big file starts, how far it got every
ENERGY_PROGRESS_SECONDS, and `status` (another process) and systemd's STATUS= show the file."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import Daemon, files_under, insight_report, scalar, wait_until
from test_daemon import drop

from energy_ingest.cli import main
from energy_ingest.config import Settings
from energy_ingest.daemon.progress import BIG_FILE_BYTES
from energy_ingest.errors import ConfigError

PROGRESS = re.compile(
    r"INFO +energy_ingest\.daemon: loading siemens/big\.csv: ([\d,]+) values so far, "
    r"(\d+)% of ([\d.]+) MB read, \d+ s$"
)


def test_progress_seconds_is_a_setting_of_10_s_by_default() -> None:
    assert Settings.from_env({}).progress_seconds == 10.0
    assert Settings.from_env({"ENERGY_PROGRESS_SECONDS": "2.5"}).progress_seconds == 2.5
    with pytest.raises(ConfigError) as bad:
        Settings.from_env({"ENERGY_PROGRESS_SECONDS": "0", "ENERGY_SETTLE_SECONDS": "x"})
    assert "ENERGY_PROGRESS_SECONDS='0' must be greater than 0" in str(bad.value)
    assert "ENERGY_SETTLE_SECONDS" in str(bad.value)  # every bad variable in one message


class NotifySocket:
    """systemd cannot run here: a real datagram socket stands in for $NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except OSError:
                return

    def statuses(self) -> list[str]:
        return [
            line[len("STATUS=") :]
            for message in list(self.messages)
            for line in message.splitlines()
            if line.startswith("STATUS=")
        ]


def big_report() -> bytes:
    """~19 MB, 2.2 M values: several seconds of loading, above the start line's size."""
    data = insight_report([f"BIG.AHU{p}.SAT" for p in range(40)], datetime(2020, 1, 1), 55_000)
    assert len(data) > BIG_FILE_BYTES
    return data


def test_a_big_file_logs_its_start_and_progress_and_status_shows_it_while_it_loads(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    d = daemons(ENERGY_PROGRESS_SECONDS="0.3", NOTIFY_SOCKET=str(notify.path))
    wait_until(lambda: "watching" in d.text(), what="startup")
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}

    def loading() -> list[dict[str, Any]]:
        out = CliRunner().invoke(main, ["status", "--json"], env=env).output
        return json.loads(out)["loading"]  # type: ignore[no-any-return]

    data = big_report()
    drop(spool_dir, "big.csv", data)
    # Not only the state written at the start: one a progress line has updated since.
    wait_until(
        lambda: any(s["values"] > 0 for s in loading()), timeout=60, what="status to show it"
    )
    now = loading()
    human = CliRunner().invoke(main, ["status"], env=env).output
    assert d.proc is not None
    assert len(now) == 1, now
    [state] = now
    assert state["path"] == "siemens/big.csv" and state["pid"] == d.proc.pid
    assert state["size"] == len(data) and 0 < state["percent"] <= 100
    assert {"bytes_read", "values", "started_at", "seconds"} <= set(state)
    assert re.search(
        r"^loading   siemens/big\.csv: \d+% of [\d.]+ MB read, [\d,]+ values, \d+ s \(pid \d+\)$",
        human,
        re.MULTILINE,
    ), human

    wait_until(lambda: files_under(spool_dir / "archive"), timeout=120, what="the file archived")
    assert d.terminate() == 0
    stored = 40 * (55_000 - 8)  # 8 rows fall in the spring-forward hours of 2020 and 2021
    assert scalar(database_url, "SELECT readings FROM files") == stored
    lines = d.text().splitlines()
    start = [i for i, line in enumerate(lines) if "loading siemens/big.csv (" in line]
    assert len(start) == 1 and lines[start[0]].endswith(
        f"loading siemens/big.csv ({len(data) / 1e6:,.1f} MB); progress every 0.3 s"
    ), lines
    progress = [m for line in lines if (m := PROGRESS.search(line))]
    assert progress, "\n".join(lines)
    values = [int(m.group(1).replace(",", "")) for m in progress]
    percents = [int(m.group(2)) for m in progress]
    assert values == sorted(values) and 0 < values[-1] <= stored
    assert percents == sorted(percents) and 0 < percents[-1] <= 100
    done = [
        i
        for i, line in enumerate(lines)
        if f"ingested siemens/big.csv: {stored:,} readings" in line
    ]
    assert len(done) == 1 and done[0] > start[0]

    statuses = notify.statuses()
    assert any(
        re.match(r"loading siemens/big\.csv \d+% \([\d,]+ values\); backlog", s) for s in statuses
    ), statuses
    assert statuses[-1].startswith("backlog 0 files; last: siemens/big.csv ingested"), statuses
    # when, in the operators' one convention: local time with its offset
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d"
    assert re.match(rf"backlog 0 files; last: siemens/big\.csv ingested {stamp}\b", statuses[-1])
    assert loading() == []
    assert list((spool_dir / ".tmp").glob("progress-*")) == []


def test_status_is_fresh_every_second_though_log_lines_come_every_interval(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons(ENERGY_PROGRESS_SECONDS="60")
    wait_until(lambda: "watching" in d.text(), what="startup")
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}

    def loading() -> list[dict[str, Any]]:
        out = CliRunner().invoke(main, ["status", "--json"], env=env).output
        return json.loads(out)["loading"]  # type: ignore[no-any-return]

    drop(spool_dir, "big.csv", big_report())
    wait_until(
        lambda: any(s["values"] > 0 and s["percent"] > 0 for s in loading()),
        timeout=60,
        what="status to show how far the load got, long before the first progress line",
    )
    wait_until(lambda: files_under(spool_dir / "archive"), timeout=120, what="the file archived")
    assert d.terminate() == 0
    assert not [line for line in d.text().splitlines() if PROGRESS.search(line)]


def test_status_ignores_the_state_of_a_daemon_that_was_killed_and_the_next_removes_it(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = spool_dir / ".tmp" / f"progress-{gone.pid}.json"
    stale.parent.mkdir(parents=True)
    state = {"path": "siemens/x.csv", "pid": gone.pid, "size": 1, "percent": 5, "values": 1}
    stale.write_text(json.dumps({**state, "bytes_read": 0, "started_at": "", "seconds": 1.0}))
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
    out = CliRunner().invoke(main, ["status", "--json"], env=env).output
    assert json.loads(out)["loading"] == []
    assert "loading" not in CliRunner().invoke(main, ["status"], env=env).output
    d = daemons()
    wait_until(lambda: "watching" in d.text(), what="startup")
    assert not stale.exists()
    assert d.terminate() == 0


def test_a_small_file_says_nothing_more_than_its_one_line(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    d = daemons(ENERGY_PROGRESS_SECONDS="60")
    drop(spool_dir, "small.csv", insight_report(["X.P1"], datetime(2024, 1, 1), 96))
    wait_until(lambda: files_under(spool_dir / "archive"), what="the file archived")
    assert d.terminate() == 0
    assert "loading" not in d.text()
    assert "ingested siemens/small.csv: 96 readings" in d.text()
