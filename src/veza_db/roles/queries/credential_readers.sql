SELECT c.relname, a.attname::text, NULL::text
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attname = ANY(%(secrets)s) AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND has_column_privilege('public', c.oid, a.attnum, 'SELECT')
UNION ALL
SELECT c.relname, a.attname::text, r.rolname::text
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
CROSS JOIN pg_roles r
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attname = ANY(%(secrets)s) AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND NOT has_column_privilege('public', c.oid, a.attnum, 'SELECT')
  AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\_%%'
  AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
  AND (r.rolname = ANY(%(never)s) OR NOT EXISTS (
        SELECT 1 FROM pg_roles t WHERE t.rolname = ANY(%(trusted)s) AND pg_has_role(r.oid, t.oid, 'USAGE')))
ORDER BY 1, 2, 3
