"""What happens to a file after its transaction: archive/, failed/ with a note, or back to wait.

The ledger always describes bytes that exist in archive/. A writer that kept appending to a
file after its transaction committed — before the move, or into archive/ through the file
descriptor it still holds — is noticed: the bytes that were ingested (checked by their sha256)
are archived under the file's name, and the grown file goes back to incoming/ to be ingested
again as a new version (the upsert makes that exact).
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from energy_ingest.config import Settings
from energy_ingest.daemon.database_link import MAX_BACKOFF, DatabaseLink
from energy_ingest.daemon.watch import Candidate, Watcher
from energy_ingest.errors import first_line
from energy_ingest.localtime import local
from energy_ingest.pipeline import Loaded, notes, summary
from energy_ingest.spool import NOTE_SUFFIX, Spool, printable_name
from energy_ingest.spool.files import open_regular, place, write_note
from energy_ingest.spool.moving import copy_read, finished, interrupted, move_read, names_it
from energy_ingest.write.ledger import FileInfo, record_failure

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

REMEMBER_ARCHIVED = 10_000  # archived files watched for a writer that still appends to them


@dataclass(frozen=True)
class Archived:
    """A file this daemon archived, as it was loaded."""

    stat: tuple[int, int, int]  # (size, mtime_ns, inode)
    info: FileInfo
    came_from: Path  # its name in incoming/
    label: str


class Archiver:
    def __init__(
        self, settings: Settings, spool: Spool, watcher: Watcher, db: DatabaseLink
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.watcher = watcher
        self.db = db
        self.archived: OrderedDict[Path, Archived] = OrderedDict()  # by the archived name
        self.archived_from: dict[Path, Path] = {}  # the name in incoming/ → the archived name
        self.unmoved: set[Path] = set()  # committed, not moved out of incoming/: said once
        self.last_file = "none yet"

    # --- ingested -----------------------------------------------------------------------

    def archive(self, path: Path, loaded: Loaded, label: str, fd: int) -> None:
        """Move the committed file open as `fd` to archive/YYYY/MM by the month of its data."""
        result, st, root = loaded.result, os.fstat(fd), self.spool.root
        if result.status == "duplicate" and st.st_nlink > 1 and interrupted(root, st):
            # Killed between the archive link and the unlink: the archived name already holds
            # these bytes, so finishing the move is dropping this second name.
            if names_it(path, st):
                path.unlink()
            finished(root, st)
            self.watcher.forget(path)
            log.info("finished the interrupted archiving of %s", label)
            return
        try:
            target = self._move_read(fd, path, loaded.info, label, self._archive_dir(loaded))
        except OSError as exc:
            self._unmoved(path, label, loaded, exc)
            return
        self.unmoved.discard(path)
        if target is None:
            return
        self._remember(target, Archived(_key(st), loaded.info, path, label))
        self.last_file = f"{label} {result.status} {self._now()}"
        log.info("%s", summary(loaded, self.settings.timezone, label))
        for level, note in notes(loaded):  # the same lines `import` prints
            log.log(level, "%s: %s", label, note)
        log.debug("archived %s as %s", label, printable_name(target))

    def _now(self) -> str:
        """The time of a `last:` in systemd's STATUS=, in the operators' convention."""
        return local(datetime.now(UTC), self.settings.timezone)

    def _archive_dir(self, loaded: Loaded) -> Path:
        # By the month of the data (the file name's date is only when the report ran).
        first = loaded.result.first_ts
        when = first.astimezone(self.settings.zone) if first else datetime.now(UTC)
        return self.spool.archive(loaded.info.source, when)

    def _remember(self, target: Path, archived: Archived) -> None:
        self.archived[target] = archived
        self.archived_from[archived.came_from] = target
        while len(self.archived) > REMEMBER_ARCHIVED:
            _, forgotten = self.archived.popitem(last=False)
            self.archived_from.pop(forgotten.came_from, None)

    def _move_read(
        self, fd: int, path: Path, info: FileInfo, label: str, directory: Path, room: int = 0
    ) -> Path | None:
        """Move what was read (the file open as `fd`) out of incoming/; a copy of it when `path`
        now names another file (taken again as a new one) or the file has other links."""
        root = self.spool.root
        target = move_read(root, fd, path, directory, path.name, room)
        if target is not None:
            self.watcher.forget(path)
            return target
        st = os.fstat(fd)
        linked, gone = names_it(path, st), False
        kept = copy_read(root, fd, info.size, info.sha256, directory, path.name, room)
        if linked:  # its other name is someone else's: the copy is ours, this name goes
            path.unlink()
            self.watcher.forget(path)
            why = (
                "is also an interrupted upload's temp file"
                if interrupted(root, st)
                else "got a second hard link while it was being loaded"
            )
        else:
            self.watcher.settle_again(path)
            gone = not os.path.lexists(path)
            why = f"was {'removed' if gone else 'replaced'} while it was being loaded"
        if kept is None:
            log.error(
                "%s %s, and its %d bytes that were read changed since (ledger sha256 %s); "
                "they are no longer anywhere in the spool",
                label,
                why,
                info.size,
                info.sha256,
            )
            return None
        log.warning(
            "%s %s: the %d bytes that were read are kept as %s%s",
            label,
            why,
            info.size,
            printable_name(kept.relative_to(root)),
            "" if linked or gone else f"; the new file at {label} is taken as a new file",
        )
        return kept

    def _unmoved(self, path: Path, label: str, loaded: Loaded, exc: OSError) -> None:
        """Committed, but the move to archive/ failed: say so once; the file stays and the move
        is tried again (as a duplicate, which changes nothing) with backoff."""
        quiet = path in self.unmoved
        self.unmoved.add(path)
        reason = (
            f"{label} was committed (ledger id {loaded.result.file_id}) but could not be moved to "
            f"archive/: {exc.strerror or exc}; fix the cause (space, permissions) — "
            "nothing is ingested twice"
        )
        self.defer(path, None, reason, quiet=quiet)

    # --- changed after the commit -------------------------------------------------------

    def grew_before_the_move(self, path: Path, loaded: Loaded, label: str, fd: int) -> None:
        """The file in incoming/ changed after its transaction committed."""
        info = loaded.info
        self.watcher.settle_again(path)
        if loaded.result.status == "duplicate":
            log.warning("%s changed after it was found to be a duplicate; it is taken again", label)
            return
        root = self.spool.root
        kept = copy_read(root, fd, info.size, info.sha256, self._archive_dir(loaded), path.name)
        self._say_grown(label, info, kept)

    def check_archive(self) -> None:
        """Archived files that inotify says were written to since (a writer still appending)."""
        changed, self.watcher.archive_events = self.watcher.archive_events, []
        for written in dict.fromkeys(changed):
            path = self.archived_from.get(written, written)
            archived = self.archived.get(path)
            if archived is None:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if _key(st) == archived.stat or st.st_ino != archived.stat[2]:
                continue
            del self.archived[path]
            self.archived_from.pop(archived.came_from, None)
            kept = self._keep_ingested_bytes(path, archived.info)
            back = place(path, archived.came_from.parent, archived.came_from.name)
            self.watcher.moved_in_by_us(back)
            if kept is not None:
                kept = place(kept, path.parent, path.name)
            self._say_grown(archived.label, archived.info, kept)

    def _keep_ingested_bytes(self, path: Path, info: FileInfo) -> Path | None:
        """A copy in .tmp/ of the first `info.size` bytes of `path` if they are the bytes that
        were ingested; None if they are not."""
        fd = open_regular(path)
        try:
            return copy_read(self.spool.root, fd, info.size, info.sha256, None, path.name)
        finally:
            os.close(fd)

    def _say_grown(self, label: str, info: FileInfo, kept: Path | None) -> None:
        if kept is None:
            log.error(
                "%s was rewritten after its %d bytes were ingested; those bytes are no longer "
                "anywhere in the spool (ledger sha256 %s); the new content is ingested as a new version",
                label,
                info.size,
                info.sha256,
            )
            return
        log.warning(
            "%s grew after its first %d bytes were ingested: those are archived as %s; the "
            "grown file waits in incoming/ and will be ingested again as a new version",
            label,
            info.size,
            printable_name(kept.relative_to(self.spool.root)),
        )

    # --- failed or deferred -------------------------------------------------------------

    def fail(self, path: Path, info: FileInfo, reason: str, fd: int, excerpt: str = "") -> None:
        """Move what was read to failed/ beside a note; the ledger and log get `reason` only,
        the note `excerpt` too (the file's first lines, for an operator)."""
        source = info.source if info.source in ("siemens", "alc") else "siemens"
        label = info.path or info.name  # already shown
        directory = self.spool.failed(source)
        target = self._move_read(fd, path, info, label, directory, room=len(NOTE_SUFFIX))
        if target is None:
            return
        name, starts = printable_name(target.name), f"{excerpt}\n\n" if excerpt else ""
        self.last_file = f"{printable_name(info.name)} failed {self._now()}"
        log.error("failed %s — moved to failed/%s/%s", reason, source, name)
        try:
            write_note(
                self.spool,
                target.with_name(target.name + NOTE_SUFFIX),
                f"{name} could not be ingested ({datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC).\n\n"
                f"Reason: {reason}\n\n{starts}"
                f"The file is kept here unchanged. Fix the cause (or the file), then run\n"
                f"    energy-ingest retry -- {shlex.quote(f'{source}/{name}')}\n"
                f"to move it back to incoming/{source}/.\n",
            )
        except OSError as exc:  # the file itself is safe in failed/; say why there is no note
            log.error("could not write the note for failed/%s/%s: %s", source, name, exc)
        if self.db.conn is not None:
            try:
                record_failure(self.db.conn, info, reason)
            except psycopg.Error as exc:
                log.warning(
                    "could not note the failure of %s in the ledger: %s", name, first_line(exc)
                )

    def defer(
        self, path: Path, candidate: Candidate | None, reason: str, *, quiet: bool = False
    ) -> None:
        """Keep the file in incoming/ and try it again later, backing off."""
        c = self.watcher.candidates.get(path) or candidate
        if c is None:
            log.error("%s; the file stays in incoming/", reason)
            return
        self.watcher.candidates[path] = c
        c.failures += 1
        delay = min(MAX_BACKOFF, 2.0**c.failures)
        c.retry_at = time.monotonic() + delay
        (log.debug if quiet else log.error)(
            "%s; the file stays in incoming/, retrying in %.0f s", reason, delay
        )


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)
