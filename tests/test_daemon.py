"""The ingest daemon as a real process on a real spool and a real PostgreSQL (invariants 1-5)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from helpers import Daemon, PgProxy, files_under, insight_report, scalar, wait_until

DATA = Path(__file__).parent / "data"


def drop(spool: Path, name: str, content: bytes, source: str = "siemens") -> Path:
    """Write like an uploader does: into .tmp, then rename into incoming/."""
    (spool / ".tmp").mkdir(parents=True, exist_ok=True)
    tmp = spool / ".tmp" / (name + ".part")
    tmp.write_bytes(content)
    target = spool / "incoming" / source / name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(tmp, target)
    return target


def report(i: int, points: int = 3, rows: int = 8) -> bytes:
    """Distinct, non-overlapping reports: file i covers its own day."""
    names = [f"BLDG{i % 4}.AHU{p}.SAT" for p in range(points)]
    return insight_report(
        names,
        datetime(2024, 1, 1 + i % 28, 0, 0) if i < 28 else datetime(2024, 2, 1 + (i - 28) % 28),
        rows,
    )


def test_a_dropped_report_is_ingested_and_archived(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons()
    sample = (DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv").read_bytes()
    drop(spool_dir, "boliou1_11-30-18_02-00.csv", sample)
    wait_until(lambda: files_under(spool_dir / "archive"), what="the file to be archived")
    archived = files_under(spool_dir / "archive")
    assert [p.relative_to(spool_dir).as_posix() for p in archived] == [
        "archive/siemens/2018/11/boliou1_11-30-18_02-00.csv"
    ]
    assert archived[0].read_bytes() == sample
    assert files_under(spool_dir / "incoming") == []
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == 1
    assert scalar(database_url, "SELECT count(*) FROM readings") == scalar(
        database_url, "SELECT readings FROM files"
    )
    wait_until(
        lambda: "ingested siemens/boliou1_11-30-18_02-00.csv:" in d.text(), what="the log line"
    )
    assert d.terminate() == 0


def test_a_byte_identical_redrop_is_a_duplicate_and_changes_nothing(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons()
    content = report(1)
    drop(spool_dir, "a.csv", content)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1)
    before = scalar(database_url, "SELECT sum(value) || ':' || count(*) FROM readings")
    drop(spool_dir, "a-again.csv", content)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 2)
    assert scalar(database_url, "SELECT sum(value) || ':' || count(*) FROM readings") == before
    assert (
        scalar(database_url, "SELECT count(*) || ':' || max(duplicates_seen) FROM files") == "1:1"
    )
    wait_until(lambda: "duplicate siemens/a-again.csv" in d.text())
    folders = {
        p.parent.relative_to(spool_dir).as_posix() for p in files_under(spool_dir / "archive")
    }
    assert folders == {"archive/siemens/2024/01"}  # by the data's month, duplicate included


def test_an_overlapping_backfill_counts_unchanged_and_updated(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    daemons()
    names = ["B.P1", "B.P2"]
    drop(spool_dir, "day.csv", insight_report(names, datetime(2024, 5, 1), 10))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1)
    changed = insight_report(
        names,
        datetime(2024, 5, 1),
        12,
        value=lambda r, c: (
            "99.00" if (r, c) in {(2, 0), (3, 1)} else f"{(r * 7 + c * 3) % 1000 / 10:.2f}"
        ),
    )
    drop(spool_dir, "backfill.csv", changed)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 2)
    row = scalar(
        database_url,
        "SELECT inserted || '/' || updated || '/' || unchanged FROM files WHERE name = 'backfill.csv'",
    )
    assert row == "4/2/18"


def test_a_nested_folder_is_ingested_and_non_reports_go_to_failed_with_a_reason(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    daemons()
    folder = tmp_path / "backfill" / "2024" / "01"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"r{i}.csv").write_bytes(report(i))
    (folder / "notes.txt").write_text("these are my notes, not a report\n")
    (spool_dir / "incoming" / "siemens").mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp_path / "backfill"), str(spool_dir / "incoming" / "siemens" / "backfill"))
    wait_until(
        lambda: (
            len(files_under(spool_dir / "archive")) == 3
            and len(files_under(spool_dir / "failed")) == 2
        )
    )
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == 3
    note = (spool_dir / "failed" / "siemens" / "notes.txt.error").read_text()
    assert "notes.txt" in note and "energy-ingest retry -- siemens/notes.txt" in note
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'failed'") == 1


def test_a_file_copied_in_slowly_is_ingested_once_and_complete(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    daemons()
    content = report(3, points=4, rows=40)
    target = spool_dir / "incoming" / "siemens" / "slow.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    pieces = [
        content[i : i + len(content) // 8 + 1]
        for i in range(0, len(content), len(content) // 8 + 1)
    ]
    for piece in pieces:  # open-append-close, like a slow copy over a share: each close is an event
        with open(target, "ab") as f:
            f.write(piece)
        time.sleep(0.4)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1)
    time.sleep(1.5)
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
    assert scalar(database_url, "SELECT count(*) FROM readings") == 4 * 40
    assert files_under(spool_dir / "archive")[0].read_bytes() == content


def test_killing_the_daemon_at_random_moments_loses_and_duplicates_nothing(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    rng = random.Random(7)
    n = 50
    expected = 0
    d = daemons()
    for i in range(n):
        drop(spool_dir, f"r{i:02d}.csv", report(i, points=3, rows=6 + i % 5))
        expected += 3 * (6 + i % 5)
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0.0, 0.4))
            d.kill()
            d = daemons()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(files_under(spool_dir / "archive")) < n:
        time.sleep(rng.uniform(0.1, 0.5))
        if rng.random() < 0.3:
            d.kill()
            d = daemons()
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == n, timeout=60, what="all files archived"
    )
    assert files_under(spool_dir / "incoming") == [] and files_under(spool_dir / "failed") == []
    assert sorted(p.name for p in files_under(spool_dir / "archive")) == [
        f"r{i:02d}.csv" for i in range(n)
    ]
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == n
    assert scalar(database_url, "SELECT count(*) FROM readings") == expected
    assert scalar(database_url, "SELECT sum(readings) FROM files") == expected


def test_a_database_outage_delays_ingestion_and_fails_nothing(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    proxy = PgProxy(database_url)
    try:
        d = daemons(proxy.conninfo)
        drop(spool_dir, "before.csv", report(1))
        wait_until(lambda: len(files_under(spool_dir / "archive")) == 1)
        proxy.cut()
        for i in range(2, 7):
            drop(spool_dir, f"during{i}.csv", report(i))
        time.sleep(4)
        assert files_under(spool_dir / "failed") == []
        assert len(files_under(spool_dir / "incoming")) == 5
        proxy.restore()
        wait_until(
            lambda: len(files_under(spool_dir / "archive")) == 6,
            timeout=90,
            what="ingestion after the outage",
        )
        assert files_under(spool_dir / "failed") == []
        assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == 6
        text = d.text()
        assert text.count("database unavailable") == 1, text
        assert "database is reachable again" in text
    finally:
        proxy.close()


def test_two_daemons_on_one_spool_ingest_each_file_once(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    daemons()
    daemons()
    n = 100
    for i in range(n):
        drop(spool_dir, f"f{i:03d}.csv", insight_report([f"P{i}"], datetime(2024, 3, 1), 4))
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == n, timeout=90, what="all files archived"
    )
    assert scalar(database_url, "SELECT count(*) FROM files") == n
    assert scalar(database_url, "SELECT count(*) FROM readings") == 4 * n
    assert files_under(spool_dir / "failed") == []


def test_sigterm_stops_the_daemon_cleanly(daemons: Callable[..., Daemon]) -> None:
    d = daemons()
    wait_until(lambda: "watching" in d.text(), what="startup")
    started = time.monotonic()
    assert d.terminate() == 0
    assert time.monotonic() - started < 5
    assert "stopped" in d.text()


def test_under_systemd_it_notifies_and_logs_with_journald_priorities(
    daemons: Callable[..., Daemon], spool_dir: Path, tmp_path: Path
) -> None:
    # systemd itself cannot run here: a real datagram socket stands in for its notify socket.
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(20)
    d = daemons(NOTIFY_SOCKET=address, WATCHDOG_USEC="400000", JOURNAL_STREAM="8:1234")
    messages: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        "READY=1" in "".join(messages) and "WATCHDOG=1" in "".join(messages)
    ):
        messages.append(listener.recv(4096).decode())
    text = "\n".join(messages)
    assert "READY=1" in text and "STATUS=backlog 0 files" in text and "WATCHDOG=1" in text
    drop(spool_dir, "bad.csv", b"\x00\x01 not a report")
    wait_until(lambda: "<3>failed" in d.text(), what="an error line with priority 3")
    assert d.terminate() == 0
    lines = [line for line in d.text().splitlines() if line and not line.startswith(" ")]
    assert all(line[0] == "<" and line[2] == ">" for line in lines), lines
    assert any(line.startswith("<6>watching") for line in lines)
    listener.close()


@pytest.mark.daemon
def test_an_outdated_schema_stops_the_daemon_with_a_clear_message(
    empty_database_url: str, spool_dir: Path, tmp_path: Path
) -> None:
    d = Daemon(empty_database_url, spool_dir, tmp_path / "d.log").start()
    assert d.proc is not None
    assert d.proc.wait(timeout=30) == 78
    assert "run `energy-ingest migrate`" in d.text()


def test_sigterm_during_a_big_file_rolls_back_and_exits_0_then_it_is_ingested_once(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    big = insight_report(
        [f"BIG.P{i}" for i in range(200)], datetime(2023, 1, 1), 4000
    )  # 800,000 values
    d = daemons(ENERGY_LOG_LEVEL="DEBUG")
    wait_until(lambda: "watching" in d.text(), what="startup")
    drop(spool_dir, "big.csv", big)
    wait_until(lambda: "loading siemens/big.csv" in d.text(), what="the daemon to start on it")
    started = time.monotonic()
    assert d.terminate(timeout=30) == 0
    assert time.monotonic() - started < 10
    archived = files_under(spool_dir / "archive")
    readings = scalar(database_url, "SELECT count(*) FROM readings")
    if archived:  # it had already committed: then all of it
        assert readings == scalar(database_url, "SELECT readings FROM files")
    else:  # rolled back: nothing of it, and the file still waits in incoming/
        assert readings == 0 and scalar(database_url, "SELECT count(*) FROM files") == 0
        assert [p.name for p in files_under(spool_dir / "incoming")] == ["big.csv"]
        assert "interrupted siemens/big.csv: rolled back" in d.text()
    daemons()
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == 1,
        timeout=60,
        what="ingestion after restart",
    )
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
    assert (
        scalar(database_url, "SELECT count(*) FROM readings") == 200 * 4000
    )  # minus the spring-forward hour


def test_a_file_the_database_cannot_store_fails_alone_and_the_next_file_still_loads(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons()
    # A 9,000-character point name: too big for the (source, name) index — the file's fault,
    # not an outage; it must neither stall the daemon nor be retried forever.
    name = "".join(
        random.Random(3).choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", k=9000)
    )  # incompressible
    drop(spool_dir, "huge-name.csv", insight_report([name], datetime(2024, 4, 1), 4))
    time.sleep(0.2)
    drop(spool_dir, "good.csv", report(5))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the good file")
    wait_until(
        lambda: (spool_dir / "failed" / "siemens" / "huge-name.csv.error").exists(),
        what="the bad file set aside",
    )
    note = (spool_dir / "failed" / "siemens" / "huge-name.csv.error").read_text()
    assert "the database cannot store this file's content" in note
    assert "database unavailable" not in d.text()


def test_a_writer_that_pauses_without_closing_gets_its_whole_file_ingested(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    daemons()
    content = report(7, points=3, rows=30)
    half = content.index(b"\r\n", len(content) // 2) + 2
    target = spool_dir / "incoming" / "siemens" / "paused.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:  # one open file, like scp over a link that stalls
        f.write(content[:half])
        f.flush()
        time.sleep(3)  # six settle times: without its footer it must not be taken yet
        assert files_under(spool_dir / "archive") == []
        f.write(content[half:])
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, timeout=30)
    assert scalar(database_url, "SELECT count(*) FROM readings") == 3 * 30
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
