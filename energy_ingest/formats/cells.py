"""Vectorised cell classification: numbers, enum labels and missing markers into tidy readings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from energy_ingest.report import MISSING_KINDS, PointInfo, empty_chunk

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]

_KIND = {k: i for i, k in enumerate(MISSING_KINDS)}
_MISSING_TEXT = {"no data": _KIND["no_data"], "data loss": _KIND["data_loss"]}
CELL_BUDGET = 500_000  # cells per block: bounds memory whatever the width of the report
LABEL = len(MISSING_KINDS)  # kind code for an enum label; smaller codes index MISSING_KINDS
NUMBER = -1


DIGITAL_PAIRS = (("on", "off"), ("true", "false"), ("active", "inactive"))
DIGITAL = {w: pair for pair in DIGITAL_PAIRS for w in pair}


def digital_words(seen: set[str], pair: tuple[str, str]) -> tuple[str, str]:
    """The (1, 0) words of a digital pair, spelled like the words already seen in the trend."""
    written = {w.lower(): w for w in seen}
    sample = next(iter(written.values()))
    style = str.upper if sample.isupper() else str.title if sample.istitle() else str.lower
    on, off = pair
    return written.get(on, style(on)), written.get(off, style(off))


def block_size(chunk_rows: int, width: int) -> int:
    """Rows per chunk: at most chunk_rows, fewer for very wide reports."""
    return max(1, min(chunk_rows, CELL_BUDGET // max(1, width)))


def classify(text: str) -> tuple[int, str]:
    """(kind code, stripped text) for a cell that is not a finite number."""
    stripped = text.strip()
    if not stripped:
        return _KIND["blank"], stripped
    kind = _MISSING_TEXT.get(stripped.lower())
    if kind is not None:
        return kind, stripped
    if stripped.upper().startswith("[ERROR]"):
        return _KIND["error"], stripped
    return LABEL, stripped


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


class Tally:
    """The points of a report by index, and what their cells held so far."""

    def __init__(
        self, points: dict[str, PointInfo], warnings: list[str], *, digital: bool = False
    ) -> None:
        self.digital = digital  # ALC: 1/0 beside On/Off-style words in one trend become words
        self.points = points
        self.warnings = warnings
        self.names: list[str] = list(points)
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self._numbers: list[int] = [0] * len(self.names)
        self._mixed_warned: set[int] = set()

    def point(self, name: str, **info: str | None) -> int:
        """Index of a point, adding it (with its metadata) if new."""
        i = self.index.get(name)
        if i is None:
            i = len(self.names)
            self.index[name] = i
            self.names.append(name)
            self._numbers.append(0)
            self.points[name] = PointInfo(name=name, **info)  # type: ignore[arg-type]
        return i

    def readings(
        self, pidx: IntArray, ts: IntArray, raw: ObjArray, *, dedupe: bool = False
    ) -> pd.DataFrame:
        """Readings of the given cells (point index, UTC ns, raw text), tallying missing kinds."""
        n = len(raw)
        if n == 0:
            return empty_chunk()
        npoints = len(self.names)
        # Trend values repeat a lot (fixed decimals, markers): convert each distinct text once.
        codes, uniques = pd.factorize(raw)
        unique_values = to_float(np.asarray(uniques, dtype=object))
        unique_kinds = np.full(len(uniques), NUMBER, dtype=np.int8)
        unique_texts = np.full(len(uniques), None, dtype=object)
        for u in np.flatnonzero(np.isnan(unique_values)).tolist():
            unique_kinds[u], unique_texts[u] = classify(str(uniques[u]))
        values = unique_values[codes]
        kinds = unique_kinds[codes]
        state = np.full(n, None, dtype=object)
        if not (kinds == NUMBER).all():
            for k, kind in enumerate(MISSING_KINDS):
                sel = pidx[kinds == k]
                if sel.size:
                    counts = np.bincount(sel, minlength=npoints)
                    for p in np.flatnonzero(counts).tolist():
                        self.points[self.names[p]].missing[kind] += int(counts[p])
            where = np.flatnonzero(kinds == LABEL)
            state[where] = unique_texts[codes[where]]
            if self.digital and where.size:
                self._digital(pidx, values, kinds, state, np.unique(pidx[where]).tolist())
        numeric = kinds == NUMBER
        is_label = kinds == LABEL
        reading = numeric | is_label
        label_points = pidx[is_label]
        if label_points.size:
            self._record_labels(label_points, state[is_label])
        counts = np.bincount(pidx[reading], minlength=npoints)
        for p in np.flatnonzero(counts).tolist():
            self.points[self.names[p]].values += int(counts[p])
        number_counts = np.bincount(pidx[numeric], minlength=npoints)
        for p in np.flatnonzero(number_counts).tolist():
            self._numbers[p] += int(number_counts[p])
        self._warn_mixed(np.unique(label_points).tolist() + np.flatnonzero(number_counts).tolist())
        names = np.asarray(self.names, dtype=object)
        chosen = np.flatnonzero(reading)
        frame = pd.DataFrame(
            {
                "point": pd.Series(names[pidx[chosen]], dtype=object),
                "ts": pd.Series(pd.to_datetime(ts[chosen], unit="ns", utc=True)).dt.as_unit("ns"),
                "value": pd.Series(np.where(numeric, values, np.nan)[chosen], dtype="float64"),
                "state": pd.Series(state[chosen], dtype=object),
            }
        )
        if dedupe:
            dropped = frame.duplicated(["point", "ts"], keep="last").to_numpy()
            if dropped.any():
                lost = np.bincount(pidx[chosen[dropped]], minlength=npoints)
                for p in np.flatnonzero(lost).tolist():
                    self.points[self.names[p]].values -= int(lost[p])
                frame = frame[~dropped].reset_index(drop=True)
        return frame

    def _digital(
        self,
        pidx: IntArray,
        values: npt.NDArray[np.float64],
        kinds: npt.NDArray[np.int8],
        state: ObjArray,
        points: list[int],
    ) -> None:
        """A trend whose words are one digital pair (On/Off, true/false, Active/Inactive) and
        whose numbers are all 1/0: write its numbers as those words (ALC digital trends)."""
        for p in points:
            mine = pidx == p
            words = set(state[mine & (kinds == LABEL)].tolist())
            words |= set(self.points[self.names[p]].states)
            pairs = {DIGITAL.get(w.lower()) for w in words}
            number_cells = np.flatnonzero(mine & (kinds == NUMBER))
            if len(pairs) != 1 or None in pairs or not number_cells.size:
                continue
            if not np.isin(values[number_cells], (0.0, 1.0)).all():
                continue
            on, off = digital_words(words, pairs.pop())  # type: ignore[arg-type]
            state[number_cells] = np.where(values[number_cells] == 1.0, on, off)
            kinds[number_cells] = LABEL

    def _record_labels(self, pts: IntArray, labels: ObjArray) -> None:
        """Append each point's new labels in order of first appearance."""
        codes, uniques = pd.factorize(labels)
        key = pts * len(uniques) + codes
        _, first = np.unique(key, return_index=True)
        for j in np.sort(first).tolist():
            info = self.points[self.names[int(pts[j])]]
            label = str(uniques[int(codes[j])])
            if label not in info.states:
                info.states.append(label)

    def _warn_mixed(self, candidates: list[int]) -> None:
        for p in set(candidates) - self._mixed_warned:
            info = self.points[self.names[p]]
            if info.states and self._numbers[p]:
                self._mixed_warned.add(p)
                self.warnings.append(
                    f"point {info.name!r} mixes numbers and text states "
                    f"({', '.join(info.states[:5])}); numbers kept as numbers, text as states"
                )


class Seen:
    """Sorted distinct int64 keys seen so far, to count repeats across chunks."""

    def __init__(self) -> None:
        self.keys: IntArray = np.empty(0, dtype=np.int64)

    def add(self, batch: IntArray) -> int:
        """Add a batch; return how many of its keys were seen before (earlier in it or before)."""
        if batch.size == 0:
            return 0
        unique = np.unique(batch)
        repeats = int(batch.size - unique.size)
        if self.keys.size:
            repeats += int(np.isin(unique, self.keys, assume_unique=True).sum())
        self.keys = np.union1d(self.keys, unique)
        return repeats

    def __len__(self) -> int:
        return int(self.keys.size)
