"""Data health in the read API: /alerts, /series, point statuses, the catalog's status counts and
/health's degraded states, over rows written as the daemon's evaluator writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import psycopg
import pytest
from api_helpers import add_catalog, add_file, add_point, insert_row
from flask.testing import FlaskClient

from energy_api.openapi.document import document
from energy_api.openapi.v2 import HEALTH

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def add_series(db: psycopg.Connection[Any], name: str, **values: Any) -> int:
    row = {"source": "siemens", "name": name, **values}
    return insert_row(db, "report_series", **row)


def add_alert(db: psycopg.Connection[Any], kind: str, subject: str, **values: Any) -> int:
    row = {
        "kind": kind,
        "subject": subject,
        "priority": "normal",
        "state": "firing",
        "summary": f"{subject} {kind}",
        "opened_at": T0,
        "last_seen": T0,
        **values,
    }
    return insert_row(db, "alerts", **row)


def mark_evaluated(db: psycopg.Connection[Any], at: datetime | None = None) -> None:
    db.execute("UPDATE health_state SET evaluated_at = %s", (at or datetime.now(UTC),))


def get(client: FlaskClient, url: str, status: int = 200) -> Any:
    reply = client.get(url)
    assert reply.status_code == status, reply.get_data(as_text=True)
    return reply.get_json()


def schema(name: str) -> dict[str, Any]:
    return {**document()["components"]["schemas"][name], "components": document()["components"]}


# --- /alerts -----------------------------------------------------------------------------------


@pytest.fixture
def alerts(db: psycopg.Connection[Any]) -> dict[str, int]:
    ids = add_catalog(db)
    series = add_series(db, "boliou1")
    return {
        "old_firing": add_alert(
            db,
            "overdue",
            f"series:{series}",
            priority="high",
            summary="boliou1 (siemens) overdue",
            series_id=series,
            fired_at=T0 + timedelta(minutes=5),
            link=f"/api/v2/series/{series}",
        ),
        "pending": add_alert(
            db,
            "stale",
            "point:1",
            state="pending",
            opened_at=T0 + timedelta(hours=1),
            building_id=ids["HU"],
        ),
        "resolved": add_alert(
            db,
            "flat",
            "point:2",
            state="resolved",
            opened_at=T0 + timedelta(hours=2),
            resolved_at=T0 + timedelta(hours=3),
        ),
    }


def test_alerts_are_the_open_ones_newest_first_with_every_state_counted(
    client: FlaskClient, alerts: dict[str, int]
) -> None:
    body = get(client, "/api/v2/alerts?tz=America/Chicago")
    assert [a["id"] for a in body["data"]] == [alerts["pending"], alerts["old_firing"]]
    assert body["meta"] == {
        "count": 2,
        "total": 2,
        "limit": 100,
        "offset": 0,
        "tz": "America/Chicago",
        "counts": {"pending": 1, "firing": 1, "resolved": 1},
    }
    pending, firing = body["data"]
    assert pending["building"] == "HU" and pending["state"] == "pending"
    assert firing["opened_at"] == "2026-03-02T06:00:00-06:00"
    assert firing["fired_at"] == "2026-03-02T06:05:00-06:00"
    assert firing["summary"] == "boliou1 (siemens) overdue"
    assert firing["resolved_at"] is None and firing["suppressed_by"] is None
    assert set(firing) == set(schema("Alert")["required"])
    jsonschema.validate(firing, schema("Alert"))


def test_alerts_filter_by_status_kind_and_priority(
    client: FlaskClient, alerts: dict[str, int]
) -> None:
    resolved = get(client, "/api/v2/alerts?status=resolved")["data"]
    assert [a["id"] for a in resolved] == [alerts["resolved"]]
    assert resolved[0]["resolved_at"].startswith("2026-03-02T")
    high = get(client, "/api/v2/alerts?priority=high")["data"]
    assert [a["id"] for a in high] == [alerts["old_firing"]]
    stale = get(client, "/api/v2/alerts?kind=stale&status=all")["data"]
    assert [a["id"] for a in stale] == [alerts["pending"]]
    paged = get(client, "/api/v2/alerts?status=all&limit=1&offset=1")
    assert [a["id"] for a in paged["data"]] == [alerts["pending"]]
    assert paged["meta"]["total"] == 3


@pytest.mark.parametrize(
    ("query", "param"),
    [("status=closed", "status"), ("kind=hot", "kind"), ("priority=urgent", "priority")],
)
def test_a_bad_alerts_filter_is_a_400_naming_the_parameter(
    client: FlaskClient, query: str, param: str
) -> None:
    error = get(client, f"/api/v2/alerts?{query}", 400)["error"]
    assert error["param"] == param
    assert "is not one of" in error["message"]


def test_one_alert_by_id_and_an_unknown_id_is_a_404(
    client: FlaskClient, alerts: dict[str, int]
) -> None:
    found = get(client, f"/api/v2/alerts/{alerts['resolved']}?tz=UTC")["data"]
    assert (found["kind"], found["state"]) == ("flat", "resolved")
    assert found["resolved_at"] == "2026-03-02T15:00:00+00:00"
    for missing in ("999999", "abc"):
        error = get(client, f"/api/v2/alerts/{missing}", 404)["error"]
        assert error["code"] == "unknown_alert" and "/api/v2/alerts" in error["message"]


# --- /series -----------------------------------------------------------------------------------


def test_series_give_cadence_as_iso_8601_their_points_and_how_overdue(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    file_id = add_file(db, "boliou1_03-01-26_02-00.csv")
    daily = add_series(
        db,
        "boliou1",
        cadence=timedelta(days=1),
        last_run=T0 - timedelta(days=2),
        expected_next=T0 - timedelta(days=1),
        last_arrival=T0 - timedelta(days=2),
        status="overdue",
        files=7,
        evaluated_at=T0 - timedelta(hours=20),
    )
    quarter = add_series(db, "ahu", source="alc", cadence=timedelta(minutes=15), status="ok")
    for name in ("A", "B"):
        point = add_point(db, name)
        db.execute("INSERT INTO series_points VALUES (%s, %s, %s)", (daily, point, file_id))
    body = get(client, "/api/v2/series?tz=UTC")
    assert body["meta"] == {"count": 2, "tz": "UTC"}
    first, second = body["data"]
    assert (first["id"], second["id"]) == (quarter, daily)  # by source, then name
    assert (first["cadence"], first["cadence_s"], first["points"]) == ("PT15M", 900, 0)
    assert second == {
        "id": daily,
        "source": "siemens",
        "name": "boliou1",
        "cadence": "P1D",
        "cadence_s": 86400,
        "last_run": "2026-02-28T12:00:00+00:00",
        "expected_next": "2026-03-01T12:00:00+00:00",
        "last_data": None,
        "last_arrival": "2026-02-28T12:00:00+00:00",
        "status": "overdue",
        "files": 7,
        "points": 2,
        "overdue_s": 4 * 3600,  # at its evaluation, 20 hours before T0
        "evaluated_at": "2026-03-01T16:00:00+00:00",
    }
    jsonschema.validate(second, schema("Series"))
    assert [s["id"] for s in get(client, "/api/v2/series?status=overdue")["data"]] == [daily]
    assert [s["id"] for s in get(client, "/api/v2/series?source=alc")["data"]] == [quarter]
    assert get(client, f"/api/v2/series/{daily}?tz=UTC")["data"] == second
    assert get(client, "/api/v2/series?status=late", 400)["error"]["param"] == "status"
    assert get(client, "/api/v2/series/424242", 404)["error"]["code"] == "unknown_series"


# --- statuses on points and in the catalog -------------------------------------------------------


def test_points_carry_their_status_null_until_evaluated_and_filter_by_it(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    ids = add_catalog(db)
    since = T0 - timedelta(hours=6)
    for name, status in (("BOLIOU.AHU1.SAT", "stale"), ("BOLIOU.AHU1.RAT", "ok")):
        point = add_point(db, name, building_id=ids["HU"])
        db.execute(
            "INSERT INTO point_health (point_id, status, since, evaluated_at)"
            " VALUES (%s, %s, %s, %s)",
            (point, status, since, T0),
        )
    stale = get(client, "/api/v2/points?status=stale&tz=UTC")
    assert [p["name"] for p in stale["data"]] == ["BOLIOU.AHU1.SAT"]
    assert stale["meta"]["total"] == 1
    assert stale["data"][0]["status_since"] == "2026-03-02T06:00:00+00:00"
    every = {p["name"]: p["status"] for p in get(client, "/api/v2/points?limit=10000")["data"]}
    assert every["BOLIOU.AHU1.RAT"] == "ok"
    unevaluated = [name for name, status in every.items() if status is None]
    assert unevaluated and "BOLIOU.AHU1.SAT" not in unevaluated
    one = get(client, "/api/v2/points/BOLIOU.AHU1.SAT?include=latest")["data"]
    assert (one["status"], one["latest"]) == ("stale", None)
    assert get(client, "/api/v2/points?status=broken", 400)["error"]["param"] == "status"
    buildings = {b["code"]: b for b in get(client, "/api/v2/buildings")["data"]}
    assert buildings["HU"]["statuses"] == {"ok": 1, "stale": 1}
    assert buildings["GH"]["statuses"] == {}  # its points are not evaluated yet


# --- /health -----------------------------------------------------------------------------------


def health(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = get(client, "/api/v2/health")
    jsonschema.validate(body, HEALTH)
    return body


def test_health_is_degraded_while_a_high_priority_alert_fires_unsuppressed(
    client: FlaskClient, db: psycopg.Connection[Any], alerts: dict[str, int]
) -> None:
    mark_evaluated(db)
    body = health(client)
    assert body["status"] == "degraded"
    assert body["reason"] == (
        "1 high-priority alert firing: boliou1 (siemens) overdue; see /api/v2/alerts"
    )
    assert body["alerts"] == {"firing": 1, "high": 1}
    assert body["series"] == {"overdue": 0, "ok": 0, "historical": 0}
    add_alert(
        db,
        "building_stale",
        "building:1",
        priority="high",
        summary="HU: every point stale",
        fired_at=T0 + timedelta(minutes=9),
    )
    assert health(client)["reason"] == (
        "2 high-priority alerts firing: boliou1 (siemens) overdue, HU: every point stale;"
        " see /api/v2/alerts"
    )
    db.execute("UPDATE alerts SET suppressed_by = %s WHERE id <> %s", (alerts["old_firing"],) * 2)
    db.execute("UPDATE alerts SET priority = 'normal' WHERE id = %s", (alerts["old_firing"],))
    body = health(client)
    assert (body["status"], body["reason"]) == ("ok", None)
    assert body["alerts"] == {"firing": 2, "high": 1}  # the suppressed one still counts


def test_health_is_degraded_when_the_evaluation_is_stale_or_never_ran_while_files_exist(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    body = health(client)
    assert (body["status"], body["evaluated_at"]) == ("ok", None)  # no files: nothing to evaluate
    add_file(db, "boliou1_03-01-26_02-00.csv")
    assert health(client)["reason"] == (
        "data health has never been evaluated:"
        " is the ingest daemon running? (journalctl -u energy-ingest)"
    )
    # three periods of the default ENERGY_HEALTH_SECONDS (300) and a little
    late = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=905)
    mark_evaluated(db, late)
    body = health(client)
    assert body["status"] == "degraded"
    assert body["reason"] == (
        f"data health was last evaluated at {body['evaluated_at']}:"
        " is the ingest daemon running? (journalctl -u energy-ingest)"
    )
    assert datetime.fromisoformat(body["evaluated_at"]) == late
    mark_evaluated(db, datetime.now(UTC) - timedelta(seconds=850))
    assert health(client)["status"] == "ok"


def test_an_evaluation_changes_the_etag_of_cached_answers(
    client: FlaskClient, db: psycopg.Connection[Any], alerts: dict[str, int]
) -> None:
    first = client.get("/api/v2/alerts")
    etag = first.headers["ETag"]
    assert client.get("/api/v2/alerts", headers={"If-None-Match": etag}).status_code == 304
    db.execute("UPDATE alerts SET state = 'resolved' WHERE id = %s", (alerts["pending"],))
    mark_evaluated(db, T0 + timedelta(hours=4))
    again = client.get("/api/v2/alerts", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert [a["id"] for a in again.get_json()["data"]] == [alerts["old_firing"]]
    assert again.headers["ETag"] != etag


def test_health_before_the_health_migrations_says_to_migrate_and_leaves_their_fields_null(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    db.execute("DROP TABLE notices, alerts")
    db.execute("DELETE FROM schema_migrations WHERE version = 11")
    body = health(client)
    assert body["status"] == "degraded"
    assert body["reason"] == "migrations pending: 0011_alerts.sql; run `energy-ingest migrate`"
    assert (body["alerts"], body["series"], body["evaluated_at"]) == (None, None, None)
