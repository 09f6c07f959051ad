"""Streamed answers (legacy /values, /rule/N/matches, v2 CSV) take a bounded share of the API:
slow readers of giant streams cannot keep a small request waiting."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import requests
from api_helpers import add_point, add_readings, every
from api_server import SlowReader, giant_points, latencies, median_ms, production_api, unit_capacity
from flask import Flask

from energy_api import create_app
from energy_ingest.config import Settings

# Everything of two points, as the legacy dashboard and an analyst's CSV export ask for it.
LEGACY = "/api/values?point_ids[]={a}&point_ids[]={b}&start_time=0&end_time=2000000000"
CSV = "/api/v2/values?points={a},{b}&start=2015-01-01&end=2030-01-01&format=csv&layout=long"
T0 = datetime(2015, 1, 1, tzinfo=UTC)
SMALL = "/api/v2/values?points={a}&start=2015-01-01T00:00Z&end=2015-01-02T00:00Z"


@pytest.mark.slow
def test_a_small_request_answers_within_2_s_while_8_giant_streams_are_read_slowly(
    database_url: str, tmp_path: Path
) -> None:
    """The unit's gunicorn (2 workers x 4 threads), 8 clients reading 30 MB answers at 8 KB/s:
    each worker streams at most ENERGY_API_STREAMS of them and answers the others 503 at once,
    so a thread is always left for small requests."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        a, b = giant_points(conn, 2, 150_000)
    workers, threads = unit_capacity()
    slots = Settings().api_streams
    assert slots < threads, "streams must leave each worker a thread for small requests"
    with production_api(database_url, tmp_path / "gunicorn.log") as url:
        port = int(url.rsplit(":", 1)[1])
        small = url + SMALL.format(a=a)
        before = latencies(small, 10)
        paths = [LEGACY.format(a=a, b=b), CSV.format(a=a, b=b)] * 4
        readers = [SlowReader("127.0.0.1", port, path) for path in paths]
        try:
            deadline = time.monotonic() + 10
            while any(r.status is None for r in readers) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # the streams fill their socket buffers (~4 MB each), then crawl
            during = latencies(small, 10)
            print(
                f"small request median: {median_ms(before)} ms alone,"
                f" {median_ms(during)} ms beside 8 slow streams (max {max(during):.2f} s)"
            )
            assert max(during) < 2.0, f"small requests took {during} s beside the streams"

            streaming = [r for r in readers if r.status == 200]
            assert 1 <= len(streaming) <= workers * slots, [r.status for r in readers]
            assert not any(r.finished for r in streaming), "the streams are still being read"
            for refused in (r for r in readers if r.status != 200):
                deadline = time.monotonic() + 10
                while not refused.finished and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert refused.status == 503, refused.received[:300]
                assert b"\r\nretry-after: " in refused.head.lower(), refused.head
                body = orjson.loads(bytes(refused.received).partition(b"\r\n\r\n")[2])
                assert body["error"]["code"] == "too_many_streams", body
        finally:
            for reader in readers:
                reader.close()

        # The slow clients gone, their workers take streams again.
        stream = url + LEGACY.format(a=a, b=b)
        deadline = time.monotonic() + 15
        while (status := _first_status(stream)) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 200, "a stream slot was never given back"


def _first_status(url: str) -> int:
    with requests.get(url, stream=True, timeout=10) as response:
        return response.status_code


def _app(settings: Settings, streams: int) -> Flask:
    return create_app(dataclasses.replace(settings, api_streams=streams))


def test_a_stream_over_the_workers_limit_is_refused_503_with_retry_after_and_what_to_do(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    point = add_point(db, "AHU1.SAT")
    add_readings(
        db, point, ((t, 1.0) for t in every(T0, T0 + timedelta(hours=10), timedelta(minutes=15)))
    )
    app = _app(settings, 1)
    try:
        client = app.test_client()
        legacy = LEGACY.replace("&point_ids[]={b}", "").format(a=point)
        with client.get(legacy) as held:  # its body not read yet: the stream holds its slot
            assert held.status_code == 200
            assert held.headers["X-Accel-Buffering"] == "no", "nginx buffers all but streams"
            assert "X-Accel-Buffering" not in client.get(SMALL.format(a=point)).headers
            for path in (legacy, CSV.replace(",{b}", "").format(a=point)):
                refused = client.get(path)
                assert refused.status_code == 503
                assert refused.headers["Retry-After"].isdigit()
                error = refused.get_json()["error"]
                assert error["code"] == "too_many_streams"
                assert "ENERGY_API_STREAMS" in error["message"], error
            assert client.get(SMALL.format(a=point)).status_code == 200, "small ones go on"
            assert len(orjson.loads(held.get_data())) == 40
        # read to the end, the stream gave its slot back (and its connection to the pool)
        for _ in range(12):
            response = client.get(legacy)
            assert response.status_code == 200
            assert len(orjson.loads(response.get_data())) == 40
    finally:
        app.extensions["energy_db"].close()
