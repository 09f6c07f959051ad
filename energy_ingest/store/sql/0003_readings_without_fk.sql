-- readings.point_id still means points.id, but no longer as a declared foreign key: its per-row
-- trigger made bulk COPY into readings about 8x slower. The loader is the only writer of readings
-- and creates every point in the same transaction before any of its readings.
ALTER TABLE readings DROP CONSTRAINT IF EXISTS readings_point_id_fkey;
