-- Data health (docs/health.md): report series and their cadence, each point's status, the
-- alerts they raise and the notices sent about them.
--
-- A report series is a source and a file name without its run-time suffix and extension:
-- boliou1_11-30-18_02-00.csv → boliou1, RECCNTR.AUDIT.TRENDRPT_171016.csv → reccntr.audit.trendrpt.
-- Its run time is the time the name gives (in rollup_state.day_zone), NULL when it gives none.
-- Both are computed here, by one rule, for the rows already stored and by a trigger for new ones.

CREATE FUNCTION energy_series_of(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(lower(regexp_replace(stem,
        '[ _-]+(\d{1,2}-\d{1,2}-\d{2}(\d{2})?([ _-]\d{1,2}-\d{2}(-\d{2})?)?|\d{6}|\d{8}([ _-]?\d{4,6})?)$',
        '')), ''), lower(stem))
    FROM (SELECT regexp_replace(name, '\.[A-Za-z0-9]{1,5}$', '') AS stem) s
$$;

-- The run time a file name gives: MM-DD-YY[YY]_HH-MM[-SS] (Siemens Insight's),
-- YYYYMMDD[_HHMM[SS]] or YYMMDD at its end (the longer form tried first), as a local time of
-- `zone`; NULL when it gives none or no such time exists (13-45-18).
CREATE FUNCTION energy_run_at(name text, zone text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    stem text := regexp_replace(name, '\.[A-Za-z0-9]{1,5}$', '');
    m    text[];
    y    integer;
BEGIN
    m := regexp_match(stem, '[ _-](\d{1,2})-(\d{1,2})-(\d{2}|\d{4})(?:[ _-](\d{1,2})-(\d{2})(?:-(\d{2}))?)?$');
    IF m IS NOT NULL THEN
        y := m[3]::integer;
        RETURN make_timestamptz(CASE WHEN y < 100 THEN 2000 + y ELSE y END, m[1]::integer,
            m[2]::integer, coalesce(m[4], '0')::integer, coalesce(m[5], '0')::integer,
            coalesce(m[6], '0')::double precision, zone);
    END IF;
    m := regexp_match(stem, '[ _-](\d{4})(\d{2})(\d{2})(?:[ _-]?(\d{2})(\d{2})(\d{2})?)?$');
    IF m IS NOT NULL THEN
        RETURN make_timestamptz(m[1]::integer, m[2]::integer, m[3]::integer,
            coalesce(m[4], '0')::integer, coalesce(m[5], '0')::integer,
            coalesce(m[6], '0')::double precision, zone);
    END IF;
    m := regexp_match(stem, '[ _-](\d{2})(\d{2})(\d{2})$');
    IF m IS NOT NULL THEN
        RETURN make_timestamptz(2000 + m[1]::integer, m[2]::integer, m[3]::integer, 0, 0, 0, zone);
    END IF;
    RETURN NULL;
EXCEPTION
    WHEN datetime_field_overflow OR invalid_datetime_format OR numeric_value_out_of_range THEN
        RETURN NULL;
END
$$;

ALTER TABLE files
    ADD COLUMN series text,                      -- energy_series_of(name)
    ADD COLUMN run_at timestamptz;               -- energy_run_at(name, day zone)

CREATE FUNCTION energy_files_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.series := energy_series_of(NEW.name);
    NEW.run_at := energy_run_at(NEW.name, (SELECT day_zone FROM rollup_state));
    RETURN NEW;
END
$$;
CREATE TRIGGER files_series BEFORE INSERT OR UPDATE OF name ON files
    FOR EACH ROW EXECUTE FUNCTION energy_files_series();
UPDATE files SET series = energy_series_of(name),
    run_at = energy_run_at(name, (SELECT day_zone FROM rollup_state));
-- last_ts included: the health evaluator counts each series' files and finds its newest data
-- from this index alone (an index-only scan of the ledger, not a read of every file's row).
CREATE INDEX files_series_idx ON files (source, series, coalesce(run_at, last_ts) DESC)
    INCLUDE (last_ts) WHERE status = 'ingested' AND last_ts IS NOT NULL;

-- Each series as the last evaluation saw it (energy_ingest.health.series); a row is added by the
-- loader the first time a series' file is loaded, and never deleted (its id is kept).
CREATE TABLE report_series (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,
    name          text NOT NULL,
    cadence       interval,                      -- learned from run times, else data spans
    last_run      timestamptz,                   -- its newest file's run time (else data end)
    last_data     timestamptz,                   -- the newest data any of its files holds (loader)
    last_file_id  bigint REFERENCES files (id),
    last_arrival  timestamptz,                   -- when its newest file was loaded
    expected_next timestamptz,                   -- last_run + cadence
    status        text NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('ok', 'overdue', 'historical', 'unknown')),
    files         integer NOT NULL DEFAULT 0,   -- files with data (kept by the loader)
    evaluated_at  timestamptz,
    UNIQUE (source, name)
);
INSERT INTO report_series (source, name, files, last_data)
SELECT source, series, count(*), max(last_ts) FROM files
WHERE status = 'ingested' AND last_ts IS NOT NULL AND series IS NOT NULL
GROUP BY source, series;

-- Which points a series carries: written by the loader with each trend report (points of files
-- loaded before this migration are not linked until their series' next file).
CREATE TABLE series_points (
    series_id integer NOT NULL REFERENCES report_series (id),
    point_id  integer NOT NULL REFERENCES points (id),
    file_id   bigint NOT NULL REFERENCES files (id),  -- the newest file of the series naming it
    PRIMARY KEY (series_id, point_id)
);
CREATE INDEX series_points_point_idx ON series_points (point_id);

-- A point's expected time between readings, learned from its readings by the evaluator (NULL:
-- not known yet, or change-of-value trending with no regular interval).
ALTER TABLE points ADD COLUMN interval_s double precision;

-- Each point's status as the last evaluation found it (no row: not evaluated yet).
CREATE TABLE point_health (
    point_id     integer PRIMARY KEY REFERENCES points (id),
    status       text NOT NULL
                 CHECK (status IN ('ok', 'stale', 'flat', 'out_of_range', 'spike', 'retired',
                                   'historical')),
    since        timestamptz NOT NULL,           -- when it entered this status
    details      jsonb NOT NULL DEFAULT '{}',
    newest       timestamptz,                    -- its newest reading when judged
    file_id      bigint,                         -- the newest file that carried it then
    evaluated_at timestamptz NOT NULL            -- the evaluation that last changed the row
);
CREATE INDEX point_health_status_idx ON point_health (status);

-- When the last evaluation ran, what the daemon's spool looked like then (for the API, which
-- does not read the spool), and when the daily digest last went out.
CREATE TABLE health_state (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    evaluated_at    timestamptz,
    evaluation_ms   integer,
    period_s        double precision,            -- the daemon's ENERGY_HEALTH_SECONDS
    digest          text,                        -- of what an evaluation shows (statuses, alerts)
    rules_digest    text,                        -- of the limits and thresholds it judged with
    changed_at      timestamptz,                 -- the last evaluation that changed the digest
    backlog         integer,                     -- files waiting in incoming/
    failed          integer,                     -- files in failed/
    digest_at       timestamptz
);
INSERT INTO health_state DEFAULT VALUES;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON report_series, series_points, point_health, health_state TO energy_reader;
    END IF;
END
$$;
