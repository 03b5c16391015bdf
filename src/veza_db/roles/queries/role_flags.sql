SELECT r.rolname, r.rolsuper,
    EXISTS (SELECT 1 FROM pg_roles o
            WHERE o.rolname = %s AND o.oid <> r.oid AND pg_has_role(r.oid, o.oid, 'MEMBER'))
FROM pg_roles r WHERE r.rolname = ANY(%s)
