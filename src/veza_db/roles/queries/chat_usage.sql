SELECT r.rolname FROM pg_roles r
WHERE r.rolname = ANY(%s) AND NOT r.rolsuper AND to_regnamespace(%s) IS NOT NULL
  AND has_schema_privilege(r.oid, to_regnamespace(%s), 'USAGE')
ORDER BY 1
