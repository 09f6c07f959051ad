"""The loader's half of rollups: after a chunk is merged into readings, every UTC day (its hours,
packed into one readings_hours row: write.rollup_hours) and local day it touched is recomputed
from the whole bucket — what readings held there plus the chunk — and written in the same
transaction; once per file, every month holding such a day is recomputed from its days
(energy_rollups_months, Rollups.finish). Exact, never incremental: a bucket's row is always its
readings' aggregate, however often files overlap or change values.

The loader fetches what readings holds over `Rollups.span()` (whole buckets around the chunk)
before it writes, so the buckets' full content is in hand without reading them back.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import psycopg

from energy_ingest.rollups.calendar import local_edges, local_midnight
from energy_ingest.rollups.scale import SCALE, UNSCALE
from energy_ingest.store.binary import PG_EPOCH_US, framed, from_us, to_us
from energy_ingest.store.rollup_state import read_state
from energy_ingest.write import rollup_hours

HOUR_US = rollup_hours.HOUR_US
DAY_US = rollup_hours.DAY_US
INT4_OID = 23
COLUMNS = "point_id, bucket, n, sum, min, max, first_ts, first, last_ts, last, states"
STAGES = (
    "CREATE TEMP TABLE IF NOT EXISTS energy_rollup_stage"
    " (LIKE readings_daily) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS energy_hours_stage"
    " (LIKE readings_hours) ON COMMIT DELETE ROWS",
)


def _upsert(table: str, stage: str, columns: str, key: str) -> str:
    """Rows staged in `stage` into `table`, replacing those of the same key."""
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", ") if c not in key.split(", "))
    return (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}"
        f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    )


# per rollup table the loader writes: its columns, its staging table and its upsert from there
WRITES = {
    "readings_daily": (
        COLUMNS,
        "energy_rollup_stage",
        _upsert("readings_daily", "energy_rollup_stage", COLUMNS, "point_id, bucket"),
    ),
    rollup_hours.TABLE: (
        rollup_hours.COLUMNS,
        "energy_hours_stage",
        _upsert(rollup_hours.TABLE, "energy_hours_stage", rollup_hours.COLUMNS, "point_id, day"),
    ),
}
_FIXED = [
    ("nf", ">i2"),
    *[
        pair
        for name, kind in (
            ("pid", ">i4"),
            ("bucket", ">i8"),
            ("n", ">i4"),
            ("sum", ">f8"),
            ("min", ">f8"),
            ("max", ">f8"),
            ("fts", ">i8"),
            ("first", ">f8"),
            ("lts", ">i8"),
            ("last", ">f8"),
        )
        for pair in ((f"l_{name}", ">i4"), (name, kind))
    ],
    ("l_states", ">i4"),
]
_SIZES = {
    "pid": 4,
    "bucket": 8,
    "n": 4,
    "sum": 8,
    "min": 8,
    "max": 8,
    "fts": 8,
    "first": 8,
    "lts": 8,
    "last": 8,
}


Prepared = list[tuple[str, "_Rows | rollup_hours.Days"]]  # per rollup table, its rows


def maintained(conn: psycopg.Connection[Any]) -> None:
    """Say, for this transaction, that its writes to readings keep rollups exact (else the
    readings trigger marks them stale)."""
    conn.execute("SELECT set_config('energy.rollups', 'maintained', true)")


@dataclass
class Touched:
    """One chunk after its merge: what readings held over the span and what the chunk wrote."""

    stored_pid: np.ndarray  # readings over Rollups.span() before the chunk (Unix µs for ts)
    stored_ts: np.ndarray
    stored_v: np.ndarray
    pid: np.ndarray  # the chunk, de-duplicated
    ts: np.ndarray
    v: np.ndarray
    wrote: np.ndarray  # bool per chunk row: inserted or changed a stored value


class Rollups:
    """Per file: the day zone and staleness read once, then `prepare()` and `store()` per chunk.
    `fresh`: the rollup tables hold no row of the buckets stored (a rebuild emptied them for
    its points), so every row is copied straight in, stale or not."""

    def __init__(self, conn: psycopg.Connection[Any], *, fresh: bool = False) -> None:
        self.conn = conn
        state = read_state(conn)
        zone = "UTC" if state is None else state.day_zone
        stale = state is None or state.stale_since is not None
        self.zone = zoneinfo.ZoneInfo(zone)
        self.stale = stale  # some rollup rows may lack readings: always upsert
        # raw readings before it were dropped (retention): its buckets' rollups are final
        self.kept = None if state is None else state.whole_since()
        self.fresh = fresh
        self.days: list[np.ndarray] = []  # (point, local day) stored, whose months are due
        maintained(conn)
        for stage in STAGES:
            conn.execute(stage)

    def span(self, lo_us: int, hi_us: int) -> tuple[int, int]:
        """[start, end) in Unix µs of every UTC and local day holding an instant in [lo, hi]."""
        day_lo = local_midnight(from_us(lo_us).astimezone(self.zone).date(), self.zone)
        day_hi = local_midnight(
            from_us(hi_us).astimezone(self.zone).date() + timedelta(days=1), self.zone
        )
        utc_lo, utc_hi = lo_us // DAY_US * DAY_US, (hi_us // DAY_US + 1) * DAY_US
        return min(to_us(day_lo), utc_lo), max(to_us(day_hi), utc_hi)

    def prepare(
        self, t: Touched, enum_ids: set[int], since: tuple[int, int] | None = None
    ) -> Prepared:
        """Every UTC day (as its hours) and local day in which the chunk wrote a reading,
        recomputed (no database: the loader runs this while its COPY of the readings is in
        flight). `since`: a rebuild's first UTC and local midnight (Unix µs), before which
        it writes no day of either kind (it reads readings from the earlier of the two)."""
        if not t.wrote.any():
            return []
        pid, ts, v, before, written = _merged(t)
        hours_written = days_written = written
        if since is not None:
            hours_written, days_written = written & (ts >= since[0]), written & (ts >= since[1])
        first, last = int(ts.min()), int(ts.max())
        edges = np.array(
            [to_us(e) for e in local_edges(from_us(first), from_us(last + 1), "1d", self.zone)],
            dtype=np.int64,
        )

        def day(x: np.ndarray) -> np.ndarray:
            return np.asarray(edges[np.searchsorted(edges, x, side="right") - 1])

        out: Prepared = []
        utc_days = _Groups(pid, ts // DAY_US, hours_written)
        if utc_days.size:  # every hour of those days: their rows are rewritten whole
            hours = _Groups(pid, _hour(ts), utc_days.spread())
            rows = hours.rows(ts, v, before, enum_ids)
            fields = {name: rows.fixed[name] for name, _, _ in rollup_hours.ARRAYS}
            days = rollup_hours.pack(
                hours.pid, hours.bucket, fields, rows.counts, rows.enum, rows.existed
            )
            out.append((rollup_hours.TABLE, days))
        groups = _Groups(pid, day(ts), days_written)
        if groups.size:
            out.append(("readings_daily", groups.rows(ts, v, before, enum_ids)))
        return out

    def store(self, prepared: Prepared) -> None:
        """The rows of `prepared`; the months of its days wait for finish()."""
        for table, rows in prepared:
            self._store(table, rows)
            if isinstance(rows, _Rows):  # readings_daily
                days = np.empty(rows.size, dtype=[("p", "i4"), ("d", "i8")])
                days["p"], days["d"] = rows.fixed["pid"], rows.fixed["bucket"]
                self.days.append(days)

    def finish(self) -> None:
        """Every month holding a day stored since the last call, from its days: once per file,
        not per chunk (a month's days are read again for each chunk that wrote one of them)."""
        if not self.days:
            return
        days = np.unique(np.concatenate(self.days))
        self.days = []
        self.conn.execute(
            "SELECT energy_rollups_months(%s::int[],"
            " ARRAY(SELECT to_timestamp(d::float8 / 1e6) FROM unnest(%s::bigint[]) AS d))",
            (days["p"].tolist(), (days["d"] + PG_EPOCH_US).tolist()),
        )

    def _store(self, table: str, rows: _Rows | rollup_hours.Days) -> None:
        """New buckets are copied straight in; buckets that had readings are upserted."""
        columns, stage, upsert = WRITES[table]
        if self.fresh:
            fresh = np.ones(rows.size, dtype=bool)
        else:
            fresh = np.zeros(rows.size, dtype=bool) if self.stale else ~rows.existed
        if fresh.any():
            self._copy(table, columns, rows.encode(fresh))
        if (~fresh).any():
            self._copy(stage, columns, rows.encode(~fresh))
            self.conn.execute(upsert.encode())
            self.conn.execute(f"TRUNCATE {stage}".encode())

    def _copy(self, table: str, columns: str, body: bytes) -> None:
        query = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)"
        with self.conn.cursor().copy(query) as copy:
            copy.write(framed(body))


