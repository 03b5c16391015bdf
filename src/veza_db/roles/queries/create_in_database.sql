SELECT r.rolname FROM pg_roles r
WHERE r.rolname = ANY(%s) AND NOT r.rolsuper AND has_database_privilege(r.oid, current_database(), 'CREATE')
ORDER BY 1
