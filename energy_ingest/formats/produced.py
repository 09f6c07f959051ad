"""What earlier chunks of one file produced: its distinct row timestamps and (point, ts) readings.

This is the only parser state that grows with the data, so its cost per key is fixed:

* each distinct row timestamp: 12 bytes (int64 instant + int32 slot number), in sorted runs;
* each reading produced: 1 bit of a (slot × point) bitmap while the bitmap is at least 1/64
  full (wide reports: most points have a value in most rows), else 8 bytes (slot << 32 | point)
  in sorted runs (the ALC long layout with unaligned times: one key per reading).

Sorted runs are merged when a run is no longer twice the size of the next, so a key is merged
O(log n) times and a lookup visits O(log n) runs: the work for a file is O(n log n), never
(keys so far × chunks). A merge briefly doubles the run it rewrites.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
SlotArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

DENSE_FLOOR = 4 << 20  # bitmap bytes that are always fine, however empty
SPARSE_KEY_BYTES = 8
CONVERT_ROWS_BYTES = 8 << 20  # unpacked bitmap bytes per step when switching to sparse keys


def _merge_needed(runs: list[IntArray], size: int) -> bool:
    return bool(runs) and len(runs[-1]) <= 2 * size


def _find(runs: list[IntArray], keys: IntArray) -> tuple[BoolArray, list[tuple[int, IntArray]]]:
    """Which keys are in some run, and per run (index, positions) of the keys found there."""
    found = np.zeros(len(keys), dtype=bool)
    hits: list[tuple[int, IntArray]] = []
    for r, run in enumerate(runs):
        at = np.minimum(np.searchsorted(run, keys), len(run) - 1)
        hit = np.flatnonzero(run[at] == keys)
        if hit.size:
            found[hit] = True
            hits.append((r, np.stack([hit, at[hit]])))
    return found, hits


class KeySet:
    """Distinct int64 keys in sorted runs: 8 bytes per key."""

    def __init__(self) -> None:
        self.runs: list[IntArray] = []
        self.size = 0

    def contains(self, keys: IntArray) -> BoolArray:
        return _find(self.runs, keys)[0]

    def add(self, keys: IntArray) -> None:
        """Add keys that are not in the set yet (and distinct)."""
        if not keys.size:
            return
        run = np.sort(keys)
        while _merge_needed(self.runs, len(run)):
            run = np.sort(np.concatenate([self.runs.pop(), run]), kind="stable")
        self.runs.append(run)
        self.size += len(keys)


class SlotIndex:
    """Distinct int64 timestamps, each with its slot number, in sorted runs: 12 bytes per key."""

    def __init__(self) -> None:
        self.runs: list[IntArray] = []
        self.slots: list[SlotArray] = []

    def lookup(self, keys: IntArray) -> SlotArray:
        """The slot of each key; -1 where the key is new."""
        out = np.full(len(keys), -1, dtype=np.int32)
        for r, pairs in _find(self.runs, keys)[1]:
            out[pairs[0]] = self.slots[r][pairs[1]]
        return out

    def add(self, keys: IntArray, slots: SlotArray) -> None:
        if not keys.size:
            return
        order = np.argsort(keys, kind="stable")
        run, values = keys[order], slots[order]
        while _merge_needed(self.runs, len(run)):
            joined = np.concatenate([self.runs.pop(), run])
            values = np.concatenate([self.slots.pop(), values])
            order = np.argsort(joined, kind="stable")  # two sorted runs: a linear merge
            run, values = joined[order], values[order]
        self.runs.append(run)
        self.slots.append(values)


class ProducedReadings:
    """The row timestamps and the (point, ts) readings of the chunks produced so far.

    `rows()` registers a chunk's row timestamps (one slot per distinct timestamp of the file);
    `produce()` then says which of the chunk's readings an earlier chunk already produced.
    """

    def __init__(self) -> None:
        self.index = SlotIndex()
        self.slots = 0  # distinct timestamps of all rows so far
        self.duplicate_rows = 0  # rows whose timestamp an earlier row already had
        self._bits = np.zeros((0, 0), dtype=np.uint8)  # dense: bit (slot, point)
        self._keys: KeySet | None = None  # sparse: slot << 32 | point
        self._marked = 0

    def __len__(self) -> int:
        return self.slots

    def rows(self, ts: IntArray) -> tuple[SlotArray, BoolArray]:
        """Slot of every row, and whether its timestamp was registered by an earlier call."""
        if not ts.size:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=bool)
        unique, inverse = np.unique(ts, return_inverse=True)
        slots = self.index.lookup(unique)
        new = slots < 0
        count = int(new.sum())
        self.duplicate_rows += len(ts) - len(unique) + len(unique) - count
        slots[new] = np.arange(self.slots, self.slots + count, dtype=np.int32)
        self.index.add(unique[new], slots[new])
        self.slots += count
        return slots[inverse], ~new[inverse]

    def produce(self, slots: SlotArray, points: IntArray, earlier: BoolArray) -> BoolArray:
        """Which readings (distinct (slot, point) pairs of one chunk) were produced before; the
        others are remembered. `earlier`: the reading's row timestamp came from an earlier chunk."""
        repeat = np.zeros(len(slots), dtype=bool)
        if earlier.any():
            candidates = np.flatnonzero(earlier)
            repeat[candidates] = self._marked_at(slots[candidates], points[candidates])
        fresh = np.flatnonzero(~repeat)
        if fresh.size:
            self._mark(slots[fresh], points[fresh])
        return repeat

    def _marked_at(self, slots: SlotArray, points: IntArray) -> BoolArray:
        if self._keys is not None:
            return self._keys.contains(_keys(slots, points))
        rows, width = self._bits.shape
        inside = (slots < rows) & (points < 8 * width)
        out = np.zeros(len(slots), dtype=bool)
        s, p = slots[inside], points[inside]
        out[inside] = (self._bits[s, p >> 3] >> (p & 7).astype(np.uint8)) & 1 == 1
        return out

    def _mark(self, slots: SlotArray, points: IntArray) -> None:
        self._marked += len(slots)
        if self._keys is None:
            self._fit(int(slots.max()) + 1, int(points.max()) + 1)
        if self._keys is not None:
            self._keys.add(_keys(slots, points))
            return
        lo, hi = int(slots.min()), int(slots.max())
        width = self._bits.shape[1]
        if (hi - lo + 1) * width * 8 <= 8 * len(slots) + (1 << 16):
            # The usual case, new rows side by side: set the bits through one small bool grid.
            grid = np.zeros((hi - lo + 1, width * 8), dtype=bool)
            grid[slots - lo, points] = True
            self._bits[lo : hi + 1] |= np.packbits(grid, axis=1, bitorder="little")
        else:
            bit = np.left_shift(1, (points & 7)).astype(np.uint8)
            np.bitwise_or.at(self._bits, (slots, points >> 3), bit)

    def _fit(self, rows: int, points: int) -> None:
        """Grow the bitmap to hold (rows, points), or switch to sparse keys if it would be mostly empty."""
        have_rows, width = self._bits.shape
        if rows <= have_rows and points <= 8 * width:
            return
        new_rows = have_rows if rows <= have_rows else max(rows, 2 * have_rows, 1024)
        new_width = max(-(-points // 8), width)
        size = new_rows * new_width
        if size > DENSE_FLOOR and size > SPARSE_KEY_BYTES * self._marked:
            self._to_sparse()
            return
        grown = np.zeros((new_rows, new_width), dtype=np.uint8)
        grown[:have_rows, :width] = self._bits
        self._bits = grown

    def _to_sparse(self) -> None:
        keys = KeySet()
        rows, width = self._bits.shape
        step = max(1, CONVERT_ROWS_BYTES // max(1, 8 * width))
        parts = []
        for start in range(0, rows, step):
            block = np.unpackbits(self._bits[start : start + step], axis=1, bitorder="little")
            r, p = np.nonzero(block)
            parts.append(_keys((r + start).astype(np.int32), p.astype(np.int64)))
        self._bits = np.zeros((0, 0), dtype=np.uint8)
        if parts:
            keys.add(np.concatenate(parts))
        self._keys = keys


def _keys(slots: SlotArray, points: IntArray) -> IntArray:
    return (slots.astype(np.int64) << 32) | points.astype(np.int64)