class _Groups:
    """The (point, bucket) runs of sorted readings that hold a reading the chunk wrote."""

    def __init__(self, pid: np.ndarray, bucket: np.ndarray, written: np.ndarray) -> None:
        change = np.ones(len(pid), dtype=bool)
        change[1:] = (pid[1:] != pid[:-1]) | (bucket[1:] != bucket[:-1])
        self.count = len(pid)
        self.runs = np.flatnonzero(change)  # every run's start: reduceat's segments
        ends = np.append(self.runs[1:], len(pid))
        self.pick = np.logical_or.reduceat(written, self.runs)
        self.starts, self.ends = self.runs[self.pick], ends[self.pick]
        self.pid, self.bucket = pid[self.starts], bucket[self.starts]
        self.size = len(self.starts)

    def spread(self) -> np.ndarray:
        """Per reading: whether its run is picked."""
        lengths = np.diff(np.append(self.runs, self.count))
        return np.repeat(self.pick, lengths)

    def reduce(self, ufunc: Any, values: np.ndarray) -> np.ndarray:
        """`ufunc` over each picked run (reduced over every run, then picked: no sort)."""
        return np.asarray(ufunc.reduceat(values, self.runs)[self.pick])

    def rows(self, ts: np.ndarray, v: np.ndarray, before: np.ndarray, enum_ids: set[int]) -> _Rows:
        last = self.ends - 1
        enum = np.isin(self.pid, np.array(sorted(enum_ids), dtype=np.int32))
        fixed = np.zeros(self.size, dtype=_FIXED)
        fixed["nf"] = 11
        for name, size in _SIZES.items():
            fixed[f"l_{name}"] = size
        fixed["pid"], fixed["bucket"] = self.pid, self.bucket - PG_EPOCH_US
        fixed["n"] = self.ends - self.starts
        fixed["sum"] = plain(self.reduce(np.add, v * SCALE))  # added scaled (rollups.scale)
        fixed["min"], fixed["max"] = self.reduce(np.minimum, v), self.reduce(np.maximum, v)
        fixed["fts"], fixed["first"] = ts[self.starts] - PG_EPOCH_US, v[self.starts]
        fixed["lts"], fixed["last"] = ts[last] - PG_EPOCH_US, v[last]
        fixed["l_states"] = -1
        existed = self.reduce(np.logical_or, before).astype(bool)
        counts = np.zeros((self.size, 0), dtype=np.int32)
        if enum.any():
            counts = self._state_counts(v, enum)
        return _Rows(fixed, enum, counts, existed)

    def _state_counts(self, v: np.ndarray, enum: np.ndarray) -> np.ndarray:
        """counts[g, k]: readings of state k in enumeration group g (rows of other groups: 0)."""
        lengths = self.ends - self.starts
        group = np.repeat(np.arange(self.size), lengths)
        # every picked run's rows, in order: its start plus 0, 1, … up to its length
        rows = np.repeat(self.starts - (np.cumsum(lengths) - lengths), lengths)
        rows += np.arange(len(rows))
        mask = enum[group]
        states = v[rows[mask]].astype(np.int64)
        width = int(states.max()) + 1 if len(states) else 0
        flat = np.bincount(group[mask] * width + states, minlength=self.size * width)
        return flat.reshape(self.size, width).astype(np.int32)


