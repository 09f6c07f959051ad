"""Alerts' state machine with a controllable clock: pending → firing → resolved with hysteresis,
flapping, reminders, inhibition by an overdue series, and a building-wide outage as one alert."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import psycopg
import pytest
from alert_helpers import MINUTE, T0, Campus, alert_rows, evaluate, out_of_range, overdue, stale

from energy_ingest.config import Settings

Conn = psycopg.Connection[Any]


@pytest.fixture
def quiet(settings: Settings) -> Settings:
    """No channel: alerts are kept, nothing is queued."""
    return dataclasses.replace(settings, public_url="https://energy.example.edu")


@pytest.fixture
def mailing(settings: Settings) -> Settings:
    """Mail configured (never delivered here): queue() marks what it told."""
    return dataclasses.replace(
        settings, smtp_url="smtp://127.0.0.1:1", alert_to=("ops@example.edu",)
    )


def test_a_point_condition_is_pending_then_fires_after_ten_minutes(
    conn: Conn, quiet: Settings
) -> None:
    (point,) = Campus(conn).points(None, [], ["HU.SAT"])
    assert evaluate(conn, [out_of_range(point)], T0, quiet).fired == []
    assert evaluate(conn, [out_of_range(point)], T0 + 5 * MINUTE, quiet).fired == []
    (row,) = alert_rows(conn)
    assert row["state"] == "pending" and row["opened_at"] == T0
    fired = evaluate(conn, [out_of_range(point, 213.0)], T0 + 10 * MINUTE, quiet).fired
    assert [a.subject for a in fired] == [f"point:{point}"]
    (row,) = alert_rows(conn)
    assert row["state"] == "firing" and row["fired_at"] == T0 + 10 * MINUTE
    assert row["details"] == {"value": 213.0}  # refreshed from the newest finding
    assert row["last_seen"] == T0 + 10 * MINUTE


def test_a_firing_alert_resolves_only_after_fifteen_clear_minutes(
    conn: Conn, quiet: Settings
) -> None:
    (point,) = Campus(conn).points(None, [], ["HU.SAT"])
    for minutes in (0, 5, 10):
        evaluate(conn, [out_of_range(point)], T0 + minutes * MINUTE, quiet)
    assert evaluate(conn, [], T0 + 15 * MINUTE, quiet).resolved == []
    (row,) = alert_rows(conn)
    assert row["state"] == "firing" and row["clear_since"] == T0 + 15 * MINUTE
    assert evaluate(conn, [], T0 + 25 * MINUTE, quiet).resolved == []
    resolved = evaluate(conn, [], T0 + 30 * MINUTE, quiet).resolved
    assert [a.subject for a in resolved] == [f"point:{point}"]
    (row,) = alert_rows(conn)
    assert row["state"] == "resolved" and row["resolved_at"] == T0 + 30 * MINUTE


def test_a_condition_back_before_it_counted_as_clear_stays_the_same_firing_alert(
    conn: Conn, quiet: Settings
) -> None:
    (point,) = Campus(conn).points(None, [], ["HU.SAT"])
    for minutes in (0, 5, 10):
        evaluate(conn, [out_of_range(point)], T0 + minutes * MINUTE, quiet)
    evaluate(conn, [], T0 + 15 * MINUTE, quiet)
    changes = evaluate(conn, [out_of_range(point)], T0 + 20 * MINUTE, quiet)
    assert (changes.fired, changes.resolved) == ([], [])
    (row,) = alert_rows(conn)
    assert row["state"] == "firing" and row["clear_since"] is None
    assert row["fired_at"] == T0 + 10 * MINUTE  # hysteresis: one alert, never re-fired


def test_a_flapping_condition_never_fires_and_queues_no_notice(
    conn: Conn, mailing: Settings
) -> None:
    (point,) = Campus(conn).points(None, [], ["HU.SAT"])
    for step in range(12):  # found, gone, found, gone … every 5 minutes for an hour
        findings = [out_of_range(point)] if step % 2 == 0 else []
        changes = evaluate(conn, findings, T0 + 5 * step * MINUTE, mailing)
        assert changes.fired == []
    assert alert_rows(conn) == []  # each pending alert was forgotten: nobody was told
    assert conn.execute("SELECT count(*) FROM notices").fetchone() == (0,)


def test_an_overdue_series_fires_at_once_and_resolves_when_a_report_arrives(
    conn: Conn, quiet: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    series = Campus(conn).series("boliou1", status="overdue")
    caplog.set_level(logging.INFO, logger="energy_ingest.health")
    changes = evaluate(conn, [overdue(series)], T0, quiet)
    assert [a.kind for a in changes.fired] == ["overdue"]
    (record,) = [r for r in caplog.records if "firing" in r.getMessage()]
    assert record.levelno == logging.ERROR  # high: journald priority 3
    assert "boliou1 (siemens) is overdue" in record.getMessage()
    assert f"https://energy.example.edu/api/v2/series/{series}" in record.getMessage()
    caplog.clear()
    changes = evaluate(conn, [], T0 + 5 * MINUTE, quiet)
    assert [a.kind for a in changes.resolved] == ["overdue"]
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "resolved" in record.getMessage()


def test_a_normal_alert_firing_is_logged_as_a_warning(
    conn: Conn, quiet: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (point,) = Campus(conn).points(None, [], ["HU.SAT"])
    caplog.set_level(logging.INFO, logger="energy_ingest.health")
    for minutes in (0, 5, 10):
        evaluate(conn, [out_of_range(point)], T0 + minutes * MINUTE, quiet)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert f"reads 212.0 °F, above 140 — https://energy.example.edu/api/v2/points/{point}" in (
        record.getMessage()
    )


def test_a_notified_alert_is_reminded_after_the_repeat_interval(
    conn: Conn, mailing: Settings
) -> None:
    settings = dataclasses.replace(mailing, alert_repeat_seconds=3600)
    series = Campus(conn).series("boliou1", status="overdue")
    evaluate(conn, [overdue(series)], T0, settings)
    assert evaluate(conn, [overdue(series)], T0 + 55 * MINUTE, settings).reminded == []
    reminded = evaluate(conn, [overdue(series)], T0 + 60 * MINUTE, settings).reminded
    assert [a.subject for a in reminded] == [f"series:{series}"]
    (row,) = alert_rows(conn)
    assert row["notified_at"] == T0 + 60 * MINUTE  # advanced when the reminder was queued
    assert evaluate(conn, [overdue(series)], T0 + 65 * MINUTE, settings).reminded == []
    assert len(evaluate(conn, [overdue(series)], T0 + 120 * MINUTE, settings).reminded) == 1
    subjects = conn.execute(
        "SELECT subject FROM notices WHERE kind = 'immediate' ORDER BY id"
    ).fetchall()
    assert len(subjects) == 3 and subjects[1][0].startswith("[energy] 1 reminder — still: ")


def test_stale_alerts_of_an_overdue_series_points_are_suppressed_and_not_notified(
    conn: Conn, mailing: Settings
) -> None:
    campus = Campus(conn)
    building = campus.building("HU", "Hulings Hall")
    late, fine = campus.series("hulings"), campus.series("hulings-ahu")
    quiet_points = campus.points(building, [late], [f"HU.P{i}" for i in range(3)])
    (own,) = campus.points(building, [fine], ["HU.AHU1.SAT"])
    (both,) = campus.points(building, [late, fine], ["HU.AHU1.RAT"])
    campus.points(building, [fine], [f"HU.X{i}" for i in range(20)])  # a big building
    findings = [overdue(late, "hulings")] + [stale(p, building) for p in [*quiet_points, own, both]]
    evaluate(conn, findings, T0, mailing)
    evaluate(conn, findings, T0 + 5 * MINUTE, mailing)
    changes = evaluate(conn, findings, T0 + 10 * MINUTE, mailing)
    overdue_id = next(r["id"] for r in alert_rows(conn) if r["kind"] == "overdue")
    assert sorted(a.point_id or 0 for a in changes.suppressed) == sorted(quiet_points)
    assert {a.suppressed_by for a in changes.suppressed} == {overdue_id}
    # A point another arriving series still carries is stale on its own account.
    assert sorted(a.point_id or 0 for a in changes.fired) == sorted([own, both])
    (subject,) = conn.execute("SELECT subject FROM notices").fetchone() or ("",)
    assert subject == "[energy] 1 new high alert — hulings (siemens) is overdue"


def test_when_the_overdue_resolves_suppressed_alerts_that_still_hold_are_notified(
    conn: Conn, quiet: Settings
) -> None:
    campus = Campus(conn)
    late = campus.series("hulings")
    points = campus.points(None, [late], ["HU.P1", "HU.P2"])
    for minutes in (0, 5, 10):
        evaluate(conn, [overdue(late), *map(stale, points)], T0 + minutes * MINUTE, quiet)
    assert all(r["suppressed_by"] for r in alert_rows(conn) if r["kind"] == "stale")
    # The series' report arrives; one point's cells are still empty in it.
    changes = evaluate(conn, [stale(points[0])], T0 + 15 * MINUTE, quiet)
    assert [a.kind for a in changes.resolved] == ["overdue"]
    assert [a.point_id for a in changes.fired] == [points[0]]
    rows = {r["point_id"]: r for r in alert_rows(conn) if r["kind"] == "stale"}
    assert rows[points[0]]["suppressed_by"] is None and rows[points[0]]["state"] == "firing"
    assert rows[points[1]]["clear_since"] == T0 + 15 * MINUTE  # clearing, still suppressed
    assert rows[points[1]]["suppressed_by"] is not None


def test_a_building_wide_outage_is_one_high_alert(conn: Conn, quiet: Settings) -> None:
    campus = Campus(conn)
    building = campus.building("HU", "Hulings Hall")
    series = campus.series("hulings")
    points = campus.points(building, [series], [f"HU.AHU1.P{i:02}" for i in range(20)])
    findings = [stale(p, building) for p in points[:12]]
    changes = evaluate(conn, findings, T0, quiet)
    (row,) = alert_rows(conn)
    assert (row["kind"], row["subject"], row["priority"]) == (
        "building_stale",
        f"building:{building}",
        "high",
    )
    assert row["summary"] == (
        "HU (Hulings Hall): 12 of 20 points are stale, e.g. HU.AHU1.P00, HU.AHU1.P01, HU.AHU1.P02, …"
    )
    assert row["link"] == f"/api/v2/points?building_id={building}&status=stale"
    assert changes.fired == []  # pending like any point condition
    fired = evaluate(conn, findings, T0 + 10 * MINUTE, quiet).fired
    assert [a.kind for a in fired] == ["building_stale"]


def test_a_few_stale_points_of_a_building_stay_separate_alerts(conn: Conn, quiet: Settings) -> None:
    campus = Campus(conn)
    building = campus.building("HU")
    series = campus.series("hulings")
    points = campus.points(building, [series], [f"HU.P{i:02}" for i in range(20)])
    evaluate(conn, [stale(p, building) for p in points[:4]], T0, quiet)  # fewer than 5
    assert [r["kind"] for r in alert_rows(conn)] == ["stale"] * 4
    evaluate(conn, [stale(p, building) for p in points[:9]], T0 + MINUTE, quiet)  # < half
    assert [r["kind"] for r in alert_rows(conn)] == ["stale"] * 9


def test_a_building_outage_whose_series_is_overdue_is_suppressed(
    conn: Conn, mailing: Settings
) -> None:
    campus = Campus(conn)
    building = campus.building("HU")
    series = campus.series("hulings", status="overdue")
    points = campus.points(building, [series], [f"HU.P{i:02}" for i in range(8)])
    findings = [overdue(series), *(stale(p, building) for p in points)]
    for minutes in (0, 5, 10):
        changes = evaluate(conn, findings, T0 + minutes * MINUTE, mailing)
    assert [a.kind for a in changes.suppressed] == ["building_stale"]
    assert changes.fired == []
    rows = {r["kind"]: r for r in alert_rows(conn)}
    assert rows["building_stale"]["suppressed_by"] == rows["overdue"]["id"]
    assert rows["building_stale"]["notified_at"] is None
    assert conn.execute("SELECT count(*) FROM notices").fetchone() == (1,)  # the overdue only
