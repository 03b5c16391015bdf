-- Every user relation (tables, views, sequences) outside the system schemas, with its comment.
-- Extension members are left out (one hashed lookup, not a probe per relation).
SELECT c.oid::bigint AS oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       d.description AS comment
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND NOT c.relispartition
  AND c.oid NOT IN (SELECT e.objid FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.deptype = 'e')
ORDER BY n.nspname, c.relname
