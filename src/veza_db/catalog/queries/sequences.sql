-- The column that owns each sequence (serial / OWNED BY / identity), as table oid and column
-- number: the loader names them from the relations and columns it has read.
SELECT d.objid::bigint AS oid,
       d.refobjid::bigint AS table_oid,
       d.refobjsubid AS column_number
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
