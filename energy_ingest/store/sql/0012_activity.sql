-- What each running ingest daemon is doing now (energy_ingest.daemon.activity), for the API,
-- which never reads the spool: the file it is loading and how far it got, and how many files
-- wait in its spool's incoming/. One row per daemon process, written through the daemon's own
-- short autocommit statements (never inside a file's transaction): about every second while a
-- file loads, at least every few seconds otherwise; deleted when the daemon stops. A row not
-- updated for a while is a daemon that was killed or is stuck: the API leaves it out.

CREATE TABLE ingest_activity (
    daemon          text PRIMARY KEY,            -- host:pid:random, one per daemon process
    host            text NOT NULL,
    pid             integer NOT NULL,
    started_at      timestamptz NOT NULL,        -- when the daemon started
    updated_at      timestamptz NOT NULL,        -- its last word (the database's clock)
    backlog         integer NOT NULL,            -- files in its queue (incoming/), the loading one too
    path            text,                        -- the file it is loading (NULL: none)
    size            bigint,                      -- of that file, bytes
    bytes_read      bigint,
    percent         integer,
    values_parsed   bigint,                      -- values parsed so far
    file_started_at timestamptz                  -- when its transaction began
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON ingest_activity TO energy_reader;
    END IF;
END
$$;
