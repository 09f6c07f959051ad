"""The loader: one report into PostgreSQL in one transaction — ledger row, points, readings.

Readings travel as binary COPY into a temporary staging table, one chunk at a time, and are
upserted from there into `readings`, counting what was new, what changed and what was already
stored. The ledger row (`files`, sha256 unique) commits with the readings or not at all.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg
from psycopg import errors as pg_errors

from energy_ingest.report import PointInfo, Report

log = logging.getLogger(__name__)

MAX_STORED_REJECTS = 200
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds: binary COPY's timestamp zero
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
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
UPSERT = """
WITH up AS (
    INSERT INTO readings AS r (point_id, ts, value)
    SELECT point_id, ts, value FROM {source}
    ON CONFLICT (point_id, ts) DO UPDATE SET value = EXCLUDED.value
    WHERE r.value IS DISTINCT FROM EXCLUDED.value
    RETURNING r.point_id, r.ts, (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted),
       count(*) FILTER (WHERE NOT inserted),
       (SELECT array_agg(point_id::text || ' ' || ts::text)
          FROM (SELECT point_id, ts FROM up WHERE NOT inserted LIMIT 3) e)
FROM up
"""
DEDUPED = "(SELECT DISTINCT ON (point_id, ts) point_id, ts, value FROM energy_stage_seq ORDER BY point_id, ts, seq DESC) d"


class Cancelled(Exception):
    """The caller asked to stop between chunks; the transaction rolls back, the file stays put."""


@dataclass
class FileInfo:
    """What the spool knows about a file before it is loaded."""

    sha256: str
    name: str
    source: str
    size: int
    path: str | None = None
    received_at: datetime | None = None


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
    changed_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Point:
    id: int
    kind: str
    states: list[str]
    has_readings: bool


def load_report(
    conn: psycopg.Connection[Any],
    report: Report,
    info: FileInfo,
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> LoadResult:
    """Load `report` in one transaction; a byte-identical file already ingested is a `duplicate`."""
    started = time.monotonic()
    with conn.transaction():
        file_id, seen = _claim_ledger_row(conn, info)
        if seen:
            return LoadResult(status="duplicate", file_id=file_id)
        loader = _Loader(conn, report)
        for chunk in report.chunks():
            if should_stop():
                raise Cancelled(f"stopped while loading {info.name}; it stays where it is")
            loader.add(chunk)
        loader.finish()
        result = loader.result(file_id)
        result.seconds = time.monotonic() - started
        _complete_ledger_row(conn, file_id, report, result)
    return result


def record_failure(conn: psycopg.Connection[Any], info: FileInfo, error: str) -> None:
    """Note a file that could not be ingested (it is moved to failed/ by the caller)."""
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO files (sha256, name, path, source, size_bytes, status, received_at, error)
            VALUES (%s, %s, %s, %s, %s, 'failed', %s, %s)
            ON CONFLICT (sha256) DO UPDATE SET
                status = 'failed', error = EXCLUDED.error, name = EXCLUDED.name,
                path = EXCLUDED.path, ingested_at = now()
            WHERE files.status = 'failed'
            """,
            (info.sha256, info.name, info.path, info.source, info.size, info.received_at, error),
        )


def _claim_ledger_row(conn: psycopg.Connection[Any], info: FileInfo) -> tuple[int, bool]:
    """Insert the ledger row; (id, True) if the same bytes were ingested before."""
    row = conn.execute(
        """
        INSERT INTO files (sha256, name, path, source, size_bytes, status, received_at)
        VALUES (%s, %s, %s, %s, %s, 'ingested', %s)
        ON CONFLICT (sha256) DO NOTHING RETURNING id
        """,
        (info.sha256, info.name, info.path, info.source, info.size, info.received_at),
    ).fetchone()
    if row:
        return row[0], False
    old = conn.execute(
        "SELECT id, status FROM files WHERE sha256 = %s FOR UPDATE", (info.sha256,)
    ).fetchone()
    assert old is not None
    if old[1] == "ingested":
        conn.execute(
            "UPDATE files SET duplicates_seen = duplicates_seen + 1 WHERE id = %s", (old[0],)
        )
        return old[0], True
    # It failed before (and was retried): this attempt replaces that ledger row.
    conn.execute(
        "UPDATE files SET status = 'ingested', error = NULL, name = %s, path = %s,"
        " ingested_at = now() WHERE id = %s",
        (info.name, info.path, old[0]),
    )
    return old[0], False


