SELECT r.rolname, n.nspname
FROM pg_roles r CROSS JOIN pg_namespace n
WHERE r.rolname = ANY(%(roles)s) AND NOT r.rolsuper
  AND n.nspname NOT LIKE 'pg\_%%' AND n.nspname <> 'information_schema'
  AND has_schema_privilege(r.oid, n.oid, 'CREATE')
  AND NOT (r.rolname = %(chat)s AND n.nspname = %(chat_schema)s)
ORDER BY 1, 2
