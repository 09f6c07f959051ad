"""The loader: one transaction per file, exact counts, later file wins, duplicates change nothing."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from helpers import insight_report

from energy_ingest.errors import Cancelled
from energy_ingest.formats import parse
from energy_ingest.formats.report import MAX_STATES, PointInfo, Report
from energy_ingest.write.applied_site import apply_site_file
from energy_ingest.write.ledger import FileInfo, record_failure
from energy_ingest.write.readings import load_report


def make_report(
    rows: list[tuple[str, str, float | str]], chunk: int = 1000, **kw: object
) -> Report:
    """A report whose readings are `rows` of (point, ISO instant, number or state label)."""
    frame = pd.DataFrame(
        {
            "point": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True).astype("datetime64[ns, UTC]"),
            "value": [float(r[2]) if not isinstance(r[2], str) else float("nan") for r in rows],
            "state": [r[2] if isinstance(r[2], str) else None for r in rows],
            "repeat": False,
        }
    )
    points = {
        name: PointInfo(name=name, trend_definition="15 minutes")
        for name in dict.fromkeys(frame["point"])
    }

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, len(frame), chunk):
            yield frame.iloc[start : start + chunk].reset_index(drop=True)

    report = Report(format="siemens-insight", source="siemens", points=points, _chunks=chunks)
    for key, value in kw.items():
        setattr(report, key, value)
    return report


def info(content: str, name: str = "boliou1_11-30-18_02-00.csv") -> FileInfo:
    return FileInfo(
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        name=name,
        source="siemens",
        size=len(content),
    )


def count(conn: psycopg.Connection[object], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


EXAMPLE_SITE = Path(__file__).resolve().parent.parent / "examples" / "site.toml"
DAY = [
    ("BOLIOU.AHU1.SAT", "2018-11-29T06:00Z", 55.65),
    ("BOLIOU.AHU1.SAT", "2018-11-29T06:15Z", 56.07),
    ("BOLIOU.AHU1.SF.S", "2018-11-29T06:00Z", "OFF"),
    ("BOLIOU.AHU1.SF.S", "2018-11-29T06:15Z", "ON"),
    ("BOLIOU.HW.DPSP", "2018-11-29T06:00Z", -0.0),
]


def test_a_report_is_stored_with_its_points_readings_and_ledger_row(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        apply_site_file(conn, EXAMPLE_SITE)  # its naming rules give new points their building
        result = load_report(
            conn, make_report(DAY, first_ts=pd.Timestamp("2018-11-29T06:00Z")), info("a")
        )
        assert (
            result.status,
            result.readings,
            result.inserted,
            result.updated,
            result.unchanged,
        ) == (
            "ingested",
            5,
            5,
            0,
            0,
        )
        points = conn.execute(
            "SELECT p.name, p.kind, p.states, b.code FROM points p"
            " LEFT JOIN buildings b ON b.id = p.building_id ORDER BY p.name"
        ).fetchall()
        assert points == [
            ("BOLIOU.AHU1.SAT", "number", [], "BOLIOU"),
            ("BOLIOU.AHU1.SF.S", "enum", ["OFF", "ON"], "BOLIOU"),
            ("BOLIOU.HW.DPSP", "number", [], "BOLIOU"),
        ]
        enum = conn.execute(
            "SELECT r.value FROM readings r JOIN points p ON p.id = r.point_id WHERE p.name = 'BOLIOU.AHU1.SF.S' ORDER BY ts"
        ).fetchall()
        assert enum == [(0.0,), (1.0,)]
        ledger = conn.execute(
            "SELECT status, readings, inserted, first_ts IS NOT NULL FROM files"
        ).fetchall()
        assert ledger == [("ingested", 5, 5, True)]


def test_a_byte_identical_file_is_a_duplicate_and_changes_nothing(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        load_report(conn, make_report(DAY), info("same bytes"))
        before = conn.execute("SELECT * FROM readings ORDER BY point_id, ts").fetchall()
        again = load_report(
            conn, make_report([(p, t, 1.0) for p, t, _ in DAY]), info("same bytes", "copy.csv")
        )
        assert again.status == "duplicate"
        assert conn.execute("SELECT * FROM readings ORDER BY point_id, ts").fetchall() == before
        assert conn.execute("SELECT count(*), max(duplicates_seen) FROM files").fetchone() == (1, 1)


def test_an_overlapping_backfill_counts_unchanged_and_updated_and_the_later_file_wins(
    database_url: str,
) -> None:
    with psycopg.connect(database_url) as conn:
        load_report(conn, make_report(DAY), info("first"))
        changed = [
            *DAY[:3],
            ("BOLIOU.AHU1.SF.S", "2018-11-29T06:15Z", "OFF"),
            ("BOLIOU.HW.DPSP", "2018-11-29T06:00Z", 9.5),
        ]
        extra = [("BOLIOU.AHU1.SAT", "2018-11-29T06:30Z", 57.0)]
        result = load_report(conn, make_report(changed + extra), info("second"))
        assert (result.readings, result.inserted, result.updated, result.unchanged) == (6, 1, 2, 3)
        assert len(result.changed_examples) == 2
        value = conn.execute(
            "SELECT value FROM readings r JOIN points p ON p.id = r.point_id WHERE p.name = 'BOLIOU.HW.DPSP'"
        ).fetchone()
        assert value == (9.5,)


def test_the_same_instant_twice_in_one_file_keeps_the_later_value(database_url: str) -> None:
    rows = [
        ("P", "2024-01-01T00:00Z", 1.0),
        ("P", "2024-01-01T00:00Z", 2.0),
        ("P", "2024-01-01T00:15Z", 3.0),
    ]
    with psycopg.connect(database_url) as conn:
        result = load_report(conn, make_report(rows), info("dup rows"))
        assert (result.readings, result.inserted) == (2, 2)
        assert conn.execute("SELECT value FROM readings ORDER BY ts").fetchall() == [(2.0,), (3.0,)]


def test_chunks_are_streamed_within_one_transaction(database_url: str) -> None:
    rows = [(f"P{i % 7}", "2024-01-01T00:00Z", float(i)) for i in range(7)]
    rows = [
        (
            f"P{i % 7}",
            (pd.Timestamp("2024-01-01T00:00Z") + pd.Timedelta(minutes=15 * (i // 7))).isoformat(),
            float(i),
        )
        for i in range(700)
    ]
    with psycopg.connect(database_url) as conn:
        result = load_report(conn, make_report(rows, chunk=64), info("chunked"))
        assert (result.readings, result.inserted, result.points) == (700, 700, 7)
        assert count(conn, "readings") == 700


def test_a_file_that_fails_midway_leaves_no_trace(database_url: str) -> None:
    calls = iter(range(100))
    with psycopg.connect(database_url) as conn:
        with pytest.raises(Cancelled):
            load_report(
                conn, make_report(DAY, chunk=2), info("half"), should_stop=lambda: next(calls) >= 1
            )
        assert (count(conn, "files"), count(conn, "readings"), count(conn, "points")) == (0, 0, 0)


def test_a_retried_failed_file_replaces_its_failed_ledger_row(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        record_failure(conn, info("retry me"), "line 3: bad")
        assert conn.execute("SELECT status, error FROM files").fetchall() == [
            ("failed", "line 3: bad")
        ]
        result = load_report(conn, make_report(DAY), info("retry me"))
        assert result.status == "ingested"
        assert conn.execute("SELECT status, error, readings FROM files").fetchall() == [
            ("ingested", None, 5)
        ]


def test_a_state_for_a_numeric_point_with_readings_is_skipped_not_stored(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        load_report(conn, make_report([("P", "2024-01-01T00:00Z", 1.0)]), info("one"))
        result = load_report(
            conn,
            make_report([("P", "2024-01-01T00:15Z", "ON"), ("P", "2024-01-01T00:30Z", 2.0)]),
            info("two"),
        )
        assert (result.readings, result.skipped) == (1, 1)
        assert conn.execute("SELECT kind, states FROM points").fetchall() == [("number", [])]


def test_points_without_any_value_are_still_registered(database_url: str) -> None:
    report = make_report(DAY)
    report.points["BOLIOU.OLD.PT"] = PointInfo(
        name="BOLIOU.OLD.PT", trend_definition="Error:  No trend definitions found."
    )
    with psycopg.connect(database_url) as conn:
        load_report(conn, report, info("with error point"))
        row = conn.execute(
            "SELECT kind, trend_definition FROM points WHERE name = 'BOLIOU.OLD.PT'"
        ).fetchone()
        assert row == ("number", "Error:  No trend definitions found.")


def _labels(
    point: str, labels: list[str], day: str = "2024-02-01"
) -> list[tuple[str, str, float | str]]:
    start = pd.Timestamp(f"{day}T00:00Z")
    return [
        (point, (start + pd.Timedelta(minutes=i)).isoformat(), label)
        for i, label in enumerate(labels)
    ]


def test_state_labels_keep_their_order_of_first_appearance_across_chunks(
    database_url: str,
) -> None:
    labels = ["B", "A", "B", "C", "A", "D", "E", "C", "F"]
    with psycopg.connect(database_url) as conn:
        load_report(conn, make_report(_labels("M", labels), chunk=2), info("ordered"))
        assert conn.execute("SELECT states FROM points").fetchone() == (
            ["B", "A", "C", "D", "E", "F"],
        )
        stored = [r[0] for r in conn.execute("SELECT value FROM readings ORDER BY ts")]
        assert stored == [0, 1, 0, 2, 1, 3, 4, 2, 5]


def test_a_point_never_gets_more_than_max_states_labels(database_url: str) -> None:
    """A text trend with a new word on every row is not an enumeration: the cells past the
    cap are not stored, counted and said, in one file and across files."""
    first = [f"S{i}" for i in range(MAX_STATES - 56)]
    second = [f"T{i}" for i in range(100)]
    with psycopg.connect(database_url) as conn:
        one = load_report(conn, make_report(_labels("FREE", first), chunk=37), info("one"))
        assert (one.readings, one.over_cap) == (MAX_STATES - 56, 0)
        two = load_report(
            conn, make_report(_labels("FREE", second, "2024-02-02"), chunk=37), info("two")
        )
        assert (two.readings, two.over_cap, two.skipped) == (56, 44, 0)
        states = conn.execute("SELECT states FROM points").fetchone()
        assert states is not None and states[0] == first + second[:56]
        warnings = conn.execute(
            "SELECT warnings FROM files WHERE id = %s", (two.file_id,)
        ).fetchone()
        assert warnings is not None
        assert any(f"already has {MAX_STATES} distinct text states" in w for w in warnings[0])


@pytest.mark.slow
def test_two_loaders_appending_states_to_one_point_keep_each_label_once(
    database_url: str,
) -> None:
    """Loader A appends X, Y and holds its transaction open; loader B, wanting Y, Z, waits for
    A's row lock and then appends only Z — and stores Y under A's index."""
    with psycopg.connect(database_url) as conn:
        load_report(conn, make_report(_labels("M", ["W"])), info("seed"))
    in_a = threading.Event()
    release = threading.Event()
    calls = [0]

    def a_pauses() -> bool:
        calls[0] += 1
        if calls[0] == 2:  # after the first chunk was stored
            in_a.set()
            release.wait(30)
        return False

    def load_a() -> None:
        with psycopg.connect(database_url) as conn:
            rows = _labels("M", ["X", "Y"], "2024-03-01") + _labels("M", ["X"], "2024-03-02")
            load_report(conn, make_report(rows, chunk=2), info("a"), should_stop=a_pauses)

    def load_b() -> None:
        with psycopg.connect(database_url) as conn:
            load_report(conn, make_report(_labels("M", ["Y", "Z"], "2024-04-01")), info("b"))

    a = threading.Thread(target=load_a)
    a.start()
    assert in_a.wait(30)
    b = threading.Thread(target=load_b)
    b.start()
    b.join(1.0)
    assert b.is_alive(), "B waits for A's lock on the point"
    release.set()
    a.join(30)
    b.join(30)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT states FROM points").fetchone() == (["W", "X", "Y", "Z"],)
        b_values = conn.execute(
            "SELECT value FROM readings WHERE ts >= '2024-04-01' ORDER BY ts"
        ).fetchall()
        assert b_values == [(2.0,), (3.0,)]


def test_a_repeat_in_a_later_chunk_of_a_new_file_is_an_in_file_duplicate_not_a_change(
    database_url: str,
) -> None:
    """Through the real parser with small chunks: row 1's time comes again 40 rows later with
    other values. For a brand-new file nothing stored was changed: 2 in-file duplicates."""
    lines = insight_report(["R.P1", "R.P2"], datetime(2024, 6, 1), 50).decode().split("\r\n")
    data = [i for i, line in enumerate(lines) if line.startswith('"6/')]
    again = lines[data[0]].replace('"', "").split(",")[:2]
    lines.insert(data[40], f'"{again[0]}","{again[1]}","99.00","98.00"')
    content = "\r\n".join(lines).encode()
    report = parse(content, name="repeats.csv", chunk_rows=10)
    with psycopg.connect(database_url) as conn:
        result = load_report(conn, report, info(content.decode(), "repeats.csv"))
        assert (result.readings, result.inserted, result.updated, result.unchanged) == (
            100,
            100,
            0,
            0,
        )
        assert result.repeated == 2
        first = conn.execute("SELECT value FROM readings ORDER BY ts, point_id LIMIT 2").fetchall()
        assert first == [(99.0,), (98.0,)]  # the later row of the file wins
        warnings = conn.execute("SELECT warnings FROM files").fetchone()
        assert warnings is not None
        assert (
            "2 values repeated a point and time within the file; the later was kept" in warnings[0]
        )


def test_a_file_with_thousands_of_warnings_stores_the_first_hundred_and_a_count(
    database_url: str,
) -> None:
    report = make_report(DAY)
    report.warnings = [
        f"line {n}: unexpected line in the report header ignored" for n in range(5000)
    ]
    with psycopg.connect(database_url) as conn:
        load_report(conn, report, info("noisy"))
        row = conn.execute("SELECT warnings FROM files").fetchone()
    assert row is not None and len(row[0]) == 101
    assert row[0][-1] == "… and 4900 more warnings (energy-ingest check shows them all)"
