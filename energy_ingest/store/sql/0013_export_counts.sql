-- What a point export did to the catalog, in its ledger row (issue 26): the points it created
-- and those whose facts it changed (`points` is all it listed). `status` shows them, as the
-- daemon's log line does; a trend report leaves them 0.

ALTER TABLE files
    ADD COLUMN points_new integer NOT NULL DEFAULT 0,
    ADD COLUMN points_changed integer NOT NULL DEFAULT 0;
