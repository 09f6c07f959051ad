"""/values from rollups answers exactly what it answers from readings.

Randomised readings spanning both of Chicago's 2024 DST changes are loaded by the real loader in
overlapping files (later ones change stored values), in small chunks so that buckets straddle
chunks. Then every aggregate × interval × kind × zone is asked for over ranges with partial and
whole first and last buckets, once with rollups complete (the rollup path must answer) and once
with them marked stale (readings alone answer): the answers must be identical. Sums and averages
may differ only in the last bits, by the order the floats were added in.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
import pytest
from flask.testing import FlaskClient
from rollup_helpers import rollup_differences

from energy_api import create_app
from energy_ingest.config import Settings
from energy_ingest.formats.report import PointInfo, Report
from energy_ingest.write.ledger import FileInfo
from energy_ingest.write.readings import load_report

START = datetime(2024, 2, 20, tzinfo=UTC)
END = datetime(2024, 11, 20, tzinfo=UTC)
DST = [datetime(2024, 3, 10, 8, tzinfo=UTC), datetime(2024, 11, 3, 7, tzinfo=UTC)]
NUMBERS = ["R.AHU1.SAT", "R.AHU1.RAT", "R.HW.FLOW"]
ENUMS = ["R.AHU1.SF.S", "R.AHU1.MODE"]
STATES = ["OFF", "ON", "AUTO"]
NUMBER_AGGS = ["avg", "min", "max", "sum", "count", "first", "last"]
ENUM_AGGS = ["count", "fraction:ON", "fraction:OFF", "first", "last"]
INEXACT = {"avg", "sum"}  # float sums in another order: equal to ~1e-15 relative
# zone → which table answers its whole calendar buckets (1h is hourly in all but Kolkata)
ZONES = {
    "America/Chicago": "readings_daily",  # the rollups' own zone (ENERGY_TIMEZONE)
    "Europe/Berlin": "readings_hourly",  # other whole-hour zones: from hourly rollups
    "UTC": "readings_hourly",
    "Asia/Kolkata": "readings",  # half-hour offset: local days are not made of UTC hours
}


def _instants(rng: random.Random, n: int) -> list[datetime]:
    """Random instants over the span, denser around both DST changes, on whole minutes."""
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            centre = rng.choice(DST)
            moment = centre + timedelta(minutes=rng.randint(-36 * 60, 36 * 60))
        else:
            moment = START + timedelta(
                minutes=rng.randint(0, int((END - START).total_seconds() // 60))
            )
        out.append(moment)
    return out


def _report(rows: list[tuple[str, datetime, float | str]], chunk: int) -> Report:
    frame = pd.DataFrame(
        {
            "point": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True).astype("datetime64[ns, UTC]"),
            "value": [r[2] if isinstance(r[2], float) else float("nan") for r in rows],
            "state": [r[2] if isinstance(r[2], str) else None for r in rows],
            "repeat": False,
        }
    )
    points = {n: PointInfo(name=n, trend_definition="COV") for n in dict.fromkeys(frame["point"])}

    def chunks() -> Iterator[pd.DataFrame]:
        for at in range(0, len(frame), chunk):
            yield frame.iloc[at : at + chunk].reset_index(drop=True)

    return Report(format="siemens-insight", source="siemens", points=points, _chunks=chunks)


def _load(
    conn: psycopg.Connection[Any], rows: list[tuple[str, datetime, float | str]], tag: str
) -> None:
    # one (point, ts) once per file; files are sorted by time like real reports
    unique = {(r[0], r[1]): r for r in rows}
    ordered = sorted(unique.values(), key=lambda r: (r[1], r[0]))
    info = FileInfo(
        sha256=hashlib.sha256(tag.encode()).hexdigest(), name=f"{tag}.csv", source="siemens", size=1
    )
    load_report(conn, _report(ordered, chunk=97), info)


def random_rows(
    rng: random.Random, numbers: int, enums: int
) -> list[tuple[str, datetime, float | str]]:
    """About `numbers` random readings of each number point and `enums` of each enum point."""
    rows: list[tuple[str, datetime, float | str]] = []
    for name in NUMBERS:
        rows += [(name, t, round(rng.uniform(-20, 120), 2)) for t in _instants(rng, numbers)]
    for name in ENUMS:
        rows += [(name, t, rng.choice(STATES)) for t in _instants(rng, enums)]
    return rows


@pytest.fixture(scope="module")
def campus(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database loaded by the loader: three overlapping files, the later changing values."""
    database_url = request.getfixturevalue("module_database_url")
    rng = random.Random(20241103)
    with psycopg.connect(database_url) as conn:
        for f in range(3):
            rows = random_rows(rng, 900, 600)
            if f:  # rewrite a sample of what is stored, with other values
                stored = conn.execute(
                    "SELECT p.name, p.kind, r.ts FROM readings r JOIN points p ON p.id = r.point_id"
                    " ORDER BY random() LIMIT 600"
                ).fetchall()
                rows += [
                    (
                        name,
                        ts,
                        rng.choice(STATES) if kind == "enum" else round(rng.uniform(-20, 120), 2),
                    )
                    for name, kind, ts in stored
                ]
            _load(conn, rows, f"file{f}")
            assert rollup_differences(conn) == []
        updated = conn.execute("SELECT sum(updated) FROM files").fetchone()
        assert updated is not None and updated[0] > 300  # stored values were really changed
    yield database_url