class _Loader:
    def __init__(self, conn: psycopg.Connection[Any], report: Report):
        self.conn = conn
        self.report = report
        self.points: dict[str, _Point] = {}
        self.inserted = self.updated = self.readings = self.skipped = 0
        self.examples: list[str] = []
        conn.execute(STAGE)

    def add(self, chunk: pd.DataFrame) -> None:
        if chunk.empty:
            return
        self._ensure_points(chunk)
        pids, values, keep = self._encode(chunk)
        ts = chunk["ts"].to_numpy(dtype="datetime64[us]").view("int64")[keep]
        if not len(pids):
            return
        self._copy(pids, ts, values)
        self._upsert(len(pids))

    def finish(self) -> None:
        # Points the report names but that had no values at all (e.g. `Error:` definitions).
        missing = [n for n in self.report.points if n not in self.points]
        if missing:
            self._upsert_points(missing, kinds={n: "number" for n in missing})

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
            changed_examples=self.examples,
        )

    # --- points -------------------------------------------------------------------------

    def _ensure_points(self, chunk: pd.DataFrame) -> None:
        names = chunk["point"].unique()
        new = [str(n) for n in names if n not in self.points]
        if not new:
            return
        has_state = set(chunk.loc[chunk["state"].notna(), "point"].unique())
        self._upsert_points(new, kinds={n: "enum" if n in has_state else "number" for n in new})

    def _upsert_points(self, names: list[str], kinds: dict[str, str]) -> None:
        names = sorted(names)  # a stable lock order: concurrent loaders cannot deadlock here
        infos = [self.report.points.get(n) or PointInfo(name=n) for n in names]
        rows = self.conn.execute(
            """
            INSERT INTO points AS p (source, name, kind, building, trend_definition, unit, description)
            SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
            ON CONFLICT (source, name) DO UPDATE SET
                trend_definition = coalesce(EXCLUDED.trend_definition, p.trend_definition),
                unit = coalesce(p.unit, EXCLUDED.unit),
                description = coalesce(p.description, EXCLUDED.description),
                updated_at = now()
            RETURNING id, name, kind, states,
                EXISTS (SELECT 1 FROM readings r WHERE r.point_id = p.id)
            """,
            (
                self.report.source,
                names,
                [kinds[n] for n in names],
                [_building(i, self.report.source) for i in infos],
                [i.trend_definition for i in infos],
                [i.unit for i in infos],
                [i.description for i in infos],
            ),
        ).fetchall()
        for pid, name, kind, states, has_readings in rows:
            point = _Point(pid, kind, list(states), has_readings)
            if kinds[name] == "enum" and kind == "number" and not has_readings:
                # Created before its first state was seen (e.g. an all-`No Data` column earlier).
                self.conn.execute("UPDATE points SET kind = 'enum' WHERE id = %s", (pid,))
                point.kind = "enum"
            self.points[name] = point

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
        if has_state.any():
            values[has_state] = self._state_indexes(chunk["point"][has_state], states[has_state])
        keep = np.where(is_enum, has_state, ~has_state & ~np.isnan(values))
        dropped = int(len(keep) - keep.sum())
        if dropped:
            self.skipped += dropped
        return pid_of[codes][keep], values[keep], keep

    def _state_indexes(self, names: pd.Series, labels: pd.Series) -> np.ndarray:
        out = np.full(len(names), np.nan)
        pairs = pd.DataFrame({"n": names.to_numpy(), "s": labels.to_numpy()})
        for key, idx in pairs.groupby(["n", "s"], sort=False).indices.items():
            name, label = cast(tuple[str, str], key)
            point = self.points[str(name)]
            if point.kind != "enum":
                continue
            if label not in point.states:
                point.states.append(str(label))
                self.conn.execute(
                    "UPDATE points SET states = %s, updated_at = now() WHERE id = %s",
                    (point.states, point.id),
                )
            out[idx] = point.states.index(str(label))
        return out

    def _copy(self, pids: np.ndarray, ts_us: np.ndarray, values: np.ndarray) -> None:
        rows = np.empty(len(pids), dtype=ROW)
        rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 4, 8, 8
        rows["pid"] = pids
        rows["ts"] = ts_us - PG_EPOCH_US
        rows["v"] = values
        with self.conn.cursor().copy(
            "COPY energy_stage (point_id, ts, value) FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.write(COPY_HEADER + rows.tobytes() + COPY_TRAILER)

    def _upsert(self, staged: int) -> None:
        try:
            with self.conn.transaction():
                counts = self.conn.execute(UPSERT.format(source="energy_stage")).fetchone()
        except pg_errors.CardinalityViolation:
            # The same (point, ts) twice in one chunk: the later row wins.
            self.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS energy_stage_seq ON COMMIT DELETE ROWS AS"
                " SELECT 0::bigint AS seq, * FROM energy_stage WITH NO DATA"
            )
            self.conn.execute(
                "INSERT INTO energy_stage_seq SELECT row_number() OVER (), * FROM energy_stage"
            )
            counts = self.conn.execute(UPSERT.format(source=DEDUPED)).fetchone()
            distinct = self.conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT point_id, ts FROM energy_stage) s"
            ).fetchone()
            staged = distinct[0] if distinct else staged
            self.conn.execute("TRUNCATE energy_stage_seq")
        self.conn.execute("TRUNCATE energy_stage")
        assert counts is not None
        inserted, updated, examples = counts
        self.inserted += inserted
        self.updated += updated
        self.readings += staged
        if examples and len(self.examples) < 3:
            self.examples.extend(self._describe(examples)[: 3 - len(self.examples)])

    def _describe(self, examples: Iterable[str]) -> list[str]:
        by_id = {p.id: name for name, p in self.points.items()}
        out = []
        for example in examples:
            pid, _, ts = example.partition(" ")
            out.append(f"{by_id.get(int(pid), pid)} at {ts}")
        return out


