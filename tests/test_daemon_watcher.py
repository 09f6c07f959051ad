"""The daemon notices what watchdog alone would miss: a dead watcher thread, an inotify overflow."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers import daemon_in_thread, files_under, insight_report, wait_until, watching

from energy_ingest.config import Settings
from energy_ingest.daemon import Daemon


@pytest.fixture
def daemon(settings: Settings) -> Iterator[Daemon]:
    # In-process (in a thread) so the test can reach the watcher; rescans are far apart, so only
    # the mechanisms under test can find a file.
    with daemon_in_thread(settings, rescan_seconds=3600, settle_seconds=0.2) as d:
        wait_until(lambda: watching(d), what="the watcher")
        yield d


def drop(spool: Path, name: str) -> None:
    target = spool / "incoming" / "siemens" / name
    target.write_bytes(insight_report(["W.P1"], datetime(2024, 6, 1), 4))


def test_a_dead_watcher_thread_is_restarted_and_the_spool_rescanned(
    daemon: Daemon, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = daemon.observer
    first.stop()
    first.join(timeout=5)
    drop(spool_dir, "while-dead.csv")
    with caplog.at_level(logging.ERROR, logger="energy_ingest.daemon"):
        wait_until(lambda: daemon.observer is not first, what="a new watcher")
    assert "the file watcher thread died" in caplog.text
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == 1, what="the file found by the rescan"
    )
    drop(spool_dir, "after.csv")  # and the new watcher sees new files
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == 2, what="a file seen by the new watcher"
    )


@pytest.mark.slow
def test_an_inotify_overflow_triggers_an_immediate_rescan(daemon: Daemon, spool_dir: Path) -> None:
    daemon.observer.unschedule_all()  # events are lost from here on, as in an overflow
    drop(spool_dir, "lost-event.csv")
    time.sleep(1.5)
    assert files_under(spool_dir / "archive") == []  # nobody noticed it
    # What watchdog's inotify emitter logs when the kernel queue overflows:
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == 1, what="the rescan after the overflow"
    )
