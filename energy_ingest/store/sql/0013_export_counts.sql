-- What a point export did to the catalog, in its ledger row (issue 26): the points it created
-- and those whose facts it changed (`points` is all it listed). `status` shows them, as the
-- daemon's log line does; a trend report leaves them 0.
--
-- And when a file's transaction committed (`committed_at`), which `status` shows: `ingested_at`
-- stays the transaction's start (`now()`), the instant the catalog's unit history dates a unit
-- change by. NULL for rows from before this migration (status falls back to `ingested_at`).

ALTER TABLE files
    ADD COLUMN points_new integer NOT NULL DEFAULT 0,
    ADD COLUMN points_changed integer NOT NULL DEFAULT 0,
    ADD COLUMN committed_at timestamptz;
