"""GET /metrics: Prometheus text exposition of data health, from a fresh registry per request
(no global state: each gunicorn worker answers alike from the database).

The database down is a 503 whose plain-text body says why, with `energy_up 0`: Prometheus marks
the scrape failed (its own `up` is 0) and a person with curl reads the cause.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from energy_api import errors, web
from energy_api.params import Params
from energy_api.sql.metrics import Snapshot, snapshot

bp = Blueprint("metrics", __name__)


class HealthCollector(Collector):
    """The gauges of one snapshot, ages measured at `now`."""

    def __init__(self, found: Snapshot, now: datetime) -> None:
        self.found = found
        self.now = now

    def collect(self) -> Iterator[Metric]:
        found = self.found
        yield _gauge("energy_up", "1: the API reached the database", 1)
        if found.backlog is not None:
            yield _gauge(
                "energy_backlog_files",
                "files waiting in the spool's incoming/ when the daemon last evaluated",
                found.backlog,
            )
        if found.failed is not None:
            yield _gauge(
                "energy_failed_files",
                "files in the spool's failed/ when the daemon last evaluated",
                found.failed,
            )
        yield _gauge(
            "energy_last_evaluation_age_seconds",
            "seconds since the daemon last evaluated data health (+Inf: never)",
            self._age(found.evaluated_at),
        )
        arrivals = GaugeMetricFamily(
            "energy_series_last_ingest_age_seconds",
            "seconds since the newest file of each report series was loaded",
            labels=["source", "series"],
        )
        overdue = GaugeMetricFamily(
            "energy_series_overdue",
            "1 when a report series' next file is overdue (as last evaluated), else 0",
            labels=["source", "series"],
        )
        for series in found.series:
            if series.last_arrival is not None:
                arrivals.add_metric([series.source, series.name], self._age(series.last_arrival))
            overdue.add_metric([series.source, series.name], 1 if series.overdue else 0)
        yield arrivals
        yield overdue
        alerts = GaugeMetricFamily(
            "energy_alerts_open",
            "alerts not resolved, by kind, priority and state (pending or firing)",
            labels=["kind", "priority", "state"],
        )
        for kind, priority, state, n in found.alerts:
            alerts.add_metric([kind, priority, state], n)
        yield alerts
        yield _gauge(
            "energy_readings_estimate",
            "readings stored, as PostgreSQL last estimated (pg_class.reltuples)",
            found.readings,
        )
        yield _gauge(
            "energy_rollups_stale",
            "1 while the rollups are stale (the API answers from readings), else 0",
            1 if found.rollups_stale else 0,
        )
        standby = found.replica
        yield _gauge(
            "energy_standby", "1: the API reads a hot standby, else 0", 1 if standby else 0
        )
        if standby is not None:
            yield _gauge(
                "energy_replica_lag_seconds",
                "seconds the standby's replay trails its primary: 0 while it has replayed all"
                " it received (NaN: nothing replayed yet)",
                math.nan if standby.lag_s is None else standby.lag_s,
            )
            yield _gauge(
                "energy_replica_streaming",
                "1 while the standby's WAL receiver runs, else 0 (its lag is then unknown)",
                1 if standby.streaming else 0,
            )

    def _age(self, moment: datetime | None) -> float:
        if moment is None:
            return math.inf
        return max(0.0, (self.now - moment).total_seconds())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


@bp.get("/metrics")
def metrics() -> Response:
    Params(request, ())
    try:
        with web.connection(timeout=3.0) as conn:
            found = snapshot(conn)
    except errors.DATABASE_DOWN as exc:
        _, reason = errors.database_down(exc)
        body = f"# {reason}\nenergy_up 0\n"
        return Response(body, status=503, mimetype="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(found, web.now()))
    response = Response(generate_latest(registry), status=200)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control.no_store = True
    return response
