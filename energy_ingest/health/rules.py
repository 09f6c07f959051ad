"""The site file's [[rules]] as alerts: each point a rule's point_search selects with at least
`count` readings in the rule's window that satisfy its value_search."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg import sql

from energy_ingest.catalog.search import SearchError, parse
from energy_ingest.catalog.site.model import Rule, Site
from energy_ingest.errors import first_line
from energy_ingest.health.findings import HIGH, NORMAL, Finding
from energy_ingest.localtime import local
from energy_ingest.query.search import where

log = logging.getLogger("energy_ingest.health")
Conn = psycopg.Connection[Any]

# One rule, one statement: the points its point_search selects (the row `p`, as the legacy
# /rule/<id>/matches picks them, retired ones left out), and per point its readings `x` in the
# window that ends at its newest reading (at or before now) that satisfy the value_search (over
# `x` and `p`, as the legacy API compiles it). The window ends at the data, not at now: a daily
# report's readings end hours before it is loaded, and a condition holds until newer readings
# say otherwise (a point whose readings stop is the stale check's). Two primary-key probes per
# point: its newest reading, then only the window.
MATCHES = """
SELECT p.id, p.name, p.building_id, p.kind, p.states, u.symbol,
       m.matches, m.latest_ts, m.latest_value
FROM points p
LEFT JOIN units u ON u.id = p.unit_id
CROSS JOIN LATERAL (
    SELECT r.ts AS upto FROM readings r WHERE r.point_id = p.id AND r.ts <= %(now)s
    ORDER BY r.ts DESC LIMIT 1
) e
CROSS JOIN LATERAL (
    SELECT count(*) AS matches, max(x.ts) AS latest_ts,
           (array_agg(x.value ORDER BY x.ts DESC))[1] AS latest_value
    FROM readings x
    WHERE x.point_id = p.id AND x.ts > e.upto - %(window)s AND x.ts <= e.upto AND {values}
) m
WHERE p.retired_at IS NULL AND {points} AND m.matches >= %(count)s
ORDER BY p.name COLLATE "C", p.id
"""


def evaluate(conn: Conn, site: Site, now: datetime) -> list[Finding]:
    """A finding per (rule, point) whose readings satisfy the rule now: every [[rules]] entry
    with a value_search whose alert is not 'off'. A rule that fails (its search no longer
    parses, its statement errs) is logged and skipped; the others are still evaluated."""
    rules = [r for r in site.rules if r.alert != "off" and r.value_search]
    if not rules:
        return []
    ids = dict(
        conn.execute(
            "SELECT name, id FROM rules WHERE name = ANY(%s)", ([r.name for r in rules],)
        ).fetchall()
    )
    zone = _zone(conn)
    findings: list[Finding] = []
    for rule in rules:
        rule_id = ids.get(rule.name)
        if rule_id is None:
            log.warning(
                "rule %r (site file line %d) is not in the catalog's rules yet, so it raises no"
                " alert: run `energy-ingest catalog apply`",
                rule.name,
                rule.line,
            )
            continue
        try:
            with conn.transaction():  # a savepoint: one failing rule leaves the others' work
                findings += _rule(conn, rule, rule_id, now, zone)
        except (SearchError, ValueError, psycopg.Error) as exc:
            if conn.closed or conn.broken:
                raise
            log.error(
                "rule %r (site file line %d) was skipped: %s; fix it in the site file and run"
                " `energy-ingest catalog apply`",
                rule.name,
                rule.line,
                first_line(exc),
            )
    return findings


def statement(rule: Rule, now: datetime) -> tuple[sql.Composed, dict[str, Any]]:
    """The rule's one statement (MATCHES) and its parameters; SearchError for a search that
    does not parse."""
    points = where(parse(rule.point_search, "points"), "points", prefix="point_search")
    values = where(parse(rule.value_search, "values"), "values", prefix="value_search")
    query = sql.SQL(MATCHES).format(points=points.sql, values=values.sql)
    return query, {
        **points.params,
        **values.params,
        "window": timedelta(seconds=rule.window_s),
        "now": now,
        "count": rule.count,
    }


def _rule(conn: Conn, rule: Rule, rule_id: int, now: datetime, zone: str) -> list[Finding]:
    query, bound = statement(rule, now)
    found = []
    for point_id, name, building_id, kind, states, symbol, matches, ts, value in conn.execute(
        query, bound
    ):
        shown = _value(kind, states, value)
        unit = f" {symbol}" if symbol and kind != "enum" else ""
        found.append(
            Finding(
                kind="rule",
                subject=f"rule:{rule_id}:point:{point_id}",
                priority=HIGH if rule.alert == "high" else NORMAL,
                summary=(
                    f"{rule.name}: {name} was {shown}{unit} at {local(ts, zone, seconds=False)}"
                    f" ({matches} reading{'s' if matches != 1 else ''} in {span(rule.window_s)})"
                ),
                details={
                    "rule": rule.name,
                    "point": name,
                    "matches": matches,
                    "latest_value": shown if kind == "enum" else value,
                    "latest_ts": ts.isoformat(),
                    "window_s": rule.window_s,
                    "count": rule.count,
                },
                link=rule.url or f"/api/v2/points/{point_id}",
                point_id=point_id,
                building_id=building_id,
                rule_id=rule_id,
            )
        )
    return found


def _zone(conn: Conn) -> str:
    """The campus's zone (the one its daily rollups use), for times in summaries."""
    row = conn.execute("SELECT day_zone FROM rollup_state").fetchone()
    name = row[0] if row else "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return str(name)


def _value(kind: str, states: list[str], value: float) -> str:
    """A reading as the energy team reads it: an enumeration's state label, else the number."""
    if kind == "enum":
        index = int(value)
        return states[index] if 0 <= index < len(states) else f"state {index}"
    return f"{value:.10g}"


def span(seconds: float) -> str:
    """A window in words: '15 min', '1 h', '36 h', '2 d', '90 s'."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"
