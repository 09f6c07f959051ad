"""The file the daemon is loading now: a start line for a big one, a line every few seconds, and
its state in a small file under .tmp/ that `energy-ingest status` (another process) reads.

Driven from where the loader takes each chunk (no thread): a chunk is a few thousand report
rows, well under a second of work, so a line is at most that late. The state file is
`.tmp/progress-<pid>.json`, replaced atomically and removed when the file is done; `status`
ignores one whose process is gone (killed: it had no chance to remove it), and the next daemon
to start removes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from energy_ingest.spool import Spool

log = logging.getLogger("energy_ingest.daemon")  # one name for all the daemon says

BIG_FILE_BYTES = 16 * 1024 * 1024  # a file this big says when it starts (~2 s of loading and up)
STATE_SECONDS = 1.0  # how fresh `status` and STATUS= are; log lines come every `interval`
STATE_PREFIX = "progress-"


@dataclass
class State:
    """What `status` shows about a file in progress (also its JSON, under `loading`)."""

    path: str  # as the daemon's log names it, e.g. siemens/2024/big.csv
    pid: int
    size: int
    bytes_read: int
    percent: int
    values: int  # parsed so far (stored: all but the last chunk or so)
    started_at: str  # ISO 8601, UTC
    seconds: float


class Progress:
    def __init__(self, spool: Spool, interval: float, published: Callable[[], None]) -> None:
        self.spool = spool
        self.interval = interval
        self.published = published  # the daemon: tell systemd (STATUS=)
        self.state_path = spool.tmp / f"{STATE_PREFIX}{os.getpid()}.json"
        self.state: State | None = None  # the file in progress, once it was announced
        self._label = ""
        self._size = 0
        self._fd = -1
        self._started = 0.0
        self._started_at = ""
        self._next = 0.0
        self._next_state = 0.0

    def begin(self, label: str, size: int, fd: int) -> None:
        """A file's transaction starts; `fd` is what the parser reads (its offset: how far)."""
        self._label, self._size, self._fd = label, size, fd
        self._started = time.monotonic()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._next = self._started + self.interval
        self._next_state = self._started + min(STATE_SECONDS, self.interval)
        self.state = None
        if size >= BIG_FILE_BYTES:
            log.info("loading %s (%s); progress every %g s", label, _mb(size), self.interval)
            self._publish(0)

    def tick(self, values: Callable[[], int]) -> None:
        """Between chunks: publish the state every second or so, log every `interval` (`values`:
        parsed so far)."""
        now = time.monotonic()
        if now < self._next_state or not self._label:
            return
        self._next_state = now + min(STATE_SECONDS, self.interval)
        state = self._publish(values())
        if now < self._next:
            return
        self._next = now + self.interval
        log.info(
            "loading %s: %s values so far, %d%% of %s read, %.0f s",
            self._label,
            f"{state.values:,}",
            state.percent,
            _mb(self._size),
            state.seconds,
        )

    def end(self) -> None:
        if self.state is not None:
            with contextlib.suppress(FileNotFoundError):
                self.state_path.unlink()
        self.state = None
        self._label = ""

    def text(self) -> str | None:
        """For systemd's STATUS=: `loading siemens/big.csv 42% (1,234,567 values)`."""
        s = self.state
        return f"loading {s.path} {s.percent}% ({s.values:,} values)" if s else None

    def _publish(self, values: int) -> State:
        try:
            read = os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError:
            read = 0
        read = min(read, self._size)
        self.state = State(
            path=self._label,
            pid=os.getpid(),
            size=self._size,
            bytes_read=read,
            percent=int(100 * read / self._size) if self._size else 100,
            values=values,
            started_at=self._started_at,
            seconds=round(time.monotonic() - self._started, 1),
        )
        try:
            _write_atomically(self.spool, self.state_path, json.dumps(asdict(self.state)))
        except OSError as exc:  # status cannot show it; the load goes on
            log.debug("could not write %s: %s", self.state_path, exc)
        self.published()
        return self.state


def _write_atomically(spool: Spool, path: Path, text: str) -> None:
    tmp = spool.tmp / f"{STATE_PREFIX}{uuid.uuid4().hex}.part"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def in_progress(spool: Spool) -> list[dict[str, Any]]:
    """The files daemons on this host are loading now (their state files whose process lives)."""
    out = []
    for path, pid in _state_files(spool):
        if not alive(pid):
            continue
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # removed meanwhile, or not ours
            continue
        if isinstance(state, dict) and state.get("pid") == pid:
            out.append(state)
    return sorted(out, key=lambda s: str(s.get("started_at")))


def remove_stale_states(spool: Spool) -> None:
    """State files left by daemons that were killed (their process is gone)."""
    for path, pid in _state_files(spool):
        if not alive(pid):
            with contextlib.suppress(OSError):
                path.unlink()


def _state_files(spool: Spool) -> list[tuple[Path, int]]:
    try:
        paths = list(spool.tmp.glob(f"{STATE_PREFIX}*.json"))
    except OSError:
        return []
    out = []
    for path in paths:
        pid = path.name[len(STATE_PREFIX) : -len(".json")]
        if pid.isdigit():
            out.append((path, int(pid)))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process (status run as someone else): alive
        return True
    return True


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