@pytest.fixture(scope="module")
def client(campus: str) -> Iterator[FlaskClient]:
    settings = Settings(database_url=campus, timezone="America/Chicago", api_max_rows=10_000_000)
    app = create_app(settings)
    yield app.test_client()
    app.extensions["energy_db"].close()


def _ids(conn: psycopg.Connection[Any], names: list[str]) -> str:
    rows = dict(conn.execute("SELECT name, id FROM points").fetchall())
    return ",".join(str(rows[n]) for n in names)


def _ranges(rng: random.Random) -> list[tuple[str, str]]:
    """Aligned and unaligned [start, end): local midnights, odd minutes, across each DST day."""
    out = [("2024-03-01T00:00", "2024-11-15T00:00"), ("2024-03-09T00:00", "2024-03-12T00:00")]
    for _ in range(3):
        a = START + timedelta(minutes=rng.randint(0, 60 * 24 * 120))
        b = a + timedelta(minutes=rng.randint(60 * 5, 60 * 24 * 150))
        out.append((a.isoformat(), b.isoformat()))
    out.append(("2024-11-02T13:37:00-05:00", "2024-11-04T02:10:00-06:00"))
    out.append(("2024-03-10T01:15:00-06:00", "2024-03-10T05:45:00-05:00"))
    out.append(("2024-03-17T00:00", "2024-10-09T06:30"))  # months whole in the middle only
    return out


def _ask(client: FlaskClient, **params: Any) -> Any:
    with client.get("/api/v2/values", query_string={"layout": "long", **params}) as response:
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert response.headers["X-Energy-Source"] == body["meta"]["source"]
        assert body["meta"]["next"] is None
        return body


def _same(aggs: list[str], fast: list[list[Any]], slow: list[list[Any]]) -> None:
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert a[:3] == b[:3], (a, b)
        for agg, x, y in zip(aggs, a[3:], b[3:], strict=True):
            if agg in INEXACT and isinstance(x, float):
                assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9), (agg, a, b)
            else:
                assert x == y and type(x) is type(y), (agg, a, b)


def _queries(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rng = random.Random(7)
    out = []
    for tz, calendar_source in ZONES.items():
        for start, end in _ranges(rng):
            for interval in ("1h", "1d", "1w", "1mo"):
                for names, aggs in ((NUMBERS, NUMBER_AGGS), (ENUMS, ENUM_AGGS)):
                    if interval == "1h":
                        expected = "readings" if tz == "Asia/Kolkata" else "readings_hourly"
                    elif interval == "1mo" and calendar_source == "readings_daily":
                        expected = "readings_monthly"  # months of the rollups' own zone
                    else:
                        expected = calendar_source
                    out.append(
                        {
                            "points": _ids(conn, names),
                            "start": start,
                            "end": end,
                            "tz": tz,
                            "interval": interval,
                            "agg": ",".join(aggs),
                            "_expect": expected,
                        }
                    )
    return out


@pytest.mark.slow
def test_the_rollup_path_answers_exactly_what_readings_answer(
    client: FlaskClient, campus: str
) -> None:
    with psycopg.connect(campus, autocommit=True) as conn:
        queries = _queries(conn)
        fast = []
        for q in queries:
            params = {k: v for k, v in q.items() if not k.startswith("_")}
            body = _ask(client, **params)
            fast.append(body)
        conn.execute("UPDATE rollup_state SET stale_since = now()")  # readings alone, now
        try:
            used = dict.fromkeys(
                ("readings", "readings_hourly", "readings_daily", "readings_monthly"), 0
            )
            for q, body in zip(queries, fast, strict=True):
                params = {k: v for k, v in q.items() if not k.startswith("_")}
                slow = _ask(client, **params)
                assert slow["meta"]["source"] == "readings"
                source = body["meta"]["source"]
                # a range too short for one whole bucket is readings' alone, whatever the zone
                assert source in (q["_expect"], "readings"), (q, source)
                used[source] += 1
                _same(q["agg"].split(","), body["data"], slow["data"])
        finally:
            conn.execute("UPDATE rollup_state SET stale_since = NULL")
    assert used["readings_daily"] >= 20 and used["readings_hourly"] >= 60, used
    assert used["readings_monthly"] >= 6, used
    assert sum(len(b["data"]) for b in fast) > 20_000  # the comparison had rows to compare


def test_stale_rollups_are_not_used_until_rebuilt(client: FlaskClient, campus: str) -> None:
    with psycopg.connect(campus, autocommit=True) as conn:
        ids = _ids(conn, NUMBERS[:1])
        query = {"points": ids, "start": "2024-04-01", "end": "2024-05-01", "interval": "1d"}
        assert _ask(client, **query)["meta"]["source"] == "readings_daily"
        with conn.transaction(force_rollback=True):  # a write by psql: the trigger notices
            conn.execute("UPDATE readings SET value = value + 1 WHERE point_id = %s", (int(ids),))
            row = conn.execute("SELECT stale_since IS NOT NULL FROM rollup_state").fetchone()
            assert row == (True,)
        assert _ask(client, **query)["meta"]["source"] == "readings_daily"  # rolled back: exact
