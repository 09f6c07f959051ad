"""One complete file: open it without following links, claim it, parse and load it in one transaction.

Every way a file can go wrong ends here in one of four places: failed/ (the file's own fault),
back to wait in incoming/ (ours, the disk's or the database's, retried with backoff), a database
outage (nothing is tried until it ends), or left in place as stranded (not a regular file, or one
the daemon cannot read, or could never move out of its folder: checked before the transaction).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import errors as pg_errors

from energy_ingest.config import Settings
from energy_ingest.daemon.archiver import Archiver
from energy_ingest.daemon.database_link import DatabaseLink
from energy_ingest.daemon.progress import Progress
from energy_ingest.daemon.watch import Candidate, Watcher
from energy_ingest.errors import (
    Cancelled,
    DatabaseUnavailable,
    ParseError,
    SourceChanged,
    first_line,
)
from energy_ingest.parsing import parse_file
from energy_ingest.pipeline import Loaded, describe_file, load
from energy_ingest.spool import Spool, printable_name
from energy_ingest.spool.files import has_writer, open_regular
from energy_ingest.spool.stranded import judge
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.ledger import FileInfo

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

# A Siemens report without its End-of-Report footer (or an empty file) waits this many settle
# times for the rest.
FOOTERLESS_SETTLE_FACTOR = 15


class Taker:
    def __init__(
        self,
        settings: Settings,
        spool: Spool,
        watcher: Watcher,
        db: DatabaseLink,
        archiver: Archiver,
        progress: Progress,
        should_stop: Callable[[], bool],
        site: AppliedSite,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.watcher = watcher
        self.db = db
        self.archiver = archiver
        self.progress = progress
        self.should_stop = should_stop
        self.site = site

    def take(self, path: Path, candidate: Candidate) -> None:
        try:
            fd = open_regular(path)
        except FileNotFoundError:
            self.watcher.forget(path)
            log.warning(
                "%s disappeared from the spool while it was being taken", printable_name(path)
            )
            return
        except OSError as exc:
            # Swapped for a link or a FIFO since it was seen, or made unreadable: never read it.
            # Else (an I/O error): keep it, try again later.
            if not self._strand(path):
                self.archiver.defer(path, candidate, f"{printable_name(path)}: {exc}")
            return
        with os.fdopen(fd, "rb") as fp:
            if judge(self.spool.root / "incoming", path, os.fstat(fd)) is not None:
                self._strand(path)  # e.g. a second hard link: never read it
            elif self._claim(fp, path):
                self._take_claimed(fp, path, candidate)

    def _strand(self, path: Path) -> bool:
        """Leave the file where it is, and say why once, if it is not one the daemon can take."""
        try:
            why = judge(self.spool.root / "incoming", path, os.lstat(path))
        except FileNotFoundError:
            self.watcher.forget(path)
            return True
        if why is not None:
            self.watcher.strand(why, path)
        return why is not None

    def _claim(self, fp: BinaryIO, path: Path) -> bool:
        """An exclusive, non-blocking flock; then make sure the name still means this file."""
        try:
            fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False  # another daemon has it
            raise
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fp.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self.watcher.forget(path)
        return same

    def _take_claimed(self, fp: BinaryIO, path: Path, candidate: Candidate) -> None:
        if has_writer(fp.fileno()):
            log.debug(
                "%s is still open for writing; waiting for it to be closed", printable_name(path)
            )
            self.watcher.wait_for_close(path)
            return
        before = _key(os.fstat(fp.fileno()))
        rel = path.relative_to(self.spool.root / "incoming")
        hint = self.spool.source_of(path)
        label = printable_name(rel if hint else Path("incoming") / rel)
        info = describe_file(fp, path, hint or "siemens", printable_name(rel))
        if info.size == 0 and self._may_still_grow(candidate):
            return
        if self.db.conn is None:
            self.db.mark_down(DatabaseUnavailable("not connected"))
            return
        if self._strand(path):  # never commit a file that could not be moved out afterwards
            return
        log.debug("loading %s (%d bytes, sha256 %s)", label, info.size, info.sha256)

        def still_same() -> bool:
            return _key(os.fstat(fp.fileno())) == before

        self.progress.begin(label, info.size, fp.fileno())
        try:
            loaded = self._load(fp, path, info, label, candidate, still_same)
        finally:
            self.progress.end()
        if loaded is None:
            return
        if _key(os.fstat(fp.fileno())) != before:
            self.archiver.grew_before_the_move(path, loaded, label, fp.fileno())
        else:
            self.archiver.archive(path, loaded, label, fp.fileno())

    def _load(
        self,
        fp: BinaryIO,
        path: Path,
        info: FileInfo,
        label: str,
        candidate: Candidate,
        still_same: Callable[[], bool],
    ) -> Loaded | None:
        """The file's transaction; None when it did not commit (and what became of the file)."""
        assert self.db.conn is not None
        try:
            report = parse_file(
                fp, info.name, tz=self.settings.timezone, hint=self.spool.source_of(path)
            )
            if report.unfinished and self._may_still_grow(candidate):
                return None

            def between_chunks() -> bool:
                self.progress.tick(lambda: report.values)
                return self.should_stop()

            return load(
                self.db.conn,
                report,
                info,
                tz=self.settings.timezone,
                site=self.site,
                should_stop=between_chunks,
                still_same=still_same,
            )
        except ParseError as exc:
            self.archiver.fail(path, info, str(exc.with_file(label)), fp.fileno(), exc.excerpt)
        except SourceChanged:
            log.info(
                "%s changed while it was being loaded: rolled back; it is taken again once its "
                "writer closes it or it settles",
                label,
            )
            self.watcher.settle_again(path)
        except Cancelled:
            log.info("interrupted %s: rolled back; it stays in incoming/", label)
        except DatabaseUnavailable as exc:
            self.db.mark_down(exc)
        except psycopg.Error as exc:
            self._database_error(exc, fp, path, info, candidate, label)
        except OSError as exc:  # the file could not be read to the end: keep it, retry later
            self.archiver.defer(path, candidate, f"{label}: {exc.strerror or exc}")
        except Exception as exc:  # a bug of ours must not stop the daemon, nor lose the file
            log.exception("unexpected error on %s", label)
            self.archiver.fail(
                path,
                info,
                f"{label}: internal error ({type(exc).__name__}: {exc}); please report it",
                fp.fileno(),
            )
        return None

    def _may_still_grow(self, candidate: Candidate) -> bool:
        """A Siemens report without its footer (or an empty file) may still be being written."""
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
        fp: BinaryIO,
        path: Path,
        info: FileInfo,
        candidate: Candidate,
        label: str,
    ) -> None:
        """The connection is gone: an outage. The file's own content: fail it. Else: retry it later."""
        if self.db.broken():
            self.db.mark_down(exc)
        elif isinstance(exc, psycopg.DataError | pg_errors.ProgramLimitExceeded):
            self.archiver.fail(
                path,
                info,
                f"{label}: the database cannot store this file's content: {first_line(exc)}",
                fp.fileno(),
            )
        else:  # e.g. a deadlock, a lock or statement timeout
            self.archiver.defer(
                path, candidate, f"{label}: {type(exc).__name__}: {first_line(exc)}"
            )


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)
