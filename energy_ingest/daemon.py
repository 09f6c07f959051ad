"""The ingest daemon: watch the spool, take each complete file once, load it, archive or fail it.

Watchdog's event handler only enqueues paths; all work happens in one loop, which also rescans
the spool periodically (and at once after an inotify overflow), restarts a dead observer thread,
and pings systemd's watchdog. A file is claimed with an exclusive flock, so several daemons can
share a spool; the ledger's unique sha256 is the final guard. A file leaves incoming/ only after
its transaction committed (→ archive/) or it was judged bad (→ failed/ with a `.error` note).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import psycopg
from psycopg import errors as pg_errors
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from energy_ingest import db
from energy_ingest.config import Settings
from energy_ingest.errors import DatabaseUnavailable, ParseError, first_line
from energy_ingest.ingest import Loaded, describe_file, parse_file, summary
from energy_ingest.load import Cancelled, FileInfo, SourceChanged, load_report, record_failure
from energy_ingest.migrate import pending
from energy_ingest.notify import Notifier
from energy_ingest.spool import Spool, fsync_dir, is_temporary, place

log = logging.getLogger("energy_ingest.daemon")

EXIT_OK = 0
EXIT_SCHEMA = 78  # EX_CONFIG: the database schema is behind; run `energy-ingest migrate`
MAX_BACKOFF = 60.0
# A Siemens report without its End-of-Report footer waits this many settle times for the rest.
FOOTERLESS_SETTLE_FACTOR = 15
RESCAN = Path("<rescan>")


@dataclass
class Candidate:
    """A file seen in incoming/ that is not yet known to be complete."""

    stat: tuple[int, int]  # (size, mtime_ns)
    stable_since: float
    closed: bool = False  # inotify said close-after-write or moved-in since the last change
    retry_at: float = 0.0
    failures: int = 0

    def changed(self, stat: tuple[int, int], now: float) -> Candidate:
        """The same file seen with a new size or mtime: it must settle again (retries kept)."""
        return Candidate(stat, now, False, self.retry_at, self.failures)


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: only enqueues (path, complete?) for the loop."""

    def __init__(self, events: queue.SimpleQueue[tuple[Path, bool]]):
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write", "deleted"):
            return
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self.events.put((RESCAN, False))  # a whole folder dropped in
            return
        if event.event_type == "moved":
            if event.dest_path:  # empty when a file was moved out of incoming/
                self.events.put((Path(os.fsdecode(event.dest_path)), True))
        else:
            self.events.put((Path(os.fsdecode(event.src_path)), event.event_type == "closed"))


