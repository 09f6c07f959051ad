-- Catalog, step 2: where a point's name is unique, a second name, and retirement.
--
-- A point a trend report names is its name (and a Siemens Point System Name is that name): its
-- scope is ''. An ALC Points List row is a name (`Control Program / Name`) within a Location,
-- and two rows of one Location with one name are two points when their types differ: its scope
-- is the JSON array [Location, Type]. So equal names in two buildings are two points.
ALTER TABLE points
    ADD COLUMN scope      text NOT NULL DEFAULT '',
    ADD COLUMN alias      text,                     -- Siemens Point Name where it is not the System Name
    ADD COLUMN retired_at timestamptz,              -- when a newer export of its scope left it out
    ADD COLUMN retired_by bigint REFERENCES files (id);  -- that export
UPDATE points SET scope = json_build_array(location, coalesce(point_type, ''))::text
WHERE source = 'alc' AND control_program IS NOT NULL AND alc_name IS NOT NULL
    AND location IS NOT NULL;
ALTER TABLE points DROP CONSTRAINT points_source_name_key,
    ADD CONSTRAINT points_identity_key UNIQUE (source, name, scope);
