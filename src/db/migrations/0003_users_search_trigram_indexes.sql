-- Trigram indexes make the user search (ILIKE '%term%' on four columns) an index scan instead of a scan of
-- every row. pg_trgm ships with PostgreSQL (a trusted extension since 13, so the database owner may create it)
-- but not with the embedded PGlite, and a managed server may refuse it: then the search keeps working,
-- unindexed, and the migration says so instead of failing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    RAISE NOTICE 'pg_trgm is not available: user search stays unindexed';
    RETURN;
  END IF;
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created (insufficient privilege): user search stays unindexed';
    RETURN;
  END;
  CREATE INDEX IF NOT EXISTS users_username_trgm_idx ON users USING gin (username gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS users_first_name_trgm_idx ON users USING gin (first_name gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS users_last_name_trgm_idx ON users USING gin (last_name gin_trgm_ops);
END
$$;
