"""Streamed answers' share of an API worker: at most ENERGY_API_STREAMS at once, the rest 503."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack

from flask import Response, current_app, stream_with_context

from energy_api.errors import ApiError

RETRY_AFTER = 5  # seconds: a stream a client gave up on frees its slot within them


class Streams:
    """A worker's stream slots. A stream holds a thread and a pooled connection for as long as
    its client takes to read it, hours for a slow reader of a year of points; fewer slots than
    threads leave a thread for every other request, however many streams are asked for."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def take(self, stack: ExitStack) -> None:
        """A slot, given back when `stack` closes; 503 `too_many_streams` when none is free."""
        if not self._free.acquire(blocking=False):
            raise ApiError(
                503,
                "too_many_streams",
                f"this API worker is already streaming {self.slots} answers (legacy /values,"
                " rule matches, CSV exports), its limit (ENERGY_API_STREAMS); try again in"
                f" {RETRY_AFTER} s, or ask for fewer points or a shorter range",
                retry_after=RETRY_AFTER,
            )
        stack.callback(self._free.release)


def take_slot(stack: ExitStack) -> None:
    streams: Streams = current_app.extensions["energy_streams"]
    streams.take(stack)


def streamed(owned: ExitStack, chunks: Iterator[bytes], mimetype: str) -> Response:
    """A streamed answer; `owned` (its slot, connection and cursor) is closed after the last
    byte, or when the client goes away before it."""

    def body() -> Iterator[bytes]:
        try:
            yield from chunks
        finally:  # also when a client (a test client) reads to the end but never closes
            owned.close()

    response = Response(stream_with_context(body()), mimetype=mimetype)
    # nginx buffers whole answers so that slow readers hold no thread; this one it hands on as
    # it comes (its slot bounds how many a worker streams at once).
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(owned.close)
    return response