@dataclass
class _Rows:
    fixed: np.ndarray
    enum: np.ndarray
    counts: np.ndarray  # [group, state]
    existed: np.ndarray  # the bucket had readings before the chunk (so it has a row)

    @property
    def size(self) -> int:
        return len(self.fixed)

    def encode(self, mask: np.ndarray) -> bytes:
        """Binary COPY tuples of the masked rows: numbers with NULL states, then enumerations
        grouped by how many states their array holds (a fixed layout per length)."""
        parts = [self.fixed[mask & ~self.enum].tobytes()]
        enum = mask & self.enum
        if enum.any():
            nonzero = self.counts[enum] > 0
            width = self.counts.shape[1]
            lengths = width - np.argmax(nonzero[:, ::-1], axis=1)
            fixed, counts = self.fixed[enum], self.counts[enum]
            for length in np.unique(lengths):
                sel = lengths == length
                parts.append(_with_states(fixed[sel], counts[sel, :length]))
        return b"".join(parts)


def _with_states(fixed: np.ndarray, counts: np.ndarray) -> bytes:
    length = counts.shape[1]
    layout = np.dtype(
        [
            ("fixed", _FIXED),
            ("ndim", ">i4"),
            ("flags", ">i4"),
            ("oid", ">i4"),
            ("dim", ">i4"),
            ("lbound", ">i4"),
            ("cells", [("len", ">i4"), ("val", ">i4")], (length,)),
        ]
    )
    rows = np.zeros(len(fixed), dtype=layout)
    rows["fixed"] = fixed
    rows["fixed"]["l_states"] = 20 + 8 * length
    rows["ndim"], rows["flags"], rows["oid"], rows["dim"], rows["lbound"] = (
        1,
        0,
        INT4_OID,
        length,
        1,
    )
    rows["cells"]["len"] = 4
    rows["cells"]["val"] = counts
    return rows.tobytes()


