"""One time convention for operators: ENERGY_TIMEZONE's local time with its offset, in log lines,
the ingest line's report range, the changed-values warning and the commands (issue 26)."""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import UTC, datetime

import pandas as pd
import psycopg
from helpers import insight_report, load_report

from energy_ingest.config import ConsoleFormatter, JournaldFormatter
from energy_ingest.localtime import local, span
from energy_ingest.pipeline import parse_and_load, time_span
from energy_ingest.write.ledger import FileInfo

# 2026-12-07 09:25:44 UTC is 03:25:44 in Chicago (CST, UTC-6)
MOMENT = datetime(2026, 12, 7, 9, 25, 44, tzinfo=UTC)


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    record = logging.LogRecord("energy_ingest.daemon", level, __file__, 1, message, None, None)
    record.created = MOMENT.timestamp()
    return record


def test_local_names_one_instant_with_its_offset() -> None:
    assert local(MOMENT, "America/Chicago") == "2026-12-07 03:25:44-06:00"
    assert local(MOMENT, "UTC", seconds=False) == "2026-12-07 09:25+00:00"


def test_span_shortens_within_a_day_and_spells_out_a_change_of_offset() -> None:
    a, b = datetime(2017, 6, 5, 5, 0, tzinfo=UTC), datetime(2017, 6, 5, 5, 30, tzinfo=UTC)
    assert span(a, b, "America/Chicago") == "2017-06-05 00:00–00:30-05:00"
    a, b = datetime(2026, 3, 7, 6, tzinfo=UTC), datetime(2026, 3, 10, 4, 45, tzinfo=UTC)
    assert span(a, b, "America/Chicago") == "2026-03-07 00:00-06:00 – 2026-03-09 23:45-05:00"


def test_a_console_log_line_carries_the_campus_local_time_with_its_offset() -> None:
    line = ConsoleFormatter("America/Chicago").format(_record("ingested x.csv"))
    assert line == "2026-12-07 03:25:44-06:00 INFO    energy_ingest.daemon: ingested x.csv"


def test_a_journald_line_has_its_priority_and_no_time_of_its_own() -> None:
    # journald stamps every line itself (and `journalctl` shows it in the reader's zone)
    line = JournaldFormatter().format(_record("something odd", logging.WARNING))
    assert line == "<4>something odd"


def test_the_ingest_line_names_its_report_range_in_local_time_with_offset() -> None:
    first = pd.Timestamp("2017-06-05 05:00", tz="UTC")
    last = pd.Timestamp("2017-06-05 05:30", tz="UTC")
    assert time_span(first, last, "America/Chicago") == "2017-06-05 00:00–00:30-05:00"
    assert time_span(None, last, "America/Chicago") == ""


def test_the_changed_values_warning_names_its_times_in_local_time(database_url: str) -> None:
    load_report(database_url, "a.csv", insight_report(["X.P1"], datetime(2024, 1, 1), 2))
    changed = insight_report(["X.P1"], datetime(2024, 1, 1), 2, value=lambda r, c: "99.5")
    info = FileInfo(hashlib.sha256(changed).hexdigest(), "b.csv", "siemens", len(changed))
    with psycopg.connect(database_url) as conn:
        loaded = parse_and_load(conn, io.BytesIO(changed), info, tz="America/Chicago", hint=None)
    (_, warning), *_ = loaded.result.notes()
    assert "X.P1 at 2024-01-01 00:00:00-06:00: 0 → 99.5" in warning, warning