class _OverflowSignal(logging.Handler):
    """Watchdog only logs an inotify queue overflow; we turn that log line into a rescan."""

    def __init__(self, events: queue.SimpleQueue[tuple[Path, bool]]):
        super().__init__(logging.WARNING)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.events.put((RESCAN, False))


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.spool = Spool(settings.spool_dir)
        self.notifier = Notifier(settings)
        self.stop = threading.Event()
        self.events: queue.SimpleQueue[tuple[Path, bool]] = queue.SimpleQueue()
        self.candidates: dict[Path, Candidate] = {}
        self.conn: psycopg.Connection[Any] | None = None
        self.conninfo = ""
        self.db_down_since: float | None = None
        self.db_retry_at = 0.0
        self.db_backoff = 1.0
        self.last_file = "none yet"
        self.observer: Any = None
        self._overflow = _OverflowSignal(self.events)

    # --- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        self._install_signals()
        self.spool.ensure()
        self.conninfo = db.database_url(self.settings)
        if not self._wait_for_database():
            return EXIT_OK
        assert self.conn is not None
        behind = pending(self.conn)
        if behind:
            log.error(
                "the database schema is behind (%s not applied): run `energy-ingest migrate`",
                ", ".join(m.name for m in behind),
            )
            return EXIT_SCHEMA
        logging.getLogger("watchdog").addHandler(self._overflow)
        self._start_observer()
        self._scan()
        self.notifier.ready(self._status_text())
        log.info(
            "watching %s (backlog %d files; settle %.1f s, rescan every %.0f s)",
            self.spool.root / "incoming",
            len(self.candidates),
            self.settings.settle_seconds,
            self.settings.rescan_seconds,
        )
        try:
            self._loop()
        finally:
            self.notifier.stopping()
            logging.getLogger("watchdog").removeHandler(self._overflow)
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(timeout=5)
            if self.conn is not None:
                self.conn.close()
            log.info("stopped")
        return EXIT_OK

    def _install_signals(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("%s received: finishing up", signal.Signals(signum).name)
            self.stop.set()

        if threading.current_thread() is threading.main_thread():  # else: embedded, e.g. in tests
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)

    def _start_observer(self) -> None:
        # Full events: a file renamed in from outside the watch (the upload's .tmp/) arrives as a
        # move with a destination, which we know is complete, rather than as a bare "created".
        try:
            from watchdog.observers.inotify import InotifyObserver

            observer: Any = InotifyObserver(generate_full_events=True)
        except ImportError:  # not Linux: polling or another backend, without close events
            observer = Observer()
        observer.schedule(_Handler(self.events), str(self.spool.root / "incoming"), recursive=True)
        observer.daemon = True
        observer.start()
        self.observer = observer

    def _loop(self) -> None:
        next_scan = time.monotonic() + self.settings.rescan_seconds
        while not self.stop.is_set():
            self.notifier.watchdog()
            self._drain_events(timeout=0.1)
            now = time.monotonic()
            if now >= next_scan:
                self._scan()
                next_scan = now + self.settings.rescan_seconds
            if not self.observer.is_alive():
                log.error("the file watcher thread died; restarting it and rescanning the spool")
                self._start_observer()
                self._scan()
            for path in self._ready():
                if self.stop.is_set() or self.db_down_since is not None:
                    break
                self._process(path)
                self.notifier.status(self._status_text())
            if self.db_down_since is not None and time.monotonic() >= self.db_retry_at:
                self._reconnect()

    # --- finding complete files ---------------------------------------------------------

    def _drain_events(self, timeout: float) -> None:
        try:
            path, closed = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if path == RESCAN:
                self._scan()
            else:
                self._see(path, closed)
            try:
                path, closed = self.events.get_nowait()
            except queue.Empty:
                return

    def _scan(self) -> None:
        log.debug("scanning %s", self.spool.root / "incoming")
        incoming = self.spool.root / "incoming"
        seen = set()
        for dirpath, dirnames, filenames in os.walk(incoming):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = Path(dirpath) / name
                seen.add(path)
                self._see(path, closed=False)
        for gone in set(self.candidates) - seen:
            del self.candidates[gone]

    def _see(self, path: Path, closed: bool) -> None:
        if is_temporary(path.name) or path.name.endswith(".error"):
            return
        try:
            st = path.stat()
        except FileNotFoundError:
            self.candidates.pop(path, None)
            return
        if not path.is_file():
            return
        stat = (st.st_size, st.st_mtime_ns)
        known = self.candidates.get(path)
        if known is None:
            self.candidates[path] = Candidate(stat, time.monotonic(), closed)
        elif known.stat != stat:
            self.candidates[path] = known.changed(stat, time.monotonic())
            self.candidates[path].closed = closed
        elif closed:
            known.closed = True

    def _ready(self) -> list[Path]:
        """Complete files, oldest first: closed/moved in with no change since, or settled."""
        now = time.monotonic()
        ready = []
        for path, c in list(self.candidates.items()):
            if now < c.retry_at:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                del self.candidates[path]
                continue
            if (st.st_size, st.st_mtime_ns) != c.stat:
                self.candidates[path] = c.changed((st.st_size, st.st_mtime_ns), now)
                continue
            if c.closed or now - c.stable_since >= self.settings.settle_seconds:
                ready.append((c.stat[1], path))
        return [p for _, p in sorted(ready)]

    # --- one file -----------------------------------------------------------------------

    def _process(self, path: Path) -> None:
        candidate = self.candidates.get(path)
        try:
            with open(path, "rb") as fp:
                if not self._claim(fp, path):
                    return
                before = os.fstat(fp.fileno())
                rel = str(path.relative_to(self.spool.root / "incoming"))
                hint = self.spool.source_of(path)
                info = describe_file(fp, path, hint or "siemens", rel)

                def still_same() -> bool:
                    now = os.fstat(fp.fileno())
                    return (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

                self._ingest(fp, path, rel, hint, info, candidate, still_same)
        except FileNotFoundError:
            self.candidates.pop(path, None)
            log.warning("%s disappeared from the spool while it was being taken", path)
        except OSError as exc:  # unreadable, disk full, I/O error: keep it, try again later
            self._defer(path, candidate, f"{path}: {exc}")

    def _claim(self, fp: BinaryIO, path: Path) -> bool:
        """An exclusive, non-blocking flock; then make sure the name still means this file."""
        try:
            fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False  # another daemon has it
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fp.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self.candidates.pop(path, None)
        return same

    def _ingest(
        self,
        fp: BinaryIO,
        path: Path,
        rel: str,
        hint: str | None,
        info: FileInfo,
        candidate: Candidate | None,
        still_same: Callable[[], bool],
    ) -> None:
        label = f"{hint or 'incoming'}/{rel.split('/', 1)[1] if hint else rel}"
        if self.conn is None:
            self._mark_db_down(DatabaseUnavailable("not connected"))
            return
        log.debug("loading %s (%d bytes, sha256 %s)", label, info.size, info.sha256)
        try:
            report = parse_file(fp, info, tz=self.settings.timezone, hint=hint)
            if report.footer is False and candidate is not None and self._may_still_grow(candidate):
                return
            result = load_report(
                self.conn, report, info, should_stop=self._keep_going, still_same=still_same
            )
        except ParseError as exc:
            self._fail(path, info, str(exc.with_file(label)))
            return
        except SourceChanged:
            log.info(
                "%s changed while it was being loaded: rolled back; it will be taken when it settles",
                label,
            )
            if candidate is not None:
                self.candidates[path] = candidate.changed((-1, -1), time.monotonic())
            return
        except Cancelled:
            log.info("interrupted %s: rolled back; it stays in incoming/", label)
            return
        except DatabaseUnavailable as exc:
            self._mark_db_down(exc)
            return
        except psycopg.Error as exc:
            self._database_error(exc, path, info, candidate, label)
            return
        except Exception as exc:  # a bug of ours must not stop the daemon, nor lose the file
            log.exception("unexpected error on %s", label)
            self._fail(
                path,
                info,
                f"{label}: internal error ({type(exc).__name__}: {exc}); please report it",
            )
            return
        self._archive(path, Loaded(report, result, info), label)

    def _may_still_grow(self, candidate: Candidate) -> bool:
        """A Siemens report without its footer may still be being written: give it longer."""
        wait_until = (
            candidate.stable_since + FOOTERLESS_SETTLE_FACTOR * self.settings.settle_seconds
        )
        if time.monotonic() >= wait_until:
            return False
        candidate.closed = False
        candidate.retry_at = wait_until
        return True

    def _database_error(
        self,
        exc: psycopg.Error,
        path: Path,
        info: FileInfo,
        candidate: Candidate | None,
        label: str,
    ) -> None:
        """The connection is gone: an outage. The file's own content: fail it. Else: retry it later."""
        if self.conn is None or self.conn.broken or self.conn.closed:
            self._mark_db_down(exc)
        elif isinstance(exc, psycopg.DataError | pg_errors.ProgramLimitExceeded):
            self._fail(
                path,
                info,
                f"{label}: the database cannot store this file's content: {first_line(exc)}",
            )
        else:  # e.g. a deadlock, a lock or statement timeout
            self._defer(path, candidate, f"{label}: {type(exc).__name__}: {first_line(exc)}")

    def _keep_going(self) -> bool:
        self.notifier.watchdog()
        return self.stop.is_set()

    def _archive(self, path: Path, loaded: Loaded, label: str) -> None:
        if loaded.result.status == "duplicate" and path.stat().st_nlink > 1:
            # Killed between the archive link and the unlink: the archived name already holds
            # these bytes, so finishing the move is dropping this second name.
            path.unlink()
            fsync_dir(path.parent)
            self.candidates.pop(path, None)
            log.info("finished the interrupted archiving of %s", label)
            return
        # Archived by the month of the data (the file name's date is only when the report ran).
        first = loaded.result.first_ts
        when = first.astimezone(self.settings.zone) if first else datetime.now(UTC)
        target = place(
            path, self.spool.archive(loaded.info.source, when), path.name, leaving_incoming=True
        )
        self.candidates.pop(path, None)
        self.last_file = f"{label} {loaded.result.status} {datetime.now():%H:%M:%S}"
        log.info("%s", summary(loaded, self.settings.timezone, label))
        report = loaded.report
        if loaded.result.status == "ingested":
            if report.rejects:
                shown = "; ".join(f"line {r.line}: {r.reason}" for r in report.rejects[:3])
                more = f" (and {len(report.rejects) - 3} more)" if len(report.rejects) > 3 else ""
                log.warning("%s: %d rows rejected — %s%s", label, len(report.rejects), shown, more)
            for warning in report.warnings:
                log.warning("%s: %s", label, warning)
            if loaded.result.updated:
                log.warning(
                    "%s: %d stored values changed (the later file wins), e.g. %s",
                    label,
                    loaded.result.updated,
                    ", ".join(loaded.result.changed_examples),
                )
            if loaded.result.skipped:
                log.warning(
                    "%s: %d values did not fit their point's kind and were skipped",
                    label,
                    loaded.result.skipped,
                )
        log.debug("archived %s as %s", label, target)

    def _fail(self, path: Path, info: FileInfo, reason: str) -> None:
        source = info.source if info.source in ("siemens", "alc") else "siemens"
        target = place(path, self.spool.failed(source), path.name, leaving_incoming=True)
        note = target.with_name(target.name + ".error")
        self._write_note(
            note,
            (
                f"{target.name} could not be ingested ({datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC).\n\n"
                f"Reason: {reason}\n\n"
                f"The file is kept here unchanged. Fix the cause (or the file), then run\n"
                f"    energy-ingest retry '{target.name}'\n"
                f"to move it back to incoming/{source}/.\n"
            ),
        )
        self.candidates.pop(path, None)
        self.last_file = f"{info.name} failed {datetime.now():%H:%M:%S}"
        log.error("failed %s — moved to failed/%s/%s", reason, source, target.name)
        if self.conn is not None:
            try:
                record_failure(self.conn, info, reason)
            except psycopg.Error as exc:
                log.warning(
                    "could not note the failure of %s in the ledger: %s",
                    info.name,
                    first_line(exc),
                )

    @staticmethod
    def _write_note(note: Path, text: str) -> None:
        try:
            note.write_text(text)
            fsync_dir(note.parent)
        except OSError as exc:  # the file itself is safe in failed/; say why there is no note
            log.error("could not write %s: %s", note, exc)

    def _defer(self, path: Path, candidate: Candidate | None, reason: str) -> None:
        c = self.candidates.get(path) or candidate
        if c is None:
            return
        self.candidates[path] = c
        c.failures += 1
        delay = min(MAX_BACKOFF, 2.0**c.failures)
        c.retry_at = time.monotonic() + delay
        log.error("%s; the file stays in incoming/, retrying in %.0f s", reason, delay)

    # --- the database -------------------------------------------------------------------

    def _wait_for_database(self) -> bool:
        while not self.stop.is_set():
            self._reconnect()
            if self.conn is not None:
                return True
            self.stop.wait(self.db_retry_at - time.monotonic())
        return False

    def _reconnect(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        try:
            self.conn = db.connect(self.conninfo)
            # Waiting on another loader's locks ends in an error (the file is retried later),
            # never in a silence long enough for systemd's watchdog to kill us.
            self.conn.execute("SET lock_timeout = '60s'")
            self.conn.commit()
        except (DatabaseUnavailable, psycopg.Error) as exc:
            self._mark_db_down(exc)
            return
        if self.db_down_since is not None:
            log.info(
                "database is reachable again after %.0f s; resuming",
                time.monotonic() - self.db_down_since,
            )
        self.db_down_since = None
        self.db_backoff = 1.0

    def _mark_db_down(self, exc: BaseException) -> None:
        if self.db_down_since is None:
            self.db_down_since = time.monotonic()
            log.error(
                "database unavailable (%s); %d files wait in incoming/, retrying with backoff up to %.0f s",
                first_line(exc),
                len(self.candidates),
                MAX_BACKOFF,
            )
        self.db_retry_at = time.monotonic() + self.db_backoff
        self.db_backoff = min(MAX_BACKOFF, self.db_backoff * 2)
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _status_text(self) -> str:
        state = "database unavailable; " if self.db_down_since is not None else ""
        return f"{state}backlog {len(self.candidates)} files; last: {self.last_file}"
