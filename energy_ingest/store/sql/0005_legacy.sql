-- What the legacy dashboard API (docs/legacy-api.md) needs beyond the catalog: value types with
-- ids that never change, the site file's rules, and which tags its anomaly check looks for.

-- Every distinct list of enumeration states is a value type (ids 1-3 are Boolean, Integer and
-- Float, fixed in the API). A row is added by whichever statement first writes a point with that
-- list, and never deleted, so a type keeps its id when its points change.
CREATE TABLE value_types (
    id     integer GENERATED ALWAYS AS IDENTITY (START WITH 4) PRIMARY KEY,
    states text[] NOT NULL UNIQUE CHECK (cardinality(states) > 0),
    name   text                                   -- the text table's name, when one is known
);

CREATE FUNCTION note_value_types() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- ordered by states, so concurrent writers take the unique index's locks in one order
    INSERT INTO value_types (states, name)
    SELECT DISTINCT ON (n.states) n.states, n.text_table
    FROM changed_points n
    WHERE n.kind = 'enum' AND cardinality(n.states) > 0
    ORDER BY n.states, n.text_table NULLS LAST
    ON CONFLICT (states) DO UPDATE SET name = EXCLUDED.name
        WHERE value_types.name IS NULL AND EXCLUDED.name IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER points_value_types_insert AFTER INSERT ON points
    REFERENCING NEW TABLE AS changed_points
    FOR EACH STATEMENT EXECUTE FUNCTION note_value_types();
CREATE TRIGGER points_value_types_update AFTER UPDATE ON points
    REFERENCING NEW TABLE AS changed_points
    FOR EACH STATEMENT EXECUTE FUNCTION note_value_types();

INSERT INTO value_types (states, name)
SELECT DISTINCT ON (states) states, text_table FROM points
WHERE kind = 'enum' AND cardinality(states) > 0
ORDER BY states, text_table NULLS LAST;

-- The site file's [[rules]], found again by name (ids kept; a rule dropped from the file stays
-- with in_site = false and is no longer served).
CREATE TABLE rules (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    priority     integer NOT NULL DEFAULT 0,
    url          text NOT NULL DEFAULT '',
    point_search text NOT NULL,
    value_search text NOT NULL DEFAULT '',
    in_site      boolean NOT NULL DEFAULT true
);

-- The site file's [anomalies]: the tags that make a point a room temperature or a damper.
ALTER TABLE catalog_site ADD COLUMN anomalies jsonb NOT NULL DEFAULT '{}';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON value_types, rules TO energy_reader;
    END IF;
END
$$;
