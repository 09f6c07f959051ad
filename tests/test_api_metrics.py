"""GET /metrics: Prometheus text of what the daemon last saw and evaluated, parsed back with
prometheus_client's own parser and checked against the rows written."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import prometheus_client
import psycopg
from api_helpers import add_point, add_readings, every, insert_row
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from energy_api import create_app
from energy_ingest.config import Settings

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Each sample as {(name, sorted labels): value}."""
    reply = client.get("/metrics")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(reply.get_data(as_text=True)):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_give_the_spool_evaluation_series_alerts_readings_and_rollups(
    app: Flask, client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    app.extensions["energy_clock"] = lambda: NOW
    db.execute(
        "UPDATE health_state SET backlog = 3, failed = 1, evaluated_at = %s",
        (NOW - timedelta(seconds=90),),
    )
    boliou = insert_row(
        db,
        "report_series",
        source="siemens",
        name="boliou1",
        status="overdue",
        last_arrival=NOW - timedelta(days=2),
    )
    insert_row(db, "report_series", source="alc", name="ahu", status="ok")  # never arrived
    for state, priority in (("firing", "high"), ("pending", "normal"), ("resolved", "high")):
        for n in range(2 if state == "firing" else 1):
            insert_row(
                db,
                "alerts",
                kind="overdue",
                subject=f"series:{boliou}:{state}:{n}",
                priority=priority,
                state=state,
                summary="boliou1 overdue",
                opened_at=NOW,
                last_seen=NOW,
            )
    point = add_point(db, "P")
    add_readings(
        db, point, ((ts, 1.0) for ts in every(NOW, NOW + timedelta(hours=5), timedelta(minutes=1)))
    )
    db.execute("ANALYZE readings")
    db.execute("UPDATE rollup_state SET stale_since = %s", (NOW,))

    samples = scrape(client)
    assert samples[("energy_up", ())] == 1
    assert samples[("energy_backlog_files", ())] == 3
    assert samples[("energy_failed_files", ())] == 1
    assert samples[("energy_last_evaluation_age_seconds", ())] == 90
    siemens = (("series", "boliou1"), ("source", "siemens"))
    alc = (("series", "ahu"), ("source", "alc"))
    assert samples[("energy_series_last_ingest_age_seconds", siemens)] == 2 * 86400
    assert ("energy_series_last_ingest_age_seconds", alc) not in samples  # nothing arrived yet
    assert (
        samples[("energy_series_overdue", siemens)],
        samples[("energy_series_overdue", alc)],
    ) == (1, 0)
    alerts = {k[1]: v for k, v in samples.items() if k[0] == "energy_alerts_open"}
    assert alerts == {
        (("kind", "overdue"), ("priority", "high"), ("state", "firing")): 2,
        (("kind", "overdue"), ("priority", "normal"), ("state", "pending")): 1,
    }
    assert samples[("energy_readings_estimate", ())] == 300
    assert samples[("energy_rollups_stale", ())] == 1

    db.execute("UPDATE rollup_state SET stale_since = NULL")
    db.execute("UPDATE health_state SET evaluated_at = NULL, backlog = NULL")
    samples = scrape(client)
    assert samples[("energy_rollups_stale", ())] == 0
    assert math.isinf(samples[("energy_last_evaluation_age_seconds", ())])  # never evaluated
    assert ("energy_backlog_files", ()) not in samples  # the daemon has not said


def test_metrics_keep_no_global_state_between_requests(client: FlaskClient) -> None:
    first = client.get("/metrics").get_data(as_text=True)
    assert client.get("/metrics").get_data(as_text=True).replace(
        "energy_last_evaluation_age_seconds", ""
    ) == first.replace("energy_last_evaluation_age_seconds", "")
    assert "energy_up" in first
    registered = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not {name for name in registered if name.startswith("energy_")}


def test_a_database_down_is_a_503_saying_why_with_energy_up_0(api_settings: Settings) -> None:
    app = create_app(
        dataclasses.replace(api_settings, database_url="postgresql://postgres@127.0.0.1:1/nope")
    )
    app.extensions["energy_db"].timeout = 1.0
    try:
        reply = app.test_client().get("/metrics")
    finally:
        app.extensions["energy_db"].close()
    assert reply.status_code == 503
    assert reply.mimetype == "text/plain"
    lines = reply.get_data(as_text=True).splitlines()
    assert lines[0].startswith("# the database cannot be reached: ")
    assert lines[1:] == ["energy_up 0"]
    families = list(text_string_to_metric_families(reply.get_data(as_text=True)))
    assert [(f.name, f.samples[0].value) for f in families] == [("energy_up", 0)]
