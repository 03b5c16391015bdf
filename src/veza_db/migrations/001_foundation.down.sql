-- 001_foundation (down): drops what 001 up created, in reverse order. public.uuidv7() exists
-- only where 001 up created it (PostgreSQL 15-17); PostgreSQL 18's pg_catalog.uuidv7() is
-- never touched.

DROP FUNCTION set_updated_at();

DROP DOMAIN user_agent_text;

DROP DOMAIN email_address;

DROP DOMAIN visibility;

DROP DOMAIN audio_format;

DROP DOMAIN storage_key;

DROP DOMAIN web_url;

DROP DOMAIN non_negative_bigint;

DROP DOMAIN positive_integer;

DROP DOMAIN non_negative_integer;

DROP FUNCTION IF EXISTS public.uuidv7();
