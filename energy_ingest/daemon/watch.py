"""Which files in incoming/ are complete: inotify events, rescans, settle times and write leases.

A file is complete when its writer closed it (inotify's close-after-write) or renamed it in.
A file seen being written (a write event, no close since) waits for that close however long
the writer pauses. The settle time alone decides only for files never seen being written —
found by a rescan, e.g. after a restart or an inotify overflow; where the kernel will tell us
(a read lease, see `spool.has_writer`) a file still open for writing is never taken.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from energy_ingest.spool import Spool, printable_name, unknown_folder_advice
from energy_ingest.spool.files import has_writer, open_regular
from energy_ingest.spool.stranded import Stranded, judge, walk_incoming

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

RESCAN = Path("<rescan>")
# What an event says about a file: written to, closed after writing, moved in, or only seen;
# with RESCAN: a folder appeared (SEEN) or events were lost (LOST).
WRITTEN, CLOSED, MOVED_IN, SEEN, LOST = "written", "closed", "moved in", "seen", "lost"
Event = tuple[Path, str]


@dataclass
class Candidate:
    """A file seen in incoming/ that is not yet known to be complete."""

    stat: tuple[int, int, int]  # (size, mtime_ns, inode)
    stable_since: float
    closed: bool = False  # closed after writing, or moved in, with no change since
    writing: bool = False  # written to, and not closed since: wait for the close
    retry_at: float = 0.0
    failures: int = 0

    def changed(self, stat: tuple[int, int, int], now: float) -> Candidate:
        """The same name with new content: it must be closed or settle again (retries kept)."""
        return Candidate(stat, now, False, self.writing, self.retry_at, self.failures)


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: only enqueues (path, what happened) for the loop."""

    KINDS: ClassVar[dict[str, str]] = {"modified": WRITTEN, "closed": CLOSED, "created": SEEN}

    def __init__(self, events: queue.SimpleQueue[Event], incoming: Path):
        self.events = events
        self.incoming = os.fsencode(incoming)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            into = event.dest_path if event.event_type == "moved" else event.src_path
            if event.event_type in ("created", "moved") and os.fsencode(into).startswith(
                self.incoming
            ):
                self.events.put((RESCAN, SEEN))  # a whole folder dropped in
            return
        if event.event_type == "moved":
            if event.dest_path:  # empty when a file was moved out of a watched folder
                self.events.put((Path(os.fsdecode(event.dest_path)), MOVED_IN))
        elif event.event_type in self.KINDS:
            self.events.put((Path(os.fsdecode(event.src_path)), self.KINDS[event.event_type]))


class _OverflowSignal(logging.Handler):
    """Watchdog only logs an inotify queue overflow; we turn that log line into a rescan."""

    def __init__(self, events: queue.SimpleQueue[Event]):
        super().__init__(logging.WARNING)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.events.put((RESCAN, LOST))  # writes may have ended unseen


