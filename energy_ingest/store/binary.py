"""PostgreSQL's binary COPY framing, and the Unix-microsecond instants the writers compute in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds: binary COPY's timestamp zero
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ARRAY_HEADER = 20  # a one-dimensional binary array's: dimensions, flags, type, length, lower bound


def framed(rows: bytes) -> bytes:
    """Encoded rows as one whole binary COPY stream."""
    return COPY_HEADER + rows + COPY_TRAILER


def unframed(data: bytes) -> bytes:
    """The rows of a whole binary COPY stream (no header extension, as the server sends it)."""
    return data[len(COPY_HEADER) : -len(COPY_TRAILER)]


def from_us(us: int) -> datetime:
    """A Unix-microsecond instant as an aware datetime: exact, unlike a float of seconds."""
    return UNIX_EPOCH + timedelta(microseconds=us)


def to_us(moment: datetime) -> int:
    """An aware datetime as Unix microseconds, exactly."""
    delta = moment - UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def elements(arrays: list[bytes | None], kind: str) -> np.ndarray:
    """The elements of one-dimensional binary arrays (array_send) of `kind` (a big-endian numpy
    type: ">i4", ">i8" for timestamptz, ">f8") without nulls, one after another; a NULL array
    (array_agg over no rows) holds none. A column read without a Python object per value (a
    binary COPY TO sends a message per row)."""
    data = b"".join(a[ARRAY_HEADER:] for a in arrays if a is not None)
    return np.frombuffer(data, dtype=[("length", ">i4"), ("value", kind)])["value"]
