"""The ingest daemon: watch the spool, take each complete file once, load it, archive or fail it.

Watchdog's event handler only enqueues paths; all work happens in one loop (here), which also
rescans the spool periodically, restarts a dead observer thread and pings systemd's watchdog.

    watch.py     which files are complete (inotify, rescans, settle time, write leases)
    take.py      one file: open without following links, claim (flock), parse, load
    archiver.py  after the transaction: archive/, failed/ with a note, or wait and retry
    progress.py  the file in progress: log lines, state for `status`, STATUS= for systemd
    activity.py  the file in progress and the backlog, in the database for the API
    status.py    what `energy-ingest status` gathers (spool, ledger, rollups, alerts)
    notify.py    systemd's READY=, STATUS= and watchdog pings
    database_link.py  the connection, its outages and backoff

A file is claimed with an exclusive flock, so several daemons can share a spool; the ledger's
unique sha256 is the final guard. A file leaves incoming/ only after its transaction committed
(→ archive/) or it was judged bad (→ failed/ with a `.error` note). Nothing that goes wrong with
one file escapes `_take`: the daemon goes on, and the file is kept.

Data health (energy_ingest.health) is evaluated on a timer (ENERGY_HEALTH_SECONDS), so a report
that stops arriving is found with no file arriving at all, and a second after files once the
backlog is empty (not after each file of a backfill: the last one's evaluation sees them all).
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg

from energy_ingest.catalog.site import Site, SiteFileError, read_site
from energy_ingest.config import Settings
from energy_ingest.daemon.activity import Activity
from energy_ingest.daemon.archiver import Archiver
from energy_ingest.daemon.database_link import DatabaseLink
from energy_ingest.daemon.notify import Notifier
from energy_ingest.daemon.progress import Progress, remove_stale_states
from energy_ingest.daemon.status import failed_files
from energy_ingest.daemon.take import Taker
from energy_ingest.daemon.watch import Candidate, Watcher
from energy_ingest.health.evaluate import Evaluation, evaluate
from energy_ingest.spool import Spool, printable_name
from energy_ingest.spool.files import remove_stale_temps
from energy_ingest.spool.moving import remove_stale_intents
from energy_ingest.store import db, partitions
from energy_ingest.store.migrate import pending
from energy_ingest.write.applied_site import AppliedSite, apply_site

log = logging.getLogger("energy_ingest.daemon")

EXIT_OK = 0
EXIT_SCHEMA = 78  # EX_CONFIG: the database schema is behind; run `energy-ingest migrate`
EXIT_CONFIG = 78  # EX_CONFIG too: the site file is broken (every problem is logged)
# Data health is evaluated this long after the backlog empties: a file dropped meanwhile (the
# next of a burst) is taken first, not after an evaluation.
AFTER_FILES_SECONDS = 1.0
# This year's and next year's partitions of readings are made this often (and at start): a load
# makes any other it needs, but then inside its own transaction.
AHEAD_SECONDS = 3600.0


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.spool = Spool(settings.spool_dir)
        self.notifier = Notifier(settings)
        self.stop = threading.Event()
        self.watcher = Watcher(self.spool, settings.settle_seconds)
        self.db = DatabaseLink("", backlog=lambda: len(self.watcher.candidates))
        self.archiver = Archiver(settings, self.spool, self.watcher, self.db)
        self.site = AppliedSite()  # read from ENERGY_SITE_FILE once, or from the catalog
        self.health: Evaluation | None = None  # the last evaluation of data health
        self.activity = Activity()
        self.progress = Progress(self.spool, settings.progress_seconds, published=self._published)
        self.taker = Taker(
            settings,
            self.spool,
            self.watcher,
            self.db,
            self.archiver,
            self.progress,
            self._should_stop,
            self.site,
        )

    @property
    def observer(self) -> Any:
        return self.watcher.observer

    @property
    def candidates(self) -> dict[Path, Candidate]:
        return self.watcher.candidates

    # --- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        self._install_signals()
        self.spool.ensure()
        for prefix in ("note", "kept", "progress"):  # our own half-written temporary files
            remove_stale_temps(self.spool, prefix)
        remove_stale_states(self.spool)
        remove_stale_intents(self.spool.root)
        try:  # a broken site file stops the daemon before it touches anything
            site = read_site(self.settings.site_file) if self.settings.site_file else None
        except SiteFileError as exc:
            log.error("%s", exc)
            return EXIT_CONFIG
        self.db.conninfo = db.database_url(self.settings)
        if not self._wait_for_database():
            return EXIT_OK
        assert self.db.conn is not None
        behind = pending(self.db.conn)
        if behind:
            log.error(
                "the database schema is behind (%s not applied): run `energy-ingest migrate`",
                ", ".join(m.name for m in behind),
            )
            return EXIT_SCHEMA
        self._apply_site(site)
        self.activity.start(self.db.conninfo)
        self.watcher.start()
        self.notifier.ready(self._status_text())
        log.info(
            "watching %s (backlog %d files; settle %.1f s, rescan every %.0f s)",
            printable_name(self.spool.root / "incoming"),
            len(self.candidates),
            self.settings.settle_seconds,
            self.settings.rescan_seconds,
        )
        try:
            self._loop()
        finally:
            self.notifier.stopping()
            self.watcher.stop()
            self.activity.stop()
            self.db.close()
            log.info("stopped")
        return EXIT_OK

    def _apply_site(self, site: tuple[Site, str] | None) -> None:
        """Re-resolve the catalog with ENERGY_SITE_FILE as it is now (cheap when nothing changed)."""
        assert self.db.conn is not None
        if site is None:
            log.warning(
                "ENERGY_SITE_FILE is not set: new points are resolved with the site file the "
                "catalog was last applied with (if any); see docs/catalog.md"
            )
            return
        try:
            applied = apply_site(self.db.conn, *site, held=self.site)
        except psycopg.Error as exc:
            self.db.conn.rollback()
            log.error("could not apply the site file %s: %s", self.settings.site_file, exc)
            return
        log.info(
            "site file %s applied: %d points resolved, %d changed, %.2f s",
            applied.path,
            applied.points,
            applied.changed,
            applied.seconds,
        )
        for line in applied.changes:
            log.info("catalog: %s", line)
        if applied.changed > len(applied.changes):
            log.info("catalog: … and %d more changes", applied.changed - len(applied.changes))

    def _install_signals(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("%s received: finishing up", signal.Signals(signum).name)
            self.stop.set()

        if threading.current_thread() is threading.main_thread():  # else: embedded, e.g. in tests
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            # A write lease broken in the instant we hold one raises SIGIO (spool.has_writer).
            signal.signal(signal.SIGIO, signal.SIG_IGN)
            # A daemon that seems stuck: SIGUSR1 writes where every thread is to stderr (the
            # journal) and it carries on (`systemctl kill -s USR1 energy-ingest`).
            faulthandler.register(signal.SIGUSR1, all_threads=True)

    def _wait_for_database(self) -> bool:
        while not self.stop.is_set():
            self.db.reconnect()
            if self.db.conn is not None:
                return True
            self.stop.wait(self.db.retry_at - time.monotonic())
        return False

    def _loop(self) -> None:
        next_scan = time.monotonic() + self.settings.rescan_seconds
        next_health = time.monotonic()  # at once: what happened while the daemon was stopped
        next_ahead = time.monotonic()
        took = False
        while not self.stop.is_set():
            self.notifier.watchdog()
            self.watcher.drain(timeout=0.1)
            now = time.monotonic()
            if now >= next_scan:
                self.watcher.scan()
                next_scan = now + self.settings.rescan_seconds
            self.watcher.check_observer()
            if self.watcher.archive_events:
                self._guarded("checking archived files", self.archiver.check_archive)
            for path, candidate in self.watcher.ready():
                if self.stop.is_set() or self.db.down:
                    break
                self._take(path, candidate)
                took = True
                self._published()
            now = time.monotonic()
            if took and not self.candidates:  # a second after the last file of a burst
                next_health, took = min(next_health, now + AFTER_FILES_SECONDS), False
            if now >= next_health and not self.db.down:
                self._guarded("evaluating data health", self._evaluate)
                next_health = time.monotonic() + self.settings.health_seconds
            if now >= next_ahead and not self.db.down:
                self._guarded("making next year's partition", self._partitions_ahead)
                next_ahead = time.monotonic() + AHEAD_SECONDS
            if self.db.due():
                self.db.reconnect()
            self._publish_activity()

    def _partitions_ahead(self) -> None:
        if self.db.conn is not None and partitions.ahead(self.db.conn):
            log.info("made next year's partition of readings")

    def _evaluate(self) -> None:
        conn = self.db.conn
        if conn is None:
            return
        spool = (len(self.candidates), failed_files(self.spool))
        # A series whose next file waits in incoming/ is not overdue (at start, after an outage)
        waiting = [
            (self.spool.source_of(p) or "siemens", printable_name(p.name)) for p in self.candidates
        ]
        try:
            result = evaluate(
                conn,
                self.settings,
                self.site.current,
                datetime.now(UTC),
                spool=spool,
                waiting=waiting,
                ping=self.notifier.watchdog,
            )
        except psycopg.Error as exc:
            if not conn.closed:
                conn.rollback()
            log.error(
                "could not evaluate data health: %s; trying again in %.0f s",
                exc,
                self.settings.health_seconds,
            )
            return
        if result.ran:
            self.health = result
            log.debug("data health evaluated in %.2f s: %s", result.seconds, result.text())
            self.notifier.status(self._status_text())

    def _take(self, path: Path, candidate: Candidate) -> None:
        """The per-file boundary: whatever goes wrong with one file, the loop goes on and the
        file is kept (where it is, to be tried again with backoff)."""
        try:
            self.taker.take(path, candidate)
        except Exception as exc:
            log.exception("unexpected error while taking %s", printable_name(path))
            reason = f"{printable_name(path)}: {type(exc).__name__}: {exc}"
            self._guarded("keeping the file", lambda: self.archiver.defer(path, candidate, reason))

    @staticmethod
    def _guarded(what: str, step: Any) -> None:
        try:
            step()
        except Exception:
            log.exception("unexpected error while %s; carrying on", what)

    def _should_stop(self) -> bool:
        self.notifier.watchdog()
        return self.stop.is_set()

    def _published(self) -> None:
        """The file in progress or the backlog changed: tell systemd (STATUS=) and the API."""
        self.notifier.status(self._status_text())
        self._publish_activity()

    def _publish_activity(self) -> None:
        """Cheap to call often: Activity writes only what changed, at most twice a second."""
        if not self.db.down:
            self._guarded(
                "publishing activity",
                lambda: self.activity.update(self.progress.state, len(self.candidates)),
            )

    def _status_text(self) -> str:
        state = "database unavailable; " if self.db.down else ""
        loading = self.progress.text()
        if loading:
            state += f"{loading}; "
        health = f"; {self.health.text()}" if self.health else ""
        return (
            f"{state}backlog {len(self.candidates)} files; last: {self.archiver.last_file}{health}"
        )
