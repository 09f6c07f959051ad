"""Whole hours of a JSON /values answer, unpacked from readings_hours' day rows in Python
(energy_api.values.hours), answer byte for byte what the SQL answers: every aggregate it
serves, values near the float8 limits and below 2^-958 (whose scaled sums lose bits), number and
enum points, across a DST change, on pages of any size."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from energy_api import create_app
from energy_api.values import hours
from energy_ingest.config import Settings

START = datetime(2024, 3, 8, 6, tzinfo=UTC)  # midnight in Chicago, two days before the change
# magnitudes whose hourly sums of 4 stay finite (a sum beyond them is the SQL's to add)
EDGES = [1e307, -3e306, 1e-304, -1e-305, 5e-324, 2.0**-1000, 0.0, -0.0, 1 / 3, 61.25, -7.5]
QUERIES = [
    {"points": "A,B", "agg": "avg,sum,min,max,count,first,last"},
    {"points": "A,B,E", "agg": "count,first,last", "layout": "long"},
    {"points": "E,A"},
    {"points": "B", "agg": "sum,avg", "tz": "UTC", "start": "2024-03-09T05:00"},
    {"points": "A", "agg": "avg", "tz": "Europe/Berlin"},
]


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
        conn.execute("SELECT energy_rollups_refresh(NULL, NULL)")
        conn.execute("UPDATE rollup_state SET stale_since = NULL")  # COPY marked them stale


def _answers(settings: Settings, query: dict[str, str], max_bytes: int) -> tuple[bytes, str]:
    client = create_app(dataclasses.replace(settings, api_max_bytes=max_bytes)).test_client()
    params = {"start": "2024-03-08", "end": "2024-03-14", "interval": "1h", **query}
    body, source = b"", ""
    while True:
        reply = client.get("/api/v2/values", query_string=params)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        body, source = body + reply.data, reply.headers["X-Energy-Source"]
        cursor = reply.get_json()["meta"]["next"]
        if cursor is None:
            return body, source
        params["cursor"] = cursor


@pytest.mark.parametrize("max_bytes", [16 << 20, 3000])
def test_hours_unpacked_in_python_are_the_sqls_answer_byte_for_byte(
    readings: None, api_settings: Settings, monkeypatch: pytest.MonkeyPatch, max_bytes: int
) -> None:
    served = []

    def counted(conn: psycopg.Connection[Any], plan: Any) -> Any:
        found = unpacked(conn, plan)
        served.append(found is not None)
        return found

    unpacked = hours.rows
    monkeypatch.setattr(hours, "rows", counted)
    python = [_answers(api_settings, q, max_bytes) for q in QUERIES]
    assert served and all(served)
    monkeypatch.setattr(hours, "rows", lambda conn, plan: None)
    sql = [_answers(api_settings, q, max_bytes) for q in QUERIES]
    assert {source for _, source in python} == {"readings_hourly"}
    for query, mine, theirs in zip(QUERIES, python, sql, strict=True):
        assert mine == theirs, query
