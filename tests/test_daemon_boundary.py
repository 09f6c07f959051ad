"""Nothing that goes wrong with one file escapes the daemon's per-file boundary, and no file is lost.

The daemon runs in-process (in a thread) on a real spool and a real PostgreSQL. Most failure
classes cannot be produced on demand from outside (an I/O error in the middle of a read, a bug
of ours, a full disk just for the note), so each is injected once at its stage by replacing one
function with a wrapper that raises; everything else is the real thing. In a thread the daemon
cannot ignore SIGIO, so write leases are off here and completeness comes from inotify and the
settle time alone — the path taken for files the daemon does not own.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import daemon_in_thread, files_under, insight_report, scalar, wait_until, watching
from psycopg import errors as pg_errors

import energy_ingest.daemon.archiver as archiver_module
import energy_ingest.daemon.take as take_module
from energy_ingest.config import Settings
from energy_ingest.daemon import Daemon
from energy_ingest.errors import DatabaseUnavailable, ParseError

FAST = {"rescan_seconds": 0.5, "settle_seconds": 0.2}


@pytest.fixture
def daemon(settings: Settings) -> Iterator[Daemon]:
    with daemon_in_thread(settings, **FAST) as d:
        wait_until(lambda: watching(d), what="the watcher")
        yield d


def drop(spool: Path, name: str, day: int) -> Path:
    target = spool / "incoming" / "siemens" / name
    tmp = spool / ".tmp" / (name + ".part")
    tmp.write_bytes(insight_report(["B.P1", "B.P2"], datetime(2024, 7, day), 4))
    tmp.rename(target)
    return target


def once(mp: pytest.MonkeyPatch, module: Any, name: str, exc: BaseException) -> list[int]:
    """Make `module.name` raise `exc` on its first call only; returns the call counter."""
    real = getattr(module, name)
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise exc
        return real(*args, **kwargs)

    mp.setattr(module, name, wrapper)
    return calls


# (stage to break, what it raises, where the file ends up after the one failure)
CASES: list[tuple[str, Any, str, BaseException]] = [
    ("parse", take_module, "parse_file", ParseError("no such report", line=3)),
    ("parse", take_module, "parse_file", OSError(5, "Input/output error")),
    ("parse", take_module, "parse_file", RuntimeError("a bug of ours")),
    ("parse", take_module, "parse_file", UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates")),
    ("load", take_module, "load", psycopg.DataError("invalid byte sequence")),
    ("load", take_module, "load", pg_errors.LockNotAvailable("lock timeout")),
    ("load", take_module, "load", DatabaseUnavailable("connection lost")),
    ("load", take_module, "load", MemoryError()),
    ("archive", archiver_module, "move_read", OSError(28, "No space left on device")),
    ("archive", archiver_module, "summary", ValueError("a bug while logging")),
    ("open", take_module, "open_regular", PermissionError(13, "Permission denied")),
    ("open", take_module, "describe_file", OSError(5, "Input/output error")),
    ("boundary", take_module, "has_writer", KeyError("a bug before anything happened")),
]
# Failures that are the file's fault end in failed/; the rest keep it and try again.
FAILS_THE_FILE = {"ParseError", "RuntimeError", "UnicodeEncodeError", "DataError", "MemoryError"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stage", "module", "name", "exc"),
    [(c[0], c[1], c[2], c[3]) for c in CASES],
    ids=[f"{c[0]}-{c[2]}-{type(c[3]).__name__}" for c in CASES],
)
def test_one_failure_at_any_stage_keeps_the_daemon_running_and_the_file(
    daemon: Daemon,
    spool_dir: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    module: Any,
    name: str,
    exc: BaseException,
) -> None:
    calls = once(monkeypatch, module, name, exc)
    drop(spool_dir, "victim.csv", 1)
    wait_until(lambda: calls[0] >= 1, what=f"the {stage} stage to be reached")
    if type(exc).__name__ in FAILS_THE_FILE:
        wait_until(
            lambda: (spool_dir / "failed" / "siemens" / "victim.csv").exists(),
            what="the file in failed/",
        )
        note = spool_dir / "failed" / "siemens" / "victim.csv.error"
        wait_until(note.exists, what="its note")
        assert "victim.csv could not be ingested" in note.read_text()
    else:
        # Kept and tried again: once the stage works again, the file is ingested.
        wait_until(
            lambda: [p.name for p in files_under(spool_dir / "archive")] == ["victim.csv"],
            timeout=40,
            what="the kept file to be ingested on a later try",
        )
        assert scalar(database_url, "SELECT count(*) FROM readings") == 8
    drop(spool_dir, "next.csv", 2)
    wait_until(
        lambda: "next.csv" in [p.name for p in files_under(spool_dir / "archive")],
        timeout=40,
        what="the next file (the daemon goes on)",
    )
    assert files_under(spool_dir / "incoming") == []
    assert scalar(database_url, "SELECT count(*) FROM files WHERE name = 'next.csv'") == 1


def test_a_failure_while_failing_a_file_still_keeps_it_and_goes_on(
    daemon: Daemon, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad file whose note cannot be written and whose ledger row cannot be recorded."""
    once(monkeypatch, archiver_module, "write_note", OSError(28, "No space left on device"))
    once(monkeypatch, archiver_module, "record_failure", RuntimeError("ledger bug"))
    bad = spool_dir / "incoming" / "siemens" / "bad.csv"
    bad.write_text("not a report\n")
    wait_until(lambda: (spool_dir / "failed" / "siemens" / "bad.csv").exists(), what="failed/")
    drop(spool_dir, "next.csv", 3)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the next file")


