"""Vectorised cell classification: numbers, enum labels and missing markers into tidy readings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from energy_ingest.errors import ParseError
from energy_ingest.formats.produced import ProducedReadings
from energy_ingest.formats.report import (
    MAX_FILE_STATES,
    MAX_POINTS,
    MAX_STATE_CHARS,
    MAX_STATES,
    MISSING_KINDS,
    PointInfo,
    Report,
    empty_chunk,
)

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]

_KIND = {k: i for i, k in enumerate(MISSING_KINDS)}
_MISSING_TEXT = {"no data": _KIND["no_data"], "data loss": _KIND["data_loss"]}
# Cells per block: bounds memory whatever the width of the report. The daemon holds two blocks
# at once (one parsed, one being stored): at 500,000 a 500-point, 278 MB backfill peaked at
# 314 MB RSS in the daemon, at 250,000 at 206 MB, with no measurable loss of throughput.
CELL_BUDGET = 250_000
BLOCK_CHARS = 16 << 20  # text per block: bounds memory whatever the length of the cells
LABEL = len(MISSING_KINDS)  # kind code for an enum label; smaller codes index MISSING_KINDS
REFUSED = LABEL + 1  # a label past a state limit: neither a reading nor a missing cell
NUMBER = -1
POINT_FULL, TOO_LONG, FILE_FULL = 1, 2, 3  # which state limit refused a label
SHOW_REFUSED = 10  # points named in the "not stored" warnings


DIGITAL_PAIRS = (("on", "off"), ("true", "false"), ("active", "inactive"))
DIGITAL = {w: pair for pair in DIGITAL_PAIRS for w in pair}


def digital_words(seen: set[str], pair: tuple[str, str]) -> tuple[str, str]:
    """The (1, 0) words of a digital pair, spelled like the words already seen in the trend."""
    written = {w.lower(): w for w in seen}
    sample = next(iter(written.values()))
    style = str.upper if sample.isupper() else str.title if sample.istitle() else str.lower
    on, off = pair
    return written.get(on, style(on)), written.get(off, style(off))


def spell_digital(
    labels: list[set[str]],
    pidx: IntArray,
    values: npt.NDArray[np.float64],
    kinds: npt.NDArray[np.int8],
    state: ObjArray,
    where: IntArray,
) -> None:
    """A trend whose words are one digital pair (On/Off, true/false, Active/Inactive) and
    whose numbers are all 1/0: write its numbers as those words (ALC digital trends); `labels`:
    each point's labels known so far."""
    points = np.unique(pidx[where])
    order = np.argsort(pidx, kind="stable")  # the cells of each point side by side
    ordered = pidx[order]
    starts = np.searchsorted(ordered, points, "left").tolist()
    ends = np.searchsorted(ordered, points, "right").tolist()
    for p, start, end in zip(points.tolist(), starts, ends, strict=True):
        cells = order[start:end]
        number_cells = cells[kinds[cells] == NUMBER]
        if not number_cells.size:
            continue
        words = set(state[cells[kinds[cells] == LABEL]].tolist()) | labels[p]
        pairs = {DIGITAL.get(w.lower()) for w in words}
        if len(pairs) != 1 or None in pairs:
            continue
        if not np.isin(values[number_cells], (0.0, 1.0)).all():
            continue
        on, off = digital_words(words, pairs.pop())  # type: ignore[arg-type]
        state[number_cells] = np.where(values[number_cells] == 1.0, on, off)
        kinds[number_cells] = LABEL


