-- Rollup sums added scaled by 2^-64 (energy_ingest/rollups/scale.py): two readings of 1.7e308
-- made a float8 sum overflow, which failed the rebuild (and, over rollups, the API) and let the
-- loader's numpy store +-Infinity or NaN where the readings' sum is finite. Scaled by a power of
-- two the sums are the same bits and cannot overflow; the stored `sum` stays the plain sum (the
-- scaled one times 2^64), +-Infinity beyond the float8 range, so no stored row is rewritten.

COMMENT ON COLUMN readings_hourly.sum IS 'plain sum of the readings; ±Infinity beyond the float8 range';
COMMENT ON COLUMN readings_daily.sum IS 'plain sum of the readings; ±Infinity beyond the float8 range';
COMMENT ON COLUMN readings_monthly.sum IS 'plain sum of the readings; ±Infinity beyond the float8 range';

-- x times 2^-64; 0 for |x| <= 2^-1011, where the product underflows (PostgreSQL would raise).
CREATE FUNCTION energy_scaled(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN abs(x) <= 4.5569512622227484e-305 THEN 0 ELSE x * 5.421010862427522e-20 END
$$;

-- A scaled sum as the rollups store it: times 2^64, +-Infinity beyond the float8 range (a
-- product that overflows would raise), NaN (and NULL) as they are.
CREATE FUNCTION energy_plain(scaled double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN abs(scaled) <= 9.745314011399998e+288 THEN scaled * 1.8446744073709552e+19
                WHEN scaled < 0 THEN '-Infinity'::float8
                WHEN scaled <> 'NaN'::float8 THEN 'Infinity'::float8
                ELSE scaled END
$$;

-- Months from their days, their sums added scaled; a day whose stored sum is +-Infinity adds
-- its readings instead (first_ts..last_ts bound them), so a month is its readings' sum and a
-- day of +inf and one of -inf make no NaN.
CREATE OR REPLACE FUNCTION energy_rollups_months(pids integer[], days timestamptz[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    zone    text := (SELECT day_zone FROM rollup_state);
    written bigint;
BEGIN
    INSERT INTO readings_monthly
    SELECT d.point_id, t.month, sum(d.n),
           energy_plain(sum(CASE WHEN abs(d.sum) < 'Infinity'::float8 THEN energy_scaled(d.sum)
               ELSE (SELECT sum(energy_scaled(r.value)) FROM readings r WHERE r.point_id = d.point_id
                     AND r.ts >= d.first_ts AND r.ts <= d.last_ts) END)),
           min(d.min), max(d.max), min(d.first_ts),
           (array_agg(d.first ORDER BY d.bucket))[1], max(d.last_ts),
           (array_agg(d.last ORDER BY d.bucket DESC))[1], energy_states_sum(d.states)
    FROM (SELECT DISTINCT p, date_trunc('month', b, zone) AS month
          FROM unnest(pids, days) AS u(p, b)) t
    JOIN readings_daily d ON d.point_id = t.p AND d.bucket >= t.month
         AND d.bucket < t.month + interval '32 days'
         AND date_trunc('month', d.bucket, zone) = t.month
    GROUP BY 1, 2
    ON CONFLICT (point_id, bucket) DO UPDATE SET n = EXCLUDED.n, sum = EXCLUDED.sum,
        min = EXCLUDED.min, max = EXCLUDED.max, first_ts = EXCLUDED.first_ts,
        first = EXCLUDED.first, last_ts = EXCLUDED.last_ts, last = EXCLUDED.last,
        states = EXCLUDED.states;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

CREATE OR REPLACE FUNCTION energy_rollups_refresh(pids integer[], since timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    zone    text := (SELECT day_zone FROM rollup_state);
    h_since timestamptz := date_trunc('hour', coalesce(since, '-infinity'), 'UTC');
    d_since timestamptz := date_trunc('day', coalesce(since, '-infinity'), zone);
    m_since timestamptz := date_trunc('month', coalesce(since, '-infinity'), zone);
    written bigint;
BEGIN
    DELETE FROM readings_hourly WHERE (pids IS NULL OR point_id = ANY(pids)) AND bucket >= h_since;
    DELETE FROM readings_daily WHERE (pids IS NULL OR point_id = ANY(pids)) AND bucket >= d_since;
    DELETE FROM readings_monthly WHERE (pids IS NULL OR point_id = ANY(pids)) AND bucket >= m_since;
    INSERT INTO readings_hourly
    SELECT r.point_id, date_trunc('hour', r.ts, 'UTC'), count(*),
           energy_plain(sum(energy_scaled(r.value))), min(r.value),
           max(r.value), min(r.ts), (array_agg(r.value ORDER BY r.ts))[1], max(r.ts),
           (array_agg(r.value ORDER BY r.ts DESC))[1],
           energy_state_counts(r.value) FILTER (WHERE p.kind = 'enum')
    FROM readings r JOIN points p ON p.id = r.point_id
    WHERE (pids IS NULL OR r.point_id = ANY(pids)) AND r.ts >= h_since
    GROUP BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO readings_daily
    SELECT r.point_id, date_trunc('day', r.ts, zone), count(*),
           energy_plain(sum(energy_scaled(r.value))), min(r.value),
           max(r.value), min(r.ts), (array_agg(r.value ORDER BY r.ts))[1], max(r.ts),
           (array_agg(r.value ORDER BY r.ts DESC))[1],
           energy_state_counts(r.value) FILTER (WHERE p.kind = 'enum')
    FROM readings r JOIN points p ON p.id = r.point_id
    WHERE (pids IS NULL OR r.point_id = ANY(pids)) AND r.ts >= d_since
    GROUP BY 1, 2;
    -- months from their days, as the loader does (the days before d_since in m_since's month
    -- are kept, and exact)
    PERFORM energy_rollups_months(array_agg(d.point_id), array_agg(d.bucket))
    FROM readings_daily d
    WHERE (pids IS NULL OR d.point_id = ANY(pids)) AND d.bucket >= m_since;
    RETURN written;
END
$$;

-- Stored sums stay: before 0007 PostgreSQL raised on a finite sum's overflow (the rebuild, and
-- months from days), but the loader's numpy stored +-Infinity or NaN for a bucket whose readings
-- it added past the float range, even where their sum is finite (1.7e308 + 1.7e308 - 1.7e308).
-- Only those buckets' points are recomputed; finding them reads the rollups, writing none else.
DO $$
DECLARE
    pids  integer[];
    since timestamptz;
BEGIN
    SELECT array_agg(DISTINCT point_id), min(bucket) INTO pids, since FROM (
        SELECT point_id, bucket, sum FROM readings_hourly
        UNION ALL SELECT point_id, bucket, sum FROM readings_daily
        UNION ALL SELECT point_id, bucket, sum FROM readings_monthly
    ) x WHERE NOT abs(sum) < 'Infinity'::float8;
    IF pids IS NOT NULL THEN
        PERFORM energy_rollups_refresh(pids, since);
    END IF;
END
$$;
