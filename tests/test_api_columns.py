"""A JSON /values page made in numpy from columns (energy_api.values.columns: raw readings and
whole rollup buckets, hours unpacked from readings_hours, days and months from their rows)
answers byte for byte what the SQL answers: raw and every aggregate it serves, values near the
float8 limits and below 2^-958 (whose scaled sums lose bits), number and enum points, across a
DST change, on pages of any size (a small page reads a few points at a time)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from energy_api import create_app
from energy_api.values import columns
from energy_ingest.config import Settings

START = datetime(2024, 3, 8, 6, tzinfo=UTC)  # midnight in Chicago, two days before the change
MONTHS = datetime(2023, 9, 1, 5, tzinfo=UTC)  # midnight in Chicago: September to December
# each interval's range: hours and days over the DST change, months of the sparser readings
RANGES = {
    "raw": {"start": "2024-03-08", "end": "2024-03-14"},
    "1h": {"start": "2024-03-08", "end": "2024-03-14"},
    "1d": {"start": "2024-03-08", "end": "2024-03-14"},
    "1mo": {"start": "2023-09-01", "end": "2024-01-01"},
}
# magnitudes whose hourly sums of 4 stay finite (a sum beyond them is the SQL's to add)
EDGES = [1e307, -3e306, 1e-304, -1e-305, 5e-324, 2.0**-1000, 0.0, -0.0, 1 / 3, 61.25, -7.5]
QUERIES = [
    {"points": "A,B", "agg": "avg,sum,min,max,count,first,last"},
    {"points": "A,B,E", "agg": "count,first,last", "layout": "long"},
    {"points": "E,A"},
    {"points": "B", "agg": "sum,avg", "tz": "UTC", "start": "2024-03-09T05:00"},
    {"points": "A", "agg": "avg", "tz": "Europe/Berlin"},
]


def _queries(interval: str) -> list[dict[str, str]]:
    """Days and months are the rollups' own in their zone only (else hours are grouped)."""
    if interval == "raw":
        return [{k: v for k, v in q.items() if k != "agg"} for q in QUERIES]
    return QUERIES if interval == "1h" else [q for q in QUERIES if "tz" not in q]


@pytest.fixture
def readings(database_url: str) -> None:
    rng = random.Random(27)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO points (source, name, kind, states) VALUES ('siemens', 'A', 'number',"
            " '{}'), ('siemens', 'B', 'number', '{}'), ('siemens', 'E', 'enum', '{OFF,ON,AUTO}')"
        )
        ids = dict(conn.execute("SELECT name, id FROM points").fetchall())
        with conn.cursor().copy("COPY readings (point_id, ts, value) FROM STDIN") as copy:
            for quarter in range(4 * 24 * 6):  # six days, some hours missing readings
                if rng.random() < 0.1:
                    continue
                ts = START + timedelta(minutes=15 * quarter)
                big = rng.choice([1.0, 1e-300, 1e300])
                copy.write_row((ids["A"], ts, rng.choice(EDGES)))
                copy.write_row((ids["B"], ts, rng.uniform(-1e3, 1e3) * big))
                copy.write_row((ids["E"], ts, float(rng.randrange(3))))
            for six_hours in range(4 * 31 * 4):  # four months, finite monthly sums
                ts = MONTHS + timedelta(hours=6 * six_hours)
                copy.write_row((ids["A"], ts, rng.choice(EDGES[2:])))
                copy.write_row((ids["B"], ts, rng.uniform(-1e3, 1e3)))
                copy.write_row((ids["E"], ts, float(rng.randrange(3))))
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        conn.execute("UPDATE rollup_state SET stale_since = NULL")  # COPY marked them stale


def _answers(
    settings: Settings, interval: str, query: dict[str, str], max_bytes: int
) -> tuple[bytes, str]:
    client = create_app(dataclasses.replace(settings, api_max_bytes=max_bytes)).test_client()
    params = {**RANGES[interval], "interval": interval, **query}
    body, source = b"", ""
    while True:
        reply = client.get("/api/v2/values", query_string=params)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        body, source = body + reply.data, reply.headers["X-Energy-Source"]
        cursor = reply.get_json()["meta"]["next"]
        if cursor is None:
            return body, source
        params["cursor"] = cursor


@pytest.mark.parametrize("interval", ["raw", "1h", "1d", "1mo"])
@pytest.mark.parametrize("max_bytes", [16 << 20, 3000])
def test_columns_made_in_numpy_are_the_sqls_answer_byte_for_byte(
    readings: None,
    api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    interval: str,
    max_bytes: int,
) -> None:
    served = []

    def counted(conn: psycopg.Connection[Any], plan: Any) -> Any:
        found = made(conn, plan)
        served.append(found is not None)
        return found

    made = columns.columns
    monkeypatch.setattr(columns, "columns", counted)
    python = [_answers(api_settings, interval, q, max_bytes) for q in _queries(interval)]
    assert served and all(served)
    monkeypatch.setattr(columns, "columns", lambda conn, plan: None)
    sql = [_answers(api_settings, interval, q, max_bytes) for q in _queries(interval)]
    table = {
        "raw": "readings",
        "1h": "readings_hourly",
        "1d": "readings_daily",
        "1mo": "readings_monthly",
    }
    assert {source for _, source in python} == {table[interval]}
    for query, mine, theirs in zip(_queries(interval), python, sql, strict=True):
        assert mine == theirs, query
        assert mine[0].count(b'"next":null') == 1  # pages were followed to the last
