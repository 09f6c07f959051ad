"""Each point's status — retired, historical, stale, out of range, spike, flat or ok — from its
series, its rollups and a few newest readings, in set-based SQL; findings for the ones to tell."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import psycopg

from energy_ingest.catalog.site.model import Site
from energy_ingest.health.findings import NORMAL, Finding
from energy_ingest.health.limits import (
    FLAT_BEFORE_S,
    SPIKE_MIN_BUCKETS,
    limit_rows,
    thresholds,
)
from energy_ingest.health.series import every, no_jit
from energy_ingest.localtime import local
from energy_ingest.rollups.hours import hours_sql

# A point's interval: the median of (last_ts − first_ts) / (n − 1) over its newest 7 daily
# rollups (a partial day or a DST day gives the same interval), to a whole second. Learned again
# only where it is not known yet or a file has brought the point readings since it was judged.
_INTERVALS = """
UPDATE points p SET interval_s = x.iv
FROM (
    SELECT p2.id, (
        SELECT round(percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM d.last_ts - d.first_ts) / (d.n - 1)))
        FROM (SELECT * FROM readings_daily d WHERE d.point_id = p2.id
              ORDER BY d.bucket DESC LIMIT 7) d
        WHERE d.n > 1
    ) AS iv
    FROM points p2
    WHERE p2.interval_s IS NULL
       OR (SELECT ph.file_id FROM point_health ph WHERE ph.point_id = p2.id)
          IS DISTINCT FROM (SELECT max(sp.file_id) FROM series_points sp WHERE sp.point_id = p2.id)
) x
WHERE x.id = p.id AND p.interval_s IS DISTINCT FROM x.iv
"""

_STATUS = """
WITH lim AS (
    SELECT * FROM jsonb_to_recordset(%(limits)s::jsonb) AS l(
        rank integer, ord integer, selector text, match text, min float8, max float8,
        count integer, origin text)
),
base AS (
    SELECT p.id, p.name, p.kind, p.unit AS raw_unit, p.building_id, p.room_id, p.device_id,
           p.interval_s, p.retired_at, u.symbol, u.quantity,
           CASE WHEN linked.status <> 'historical' THEN linked.series_id END AS series_id,
           linked.series_name, linked.last_data, linked.cadence, linked.status AS s_status,
           linked.any_link, newest.ts AS newest_ts, newest.vals, newest.upto,
           ph.status AS was, ph.details AS was_details, ph.newest AS was_newest,
           ph.file_id AS was_file, ph.since AS was_since,
           (SELECT max(sp.file_id) FROM series_points sp WHERE sp.point_id = p.id) AS last_file
    FROM points p
    LEFT JOIN units u ON u.id = p.unit_id
    LEFT JOIN point_health ph ON ph.point_id = p.id
    LEFT JOIN LATERAL (  -- its series: any at all, and the live one that arrived last
        SELECT true AS any_link, s.id AS series_id, s.name AS series_name, s.last_data,
               s.cadence, s.status
        FROM series_points sp JOIN report_series s ON s.id = sp.series_id
        WHERE sp.point_id = p.id
        ORDER BY s.status = 'historical', s.status = 'overdue', s.last_data DESC NULLS LAST
        LIMIT 1
    ) linked ON true
    LEFT JOIN LATERAL (  -- the newest readings, for stale and spike (one probe)
        SELECT max(r.ts) AS ts, array_agg(r.value ORDER BY r.ts DESC) AS vals,
               date_trunc('hour', min(r.ts), 'UTC') AS upto
        FROM (SELECT r.ts, r.value FROM readings r WHERE r.point_id = p.id
              ORDER BY r.ts DESC LIMIT %(spike_count)s) r
    ) newest ON true
),
pre AS (
    SELECT b.*, CASE
        WHEN b.retired_at IS NOT NULL THEN 'retired'
        -- no series carries it (an export's point, or readings loaded before 0010), or none
        -- of its series is live
        WHEN b.any_link IS NULL OR b.series_id IS NULL THEN 'historical'
        -- its cells stopped while its series' data went on (still so while the series is
        -- overdue: the overdue alert then suppresses the stale one)
        WHEN b.last_data IS NOT NULL
             AND (b.newest_ts IS NULL OR b.newest_ts < b.last_data - make_interval(secs =>
                  coalesce(b.interval_s * %(stale_factor)s, extract(epoch FROM b.cadence))))
            THEN 'stale'
        END AS pre
    FROM base b
),
pre2 AS (  -- a status of its data only, judged with the same rules, and no file since
    SELECT p.*, p.pre IS NULL AND %(same_rules)s AND p.newest_ts IS NOT NULL
                AND p.was_newest = p.newest_ts AND p.was_file = p.last_file
                AND p.was IN ('ok', 'out_of_range', 'spike', 'flat') AS reuse
    FROM pre p
),
cand AS (SELECT * FROM pre2 WHERE pre IS NULL AND kind = 'number' AND NOT reuse),
rng AS (
    SELECT o.id, l.min, l.max, l.origin, v.n, v.value, v.ts, v.since
    FROM cand o
    CROSS JOIN LATERAL (
        SELECT l.* FROM lim l
        WHERE (l.selector = 'point' AND o.name LIKE l.match)
           OR (l.selector = 'building' AND EXISTS (
                  SELECT FROM buildings b WHERE b.id = o.building_id AND b.code = l.match))
           OR (l.selector = 'unit' AND (o.symbol = l.match OR o.raw_unit = l.match))
           OR (l.selector = 'quantity' AND o.quantity = l.match)
           OR (l.selector = 'tag' AND EXISTS (
                  SELECT FROM tags t WHERE t.name = l.match AND (
                      EXISTS (SELECT FROM point_tags x WHERE x.point_id = o.id AND x.tag_id = t.id)
                   OR EXISTS (SELECT FROM device_tags x
                              WHERE x.device_id = o.device_id AND x.tag_id = t.id)
                   OR EXISTS (SELECT FROM room_tags x WHERE x.room_id = o.room_id AND x.tag_id = t.id)
                   OR EXISTS (SELECT FROM building_tags x
                              WHERE x.building_id = o.building_id AND x.tag_id = t.id))))
        ORDER BY l.rank, l.ord LIMIT 1
    ) l
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, (array_agg(r.value ORDER BY r.ts DESC))[1] AS value,
               max(r.ts) AS ts, min(r.ts) AS since,
               bool_and(r.value < coalesce(l.min, '-Infinity') OR r.value > coalesce(l.max, 'Infinity'))
                   AS outside
        FROM (SELECT r.ts, r.value FROM readings r WHERE r.point_id = o.id
              ORDER BY r.ts DESC LIMIT coalesce(l.count, %(range_count)s)) r
    ) v
    WHERE v.outside AND v.n = coalesce(l.count, %(range_count)s)
),
spk AS (
    -- the window's hourly means read once, as an array: median and MAD both come from it
    SELECT s.id, s.vals, s.ts, s.median, s.mad,
           (SELECT max(abs(x - s.median)) / (1.4826 * s.mad) FROM unnest(s.vals) x) AS z
    FROM (
        SELECT o.id, o.vals, o.newest_ts AS ts, w.median,
               (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(m - w.median))
                FROM unnest(w.means) m) AS mad
        FROM cand o
        CROSS JOIN LATERAL (
            SELECT h.means, (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m)
                             FROM unnest(h.means) m) AS median
            FROM (SELECT array_agg(h.sum / h.n) AS means FROM @MEANS@
                  WHERE h.point_id = o.id AND h.bucket < o.upto
                    AND h.bucket >= o.upto - make_interval(secs => %(spike_window)s)
                    AND h.day < o.upto AND h.day >= date_trunc(
                        'day', o.upto - make_interval(secs => %(spike_window)s), 'UTC')) h
            WHERE cardinality(h.means) >= %(spike_buckets)s
        ) w
        WHERE cardinality(o.vals) = %(spike_count)s
    ) s
    WHERE s.mad > 0 AND (SELECT bool_and(abs(x - s.median) / (1.4826 * s.mad) > %(spike_z)s)
                        FROM unnest(s.vals) x)
),
flt AS (
    SELECT o.id, w.lo AS value, w.start, lb.last
    FROM cand o
    CROSS JOIN LATERAL (  -- its newest hour: one value, or it cannot be flat
        SELECT x.last FROM (
            SELECT h.bucket AS last, h.min = h.max AS one FROM @SPREAD@
            WHERE h.point_id = o.id ORDER BY h.day DESC, h.bucket DESC LIMIT 1
        ) x WHERE x.one
    ) lb
    CROSS JOIN LATERAL (
        SELECT count(*) AS buckets, min(h.min) AS lo, max(h.max) AS hi, min(h.bucket) AS start
        FROM @SPREAD@
        WHERE h.point_id = o.id AND h.bucket <= lb.last
          AND h.bucket > lb.last - make_interval(hours => %(flat_hours)s)
          AND h.day <= lb.last
          AND h.day >= date_trunc('day', lb.last - make_interval(hours => %(flat_hours)s), 'UTC')
    ) w
    WHERE w.buckets >= %(flat_hours)s AND w.lo = w.hi AND EXISTS (
        SELECT FROM @SPREAD@
        WHERE h.point_id = o.id AND h.bucket < w.start
          AND h.bucket >= w.start - make_interval(secs => %(flat_before)s)
          AND h.day < w.start
          AND h.day >= date_trunc('day', w.start - make_interval(secs => %(flat_before)s), 'UTC')
        HAVING min(h.min) < max(h.max))
),
judged AS (
    SELECT c.id, c.name, c.building_id, c.symbol, c.raw_unit, c.series_id, c.series_name,
           c.newest_ts, c.last_file, c.was, c.was_since,
           CASE WHEN c.pre IS NOT NULL THEN c.pre
                WHEN c.reuse THEN c.was
                WHEN r.id IS NOT NULL THEN 'out_of_range'
                WHEN s.id IS NOT NULL THEN 'spike'
                WHEN f.id IS NOT NULL THEN 'flat'
                ELSE 'ok' END AS status,
           CASE WHEN c.pre = 'stale' THEN jsonb_build_object(
                    'newest', c.newest_ts, 'series_last_data', c.last_data,
                    'interval_s', c.interval_s, 'series_id', c.series_id)
                WHEN c.pre IS NOT NULL THEN '{}'::jsonb
                WHEN c.reuse THEN c.was_details
                WHEN r.id IS NOT NULL THEN jsonb_build_object(
                    'value', r.value, 'ts', r.ts, 'since', r.since, 'min', r.min, 'max', r.max,
                    'count', r.n, 'limit', r.origin)
                WHEN s.id IS NOT NULL THEN jsonb_build_object(
                    'values', to_jsonb(s.vals), 'ts', s.ts, 'median', s.median, 'mad', s.mad,
                    'z', s.z)
                WHEN f.id IS NOT NULL THEN jsonb_build_object(
                    'value', f.value, 'since', f.start, 'last_hour', f.last,
                    'hours', %(flat_hours)s)
                ELSE '{}'::jsonb END AS details
    FROM pre2 c
    LEFT JOIN rng r ON r.id = c.id
    LEFT JOIN spk s ON s.id = c.id
    LEFT JOIN flt f ON f.id = c.id
),
dated AS (
    SELECT j.*, CASE WHEN j.was = j.status THEN j.was_since ELSE %(now)s END AS since FROM judged j
),
up AS (  -- only rows that changed: an evaluation that finds nothing new rewrites nothing
    INSERT INTO point_health AS h (point_id, status, since, details, newest, file_id,
                                   evaluated_at)
    SELECT d.id, d.status, d.since, d.details, d.newest_ts, d.last_file, %(now)s FROM dated d
    ON CONFLICT (point_id) DO UPDATE SET
        status = EXCLUDED.status, details = EXCLUDED.details, evaluated_at = EXCLUDED.evaluated_at,
        newest = EXCLUDED.newest, file_id = EXCLUDED.file_id, since = EXCLUDED.since
    WHERE (h.status, h.details, h.newest, h.file_id)
          IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.details, EXCLUDED.newest, EXCLUDED.file_id)
)
SELECT d.id, d.name, d.status, d.details, d.since, d.building_id, d.series_id, d.series_name,
       coalesce(d.symbol, d.raw_unit), (SELECT day_zone FROM rollup_state)
