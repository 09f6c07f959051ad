-- The data model of DESIGN.md: points, readings, and the files ledger.
-- Table names are a public contract (analysts query them with psql); columns are ours.

CREATE TABLE points (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL CHECK (source IN ('siemens', 'alc')),
    name             text NOT NULL,             -- exactly as written in the report
    kind             text NOT NULL DEFAULT 'number' CHECK (kind IN ('number', 'enum')),
    states           text[] NOT NULL DEFAULT '{}',  -- enum labels; readings.value indexes this (0-based)
    unit             text,
    description      text,
    building         text,                      -- default: the name's first dotted segment
    room             text,
    trend_definition text,                      -- last seen, e.g. '15 minutes', 'COV'
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, name)
);
CREATE INDEX points_building_idx ON points (building);

CREATE TABLE files (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256            text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name              text NOT NULL,             -- original file name
    path              text,                      -- where it was found, relative to the spool
    source            text NOT NULL CHECK (source IN ('siemens', 'alc')),
    format            text,                      -- e.g. 'siemens-insight', 'alc-wide'
    size_bytes        bigint NOT NULL CHECK (size_bytes >= 0),
    status            text NOT NULL CHECK (status IN ('ingested', 'failed')),
    received_at       timestamptz,               -- mtime of the file when it was claimed
    ingested_at       timestamptz NOT NULL DEFAULT now(),
    duration_ms       integer,
    points            integer NOT NULL DEFAULT 0,
    readings          bigint NOT NULL DEFAULT 0, -- values in the file (after de-duplication)
    inserted          bigint NOT NULL DEFAULT 0,
    updated           bigint NOT NULL DEFAULT 0,
    unchanged         bigint NOT NULL DEFAULT 0,
    missing_no_data   bigint NOT NULL DEFAULT 0,
    missing_data_loss bigint NOT NULL DEFAULT 0,
    missing_blank     bigint NOT NULL DEFAULT 0,
    missing_error     bigint NOT NULL DEFAULT 0,
    rejected_rows     integer NOT NULL DEFAULT 0,
    rejects           jsonb NOT NULL DEFAULT '[]',  -- [{"line": 57, "reason": "..."}], capped
    warnings          text[] NOT NULL DEFAULT '{}',
    footer            boolean,
    first_ts          timestamptz,
    last_ts           timestamptz,
    duplicates_seen   integer NOT NULL DEFAULT 0, -- byte-identical re-drops recognised later
    error             text
);
CREATE INDEX files_ingested_at_idx ON files (ingested_at DESC);
CREATE INDEX files_status_idx ON files (status, ingested_at DESC);

CREATE TABLE readings (
    point_id integer NOT NULL REFERENCES points (id),
    ts       timestamptz NOT NULL,
    value    double precision NOT NULL,
    PRIMARY KEY (point_id, ts)
);