def test_a_slow_writer_is_waited_for_without_leases(
    daemon: Daemon, spool_dir: Path, database_url: str
) -> None:
    """ProducedReadings being written and not closed: never taken, however long the pause (3x settle)."""
    path = spool_dir / "incoming" / "alc" / "slow.csv"
    with open(path, "w") as writer:
        writer.write("Time,HUL.VAV1.DAT\n")
        for i in range(50):
            writer.write(f"04/01/2024 {i // 4:02d}:{i % 4 * 15:02d}:00,{i}.5\n")
        writer.flush()
        wait_until(lambda: path in daemon.candidates, what="the daemon to see the file")
        threading.Event().wait(0.6)
        assert files_under(spool_dir / "archive") == []
        for i in range(50, 90):
            writer.write(f"04/01/2024 {i // 4:02d}:{i % 4 * 15:02d}:00,{i}.5\n")
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the closed file")
    assert scalar(database_url, "SELECT readings FROM files") == 90
    assert scalar(database_url, "SELECT count(*) FROM files") == 1


def test_a_file_that_grows_after_its_commit_is_kept_and_ingested_again(
    settings: Settings, spool_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No lease, no events seen (the writer was there before the daemon): taken by the settle
    time, then the writer appends — before the move (here) or into archive/ (next test)."""
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    first = insight_report(["HU.G1"], datetime(2024, 5, 1), 10)
    more = insight_report(["HU.G1"], datetime(2024, 5, 2), 10)
    writer = open(incoming / "growing.csv", "wb")  # noqa: SIM115 - held open across the load
    writer.write(first)
    writer.flush()
    real = take_module.load

    def load_then_append(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not writer.closed:  # committed: now the writer goes on, before the file is moved
            writer.write(more)
            writer.close()
        return result

    monkeypatch.setattr(take_module, "load", load_then_append)
    try:
        _run_until(settings, lambda: scalar(database_url, "SELECT count(*) FROM files") == 2)
    finally:
        writer.close()
    _assert_every_ledger_row_is_archived(spool_dir, database_url, first, first + more)
    assert scalar(database_url, "SELECT count(*) FROM readings") == 20


def test_a_file_that_grows_after_it_was_archived_is_kept_and_ingested_again(
    settings: Settings, spool_dir: Path, database_url: str
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    first = insight_report(["HU.G1"], datetime(2024, 5, 1), 10)
    more = insight_report(["HU.G1"], datetime(2024, 5, 2), 10)
    with open(incoming / "growing.csv", "wb") as writer:
        writer.write(first)
        writer.flush()
        with daemon_in_thread(settings, **FAST):
            wait_until(lambda: files_under(spool_dir / "archive"), what="the first archive")
            writer.write(more)  # through the descriptor it still holds: into archive/
            writer.flush()
            writer.close()
            wait_until(
                lambda: scalar(database_url, "SELECT count(*) FROM files") == 2,
                what="the grown file ingested as a new version",
            )
            wait_until(lambda: files_under(incoming) == [], what="incoming/ to empty")
    _assert_every_ledger_row_is_archived(spool_dir, database_url, first, first + more)
    assert scalar(database_url, "SELECT count(*) FROM readings") == 20


def _run_until(settings: Settings, done: Callable[[], bool]) -> None:
    with daemon_in_thread(settings, **FAST):
        wait_until(done, timeout=40, what="the daemon to finish")


def _assert_every_ledger_row_is_archived(spool: Path, url: str, *versions: bytes) -> None:
    with psycopg.connect(url) as conn:
        ledger = sorted(r[0] for r in conn.execute("SELECT sha256 FROM files"))
    archived = sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(spool / "archive")
    )
    assert ledger == archived == sorted(hashlib.sha256(v).hexdigest() for v in versions)
