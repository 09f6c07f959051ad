"""The loader: one report into PostgreSQL in one transaction — ledger row, points, readings.

Readings travel as binary COPY into a temporary staging table, one chunk at a time, and are
upserted from there into `readings`, counting what was new, what changed and what was already
stored. The ledger row (`files`, sha256 unique) commits with the readings or not at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from psycopg.copy import QueuedLibpqWriter

from energy_ingest.errors import Cancelled, ParseError, SourceChanged
from energy_ingest.formats.report import Report
from energy_ingest.localtime import local
from energy_ingest.store import partitions
from energy_ingest.store.binary import PG_EPOCH_US, elements, framed, from_us, to_us
from energy_ingest.store.lock import lock_writers
from energy_ingest.write.applied_site import AppliedSite
from energy_ingest.write.ledger import (
    MAX_STORED_WARNINGS,
    FileInfo,
    claim_ledger_row,
    complete_ledger_row,
    first_warnings,
    link_series,
    over_cap_warning,
)
from energy_ingest.write.points import FilePoints
from energy_ingest.write.rollup_buckets import Prepared, Rollups, Touched

log = logging.getLogger("energy_ingest.load")

ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l1", ">i4"),
        ("pid", ">i4"),
        ("l2", ">i4"),
        ("ts", ">i8"),
        ("l3", ">i4"),
        ("v", ">f8"),
    ]
)

STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS energy_stage"
    " (point_id integer, ts timestamptz, value double precision) ON COMMIT DELETE ROWS"
)
# as three binary arrays: a COPY TO sends a message per row, each read in Python
EXISTING = (
    "SELECT array_send(array_agg(point_id)), array_send(array_agg(ts)),"
    " array_send(array_agg(value)) FROM readings"
    " WHERE point_id = ANY(%s::int[]) AND ts >= %s AND ts < %s"
)
UPDATE = """
UPDATE readings r SET value = s.value FROM energy_stage s
WHERE r.point_id = s.point_id AND r.ts = s.ts
"""


@dataclass
class LoadResult:
    status: str  # "ingested" or "duplicate"
    file_id: int
    readings: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    points: int = 0
    skipped: int = 0  # values that did not fit their point's kind (counted, warned)
    repeated: int = 0  # the same (point, ts) again within the file: the later one was kept
    over_cap: int = 0  # enum values not stored: their point already has MAX_STATES labels
    changed_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    first_ts: datetime | None = None  # of the data (for a duplicate: as the ledger remembers it)

    @property
    def changed_values(self) -> int:
        """Stored readings this file changed (the later file wins)."""
        return self.updated

    def summary(self, label: str, report_format: str, span: str) -> str:
        """`ingested siemens/x.csv: 2,880 readings (2,870 new, 10 changed), 30 points, <span>, 0.14 s`."""
        parts = [f"{self.inserted:,} new"]
        if self.updated:
            parts.append(f"{self.updated:,} changed")
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        text = f"ingested {label}: {self.readings:,} readings ({', '.join(parts)}), {self.points:,} points"
        if span:
            text += f", {span}"
        return text + f", {self.seconds:.2f} s"

    def notes(self) -> list[tuple[int, str]]:
        """What else the load found worth saying: (logging level, text)."""
        out = []
        if self.updated:
            examples = ", ".join(self.changed_examples)
            out.append(
                (
                    logging.WARNING,
                    f"{self.updated} stored values changed (the later file wins), e.g. {examples}",
                )
            )
        if self.skipped:
            out.append(
                (
                    logging.WARNING,
                    f"{self.skipped} values did not fit their point's kind and were skipped",
                )
            )
        if self.over_cap:
            out.append((logging.WARNING, over_cap_warning(self.over_cap)))
        return out


def load_report(
    conn: psycopg.Connection[Any],
    report: Report,
    info: FileInfo,
    *,
    zone: str = "UTC",
    site: AppliedSite | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    still_same: Callable[[], bool] = lambda: True,
) -> LoadResult:
    """Load `report` in one transaction; a byte-identical file already ingested is a `duplicate`.
    New points are resolved with the applied site (`site`: the process's copy of it); the
    changed values it describes are named in `zone`'s local time (ENERGY_TIMEZONE)."""
    started = time.monotonic()
    with conn.transaction():
        # One writer at a time: an export import may re-index states, and rollups are recomputed
        # from what readings holds, which another loader's uncommitted readings would escape.
        lock_writers(conn)
        file_id, seen, first_ts = claim_ledger_row(conn, info)
        if seen:
            return LoadResult(status="duplicate", file_id=file_id, first_ts=first_ts)
        loader = _Loader(conn, report, site or AppliedSite(), zone)
        # Parse and encode the next chunk while the database stores the previous one.
        with ThreadPoolExecutor(1, thread_name_prefix="energy-load") as writer:
            in_flight: Future[None] | None = None
            for chunk in report.chunks():
                if should_stop():
                    raise Cancelled(f"stopped while loading {info.name}; it stays where it is")
                if in_flight is not None:
                    in_flight.result()  # before prepare(): it may write points, outside store's savepoint
                batch = loader.prepare(chunk)
                in_flight = writer.submit(loader.store, batch) if batch is not None else None
            if in_flight is not None:
                in_flight.result()
        loader.finish()
        if not still_same():
            raise SourceChanged(f"{info.name} changed while it was being loaded")
        result = loader.result(file_id)
        result.seconds = time.monotonic() - started
        result.first_ts = _ts(report.first_ts)
        _complete_trend_row(conn, file_id, report, result)
        link_series(conn, file_id, [p.id for p in loader.points.values()])
    return result


class _Loader:
    def __init__(
        self, conn: psycopg.Connection[Any], report: Report, held: AppliedSite, zone: str
    ) -> None:
        self.conn = conn
        self.zone = zone
        self.report = report
        self.points = FilePoints(conn, report, held)
        self.inserted = self.updated = self.readings = self.skipped = self.duplicates = 0
        self.examples: list[str] = []
        self.years: set[int] = set()  # whose partitions exist (made by this load if need be)
        conn.execute(STAGE)
        self.rollups = Rollups(conn)

    def prepare(self, chunk: pd.DataFrame) -> _Batch | None:
        """Points registered, values encoded and de-duplicated (the later row wins)."""
        if chunk.empty:
            return None
        self.points.ensure(chunk)
        pids, values, keep = self._encode(chunk)
        ts = chunk["ts"].to_numpy(dtype="datetime64[us]").view("int64")[keep]
        repeat = chunk["repeat"].to_numpy(dtype=bool)[keep]
        if not len(pids):
            return None
        self._within_retention(int(ts.min()))
        later = _later_duplicates(pids, ts)
        if later is not None:
            self.duplicates += int(later.sum())
            pids, ts, values, repeat = pids[~later], ts[~later], values[~later], repeat[~later]
        return _Batch(pids, ts, values, repeat)

    def _within_retention(self, first_us: int) -> None:
        """A reading before the raw horizon would have its hour, day and month recomputed from
        the readings left of them, which are none: the file is refused, whole."""
        kept = self.rollups.kept
        if kept is None or first_us >= to_us(kept):
            return
        horizon = local(kept, self.zone)
        raise ParseError(
            f"it holds readings from {local(from_us(first_us), self.zone)}, before {horizon}:"
            " raw readings before then are no longer kept (ENERGY_RAW_RETENTION), and their"
            " rollups are final",
            hint=f"load only its readings from {horizon} on (cut the earlier rows), or none",
        )

    def store(self, batch: _Batch) -> None:
        """New values are copied straight into readings; changed ones updated; the rest counted."""
        years = set(range(_year(batch.ts.min()), _year(batch.ts.max()) + 1))
        if not years <= self.years:  # a backfill from 1998, a file dated next year
            partitions.cover(self.conn, years)
            self.years |= years
        for attempt in range(3):
            try:
                with self.conn.transaction():
                    self._merge(batch)
                return
            except pg_errors.UniqueViolation:
                if attempt == 2:
                    raise  # another loader keeps writing the same readings: retry the file later

    def _merge(self, batch: _Batch) -> None:
        """One batch; the counts are taken only once every statement of it succeeded."""
        around = self._stored(batch)  # whole hours and local days around the batch
        inside = (around["ts"] >= batch.ts.min()) & (around["ts"] <= batch.ts.max())
        stored = around[inside]
        if not len(stored):
            wrote = np.ones(len(batch.pids), dtype=bool)
            rolled = self._copy("readings", batch, lambda: self._roll(around, batch, wrote))
            self.rollups.store(rolled or [])
            self.inserted += len(batch.pids)
            self.readings += len(batch.pids)
            return
        keys = pd.MultiIndex.from_arrays([batch.pids, batch.ts])
        where = pd.MultiIndex.from_arrays([stored["pid"], stored["ts"]]).get_indexer(keys)
        new = where < 0
        old = stored["v"][where[~new]]
        changed = np.zeros(len(batch.pids), dtype=bool)
        changed[~new] = old != batch.values[~new]
        # Stored by an earlier chunk of this very file: an in-file duplicate (the later value
        # still wins), not a stored value that this file changed.
        again = batch.repeat & ~new
        wrote = new | changed
        rolled = None
        if new.any():
            rolled = self._copy(
                "readings", batch.subset(new), lambda: self._roll(around, batch, wrote)
            )
        if changed.any():
            self._copy("energy_stage", batch.subset(changed))
            self.conn.execute(UPDATE)
            self.conn.execute("TRUNCATE energy_stage")
        self.rollups.store(rolled if rolled is not None else self._roll(around, batch, wrote))
        self.inserted += int(new.sum())
        self.readings += len(batch.pids) - int(again.sum())
        self.duplicates += int(again.sum())
        changed &= ~again
        self.updated += int(changed.sum())
        if changed.any() and len(self.examples) < 3:
            before = np.full(len(batch.pids), np.nan)
            before[~new] = old
            self.examples += self._describe(batch, before, changed)[: 3 - len(self.examples)]

    def _roll(self, around: np.ndarray, batch: _Batch, wrote: np.ndarray) -> Prepared:
        """The hours and local days the batch wrote into, recomputed (stored by the caller)."""
        touched = Touched(
            around["pid"], around["ts"], around["v"], batch.pids, batch.ts, batch.values, wrote
        )
        return self.rollups.prepare(
            touched, {p.id for p in self.points.values() if p.kind == "enum"}
        )

    def _stored(self, batch: _Batch) -> np.ndarray:
        """What readings holds for these points over every hour and local day of the batch."""
        lo, hi = self.rollups.span(int(batch.ts.min()), int(batch.ts.max()))
        pids = np.unique(batch.pids).tolist()
        row = self.conn.execute(EXISTING, (pids, from_us(lo), from_us(hi)), binary=True).fetchone()
        assert row is not None  # an aggregate's one row: NULL arrays when nothing is stored
        pid = elements([row[0]], ">i4")
        out = np.empty(len(pid), dtype=[("pid", "i4"), ("ts", "i8"), ("v", "f8")])
        out["pid"] = pid
        out["ts"] = elements([row[1]], ">i8").astype(np.int64) + PG_EPOCH_US
        out["v"] = elements([row[2]], ">f8")
        return out

    def finish(self) -> None:
        self.rollups.finish()
        # Points the report names but that had no values at all (e.g. `Error:` definitions).
        missing = [n for n in self.report.points if n not in self.points]
        if missing:
            self.points.upsert(missing, kinds={n: "number" for n in missing})

    def result(self, file_id: int) -> LoadResult:
        return LoadResult(
            status="ingested",
            file_id=file_id,
            readings=self.readings,
            inserted=self.inserted,
            updated=self.updated,
            unchanged=self.readings - self.inserted - self.updated,
            points=len(self.points),
            skipped=self.skipped,
            repeated=self.duplicates,
            over_cap=self.points.over_cap,
            changed_examples=self.examples,
        )

    # --- values -------------------------------------------------------------------------

    def _encode(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point ids and float values for the rows that fit their point's kind, and the mask."""
        codes, uniques = pd.factorize(chunk["point"], sort=False)
        points = [self.points[str(n)] for n in uniques]
        pid_of = np.array([p.id for p in points], dtype=np.int32)
        enum_of = np.array([p.kind == "enum" for p in points], dtype=bool)
        is_enum = enum_of[codes]
        values = chunk["value"].to_numpy(dtype="float64", copy=True)
        states = chunk["state"]
        has_state = states.notna().to_numpy()
        over_cap = self.points.over_cap
        if has_state.any():
            values[has_state] = self.points.state_indexes(
                chunk["point"][has_state], states[has_state]
            )
        for k, p in enumerate(points):
            if p.numbers and p.kind == "enum":  # `1` written for the text table's `1 - ON`
                rows = (codes == k) & ~has_state & ~np.isnan(values)
                if rows.any():
                    values[rows] = pd.Series(values[rows]).map(p.numbers).to_numpy(dtype="float64")
                    has_state = has_state | rows
        keep = np.where(is_enum, has_state & ~np.isnan(values), ~has_state & ~np.isnan(values))
        self.skipped += int(len(keep) - keep.sum()) - (self.points.over_cap - over_cap)
        return pid_of[codes][keep], values[keep], keep

    def _copy(
        self, table: str, batch: _Batch, meanwhile: Callable[[], Prepared] | None = None
    ) -> Prepared | None:
        """Binary COPY of the batch; `meanwhile` runs while the server stores it (its result is
        returned): the rows are queued to a writer thread, so the CPU work overlaps the server's."""
        rows = np.empty(len(batch.pids), dtype=ROW)
        rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 4, 8, 8
        rows["pid"] = batch.pids
        rows["ts"] = batch.ts - PG_EPOCH_US
        rows["v"] = batch.values
        query = f"COPY {table} (point_id, ts, value) FROM STDIN WITH (FORMAT binary)"
        cursor = self.conn.cursor()
        with cursor.copy(query, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(framed(rows.tobytes()))
            return meanwhile() if meanwhile is not None else None

    def _describe(self, batch: _Batch, before: np.ndarray, changed: np.ndarray) -> list[str]:
        by_id = {p.id: name for name, p in self.points.items()}
        out = []
        for i in np.flatnonzero(changed)[:3]:
            when = local(from_us(int(batch.ts[i])), self.zone)
            out.append(
                f"{by_id.get(int(batch.pids[i]))} at {when}: {before[i]:g} → {batch.values[i]:g}"
            )
        return out


@dataclass
class _Batch:
    pids: np.ndarray
    ts: np.ndarray  # Unix microseconds
    values: np.ndarray
    repeat: np.ndarray  # bool: an earlier chunk of the file had this (point, ts)

    def subset(self, mask: np.ndarray) -> _Batch:
        return _Batch(self.pids[mask], self.ts[mask], self.values[mask], self.repeat[mask])


def _year(us: int) -> int:
    """The UTC year of a Unix-microsecond instant."""
    return int(np.datetime64(int(us), "us").astype("datetime64[Y]").astype(int)) + 1970


def _later_duplicates(pids: np.ndarray, ts: np.ndarray) -> np.ndarray | None:
    """A mask of rows whose (point, ts) comes again later in the batch, or None if all unique."""
    keys = pd.MultiIndex.from_arrays([pids, ts]) if len(pids) else None
    if keys is None or keys.is_unique:
        return None
    return np.asarray(keys.duplicated(keep="last"))


def _complete_trend_row(
    conn: psycopg.Connection[Any], file_id: int, report: Report, result: LoadResult
) -> None:
    warnings = first_warnings(report.warnings, MAX_STORED_WARNINGS)
    if result.repeated:
        warnings.append(
            f"{result.repeated} values repeated a point and time within the file; the later was kept"
        )
    if result.skipped:
        warnings.append(f"{result.skipped} values did not fit their point's kind and were skipped")
    if result.over_cap:
        warnings.append(over_cap_warning(result.over_cap))
    complete_ledger_row(
        conn,
        file_id,
        format=report.format,
        points=result.points,
        rejected=report.rejected,
        rejects=report.rejects,
        warnings=warnings,
        footer=report.footer,
        seconds=result.seconds,
        counts=(result.readings, result.inserted, result.updated, result.unchanged),
        missing=report.missing_totals(),
        span=(_ts(report.first_ts), _ts(report.last_ts)),
    )


def _ts(value: pd.Timestamp | None) -> datetime | None:
    return None if value is None or pd.isna(value) else value.to_pydatetime()
