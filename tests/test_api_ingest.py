"""GET /api/v2/ingest: what the ingest daemons are doing, as they publish it in ingest_activity
(energy_ingest.daemon.activity), never read from the spool. A real daemon loading a big file →
the route shows the file in progress, then not; rows of daemons gone are left out or removed."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from flask.testing import FlaskClient
from helpers import Daemon, daemon_in_thread, files_under, scalar, wait_until
from test_daemon import drop
from test_daemon_progress import big_report

from energy_api.openapi.document import document
from energy_ingest.config import Settings

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def ingest(client: FlaskClient, query: str = "") -> Any:
    reply = client.get(f"/api/v2/ingest{query}")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.headers["Cache-Control"] == "no-store"
    body = reply.get_json()
    jsonschema.validate(body, {**document()["components"]["schemas"]["Ingest"], **COMPONENTS})
    return body


COMPONENTS = {"components": document()["components"]}


def add_activity(db: psycopg.Connection[Any], daemon: str, **values: Any) -> None:
    row = {
        "daemon": daemon,
        "host": "replica-1",
        "pid": 4242,
        "started_at": T0,
        "updated_at": datetime.now(UTC),
        "backlog": 0,
        **values,
    }
    db.execute(
        f"INSERT INTO ingest_activity ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
        list(row.values()),
    )


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_with_no_daemon_it_says_what_the_last_evaluation_counted(
    db: psycopg.Connection[Any], client: FlaskClient
) -> None:
    assert ingest(client) == {
        "backlog": None,
        "backlog_at": None,
        "failed": None,
        "failed_at": None,
        "loading": [],
        "daemons": [],
        "stale_after_s": 30,
        "tz": "America/Chicago",
    }
    db.execute("UPDATE health_state SET backlog = 4, failed = 2, evaluated_at = %s", (T0,))
    body = ingest(client)
    assert (body["backlog"], body["backlog_at"]) == (4, "2026-03-02T06:00:00-06:00")
    assert (body["failed"], body["failed_at"]) == (2, "2026-03-02T06:00:00-06:00")
    utc = ingest(client, "?tz=UTC")
    assert (utc["backlog_at"], utc["tz"]) == ("2026-03-02T12:00:00+00:00", "UTC")


def test_live_daemons_give_the_backlog_and_their_files_and_silent_ones_are_left_out(
    db: psycopg.Connection[Any], client: FlaskClient
) -> None:
    db.execute("UPDATE health_state SET backlog = 9, failed = 1, evaluated_at = %s", (T0,))
    now = datetime.now(UTC).replace(microsecond=0)
    loading = {
        "path": "siemens/big.csv",
        "size": 20_000_000,
        "bytes_read": 5_000_000,
        "percent": 25,
        "values_parsed": 123_456,
        "file_started_at": now - timedelta(seconds=7),
    }
    add_activity(db, "a", backlog=3, updated_at=now, **loading)
    add_activity(db, "b", host="replica-2", pid=7, backlog=2, updated_at=now - timedelta(seconds=2))
    # silent for longer than stale_after_s: killed or stuck, whatever it says is no longer true
    add_activity(
        db, "c", backlog=50, updated_at=now - timedelta(seconds=31), path="siemens/old.csv"
    )
    body = ingest(client, "?tz=UTC")
    at = now.isoformat()
    assert body["backlog"] == 3 and body["backlog_at"] == at  # the largest, the freshest time
    assert body["failed"] == 1  # failed/ is counted at evaluations only
    assert body["loading"] == [
        {
            "path": "siemens/big.csv",
            "size": 20_000_000,
            "bytes_read": 5_000_000,
            "percent": 25,
            "values": 123_456,
            "started_at": (now - timedelta(seconds=7)).isoformat(),
            "updated_at": at,
            "host": "replica-1",
            "pid": 4242,
        }
    ]
    assert [(d["host"], d["pid"], d["backlog"]) for d in body["daemons"]] == [
        ("replica-1", 4242, 3),
        ("replica-2", 7, 2),
    ]
    db.execute("UPDATE ingest_activity SET updated_at = now() - interval '1 min'")
    body = ingest(client)
    assert (body["backlog"], body["loading"], body["daemons"]) == (9, [], [])


def test_the_reader_role_may_read_the_table_and_not_write_it(db: psycopg.Connection[Any]) -> None:
    rights = db.execute(
        "SELECT has_table_privilege('energy_reader', 'ingest_activity', 'SELECT'),"
        " has_table_privilege('energy_reader', 'ingest_activity', 'INSERT')"
    ).fetchone()
    assert rights == (True, False)


def test_a_daemon_removes_the_rows_of_this_hosts_daemons_that_are_gone_and_its_own_at_stop(
    db: psycopg.Connection[Any], client: FlaskClient, settings: Settings
) -> None:
    host = socket.gethostname()
    add_activity(db, "killed", host=host, pid=dead_pid(), updated_at=T0)
    add_activity(db, "elsewhere-recent", host="replica-9", updated_at=datetime.now(UTC))
    add_activity(db, "elsewhere-long-gone", host="replica-8", updated_at=T0)
    with daemon_in_thread(settings) as d:
        wait_until(lambda: len(ingest(client)["daemons"]) == 2, what="the daemon's row")
        rows = db.execute("SELECT daemon, host FROM ingest_activity ORDER BY daemon").fetchall()
        assert [r[0] for r in rows] == sorted(["elsewhere-recent", d.activity.daemon])
        mine = [x for x in ingest(client)["daemons"] if x["host"] == host]
        assert [(x["pid"], x["backlog"]) for x in mine] == [(d.activity.pid, 0)]
    assert scalar(settings.database_url or "", "SELECT count(*) FROM ingest_activity") == 1


@pytest.mark.daemon
def test_a_big_file_shows_in_progress_while_it_loads_and_is_gone_when_done(
    daemons: Callable[..., Daemon], spool_dir: Path, client: FlaskClient
) -> None:
    """The whole path: a daemon process loading a file → its row → the route; then nothing."""
    d = daemons(ENERGY_PROGRESS_SECONDS="0.3")
    wait_until(lambda: "watching" in d.text(), what="startup")
    wait_until(lambda: ingest(client)["daemons"], what="the daemon's row")
    assert d.proc is not None
    [daemon] = ingest(client)["daemons"]
    assert (daemon["host"], daemon["pid"]) == (socket.gethostname(), d.proc.pid)
    assert daemon["backlog"] == 0

    data = big_report()
    drop(spool_dir, "big.csv", data)
    seen: list[dict[str, Any]] = []

    def loading() -> bool:
        body = ingest(client)
        seen.extend(body["loading"])
        return len({f["percent"] for f in seen if f["values"] > 0}) >= 2  # moving

    wait_until(loading, timeout=60, what="the file in progress, moving")
    body = ingest(client)
    assert body["backlog"] == 1  # the file loading is still in the queue
    for f in seen:
        assert (f["path"], f["size"], f["pid"]) == ("siemens/big.csv", len(data), d.proc.pid)
        assert 0 <= f["percent"] <= 100 and 0 <= f["bytes_read"] <= len(data)
    percents = [f["percent"] for f in seen]
    assert percents == sorted(percents), percents
    assert seen[-1]["values"] > 0 and seen[-1]["started_at"].endswith(("-06:00", "-05:00"))

    wait_until(lambda: files_under(spool_dir / "archive"), timeout=120, what="the file archived")
    wait_until(
        lambda: (lambda b: b["loading"] == [] and b["backlog"] == 0)(ingest(client)),
        timeout=10,
        what="the file no longer in progress",
    )
    assert d.terminate() == 0
    assert ingest(client)["daemons"] == []  # a clean stop deletes its row
