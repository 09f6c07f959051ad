"""Hourly rollups packed as readings_hours stores them: a row per point and UTC day, its 24 hours
as arrays (migration 0015). The loader computes hourly rows (rollup_buckets._Rows) for every hour
of each UTC day it wrote into, and this packs them into day rows and their binary COPY tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energy_ingest.store.binary import PG_EPOCH_US

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
HOURS = 24
INT4_OID, FLOAT8_OID = 23, 701
TABLE = "readings_hours"
COLUMNS = "point_id, day, n, sum, min, max, first, last, states"
# the hourly rows' fields, in the order of the array columns after point_id and day
ARRAYS = (("n", ">i4", INT4_OID), *((f, ">f8", FLOAT8_OID) for f in ("sum", "min", "max")))
ARRAYS += (("first", ">f8", FLOAT8_OID), ("last", ">f8", FLOAT8_OID))


def _array(kind: str, cells: int) -> list[tuple[str, str] | tuple[str, object, tuple[int]]]:
    """A one-dimensional array of `cells` non-null `kind` in COPY binary: length, header, cells."""
    return [
        ("len", ">i4"),
        ("ndim", ">i4"),
        ("flags", ">i4"),
        ("oid", ">i4"),
        ("dim", ">i4"),
        ("lbound", ">i4"),
        ("cells", [("len", ">i4"), ("val", kind)], (cells,)),
    ]


_FIXED = np.dtype(
    [
        ("nf", ">i2"),
        ("l_pid", ">i4"),
        ("pid", ">i4"),
        ("l_day", ">i4"),
        ("day", ">i8"),
        *[(name, _array(kind, HOURS)) for name, kind, _ in ARRAYS],
    ]
)


@dataclass
class Days:
    """Day rows of readings_hours: what `_Rows` of hourly buckets packs into."""

    pid: np.ndarray
    day: np.ndarray  # Unix µs of the UTC midnight
    cells: dict[str, np.ndarray]  # field -> [row, hour]
    states: np.ndarray  # [row, hour, state] counts (width 0 when no enum point is among them)
    enum: np.ndarray  # bool per row
    existed: np.ndarray  # the day had readings before the chunk (so it has a row)

    @property
    def size(self) -> int:
        return len(self.pid)

    def encode(self, mask: np.ndarray) -> bytes:
        """Binary COPY tuples of the masked rows: numbers with NULL states, then enumerations
        grouped by their width (a fixed layout per width)."""
        numbers = mask & ~self.enum
        plain = np.zeros(int(numbers.sum()), dtype=[("fixed", _FIXED), ("l_states", ">i4")])
        plain["fixed"], plain["l_states"] = self._fixed(numbers), -1  # states NULL
        parts = [plain.tobytes()]
        enum = mask & self.enum
        if enum.any():
            nonzero = self.states[enum].any(axis=1)  # [row, state]: seen in some hour
            widths = self.states.shape[2] - np.argmax(nonzero[:, ::-1], axis=1)
            rows = np.flatnonzero(enum)
            for width in np.unique(widths):
                pick = np.zeros(len(mask), dtype=bool)
                pick[rows[widths == width]] = True
                parts.append(self._with_states(pick, int(width)))
        return b"".join(parts)

    def _fixed(self, mask: np.ndarray) -> np.ndarray:
        out = np.zeros(int(mask.sum()), dtype=_FIXED)
        out["nf"], out["l_pid"], out["l_day"] = 9, 4, 8
        out["pid"], out["day"] = self.pid[mask], self.day[mask] - PG_EPOCH_US
        for name, kind, oid in ARRAYS:
            size = np.dtype(kind).itemsize
            col = out[name]
            col["len"] = 20 + HOURS * (4 + size)
            col["ndim"], col["flags"], col["oid"], col["dim"], col["lbound"] = 1, 0, oid, HOURS, 1
            col["cells"]["len"] = size
            col["cells"]["val"] = self.cells[name][mask]
        return out

    def _with_states(self, mask: np.ndarray, width: int) -> bytes:
        cells = HOURS * width
        layout = np.dtype([("fixed", _FIXED), ("states", _array(">i4", cells))])
        rows = np.zeros(int(mask.sum()), dtype=layout)
        rows["fixed"] = self._fixed(mask)
        states = rows["states"]
        states["len"] = 20 + cells * 8
        states["ndim"], states["flags"], states["oid"] = 1, 0, INT4_OID
        states["dim"], states["lbound"] = cells, 1
        states["cells"]["len"] = 4
        states["cells"]["val"] = self.states[mask][:, :, :width].reshape(len(rows), cells)
        return rows.tobytes()


def pack(
    pid: np.ndarray,
    bucket: np.ndarray,
    fields: dict[str, np.ndarray],
    counts: np.ndarray,
    enum: np.ndarray,
    existed: np.ndarray,
) -> Days:
    """Hourly rows sorted by (point, hour) — every hour with readings of each day they cover —
    packed into day rows: an hour without readings has n 0 and 0 in every other cell."""
    day = bucket // DAY_US * DAY_US
    start = np.ones(len(pid), dtype=bool)
    start[1:] = (pid[1:] != pid[:-1]) | (day[1:] != day[:-1])
    row = np.cumsum(start) - 1
    size = int(row[-1]) + 1 if len(row) else 0
    slot = (bucket - day) // HOUR_US
    cells = {}
    for name, kind, _ in ARRAYS:
        grid = np.zeros((size, HOURS), dtype=kind)
        grid[row, slot] = fields[name]
        cells[name] = grid
    states = np.zeros((size, HOURS, counts.shape[1]), dtype=np.int32)
    states[row, slot] = counts
    rows_enum = np.zeros(size, dtype=bool)
    rows_enum[row] = enum
    was = np.zeros(size, dtype=bool)
    np.logical_or.at(was, row, existed)
    return Days(pid[start], day[start], cells, states, rows_enum, was)