FROM dated d
WHERE d.status IN ('stale', 'out_of_range', 'spike', 'flat')
ORDER BY d.id
"""
# the hours it reads, unnesting only the arrays each part needs (energy_ingest.rollups.hours)
_STATUS = _STATUS.replace("@MEANS@", hours_sql({"sum"})).replace(
    "@SPREAD@", hours_sql({"min", "max"})
)


def refresh(conn: psycopg.Connection[Any], site: Site, now: datetime) -> list[Finding]:
    """Learn each point's interval, store each point's status in point_health (as of `now`,
    after series.refresh in the same transaction) and return a Finding for each point that is
    stale, out of range, spiking or flat. A point no file has brought readings to since it was
    last judged, with the same limits, thresholds and rollups, keeps its data status (out of
    range, spike, flat or ok) without its readings being read again: only what arrived is
    judged anew."""
    no_jit(conn)
    params = status_params(site, now)
    # What a point's data status depends on besides its readings (and the files that brought
    # them): the limits and thresholds, and the rollups (a rebuild, or a write that made them
    # stale, judges every point again).
    built = conn.execute("SELECT built_at, stale_writes FROM rollup_state").fetchone()
    rules = hashlib.sha256(
        f"{params['limits']}|{thresholds(site.health)}|{built}".encode()
    ).hexdigest()
    state = conn.execute("SELECT rules_digest FROM health_state").fetchone()
    params["same_rules"] = bool(state and state[0] == rules)
    conn.execute(_INTERVALS)
    conn.execute("UPDATE health_state SET rules_digest = %s", (rules,))
    rows = conn.execute(_STATUS, params).fetchall()
    return [_finding(*row) for row in rows]


def status_params(site: Site, now: datetime, same_rules: bool = False) -> dict[str, Any]:
    """The parameters of _STATUS: the site's limits and thresholds, judged at `now`
    (`same_rules`: a point no file brought readings to keeps its data status)."""
    t = thresholds(site.health)
    limits = [dict(zip(_LIMIT_COLUMNS, r, strict=True)) for r in limit_rows(site.health)]
    return {
        "now": now,
        "same_rules": same_rules,
        "limits": json.dumps(limits),
        "stale_factor": t.stale_factor,
        "range_count": t.range_count,
        "spike_count": t.spike_count,
        "spike_window": t.spike_window_s,
        "spike_buckets": SPIKE_MIN_BUCKETS,
        "spike_z": t.spike_z,
        "flat_hours": t.flat_hours,
        "flat_before": FLAT_BEFORE_S,
    }


_LIMIT_COLUMNS = ("rank", "ord", "selector", "match", "min", "max", "count", "origin")


def _finding(
    point_id: int,
    name: str,
    status: str,
    details: dict[str, Any],
    since: datetime,
    building_id: int | None,
    series_id: int | None,
    series_name: str | None,
    unit: str | None,
    zone: str,
) -> Finding:
    return Finding(
        kind=status,
        subject=f"point:{point_id}",
        priority=NORMAL,
        summary=_summary(name, status, details, series_name, unit, zone),
        details={**details, "since_status": since.isoformat()},
        link=f"/api/v2/points/{point_id}",
        series_id=series_id,
        point_id=point_id,
        building_id=building_id,
    )


def _summary(
    name: str, status: str, d: dict[str, Any], series_name: str | None, unit: str | None, zone: str
) -> str:
    def at(key: str) -> str:
        return local(datetime.fromisoformat(d[key]), zone, seconds=False)

    def val(x: float) -> str:
        return f"{x:g} {unit}" if unit else f"{x:g}"

    if status == "stale":
        newest = f"no reading since {at('newest')}" if d.get("newest") else "no readings at all"
        return (
            f"{name}: {newest}, though its series {series_name} has data to "
            f"{at('series_last_data')}"
        )
    if status == "out_of_range":
        bounds = " to ".join("…" if d[k] is None else val(d[k]) for k in ("min", "max"))
        return (
            f"{name}: {val(d['value'])} at {at('ts')}, outside {bounds} ({d['limit']}) for its "
            f"last {d['count']} readings since {at('since')}"
        )
    if status == "spike":
        return (
            f"{name}: {val(d['values'][0])} at {at('ts')} is a spike, {d['z']:.0f} spreads from "
            f"the median {val(d['median'])} of the hours before"
        )
    hours = int(d["hours"])
    return (
        f"{name}: flat at {val(d['value'])} for {every(hours * 3600)} and more, since "
        f"{at('since')}, though it varied in the week before"
    )
