"""The counts the status page shows beside /alerts and /files: `meta.total` and `meta.counts`
exact for every filter, against direct SQL over the same rows (the API counts each table once
and derives the rest: energy_api.sql.health.alert_counts, energy_api.sql.ledger.file_counts)."""

from __future__ import annotations

import itertools
from typing import Any

import psycopg
from flask.testing import FlaskClient

ALERTS = """
INSERT INTO alerts (kind, subject, priority, state, summary, opened_at, last_seen, resolved_at)
SELECT (ARRAY['stale', 'flat', 'overdue'])[i %% 3 + 1], 'point:' || i,
       CASE WHEN i %% 5 = 0 THEN 'high' ELSE 'normal' END,
       CASE WHEN i <= %(pending)s THEN 'pending' WHEN i <= %(open)s THEN 'firing'
            ELSE 'resolved' END,
       'alert ' || i, t, t, CASE WHEN i > %(open)s THEN t + interval '1 hour' END
FROM generate_series(1, %(n)s) i,
     LATERAL (SELECT timestamptz '2026-03-01' - i * interval '10 minutes' AS t) x
"""
FILES = """
INSERT INTO files (sha256, name, source, size_bytes, status, ingested_at, error)
SELECT md5(i::text) || md5('f' || i), format('r%%s_01-02-26_00-00.csv', i),
       CASE WHEN i %% 3 = 0 THEN 'alc' ELSE 'siemens' END, 100,
       CASE WHEN i %% %(failing)s = 0 THEN 'failed' ELSE 'ingested' END,
       timestamptz '2026-03-01' - i * interval '1 minute',
       CASE WHEN i %% %(failing)s = 0 THEN 'bad' END
FROM generate_series(1, %(n)s) i
"""


def meta(client: FlaskClient, path: str, **params: Any) -> dict[str, Any]:
    reply = client.get(path, query_string={k: v for k, v in params.items() if v is not None})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body: dict[str, Any] = reply.get_json()
    return body["meta"]


def scalar(db: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def test_alert_totals_and_counts_are_exact_for_every_filter(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    db.execute(ALERTS, {"n": 60, "pending": 7, "open": 19})
    counts = {"pending": 7, "firing": 12, "resolved": 41}
    states = {"open": ["pending", "firing"], "resolved": ["resolved"], "all": list(counts)}
    for status, kind, priority in itertools.product(
        states, (None, "stale", "overdue"), (None, "high", "normal")
    ):
        found = meta(client, "/api/v2/alerts", status=status, kind=kind, priority=priority)
        assert found["counts"] == counts
        assert found["total"] == scalar(
            db,
            "SELECT count(*) FROM alerts WHERE state = ANY(%s)"
            " AND kind = coalesce(%s, kind) AND priority = coalesce(%s, priority)",
            states[status],
            kind,
            priority,
        ), (status, kind, priority)


def test_file_totals_and_counts_are_exact_for_every_filter(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    db.execute(FILES, {"n": 50, "failing": 4})
    assert meta(client, "/api/v2/files")["counts"] == {"ingested": 38, "failed": 12}
    for status, source in itertools.product((None, "ingested", "failed"), (None, "alc")):
        found = meta(client, "/api/v2/files", status=status, source=source, limit=5)
        assert found["counts"] == {"ingested": 38, "failed": 12}
        assert found["total"] == scalar(
            db,
            "SELECT count(*) FROM files WHERE status = coalesce(%s, status)"
            " AND source = coalesce(%s, source)",
            status,
            source,
        ), (status, source)
