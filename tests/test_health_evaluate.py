"""A whole evaluation (evaluate()) over real files: the checks' findings meet the alerts' state
machine — a point whose cells stopped is stale while its series arrives, and stays so, silenced
rather than "back to normal", while its series is overdue."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from flask.testing import FlaskClient
from helpers import insight_report

from energy_ingest.catalog.site import Site
from energy_ingest.config import Settings
from energy_ingest.health.evaluate import evaluate
from energy_ingest.pipeline import parse_and_load
from energy_ingest.write.ledger import FileInfo

ZONE = ZoneInfo("America/Chicago")
Conn = psycopg.Connection[Any]


def load(conn: Conn, name: str, data: bytes) -> None:
    info = FileInfo(hashlib.sha256(data).hexdigest(), name, "siemens", len(data))
    with conn.transaction():
        parse_and_load(conn, io.BytesIO(data), info, tz="America/Chicago", hint=None)
    conn.commit()


def hourly(conn: Conn, run: datetime, *, lost: bool) -> None:
    """The hour before `run` (local, naive) of HALL.SAT and HALL.RAT; RAT's cells `Data Loss`
    when `lost`."""
    data = insight_report(
        ["HALL.SAT", "HALL.RAT"],
        run - timedelta(hours=1),
        4,
        value=lambda r, c: "Data Loss" if lost and c == 1 else f"{55 + r + c:.1f}",
    )
    load(conn, f"hall_{run:%m-%d-%y_%H-%M}.csv", data)


def alerts(conn: Conn) -> dict[str, tuple[str, bool]]:
    """kind → (state, suppressed) of every alert."""
    rows = conn.execute("SELECT kind, state, suppressed_by IS NOT NULL FROM alerts").fetchall()
    return {kind: (state, muted) for kind, state, muted in rows}


def test_a_point_whose_cells_stopped_is_stale_and_is_silenced_not_resolved_while_its_series_is_overdue(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, series_grace_seconds=600)
    # The newest run is this hour's: its data (the hour before it) was recent when it was loaded,
    # whatever the minute now, so the series is live (its newest data at most 2 cadences + the
    # grace older than its arrival: energy_ingest/health/series.py). An hour earlier made the
    # series history, and the test fail, from about 50 minutes past the hour.
    t = datetime.now(ZONE).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    with psycopg.connect(database_url) as conn:
        hourly(conn, t - timedelta(hours=2), lost=False)
        hourly(conn, t - timedelta(hours=1), lost=True)
        hourly(conn, t, lost=True)

        def at(local: datetime) -> None:
            conn.commit()  # what the test read: evaluate() needs no transaction open
            result = evaluate(
                conn, settings, lambda _: Site(), local.replace(tzinfo=ZONE).astimezone(UTC)
            )
            assert result.ran

        at(t + timedelta(minutes=5))  # RAT stale: found, pending
        assert alerts(conn) == {"stale": ("pending", False)}
        status = conn.execute(
            "SELECT p.name, h.status FROM point_health h JOIN points p ON p.id = h.point_id"
        ).fetchall()
        assert sorted(status) == [("HALL.RAT", "stale"), ("HALL.SAT", "ok")]
        at(t + timedelta(minutes=20))  # held for 15 min: firing; the series is due at t + 1 h
        assert alerts(conn) == {"stale": ("firing", False)}
        at(t + timedelta(minutes=75))  # no report at t + 1 h (grace 10 min): overdue
        assert alerts(conn) == {"stale": ("firing", True), "overdue": ("firing", False)}
        at(t + timedelta(minutes=120))  # still: the stale alert is silenced, never "resolved"
        assert alerts(conn) == {"stale": ("firing", True), "overdue": ("firing", False)}
        assert conn.execute("SELECT count(*) FROM alerts WHERE state = 'resolved'").fetchone() == (
            0,
        )


def test_an_evaluation_that_finds_nothing_new_keeps_cached_answers_valid(
    database_url: str, client: FlaskClient
) -> None:
    settings = Settings(database_url=database_url, series_grace_seconds=600)
    t = datetime.now(ZONE).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    with psycopg.connect(database_url) as conn:
        hourly(conn, t - timedelta(hours=1), lost=False)
        hourly(conn, t, lost=False)

        def at(local: datetime) -> None:
            conn.commit()
            assert evaluate(
                conn, settings, lambda _: Site(), local.replace(tzinfo=ZONE).astimezone(UTC)
            ).ran

        at(t + timedelta(minutes=5))
        points = client.get("/api/v2/points").headers["ETag"]
        series = client.get("/api/v2/series").headers["ETag"]
        at(t + timedelta(minutes=10))  # nothing new: /points is still current
        assert client.get("/api/v2/points", headers={"If-None-Match": points}).status_code == 304
        # … but /series shows when it was evaluated, so it is not
        assert client.get("/api/v2/series", headers={"If-None-Match": series}).status_code == 200
        at(t + timedelta(minutes=75))  # the next report is overdue: what /points shows changed
        again = client.get("/api/v2/points", headers={"If-None-Match": points})
        assert again.status_code == 200
