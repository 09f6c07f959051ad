-- Catalog, step 2 (issue 23): a reading keeps the unit it was recorded in.
--
-- When the unit the building automation system reports for a point — its export's Engineering
-- Units, else its trend report's — changes from one unit string to another, the earlier one is
-- kept here: the point's readings before `until` (and from the previous row's `until` on) were
-- recorded in `unit`. `until` is the second the export that changed it was loaded (`changed_by`;
-- its ledger row's `ingested_at`): readings taken before then are taken to be in the unit the
-- exports stated until then (a trend report's unit only fills in one none was known for).
-- The point's current unit is points.unit_id. A site file that re-maps a unit string, or an
-- override, re-interprets units and adds no row.
--
-- `unit_id` is what `unit` means with the applied site file; `scale` and `shift` give a value
-- recorded in it in the point's current unit (value * scale + shift; both NULL when pint cannot
-- convert the one into the other). The writers compute them with pint each time the point is
-- resolved (write.resolution), so the read API, which has no pint, converts in SQL.
CREATE TABLE unit_history (
    point_id   integer NOT NULL REFERENCES points (id),
    until      timestamptz NOT NULL,
    unit       text NOT NULL,                       -- the unit string as the BAS wrote it
    changed_by bigint REFERENCES files (id),        -- the export that changed it
    unit_id    integer REFERENCES units (id),
    scale      double precision,
    shift      double precision,
    PRIMARY KEY (point_id, until),
    CHECK ((scale IS NULL) = (shift IS NULL))
);

-- Since when a point's current unit applies (the `until` of its latest row here); NULL: all its
-- readings were recorded in it. The read API looks up earlier units only where it is set.
ALTER TABLE points ADD COLUMN unit_since timestamptz;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON unit_history TO energy_reader;
    END IF;
END
$$;
