-- User triggers (not the internal ones behind foreign keys).
SELECT t.tgrelid::bigint AS oid,
       t.tgname AS name,
       pn.nspname || '.' || p.proname AS function,
       pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY t.tgrelid, t.tgname
