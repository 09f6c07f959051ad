-- energy_reader: the API's role. NOLOGIN and SELECT only; give it a login (or grant it to a login
-- role) for the energy-api unit, see the README. Roles are cluster-wide and this migration runs once
-- per database, so creating the role tolerates it existing already (or being created concurrently).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        BEGIN
            CREATE ROLE energy_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;  -- a twin database won the race
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role energy_reader (no CREATEROLE); as a superuser run:'
                    ' CREATE ROLE energy_reader NOLOGIN; then energy-ingest migrate again is not'
                    ' needed, only the GRANTs of 0002_reader_role.sql';
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO energy_reader', current_database());
        GRANT USAGE ON SCHEMA public TO energy_reader;
        GRANT SELECT ON points, readings, files, schema_migrations TO energy_reader;
    END IF;
END
$$;