def _building(info: PointInfo, source: str) -> str | None:
    if info.location:
        parts = [p for p in info.location.split("/") if p]
        return parts[1] if len(parts) > 1 else (parts[0] if parts else None)
    if source == "siemens" and "." in info.name:
        return info.name.split(".", 1)[0]
    return None


def _complete_ledger_row(
    conn: psycopg.Connection[Any], file_id: int, report: Report, result: LoadResult
) -> None:
    missing = report.missing_totals()
    warnings = list(report.warnings)
    if result.skipped:
        warnings.append(f"{result.skipped} values did not fit their point's kind and were skipped")
    rejects = [{"line": r.line, "reason": r.reason} for r in report.rejects[:MAX_STORED_REJECTS]]
    conn.execute(
        """
        UPDATE files SET format = %s, points = %s, readings = %s, inserted = %s, updated = %s,
            unchanged = %s, missing_no_data = %s, missing_data_loss = %s, missing_blank = %s,
            missing_error = %s, rejected_rows = %s, rejects = %s, warnings = %s, footer = %s,
            first_ts = %s, last_ts = %s, duration_ms = %s, ingested_at = now()
        WHERE id = %s
        """,
        (
            report.format,
            result.points,
            result.readings,
            result.inserted,
            result.updated,
            result.unchanged,
            missing["no_data"],
            missing["data_loss"],
            missing["blank"],
            missing["error"],
            len(report.rejects),
            json.dumps(rejects),
            warnings,
            report.footer,
            _ts(report.first_ts),
            _ts(report.last_ts),
            int(result.seconds * 1000),
            file_id,
        ),
    )


def _ts(value: pd.Timestamp | None) -> datetime | None:
    return None if value is None or pd.isna(value) else value.to_pydatetime()
