-- Rollup sums scaled by 2^-64 (energy_ingest/rollups/scale.py): two readings of 1.7e308 made a
-- float8 sum overflow, which failed the file (or the rebuild) and, over rollups, the API. Scaled
-- by a power of two the sums are the same bits and cannot overflow; the API multiplies them back
-- and answers NULL for a sum beyond the float range.

COMMENT ON COLUMN readings_hourly.sum IS 'sum of the readings times 2^-64 (cannot overflow)';
COMMENT ON COLUMN readings_daily.sum IS 'sum of the readings times 2^-64 (cannot overflow)';
COMMENT ON COLUMN readings_monthly.sum IS 'sum of the readings times 2^-64 (cannot overflow)';

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
    SELECT r.point_id, date_trunc('hour', r.ts, 'UTC'), count(*), sum(r.value * 2::float8 ^ -64), min(r.value),
           max(r.value), min(r.ts), (array_agg(r.value ORDER BY r.ts))[1], max(r.ts),
           (array_agg(r.value ORDER BY r.ts DESC))[1],
           energy_state_counts(r.value) FILTER (WHERE p.kind = 'enum')
    FROM readings r JOIN points p ON p.id = r.point_id
    WHERE (pids IS NULL OR r.point_id = ANY(pids)) AND r.ts >= h_since
    GROUP BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO readings_daily
    SELECT r.point_id, date_trunc('day', r.ts, zone), count(*), sum(r.value * 2::float8 ^ -64), min(r.value),
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

UPDATE readings_hourly SET sum = sum * 2::float8 ^ -64;
UPDATE readings_daily SET sum = sum * 2::float8 ^ -64;
UPDATE readings_monthly SET sum = sum * 2::float8 ^ -64;

-- Buckets whose sum had overflowed to infinity (or NaN) in the loader: recomputed from readings.
DO $$
DECLARE
    pids  integer[];
    since timestamptz;
BEGIN
    SELECT array_agg(DISTINCT point_id), min(bucket) INTO pids, since FROM (
        SELECT point_id, bucket, sum FROM readings_hourly
        UNION ALL SELECT point_id, bucket, sum FROM readings_daily
        UNION ALL SELECT point_id, bucket, sum FROM readings_monthly
    ) x WHERE sum::text IN ('Infinity', '-Infinity', 'NaN');
    IF pids IS NOT NULL THEN
        PERFORM energy_rollups_refresh(pids, since);
    END IF;
END
$$;
