SELECT p.oid::regprocedure::text, r.rolname
FROM pg_proc p CROSS JOIN pg_roles r
WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' AND p.proname = 'uuidv7'
  AND r.rolname = ANY(%s) AND NOT has_function_privilege(r.oid, p.oid, 'EXECUTE')