class Watcher:
    """The candidates in incoming/, kept up to date from inotify and rescans.

    Writes to archived files — archive/ is never written once a file is there — are collected
    in `archive_events` for the outcome to check: a writer that still holds a file it was
    writing when the file was archived. inotify reports such writes at the archived name, or
    (after a link-and-unlink move) at the name in incoming/ that no longer exists.
    """

    def __init__(self, spool: Spool, settle_seconds: float) -> None:
        self.spool = spool
        self.incoming = spool.root / "incoming"
        self.archive = spool.root / "archive"
        self.settle = settle_seconds
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.candidates: dict[Path, Candidate] = {}
        self.archive_events: list[Path] = []
        self.observer: Any = None
        self._stranded: set[Path] = set()
        self._unknown_folders: set[str] = set()  # warned about in this run
        self._ours: set[Path] = set()  # moved back into incoming/ by us: not a writer's rename
        self._overflow = _OverflowSignal(self.events)

    def start(self) -> None:
        logging.getLogger("watchdog").addHandler(self._overflow)
        self._start_observer()
        self.scan()

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._overflow)
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)

    def _start_observer(self) -> None:
        # Full events: a file renamed in from outside the watch (the upload's .tmp/) arrives as a
        # move with a destination, which we know is complete, rather than as a bare "created".
        try:
            from watchdog.observers.inotify import InotifyObserver

            observer: Any = InotifyObserver(generate_full_events=True)
        except ImportError:  # not Linux: polling or another backend, without close events
            observer = Observer()
        handler = _Handler(self.events, self.incoming)
        observer.schedule(handler, str(self.incoming), recursive=True)
        observer.schedule(handler, str(self.archive), recursive=True)
        observer.daemon = True
        observer.start()
        self.observer = observer

    def check_observer(self) -> None:
        if not self.observer.is_alive():
            log.error("the file watcher thread died; restarting it and rescanning the spool")
            self._start_observer()
            self.scan(events_lost=True)

    # --- events and rescans -------------------------------------------------------------

    def drain(self, timeout: float) -> None:
        try:
            path, what = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if path == RESCAN:
                self.scan(events_lost=what == LOST)
            else:
                self.see(path, what)
            try:
                path, what = self.events.get_nowait()
            except queue.Empty:
                return

    def scan(self, *, events_lost: bool = False) -> None:
        """Walk incoming/. After lost events, files marked as being written are re-judged: by
        their write lease where the kernel tells, else by the settle time."""
        log.debug("scanning %s", self.incoming)
        seen = set()
        for entry in walk_incoming(self.spool.root):
            seen.add(entry.path)
            if entry.stranded is not None:
                seen.add(entry.stranded.path)  # its folder, when that is what strands it
                self.strand(entry.stranded, entry.path)
                continue
            self._update(entry.path, entry.st, SEEN)
            c = self.candidates[entry.path]
            if c.writing and (events_lost or self._probe(entry.path) is False):
                c.writing = False
        for gone in set(self.candidates) - seen:
            del self.candidates[gone]
        self._stranded &= seen

    def see(self, path: Path, what: str) -> None:
        if path.is_relative_to(self.archive):
            if what in (WRITTEN, CLOSED):
                self.archive_events.append(path)
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self.candidates.pop(path, None)
            if what in (WRITTEN, CLOSED):
                self.archive_events.append(path)  # written through a descriptor of a moved file
            return
        why = judge(self.incoming, path, st)
        if why is not None:
            self.strand(why, path)
            return
        self._update(path, st, what)

    def _update(self, path: Path, st: os.stat_result, what: str) -> None:
        stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        now = time.monotonic()
        known = self.candidates.get(path)
        if known is None:
            c = self.candidates[path] = Candidate(stat, now)
            self._unknown_folder(path)
        elif known.stat != stat:
            c = self.candidates[path] = known.changed(stat, now)
        else:
            c = known
        if what == MOVED_IN and path in self._ours:
            self._ours.discard(path)
        elif what == WRITTEN and st.st_ctime_ns == st.st_mtime_ns:
            # inotify says "modified" for a chmod or chgrp too (which changes only the ctime): a
            # file whose permissions were just fixed is not being written, and no close follows.
            c.writing, c.closed = True, False
        elif what in (CLOSED, MOVED_IN):
            c.writing, c.closed = False, True

    def _strand(self, stranded: Stranded) -> None:
        """Say once that a file will never be taken (a copy in progress only waits for a rename)."""
        if stranded.path in self._stranded or stranded.in_progress:
            return
        self._stranded.add(stranded.path)
        log.warning(
            "%s is %s; it is left in place and never read: %s",
            printable_name(stranded.path.relative_to(self.spool.root)),
            stranded.why,
            stranded.fix,
        )

    def _unknown_folder(self, path: Path) -> None:
        """Say once per run that a folder below incoming/ is no source's (e.g. `seimens`)."""
        folder = self.spool.unknown_folder(path)
        if folder is not None and folder not in self._unknown_folders:
            self._unknown_folders.add(folder)
            log.warning("%s", unknown_folder_advice(folder))

    @staticmethod
    def _probe(path: Path) -> bool | None:
        try:
            fd = open_regular(path)
        except OSError:
            return None
        try:
            return has_writer(fd)
        finally:
            os.close(fd)

    # --- what is ready ------------------------------------------------------------------

    def ready(self) -> list[tuple[Path, Candidate]]:
        """Complete files, oldest first: closed or moved in with no change since, or settled
        without ever being seen written to."""
        now = time.monotonic()
        ready = []
        for path, c in list(self.candidates.items()):
            if now < c.retry_at or c.writing:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                del self.candidates[path]
                continue
            if (st.st_size, st.st_mtime_ns, st.st_ino) != c.stat:
                self.candidates[path] = c.changed((st.st_size, st.st_mtime_ns, st.st_ino), now)
                continue
            if c.closed or now - c.stable_since >= self.settle:
                ready.append((c.stat[1], path))
        return [(p, self.candidates[p]) for _, p in sorted(ready)]

    def forget(self, path: Path) -> None:
        self.candidates.pop(path, None)

    def strand(self, stranded: Stranded, path: Path) -> None:
        """Never take `path`, for the reason given (about it, or about its folder)."""
        self.forget(path)
        self._strand(stranded)

    def wait_for_close(self, path: Path) -> None:
        """Someone still has the file open for writing: take it after they close it."""
        c = self.candidates.get(path)
        if c is not None:
            c.writing, c.closed = True, False

    def moved_in_by_us(self, path: Path) -> None:
        """We put this file back into incoming/: it is complete once closed or settled, not at
        once (its writer may still have it open)."""
        self._ours.add(path)

    def settle_again(self, path: Path) -> None:
        """Changed under us: take it once it is closed or has settled again."""
        c = self.candidates.get(path)
        if c is not None:
            self.candidates[path] = c.changed((-1, -1, -1), time.monotonic())
