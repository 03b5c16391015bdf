-- Domains (named value types) with their base type, NOT NULL, default, comment and CHECK
-- constraints (name and definition, in name order).
SELECT n.nspname AS schema,
       t.typname AS name,
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       NOT t.typnotnull AS nullable,
       t.typdefault AS default_expr,
       d.description AS comment,
       coalesce(array_agg(c.conname::text ORDER BY c.conname) FILTER (WHERE c.oid IS NOT NULL), '{}') AS check_names,
       coalesce(array_agg(pg_get_expr(c.conbin, 0) ORDER BY c.conname) FILTER (WHERE c.oid IS NOT NULL), '{}')
           AS check_definitions
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_constraint c ON c.contypid = t.oid AND c.contype = 'c'
LEFT JOIN pg_description d ON d.classoid = 'pg_type'::regclass AND d.objoid = t.oid AND d.objsubid = 0
WHERE t.typtype = 'd'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
GROUP BY n.nspname, t.typname, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefault, d.description
ORDER BY 1, 2
