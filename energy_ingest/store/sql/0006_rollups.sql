-- Rollups: per point, per UTC hour (readings_hourly) and per local day and month of
-- rollup_state.day_zone (readings_daily, readings_monthly), the aggregates the API needs for long
-- ranges, exact at commit. The loader recomputes every bucket a file touches, in the file's
-- transaction (months from their days: energy_rollups_months); `energy-ingest rollups rebuild`
-- (and `migrate`, for data already stored) recompute them.
-- A write to readings by anything else marks them stale (the API then answers from readings
-- alone) until a rebuild.

CREATE TABLE rollup_state (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    day_zone     text NOT NULL,              -- the zone of the daily and monthly buckets
    stale_since  timestamptz,                -- first write to readings that did not maintain rollups
    stale_writes bigint NOT NULL DEFAULT 0,  -- such writes (statements) so far
    built_at     timestamptz                 -- last full rebuild
);

CREATE TABLE readings_hourly (
    point_id integer NOT NULL,
    bucket   timestamptz NOT NULL,           -- the UTC hour
    n        integer NOT NULL,               -- readings in the bucket (never 0: no row instead)
    sum      double precision NOT NULL,
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    first_ts timestamptz NOT NULL,
    first    double precision NOT NULL,      -- the value at first_ts
    last_ts  timestamptz NOT NULL,
    last     double precision NOT NULL,
    states   integer[],                      -- enum points: states[k + 1] readings were state k
    PRIMARY KEY (point_id, bucket)
);
CREATE TABLE readings_daily (LIKE readings_hourly INCLUDING ALL);
COMMENT ON COLUMN readings_daily.bucket IS 'local midnight of rollup_state.day_zone';
CREATE TABLE readings_monthly (LIKE readings_hourly INCLUDING ALL);
COMMENT ON COLUMN readings_monthly.bucket IS 'local midnight of the 1st, in rollup_state.day_zone';

-- states[k + 1] += 1 for a reading of state k (an enum reading's value is its state's index).
CREATE FUNCTION energy_state_count(counts integer[], value double precision) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v < cardinality(c) THEN c[1:v] || (c[v + 1] + 1) || c[v + 2:]
                ELSE c || array_fill(0, ARRAY[v - cardinality(c)]) || 1 END
    FROM (SELECT coalesce(counts, '{}') AS c, value::integer AS v) x
$$;
CREATE AGGREGATE energy_state_counts(double precision) (
    SFUNC = energy_state_count, STYPE = integer[]
);

-- The state counts of two buckets added (NULL for numbers: STRICT skips them in the sum).
CREATE FUNCTION energy_states_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) ORDER BY i)
    FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i
$$;
CREATE AGGREGATE energy_states_sum(integer[]) (SFUNC = energy_states_add, STYPE = integer[]);

-- Recompute the months holding the local days `days` of points `pids` (parallel arrays) from
-- readings_daily: a month is the sum of its days, exact as they are. Returns the rows written.
CREATE FUNCTION energy_rollups_months(pids integer[], days timestamptz[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    zone    text := (SELECT day_zone FROM rollup_state);
    written bigint;
BEGIN
    INSERT INTO readings_monthly
    SELECT d.point_id, t.month, sum(d.n), sum(d.sum), min(d.min), max(d.max), min(d.first_ts),
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

-- Recompute the rollups of `pids` (NULL: every point) from the bucket holding `since` (NULL: all
-- time) on; returns the hourly rows written.
CREATE FUNCTION energy_rollups_refresh(pids integer[], since timestamptz) RETURNS bigint
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
    SELECT r.point_id, date_trunc('hour', r.ts, 'UTC'), count(*), sum(r.value), min(r.value),
           max(r.value), min(r.ts), (array_agg(r.value ORDER BY r.ts))[1], max(r.ts),
           (array_agg(r.value ORDER BY r.ts DESC))[1],
           energy_state_counts(r.value) FILTER (WHERE p.kind = 'enum')
    FROM readings r JOIN points p ON p.id = r.point_id
    WHERE (pids IS NULL OR r.point_id = ANY(pids)) AND r.ts >= h_since
    GROUP BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO readings_daily
    SELECT r.point_id, date_trunc('day', r.ts, zone), count(*), sum(r.value), min(r.value),
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

-- Writers that keep rollups exact say so with set_config('energy.rollups', 'maintained', true);
-- any other write to readings (psql, a bulk COPY) marks rollups stale. One row update per
-- statement, not per row.
CREATE FUNCTION energy_rollups_note_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('energy.rollups', true) IS DISTINCT FROM 'maintained' THEN
        UPDATE rollup_state
        SET stale_since = coalesce(stale_since, now()), stale_writes = stale_writes + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER readings_rollups_stale AFTER INSERT OR UPDATE OR DELETE ON readings
    FOR EACH STATEMENT EXECUTE FUNCTION energy_rollups_note_write();

-- Emptying readings empties the rollups: both are then exact again.
CREATE FUNCTION energy_rollups_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE readings_hourly, readings_daily, readings_monthly;
    UPDATE rollup_state SET stale_since = NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER readings_rollups_truncate AFTER TRUNCATE ON readings
    FOR EACH STATEMENT EXECUTE FUNCTION energy_rollups_truncate();

-- Data already stored: `energy-ingest migrate` passes ENERGY_TIMEZONE as energy.timezone, and
-- builds its rollups once every migration is applied, with the loader's rules (store.migrate's
-- `then`: a refresh here took minutes on a year of readings). Until then they are stale, never
-- built (built_at NULL), and the API answers from readings.
INSERT INTO rollup_state (day_zone, stale_since, built_at)
SELECT coalesce(nullif(current_setting('energy.timezone', true), ''), 'America/Chicago'),
       CASE WHEN stored THEN now() END, CASE WHEN NOT stored THEN now() END
FROM (SELECT EXISTS (SELECT FROM readings) AS stored) x;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON rollup_state, readings_hourly, readings_daily, readings_monthly
            TO energy_reader;
    END IF;
END
$$;
