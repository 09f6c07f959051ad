"""Readings near the float8 limits (1.7e308, 1e-304) load, and every aggregate over them answers —
on the rollup path and on the readings path alike: a sum beyond the float range is null, an
average is the average, and a month of days beyond the range both ways is its exact sum."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from helpers import insight_report, scalar
from rollup_helpers import rollup_differences

from energy_ingest.cli import main

HUGE = 1.7e308
POWER = 2.0**1023  # two beyond the float range; its multiples add exactly in any order
# Chicago, from 2024-07-01 00:00 local: two readings a day (00:00 and 00:15, one 30-minute
# bucket and one hour) over 10 days, so weeks, months and days all hold several; one point
# whose readings of opposite sign overflow PostgreSQL's own avg() (its sum of squares); one whose
# days' sums are beyond the float range, +inf for 5 days then -inf (stored as ±Infinity), whose
# weeks and month are finite; and one so small that scaling it by 2^-64 underflows.
QUERIES = [
    {"interval": "30min", "agg": "sum,avg,count"},
    {"interval": "1h", "agg": "sum,avg,count"},
    {"interval": "1d", "agg": "count,sum,avg"},
    {"interval": "1w", "agg": "count,sum"},
    {"interval": "1mo", "agg": "count,sum"},
    {"interval": "1d", "agg": "sum", "tz": "Asia/Kolkata"},
    {"interval": "1mo", "agg": "count,sum,avg", "tz": "UTC"},
]


@pytest.fixture
def huge(database_url: str, spool_dir: Path, tmp_path: Path) -> str:
    """A real Insight report with huge values, imported by the CLI; returns the point ids."""
    report = tmp_path / "huge.csv"
    rows = [r for day in range(10) for r in (day * 96, day * 96 + 1)]

    def value(row: int, column: int) -> str:
        return [
            "1.7e308",
            "1e160" if row % 2 else "-1e160",
            repr(POWER if row < 96 * 5 else -POWER),
            "1e-304" if row % 2 else "0",
        ][column]

    names = ["HUGE.A", "HUGE.B", "HUGE.C", "TINY.D"]
    whole = insight_report(names, datetime(2024, 7, 1), 96 * 10, value=value)
    lines = whole.split(b"\r\n")
    head = next(i for i, line in enumerate(lines) if line.startswith(b'"<>Date"')) + 1
    kept = lines[:head] + [lines[head + r] for r in rows] + lines[head + 96 * 10 :]
    report.write_bytes(b"\r\n".join(kept))
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
    result = CliRunner().invoke(main, ["import", str(report)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert scalar(database_url, "SELECT count(*) FROM readings") == 80
    with psycopg.connect(database_url) as conn:
        assert rollup_differences(conn) == []
        ids = [r[0] for r in conn.execute("SELECT id FROM points ORDER BY name").fetchall()]
        stored = conn.execute(
            "SELECT array_agg(DISTINCT d.sum ORDER BY d.sum) FROM readings_daily d"
            " JOIN points p ON p.id = d.point_id GROUP BY p.name ORDER BY p.name"
        ).fetchall()
    assert [r[0] for r in stored][:3] == [[math.inf], [0.0], [-math.inf, math.inf]]  # as psql shows
    return ",".join(map(str, ids))


def _ask(client: FlaskClient, points: str, query: dict[str, str]) -> tuple[str, Any]:
    params = {"points": points, "start": "2024-06-30", "end": "2024-08-02", "layout": "long"}
    with client.get("/api/v2/values", query_string={**params, **query}) as reply:
        assert reply.status_code == 200, (query, reply.get_data(as_text=True))
        body = reply.get_json()
    return body["meta"]["source"], body["data"]


def test_sums_beyond_the_float_range_are_null_and_averages_exact_on_both_paths(
    huge: str, client: FlaskClient, database_url: str
) -> None:
    answers = {}
    for stale in (False, True):
        if stale:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute("UPDATE rollup_state SET stale_since = now()")
        for query in QUERIES:
            source, data = _ask(client, huge, query)
            raw = stale or query["interval"] == "30min" or query.get("tz") == "Asia/Kolkata"
            assert (source == "readings") == raw, (query, source)
            answers.setdefault(str(query), []).append(data)
    for query, (rollups, readings) in answers.items():
        assert rollups == readings, query
    by_agg: dict[tuple[str, str], set[Any]] = {}
    for query in QUERIES:
        for row in answers[str(query)][0]:
            for agg, cell in zip(query["agg"].split(","), row[3:], strict=True):
                by_agg.setdefault((row[0], agg), set()).add(cell)
    assert by_agg[("HUGE.A", "sum")] == {None}
    assert by_agg[("HUGE.A", "avg")] == {HUGE}
    assert by_agg[("HUGE.B", "sum")] == {0.0}
    assert by_agg[("HUGE.B", "avg")] == {0.0}
    assert by_agg[("HUGE.C", "avg")] == {POWER, -POWER, 0.0}  # days, and the month in UTC
    months = [row for row in answers[str(QUERIES[4])][0] if row[0] == "HUGE.C"]
    assert [row[3:] for row in months] == [[20, 0.0]]  # from a day of +inf and one of -inf
    assert None not in by_agg[("TINY.D", "sum")] | by_agg[("TINY.D", "avg")]
