-- The point catalog (docs/catalog.md): buildings, rooms, devices, units and tags, each with an
-- integer id that never changes once given (rows are keyed by their natural key and never
-- deleted, so re-imports and rule changes find the same row); points gain what the building
-- automation systems' own exports say about them and what the site file's rules resolve.

CREATE TABLE buildings (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE,              -- the site file's code, e.g. 'HU'
    name       text NOT NULL,                     -- e.g. 'Hulings Hall'
    aliases    text[] NOT NULL DEFAULT '{}',
    in_site    boolean NOT NULL DEFAULT true,     -- false: no longer in the site file (id kept)
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id integer NOT NULL REFERENCES buildings (id),
    name        text NOT NULL,                    -- as the naming rule found it, e.g. 'B44'
    floor       integer,                          -- from the room by the site's [floors] rule
    UNIQUE (building_id, name)
);

CREATE TABLE devices (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id integer REFERENCES buildings (id),
    name        text NOT NULL,                    -- e.g. 'FCU2', 'AHU3'
    room_id     integer REFERENCES rooms (id),
    type        text,                             -- the name's leading letters: 'FCU', 'AHU'
    UNIQUE NULLS NOT DISTINCT (building_id, name)
);

CREATE TABLE units (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key       text NOT NULL UNIQUE,               -- pint's canonical name, or '?' + the raw string
    canonical text,                               -- e.g. 'degree_Fahrenheit'; NULL: unresolved
    symbol    text,                               -- e.g. '°F' (the raw string when unresolved)
    quantity  text,                               -- e.g. 'temperature'
    name      text,                               -- e.g. 'degrees fahrenheit'
    resolved  boolean NOT NULL,
    spellings text[] NOT NULL DEFAULT '{}'        -- every BAS string seen for it
);

CREATE TABLE tags (
    id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE                     -- Project Haystack names where one fits
);

-- A tag at the level its rule attached it; a point has its own and everything above it.
CREATE TABLE building_tags (
    building_id integer NOT NULL REFERENCES buildings (id),
    tag_id      integer NOT NULL REFERENCES tags (id),
    PRIMARY KEY (building_id, tag_id)
);
CREATE TABLE room_tags (
    room_id integer NOT NULL REFERENCES rooms (id),
    tag_id  integer NOT NULL REFERENCES tags (id),
    PRIMARY KEY (room_id, tag_id)
);
CREATE TABLE device_tags (
    device_id integer NOT NULL REFERENCES devices (id),
    tag_id    integer NOT NULL REFERENCES tags (id),
    PRIMARY KEY (device_id, tag_id)
);
CREATE TABLE point_tags (
    point_id integer NOT NULL REFERENCES points (id),
    tag_id   integer NOT NULL REFERENCES tags (id),
    PRIMARY KEY (point_id, tag_id)
);
CREATE INDEX point_tags_tag_idx ON point_tags (tag_id);

-- The site file the catalog was last resolved with: every process resolves new points with it.
CREATE TABLE catalog_site (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    path       text NOT NULL,
    sha256     text NOT NULL,
    content    text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- The text columns a trend report's point name once implied are replaced by references.
ALTER TABLE points DROP COLUMN building, DROP COLUMN room;
ALTER TABLE points
    -- facts from the exports (NULL: no export said so)
    ADD COLUMN descriptor      text,              -- Siemens Descriptor
    ADD COLUMN point_type      text,              -- BAS type: LAI, LDO, LENUM … ; BAV, BBO …
    ADD COLUMN representation  text,              -- Siemens Analog Representation: Float, Integer
    ADD COLUMN decimals        integer,
    ADD COLUMN cov_limit       double precision,
    ADD COLUMN text_table      text,              -- the text table's name, e.g. 'DAY_NIGHT'
    ADD COLUMN defined_states  text[],            -- its states in order
    ADD COLUMN defined_values  integer[],         -- each state's number in the table (0 - OFF)
    ADD COLUMN defined_unit    text,              -- Engineering Units as written
    ADD COLUMN location        text,              -- ALC Location (points list or trend)
    ADD COLUMN control_program text,              -- ALC Control Program
    ADD COLUMN alc_name        text,              -- ALC Name (within the control program)
    ADD COLUMN io_type         text,
    ADD COLUMN extras          jsonb NOT NULL DEFAULT '{}',  -- fields the parsers do not know
    ADD COLUMN defined_in      bigint REFERENCES files (id), -- the last export that described it
    -- what the site file's rules resolved (re-resolved by `energy-ingest catalog apply`)
    ADD COLUMN building_id     integer REFERENCES buildings (id),
    ADD COLUMN room_id         integer REFERENCES rooms (id),
    ADD COLUMN device_id       integer REFERENCES devices (id),
    ADD COLUMN floor           integer,
    ADD COLUMN unit_id         integer REFERENCES units (id),
    ADD COLUMN origins         jsonb NOT NULL DEFAULT '{}';  -- attribute → where it came from
CREATE INDEX points_building_idx ON points (building_id);
CREATE INDEX points_room_idx ON points (room_id);
CREATE INDEX points_device_idx ON points (device_id);
CREATE INDEX points_unit_idx ON points (unit_id);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON buildings, rooms, devices, units, tags, building_tags, room_tags,
            device_tags, point_tags, catalog_site TO energy_reader;
    END IF;
END
$$;