def _merged(t: Touched) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Readings over the span after the chunk, sorted by (point, ts); `before`: stored before it;
    `written`: the chunk wrote it (inserted or changed)."""
    if not len(t.stored_pid) and _ordered(t.pid, t.ts):  # a backfill: nothing stored around it
        return t.pid, t.ts, t.v, np.zeros(len(t.pid), dtype=bool), t.wrote
    pid = np.concatenate([t.stored_pid, t.pid]).astype(np.int32, copy=False)
    ts = np.concatenate([t.stored_ts, t.ts]).astype(np.int64, copy=False)
    v = np.concatenate([t.stored_v, t.v]).astype(np.float64, copy=False)
    mine = np.concatenate([np.zeros(len(t.stored_pid), bool), np.ones(len(t.pid), bool)])
    wrote = np.concatenate([np.zeros(len(t.stored_pid), bool), t.wrote])
    order = np.lexsort((mine, ts, pid))
    pid, ts, v, mine, wrote = pid[order], ts[order], v[order], mine[order], wrote[order]
    keep = np.ones(len(pid), dtype=bool)  # a stored reading the chunk rewrote: the chunk's wins
    keep[:-1] = ~((pid[:-1] == pid[1:]) & (ts[:-1] == ts[1:]))
    rewrote = np.zeros(len(pid), dtype=bool)  # the chunk's twin of a dropped stored reading
    rewrote[1:] = ~keep[:-1]
    return pid[keep], ts[keep], v[keep], (~mine | rewrote)[keep], wrote[keep]


def _ordered(pid: np.ndarray, ts: np.ndarray) -> bool:
    """Whether (pid, ts) is strictly increasing (a chunk de-duplicated, as parsed)."""
    return bool(np.all((pid[1:] > pid[:-1]) | ((pid[1:] == pid[:-1]) & (ts[1:] > ts[:-1]))))


def _hour(ts: np.ndarray) -> np.ndarray:
    return np.asarray(ts // HOUR_US * HOUR_US)


def plain(scaled: np.ndarray) -> np.ndarray:
    """Scaled sums as the rollups store them: times 2^64, ±Infinity beyond the float8 range."""
    with np.errstate(over="ignore"):
        return np.asarray(scaled * UNSCALE)
