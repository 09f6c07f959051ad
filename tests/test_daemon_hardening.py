"""The daemon against hostile and unlucky spools: odd names, links, FIFOs, slow writers, retries."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from helpers import Daemon, files_under, insight_report, scalar, wait_until

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"


def drop_bytes_name(spool: Path, name: bytes, content: bytes, source: str = "siemens") -> Path:
    """Write like an uploader, under a name that may not be UTF-8 (Linux names are bytes)."""
    tmp = spool / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    (spool / "incoming" / source).mkdir(parents=True, exist_ok=True)
    staged = os.path.join(os.fsencode(tmp), b"x.part")
    with open(staged, "wb") as f:
        f.write(content)
    target = os.path.join(os.fsencode(spool / "incoming" / source), name)
    os.rename(staged, target)
    return Path(os.fsdecode(target))


def cli(spool: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `energy-ingest` command on this spool and database."""
    env = {**os.environ, "ENERGY_DATABASE_URL": url, "ENERGY_SPOOL_DIR": str(spool)}
    return subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report(day: int, points: int = 2, rows: int = 8) -> bytes:
    return insight_report([f"HU.P{p}" for p in range(points)], datetime(2024, 3, day), rows)


def test_a_name_that_is_not_utf8_is_ingested_and_stored_escaped(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons()
    drop_bytes_name(spool_dir, b"bad\xff\xfename.csv", report(1))
    drop_bytes_name(spool_dir, b"broken\xff.csv", b"not a report at all\n")
    drop_bytes_name(spool_dir, b"after.csv", report(2))
    wait_until(
        lambda: (
            len(files_under(spool_dir / "archive")) == 2
            and len(files_under(spool_dir / "failed")) == 2
        ),
        what="two archived files and one failed file with its note",
    )
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT name, status FROM files ORDER BY name").fetchall()
    assert rows == [
        ("after.csv", "ingested"),
        ("bad\\xff\\xfename.csv", "ingested"),
        ("broken\\xff.csv", "failed"),
    ]
    archived = {os.fsencode(p.name) for p in files_under(spool_dir / "archive")}
    assert archived == {b"bad\xff\xfename.csv", b"after.csv"}  # the file keeps its own name
    note = spool_dir / "failed" / "siemens" / os.fsdecode(b"broken\xff.csv.error")
    text = note.read_text()
    assert "broken\\xff.csv could not be ingested" in text
    assert "energy-ingest retry -- 'siemens/broken\\xff.csv'" in text
    assert d.proc is not None and d.proc.poll() is None, "the daemon must still be running"
    assert "ingested siemens/bad\\xff\\xfename.csv:" in d.text()
    assert "Traceback" not in d.text()


def test_a_name_with_a_newline_is_escaped_in_log_lines(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    d = daemons()
    drop_bytes_name(spool_dir, b"two\nlines.csv", report(3))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1)
    wait_until(lambda: "ingested siemens/two\\nlines.csv:" in d.text(), what="one escaped line")
    assert not any(line.startswith("lines.csv") for line in d.text().splitlines())


def test_retry_takes_an_escaped_name_back_to_incoming(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    failed = spool_dir / "failed" / "siemens"
    failed.mkdir(parents=True)
    name = os.fsdecode(b"odd\xff.csv")
    (failed / name).write_bytes(report(4))
    done = cli(spool_dir, database_url, "retry", "odd\\xff.csv")
    assert done.returncode == 0, done.stderr
    assert "retrying siemens/odd\\xff.csv → incoming/siemens/odd\\xff.csv" in done.stdout
    assert (spool_dir / "incoming" / "siemens" / name).exists()


def test_a_link_in_the_spool_is_never_read_nor_moved(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_bytes(report(5))
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (incoming / "passwd.csv").symlink_to(secret)
    (incoming / "valid.csv").symlink_to(outside)
    (incoming / "folder").symlink_to(tmp_path, target_is_directory=True)
    d = daemons()
    drop_bytes_name(spool_dir, b"real.csv", report(6))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the real file")
    wait_until(lambda: "passwd.csv is a symbolic link" in d.text(), what="a warning")
    time.sleep(1.5)  # a rescan later: still nothing read
    assert "root:x" not in d.text()
    assert files_under(spool_dir / "failed") == []
    assert [p.name for p in files_under(spool_dir / "archive")] == ["real.csv"]
    assert (incoming / "passwd.csv").is_symlink() and (incoming / "valid.csv").is_symlink()
    assert outside.read_bytes() == report(5)
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
    assert "valid.csv is a symbolic link" in d.text() and "folder is a symbolic link" in d.text()
    assert d.text().count("passwd.csv is a symbolic link") == 1  # said once, not every rescan


def test_a_fifo_in_the_spool_does_not_block_the_daemon(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    os.mkfifo(incoming / "pipe.csv")
    d = daemons()
    wait_until(lambda: "pipe.csv is not a regular file" in d.text(), what="a warning")
    drop_bytes_name(spool_dir, b"after-fifo.csv", report(7))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the next file")
    assert (incoming / "pipe.csv").exists()


def alc_rows(start: datetime, count: int, offset: int = 0) -> list[str]:
    return [
        f"{(start + timedelta(minutes=15 * i)):%m/%d/%Y %H:%M:%S},{(offset + i) % 50 + 0.5}"
        for i in range(offset, offset + count)
    ]


def test_a_writer_that_pauses_without_closing_gets_every_row_stored_once(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """Both slow-writer shapes, each paused for 3x the settle time (0.5 s) before it goes on."""
    d = daemons()
    wait_until(lambda: "watching" in d.text(), what="the daemon to watch the spool")
    incoming = spool_dir / "incoming"
    start = datetime(2024, 4, 1)
    alc = open(incoming / "alc" / "rows.csv", "w")  # noqa: SIM115 - written over time
    alc.write("Time,HUL.AHU1.SAT\n" + "\n".join(alc_rows(start, 100)) + "\n")
    alc.flush()
    siemens = open(incoming / "siemens" / "two.csv", "wb")  # noqa: SIM115 - written over time
    first = insight_report([f"HU.S{p}" for p in range(3)], datetime(2024, 4, 2), 100)
    siemens.write(first)
    siemens.flush()
    time.sleep(1.5)
    assert files_under(spool_dir / "archive") == []
    alc.write("\n".join(alc_rows(start, 300, offset=100)) + "\n")
    alc.close()
    siemens.write(insight_report([f"HU.S{p}" for p in range(3)], datetime(2024, 4, 4), 100))
    siemens.close()
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 2, what="both files")
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT name, readings FROM files").fetchall())
        assert rows == {"rows.csv": 400, "two.csv": 600}
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (1000,)


def test_retry_never_deletes_the_note_of_a_fresh_failure(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """The daemon fails a retried bad file again within milliseconds; its new note must stay."""
    failed = spool_dir / "failed" / "siemens"
    failed.mkdir(parents=True)
    daemons(ENERGY_SETTLE_SECONDS="0")
    bad = failed / "bad.csv"
    bad.write_text("this is not a report\n")
    for attempt in range(7):
        done = cli(spool_dir, database_url, "retry", "bad.csv")
        assert done.returncode == 0, done.stderr
        wait_until(lambda: bad.exists(), what=f"the file failed again (attempt {attempt})")
        note = failed / "bad.csv.error"
        wait_until(note.exists, timeout=5, what=f"its note (attempt {attempt})")
        time.sleep(0.2)
        assert note.exists() and "could not be ingested" in note.read_text()


def test_status_lists_stranded_files_with_the_fix(
    spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    (incoming / "report.csv.tmp").write_bytes(report(8))
    (incoming / "link.csv").symlink_to(tmp_path)
    os.mkfifo(incoming / "pipe.csv")
    (spool_dir / "at-the-root.csv").write_bytes(report(9))
    (incoming / "waiting.csv").write_bytes(report(10))
    done = cli(spool_dir, database_url, "status")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "backlog   siemens 1, alc 0" in out
    assert "stranded  4 files the daemon will never take:" in out
    assert "incoming/siemens/report.csv.tmp: a temporary name" in out
    assert "rename it to 'report.csv'" in out
    assert "incoming/siemens/link.csv: a symbolic link" in out
    assert "incoming/siemens/pipe.csv: not a regular file" in out
    assert "at-the-root.csv: outside incoming/" in out


def test_a_file_that_grows_after_it_was_archived_is_ingested_again_and_both_are_kept(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """A writer found by a rescan (the daemon started while it paused) keeps appending to the
    file it holds open after the daemon archived it: the ingested bytes stay in archive/ and
    the grown file is ingested again; every reading once, every ledger row's bytes archived."""
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    first = insight_report(["HU.G1", "HU.G2"], datetime(2024, 5, 1), 20)
    second = insight_report(["HU.G1", "HU.G2"], datetime(2024, 5, 2), 20)
    with open(incoming / "growing.csv", "wb") as writer:
        writer.write(first)
        writer.flush()
        # Started now, the daemon never saw the writes; it finds the file open for writing
        # through its lease, or (where the kernel would not tell) by the settle time alone.
        d = daemons(ENERGY_RESCAN_SECONDS="0.5")
        wait_until(lambda: "watching" in d.text(), what="the daemon to start")
        time.sleep(1.5)
        writer.write(second)
    wait_until(
        lambda: scalar(database_url, "SELECT count(*) FROM readings") == 80,
        what="every reading of the grown file",
    )
    wait_until(lambda: files_under(incoming) == [], what="incoming/ to empty")
    with psycopg.connect(database_url) as conn:
        ledger = {
            row[0] for row in conn.execute("SELECT sha256 FROM files WHERE status = 'ingested'")
        }
    archived = {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(spool_dir / "archive")
    }
    assert ledger <= archived, "every ledger row describes bytes in archive/"
    assert hashlib.sha256(first + second).hexdigest() in archived


def test_a_notify_socket_nobody_reads_never_blocks_the_daemon(tmp_path: Path) -> None:
    """systemd always reads its socket; a full one (a stuck reader) must cost status lines only."""
    import socket
    import threading

    from energy_ingest.config import Settings
    from energy_ingest.daemon.notify import Notifier

    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unread:
        unread.bind(address)
        notifier = Notifier(Settings(notify_socket=address))
        sender = threading.Thread(
            target=lambda: [notifier.status(f"backlog {i}") for i in range(2000)], daemon=True
        )
        sender.start()
        sender.join(10)
        assert not sender.is_alive(), "sending to a full notify socket blocked"


def test_status_says_one_stranded_file_in_the_singular(spool_dir: Path, database_url: str) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    (incoming / "x.csv.part").write_bytes(b"half")
    out = cli(spool_dir, database_url, "status").stdout
    assert "stranded  1 file the daemon will never take:" in out


def test_sigusr1_writes_every_threads_stack_and_the_daemon_carries_on(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    """What an operator (or a test whose daemon ignored SIGTERM) asks a daemon that seems stuck."""
    d = daemons()
    wait_until(lambda: "watching" in d.text(), what="the daemon watching")
    assert d.proc is not None
    d.proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: "Current thread" in d.text(), what="the stacks in the log")
    assert "in _loop" in d.text()  # the main loop, where it waits
    drop_bytes_name(spool_dir, b"after-usr1.csv", report(4))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="a file taken after")
    assert d.terminate() == 0