def block_size(chunk_rows: int, width: int) -> int:
    """Rows per chunk: at most chunk_rows, fewer for very wide reports."""
    return max(1, min(chunk_rows, CELL_BUDGET // max(1, width)))


def classify(texts: ObjArray) -> tuple[npt.NDArray[np.int8], ObjArray]:
    """(kind code, stripped text) of cells that are not finite numbers: blank, a missing
    marker, an ALC "[ERROR]: …" or else an enum label."""
    stripped = pd.Series(texts, dtype=object).str.strip()
    lower = stripped.str.lower()
    kinds = np.full(len(texts), LABEL, dtype=np.int8)
    kinds[lower.str.startswith("[error]").to_numpy(dtype=bool)] = _KIND["error"]
    for text, kind in _MISSING_TEXT.items():
        kinds[(lower == text).to_numpy(dtype=bool)] = kind
    kinds[(stripped == "").to_numpy(dtype=bool)] = _KIND["blank"]
    return kinds, stripped.to_numpy(dtype=object)


def to_float(raw: ObjArray) -> npt.NDArray[np.float64]:
    """Float value of every numeric-looking cell; NaN elsewhere (also for 'nan'/'inf' text)."""
    try:
        values = np.asarray(pd.to_numeric(raw, errors="coerce"), dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        values = np.array([_float(x) for x in raw.tolist()], dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _float(text: object) -> float:
    try:
        return float(str(text))
    except (ValueError, OverflowError):
        return float("nan")


class PointCells:
    """The points of a report by index, what their cells held so far, and the readings produced.

    Every per-cell step is vectorised and every per-label step is a set lookup, so the work for
    a chunk is proportional to its cells, whatever the number of points or labels seen before.
    """

    def __init__(self, report: Report, *, digital: bool = False) -> None:
        self.digital = digital  # ALC: 1/0 beside On/Off-style words in one trend become words
        self.report = report
        self.points = report.points
        self.warnings = report.warnings
        self.names: list[str] = list(self.points)
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self._numbers: list[int] = [0] * len(self.names)
        self._labels: list[set[str]] = [set(self.points[n].states) for n in self.names]
        self._label_count = sum(len(known) for known in self._labels)
        self._full = np.zeros(0, dtype=bool)  # per point: MAX_STATES labels reached
        self._names = np.asarray(self.names, dtype=object)
        self._mixed_warned: set[int] = set()
        self.seen = ProducedReadings()
        self.duplicates = 0  # readings whose (point, ts) came again: dropped in a chunk or repeat

    def point(self, name: str, *, line: int | None = None, **info: str | None) -> int:
        """Index of a point, adding it (with its metadata) if new; `line` names it in errors."""
        i = self.index.get(name)
        if i is None:
            i = len(self.names)
            if i >= MAX_POINTS:
                raise ParseError(
                    f"more than {MAX_POINTS:,} points in one file (here {name[:80]!r})",
                    line=line,
                    hint="a trend export of one site has far fewer; export the points in "
                    "several files, or check that this is a trend report",
                )
            self.index[name] = i
            self.names.append(name)
            self._numbers.append(0)
            self._labels.append(set())
            self.points[name] = PointInfo(name=name, **info)  # type: ignore[arg-type]
        return i

    def readings(
        self,
        pidx: IntArray,
        rows: IntArray,
        raw: ObjArray,
        *,
        ts: IntArray,
        lines: IntArray,
        dedupe: bool = False,
    ) -> pd.DataFrame:
        """One chunk: the readings of the given cells, tallying missing kinds, labels and refusals.

        Per cell: point index, row and raw text; per row: `ts` (UTC ns) and `lines` (physical
        line numbers). With `dedupe`, a (point, ts) given twice keeps its later reading.
        """
        slots, earlier = self.seen.rows(ts)
        n = len(raw)
        if n == 0:
            return empty_chunk()
        npoints = len(self.names)
        # Trend values repeat a lot (fixed decimals, markers): convert each distinct text once.
        codes, uniques = pd.factorize(raw)
        unique_values = to_float(np.asarray(uniques, dtype=object))
        unique_kinds = np.full(len(uniques), NUMBER, dtype=np.int8)
        unique_texts = np.full(len(uniques), None, dtype=object)
        texts = np.flatnonzero(np.isnan(unique_values))
        if texts.size:
            unique_kinds[texts], unique_texts[texts] = classify(np.asarray(uniques)[texts])
        values = unique_values[codes]
        kinds = unique_kinds[codes]
        state = np.full(n, None, dtype=object)
        if not (kinds == NUMBER).all():
            for k, kind in enumerate(MISSING_KINDS):
                for p, count in per_point(pidx[kinds == k], npoints):
                    self.points[self.names[p]].missing[kind] += count
            where = np.flatnonzero(kinds == LABEL)
            state[where] = unique_texts[codes[where]]
            if where.size:
                if self.digital:
                    spell_digital(self._labels, pidx, values, kinds, state, where)
                self._record_labels(pidx, kinds, state, lines, rows)
        numeric = kinds == NUMBER
        reading = numeric | (kinds == LABEL)
        for p, count in per_point(pidx[reading], npoints):
            self.points[self.names[p]].values += count
        number_points = per_point(pidx[numeric], npoints)
        for p, count in number_points:
            self._numbers[p] += count
        label_points = np.unique(pidx[kinds == LABEL]).tolist()
        self._warn_mixed(label_points + [p for p, _ in number_points])
        chosen = np.flatnonzero(reading)
        points, cell_rows = pidx[chosen], rows[chosen]
        if dedupe:
            keys = (slots[cell_rows].astype(np.int64) << 32) | points
            dropped = pd.Series(keys).duplicated(keep="last").to_numpy()
            if dropped.any():
                for p, count in per_point(points[dropped], npoints):
                    self.points[self.names[p]].values -= count
                self.duplicates += int(dropped.sum())
                chosen, points, cell_rows = chosen[~dropped], points[~dropped], cell_rows[~dropped]
        repeat = self.seen.produce(slots[cell_rows], points, earlier[cell_rows])
        self.duplicates += int(repeat.sum())
        if len(self._names) != npoints:
            self._names = np.asarray(self.names, dtype=object)
        instants = pd.Series(pd.to_datetime(ts[cell_rows], unit="ns", utc=True))
        return pd.DataFrame(
            {
                "point": pd.Series(self._names[points], dtype=object),
                "ts": instants.dt.as_unit("ns"),
                "value": pd.Series(np.where(numeric, values, np.nan)[chosen], dtype="float64"),
                "state": pd.Series(state[chosen], dtype=object),
                "repeat": pd.Series(repeat, dtype=bool),
            }
        )

    def _record_labels(
        self,
        pidx: IntArray,
        kinds: npt.NDArray[np.int8],
        state: ObjArray,
        lines: IntArray,
        rows: IntArray,
    ) -> None:
        """Append each point's new labels in order of first appearance; a label past a limit is
        refused: its cells become REFUSED and their lines rejected rows (one per line)."""
        cells = np.flatnonzero(kinds == LABEL)
        pts = pidx[cells]
        codes, uniques = pd.factorize(state[cells])
        pairs, first, inverse = np.unique(
            pts * len(uniques) + codes, return_index=True, return_inverse=True
        )
        pair_points, pair_labels = pts[first], np.asarray(uniques, dtype=object)[codes[first]]
        causes = np.zeros(len(pairs), dtype=np.int8)
        if len(self._full) < len(self.names):
            self._full = np.concatenate(
                [self._full, np.zeros(len(self.names) - len(self._full), dtype=bool)]
            )
        # Points that take no new label (full, or the file is): one hashed lookup per point.
        closed = self._full[pair_points] | (self._label_count >= MAX_FILE_STATES)
        if closed.any():
            where = np.flatnonzero(closed)
            causes[where] = self._closed(pair_points[where], pair_labels[where])
        # The others, one label at a time in file order: at most MAX_STATES per point in all.
        open_pairs = np.flatnonzero(~closed)
        for j in open_pairs[np.argsort(first[open_pairs], kind="stable")].tolist():
            p, label = int(pair_points[j]), str(pair_labels[j])
            known = self._labels[p]
            if label in known:
                continue
            cause = self._limit(p, label)
            if cause:
                causes[j] = cause
                continue
            known.add(label)
            self.points[self.names[p]].states.append(label)
            self._label_count += 1
            self._full[p] = len(known) >= MAX_STATES
        refused = causes[inverse]
        if refused.any():
            bad = np.flatnonzero(refused)
            kinds[cells[bad]] = REFUSED
            self._refuse(pts[bad], state[cells[bad]], refused[bad], lines[rows[cells[bad]]])

    def _closed(self, points: IntArray, labels: ObjArray) -> npt.NDArray[np.int8]:
        """Causes for (point, label) pairs, grouped by point, of points taking no new label."""
        causes = np.zeros(len(points), dtype=np.int8)
        starts = np.flatnonzero(np.r_[True, points[1:] != points[:-1]]).tolist()
        for start, end in zip(starts, [*starts[1:], len(points)], strict=True):
            p = int(points[start])
            new = ~pd.Index(labels[start:end], dtype=object).isin(list(self._labels[p]))
            causes[start:end][new] = POINT_FULL if self._full[p] else FILE_FULL
        lengths = np.fromiter(map(len, labels), dtype=np.int64, count=len(labels))
        causes[(causes > 0) & (lengths > MAX_STATE_CHARS)] = TOO_LONG
        return causes

    def _limit(self, p: int, label: str) -> int:
        """Which limit a new label of point p would break (0: none)."""
        if len(label) > MAX_STATE_CHARS:
            return TOO_LONG
        if len(self._labels[p]) >= MAX_STATES:
            return POINT_FULL
        if self._label_count >= MAX_FILE_STATES:
            return FILE_FULL
        return 0

    def _refuse(
        self, pts: IntArray, labels: ObjArray, causes: npt.NDArray[np.int8], lines: IntArray
    ) -> None:
        for p, count in per_point(pts, len(self.names)):
            self.points[self.names[p]].refused += count
        unique_lines, first, counts = np.unique(lines, return_index=True, return_counts=True)

        def reason(i: int) -> str:
            at = int(first[i])
            text = refusal(self.names[int(pts[at])], str(labels[at]), int(causes[at]))
            more = int(counts[i]) - 1
            return f"{text} (and {more} more such cell(s) on this line)" if more else text

        self.report.reject_lines(unique_lines.tolist(), reason)

    def _warn_mixed(self, candidates: list[int]) -> None:
        for p in set(candidates) - self._mixed_warned:
            info = self.points[self.names[p]]
            if info.states and self._numbers[p]:
                self._mixed_warned.add(p)
                self.warnings.append(
                    f"point {info.name!r} mixes numbers and text states "
                    f"({', '.join(info.states[:5])}); numbers kept as numbers, text as states"
                )

    def finish(self) -> None:
        """Warnings that need the whole file: points whose texts were refused."""
        refused = [info for info in self.points.values() if info.refused]
        for info in refused[:SHOW_REFUSED]:
            self.warnings.append(
                f"point {info.name!r}: {info.refused} text value(s) not stored, over the "
                f"text state limits (at most {MAX_STATES} per point, {MAX_STATE_CHARS} "
                f"characters each, {MAX_FILE_STATES:,} per file); their rows are rejected"
            )
        if len(refused) > SHOW_REFUSED:
            self.warnings.append(
                f"… and {len(refused) - SHOW_REFUSED} more points with text values not stored"
            )


def per_point(idx: IntArray, npoints: int) -> list[tuple[int, int]]:
    """(point, count) for the point indexes in `idx`, in point order."""
    if npoints <= 4 * len(idx) + 1024:
        counts = np.bincount(idx, minlength=npoints)
        found = np.flatnonzero(counts)
        return list(zip(found.tolist(), counts[found].tolist(), strict=True))
    found, counts = np.unique(idx, return_counts=True)
    return list(zip(found.tolist(), counts.tolist(), strict=True))


def refusal(point: str, label: str, cause: int) -> str:
    """The rejected-row reason for a text cell refused by a state limit, with what to do."""
    if cause == TOO_LONG:
        return (
            f"text of {len(label):,} characters in point {point!r} not stored: a text state "
            f"is at most {MAX_STATE_CHARS} characters — check the export of this point"
        )
    shown = repr(label if len(label) <= 40 else label[:40] + "…")
    if cause == POINT_FULL:
        return (
            f"text {shown} of point {point!r} not stored: the point already has {MAX_STATES} "
            "distinct text states, the most one point may have — a point with more is not an "
            "on/off or multi-state point; trend it as a number"
        )
    return (
        f"text {shown} of point {point!r} not stored: the file already has "
        f"{MAX_FILE_STATES:,} distinct text states, the most one file may have — export "
        "fewer points per report"
    )
