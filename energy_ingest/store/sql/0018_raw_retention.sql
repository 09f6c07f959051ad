-- Raw retention (ENERGY_RAW_RETENTION, `energy-ingest retention`): readings' partitions before
-- raw_since were dropped, and their rollups kept. NULL: every raw reading is kept. The loader
-- refuses readings before it (the buckets they touch would be recomputed from a part of their
-- readings), rebuilds start after it, and the API answers earlier ranges from the rollups alone.
ALTER TABLE rollup_state ADD COLUMN IF NOT EXISTS raw_since timestamptz;
