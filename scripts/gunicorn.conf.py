"""gunicorn hooks for `make run` (scripts/run passes the rest on its command line): say when the
listener is bound, and let Ctrl-C stop workers at once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def when_ready(server: Any) -> None:
    # Called in the master once the listening socket is bound: scripts/run waits for this file, so
    # a reply on the port is known to come from this gunicorn, not from whatever else holds it.
    ready = os.environ.get("ENERGY_DEV_READY_FILE")
    if ready:
        Path(ready).touch()


def worker_int(worker: Any) -> None:
    # Ctrl-C signals the whole process group, so every worker gets SIGINT. gunicorn would then
    # sys.exit(), which waits for the worker's request threads: one blocked on a stalled upload
    # keeps the worker alive until the master SIGKILLs it after the graceful timeout ("Perhaps out
    # of memory?"). An interrupted development server drops its in-flight requests instead: the
    # client sees a closed connection (the uploader retries), and the half-received upload's temp
    # file is removed when the upload endpoint starts again.
    os._exit(0)
