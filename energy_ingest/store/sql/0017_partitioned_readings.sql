-- Readings partitioned by time (issue 28): a partition a UTC year, `readings_2025` holding
-- [2025-01-01 00:00Z, 2026-01-01 00:00Z), created as loads need them (a backfill from 1998, a file
-- dated next year) and a year ahead by the daemon; the key is still (point_id, ts), which holds
-- the partition key. Rollups stay unpartitioned: a point's day is one row of readings_hours, and
-- retention keeps them all (docs/scaling.md).
--
-- This script only prepares, and may run again: `readings_partitioned` beside `readings`. The rows
-- are moved by store.partitions.convert, a batch of points per transaction, resumable; its last
-- transaction swaps the tables and records this migration (store.migrate's FINISH).

CREATE TABLE IF NOT EXISTS readings_partitioned (
    point_id integer NOT NULL,
    ts       timestamptz NOT NULL,
    value    double precision NOT NULL,
    CONSTRAINT readings_partitioned_pkey PRIMARY KEY (point_id, ts)
) PARTITION BY RANGE (ts);

-- How far the conversion got: points below next_point are in readings_partitioned.
CREATE TABLE IF NOT EXISTS readings_conversion (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    next_point integer,
    moved      bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now()
);

-- While the rows move, any writer but the conversion is refused (its trigger, made by convert
-- under the writers' lock): a reading written meanwhile would be lost in the swap.
CREATE OR REPLACE FUNCTION energy_readings_converting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'readings are being moved into yearly partitions: write again once '
                    '`energy-ingest migrate` has finished';
END
$$;

-- The partitions holding `years` (UTC), made where missing; returns how many were made. A new
-- partition is created on its own and then attached, which takes only a SHARE UPDATE EXCLUSIVE
-- lock on the parent (CREATE TABLE ... PARTITION OF would take an ACCESS EXCLUSIVE one): readers,
-- on the primary and on standbys, never wait for it, and a load can make one inside its own
-- transaction. `parent` is readings, or readings_partitioned while a conversion runs.
CREATE OR REPLACE FUNCTION energy_readings_partitions(years integer[], parent text DEFAULT 'readings')
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    y    integer;
    made integer := 0;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass(parent)) IS DISTINCT FROM 'p' THEN
        RETURN 0;  -- readings unpartitioned (as before this migration): nothing to make
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('energy_readings_partitions'));
    FOR y IN SELECT DISTINCT unnest(years) ORDER BY 1 LOOP
        CONTINUE WHEN y IS NULL OR to_regclass(format('readings_%s', y)) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL)', 'readings_' || y, parent);
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       parent, 'readings_' || y,
                       make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC'),
                       make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'UTC'));
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- The readings' partitions, oldest first, with their bounds (for retention, and by hand).
CREATE OR REPLACE VIEW readings_partitions AS
SELECT c.relname::text AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $r$FROM \('([^']+)'\)$r$))[1]::timestamptz
           AS lower_bound,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $r$TO \('([^']+)'\)$r$))[1]::timestamptz
           AS upper_bound
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass('readings')
ORDER BY 2;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON readings_partitions TO energy_reader;
    END IF;
END
$$;
