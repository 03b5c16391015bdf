-- 001_foundation (down): drops what 001 up created, in reverse order. public.uuidv7() exists
-- only where 001 up created it (PostgreSQL 15-17); PostgreSQL 18's pg_catalog.uuidv7() is
-- never touched.

DROP FUNCTION set_updated_at();

DROP FUNCTION IF EXISTS public.uuidv7();
