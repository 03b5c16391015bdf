-- Columns of every user table, in order, with type as format_type() spells it. A default is
-- printed without its table (relation 0) unless it is a generated column's expression, the only
-- kind that names columns: opening the table for each of thousands of defaults costs more than
-- the rest of the query.
SELECT a.attrelid::bigint AS oid,
       a.attnum AS number,
       a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
            ELSE pg_get_expr(ad.adbin, ad.adrelid) END AS default_expr,
       a.attidentity::text AS identity,
       d.description AS comment
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = a.attrelid AND d.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY a.attrelid, a.attnum
