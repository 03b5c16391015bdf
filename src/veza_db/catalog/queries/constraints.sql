-- Primary key, unique, foreign key and check constraints (not PostgreSQL 18's named NOT NULL
-- constraints, which the column's nullability already says), and the indexes behind primary
-- key, unique and exclusion constraints. Columns are numbers and referenced tables oids: the
-- loader names them from the tables and columns it has read. Constraints PostgreSQL derives from
-- another (conparentid: a foreign key to a partitioned table has one per partition) are not
-- written by pg_dump, and are not read.
SELECT con.conrelid::bigint AS oid,
       con.conname AS name,
       con.contype::text AS kind,
       con.conkey AS columns,
       con.confrelid::bigint AS ref_oid,
       con.confkey AS ref_columns,
       con.confdeltype::text AS on_delete,
       con.confupdtype::text AS on_update,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END AS expression,
       con.conindid::bigint AS index_oid
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY con.conrelid, con.conname
