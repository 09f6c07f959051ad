"""The `repeat` column: True exactly for a (point, ts) that an earlier chunk of the file produced."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from formats_gen import Variant, insight

from energy_ingest.formats import parse
from energy_ingest.formats.produced import DENSE_FLOOR, ProducedReadings
from energy_ingest.formats.report import Report

T0 = datetime(2024, 1, 8)


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=15 * i)


def utc(i: int) -> pd.Timestamp:
    return pd.Timestamp(at(i) + timedelta(hours=6), tz="UTC")


def marks(report: Report) -> list[list[tuple[str, int, bool]]]:
    """Per chunk: (point, slot number i of utc(i), repeat) of every reading, sorted."""
    out = []
    for chunk in report.chunks():
        slots = ((chunk["ts"] - utc(0)) // timedelta(minutes=15)).astype(int)
        out.append(sorted(zip(chunk["point"], slots, chunk["repeat"], strict=True)))
    return out


def test_a_timestamp_repeated_in_a_later_chunk_is_a_repeat_and_in_the_same_chunk_kept_once() -> (
    None
):
    times = [at(0), at(1), at(2), at(1), at(3), at(3)]
    cells = [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"], ["9", "10"], ["11", "12"]]
    report = parse(insight(["A", "B"], times, cells, Variant()), chunk_rows=2)
    assert marks(report) == [
        [("A", 0, False), ("A", 1, False), ("B", 0, False), ("B", 1, False)],
        [("A", 1, True), ("A", 2, False), ("B", 1, True), ("B", 2, False)],
        [("A", 3, False), ("B", 3, False)],  # the same time twice in one chunk: the later kept
    ]
    assert report.rows == 4
    assert "2 duplicate timestamp row(s): the later row wins for each point" in report.warnings


def test_a_reading_missing_the_first_time_is_not_a_repeat_when_it_comes_later() -> None:
    times = [at(0), at(1), at(0)]
    cells = [["No Data", "1"], ["2", "3"], ["4", "5"]]
    report = parse(insight(["A", "B"], times, cells, Variant()), chunk_rows=2)
    assert marks(report) == [
        [("A", 1, False), ("B", 0, False), ("B", 1, False)],
        [("A", 0, False), ("B", 0, True)],
    ]


def two_reports(first: tuple[list[str], range], second: tuple[list[str], range]) -> bytes:
    parts = []
    for names, rows in (first, second):
        cells = [[f"{r}.{p}" for p in range(len(names))] for r in rows]
        parts.append(insight(names, [at(r) for r in rows], cells, Variant()))
    return b"".join(parts)


def test_appended_reports_with_the_same_points_mark_their_overlap_as_repeats() -> None:
    report = parse(two_reports((["A", "B"], range(0, 4)), (["A", "B"], range(2, 6))))
    assert report.reports == 2
    first, second = marks(report)
    assert {repeat for _, _, repeat in first} == {False}
    assert second == [
        (p, s, s < 4) for p in ("A", "B") for s in range(2, 6)
    ]  # slots 2 and 3 came in the first report


def test_appended_reports_with_different_points_repeat_only_the_points_both_have() -> None:
    report = parse(two_reports((["A", "B"], range(0, 3)), (["B", "C"], range(0, 3))))
    first, second = marks(report)
    assert {repeat for _, _, repeat in first} == {False}
    assert second == [("B", s, True) for s in range(3)] + [("C", s, False) for s in range(3)]
    assert report.rows == 3


def alc(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def iso(i: int) -> str:
    return f"{at(i):%Y-%m-%d %H:%M:%S}"


def test_alc_wide_rows_repeated_across_chunks_are_repeats() -> None:
    rows = [f'"{iso(i)}","{i}",""' for i in (0, 1, 2, 0)] + [f'"{iso(1)}","x","7"']
    report = parse(alc(['"Date/Time","#a/t","#b/t"', *rows]), chunk_rows=2)
    assert report.format == "alc-wide"
    assert marks(report) == [
        [("#a/t", 0, False), ("#a/t", 1, False)],
        [("#a/t", 0, True), ("#a/t", 2, False)],
        [("#a/t", 1, True), ("#b/t", 1, False)],  # #b/t had a blank cell at slot 1 before
    ]


def test_alc_long_readings_repeated_across_chunks_are_repeats_per_trend() -> None:
    rows = [("#a", 0), ("#b", 0), ("#a", 1), ("#b", 1), ("#a", 0), ("#c", 0), ("#a", 1)]
    lines = ['"Trend","Time","Value"'] + [
        f'"{p}","{iso(t)}","{n}"' for n, (p, t) in enumerate(rows)
    ]
    report = parse(alc(lines), chunk_rows=3)
    assert report.format == "alc-long"
    assert marks(report) == [
        [("#a", 0, False), ("#a", 1, False), ("#b", 0, False)],
        [("#a", 0, True), ("#b", 1, False), ("#c", 0, False)],  # #c at a known time is new
        [("#a", 1, True)],
    ]
    assert "2 duplicate (trend, time) reading(s): the later row wins" in report.warnings


def test_alc_long_trends_at_unaligned_times_are_marked_exactly() -> None:
    # 2,000 trends sampled on change at their own times: a (time × trend) bitmap would be
    # almost empty, so the parser keeps one key per reading instead; marks stay exact.
    rnd = random.Random(7)
    readings = [(f"#t{rnd.randrange(2000)}", 60 * i + rnd.randrange(60)) for i in range(30_000)]
    again = rnd.sample(readings, 300)
    lines = ['"Trend","Time","Value"']
    for trend, seconds in [*readings, *again]:
        lines.append(f'"{trend}","{T0 + timedelta(seconds=seconds):%Y-%m-%d %H:%M:%S}","1"')
    report = parse(alc(lines), tz="UTC", chunk_rows=5000)
    table = report.table()
    assert len(table) == 30_300
    assert table["repeat"].tolist() == [False] * 30_000 + [True] * 300


def test_seen_marks_the_same_pairs_as_a_set_would_across_the_switch_to_sparse_keys() -> None:
    rng = np.random.default_rng(3)
    seen, reference = ProducedReadings(), set()
    switched = False
    for _ in range(40):
        ts = rng.integers(0, 200_000, 2_000).astype(np.int64) * 1_000_000_000
        slots, earlier = seen.rows(ts)
        points = rng.integers(0, 3_000, len(ts)).astype(np.int64)
        pairs = pd.Series(list(zip(ts.tolist(), points.tolist(), strict=True)))
        keep = ~pairs.duplicated(keep="last").to_numpy()  # one reading per pair in a chunk
        repeat = seen.produce(slots[keep], points[keep], earlier[keep])
        assert repeat.tolist() == [p in reference for p in pairs[keep]]
        reference.update(pairs[keep])
        switched = switched or seen._keys is not None
    assert switched, f"the bitmap never passed {DENSE_FLOOR} bytes: the test misses the switch"
    assert len(seen) == len({t for t, _ in reference})


def test_seen_keeps_one_bit_per_reading_for_trends_at_aligned_times_given_trend_by_trend() -> None:
    # The ALC long layout as exported trend after trend: every trend at the same 33,000 times.
    seen = ProducedReadings()
    times = np.arange(33_000, dtype=np.int64) * 900_000_000_000
    readings = [(p, times) for p in range(50)]
    for p, ts in readings:
        for start in range(0, len(ts), 20_000):
            part = ts[start : start + 20_000]
            slots, earlier = seen.rows(part)
            points = np.full(len(part), p, dtype=np.int64)
            assert not seen.produce(slots, points, earlier).any()
    assert seen._keys is None  # still the bitmap: 50 x 33,000 bits, not 8 bytes a reading
    assert seen._bits.nbytes <= 2 * 33_000 * 7
