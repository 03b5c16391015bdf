-- Indexes of user tables, each key a column number, or 0 and its expression: the loader names
-- the columns, and keeps the indexes created on their own (not behind a constraint).
SELECT i.indexrelid::bigint AS index_oid,
       i.indrelid::bigint AS oid,
       ic.relname AS name,
       i.indisunique AS is_unique,
       (i.indkey::int2[])[0:i.indnkeyatts - 1] AS columns,
       CASE WHEN 0 = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]) THEN
           ARRAY(SELECT CASE WHEN i.indkey[k - 1] = 0 THEN pg_get_indexdef(i.indexrelid, k, true) END
                 FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k)
       END AS expressions,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       am.amname AS method
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY i.indrelid, ic.relname
