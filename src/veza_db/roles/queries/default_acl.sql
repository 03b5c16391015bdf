SELECT d.defaclobjtype::text, a.grantee, pg_get_userbyid(a.grantee), a.privilege_type
FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole, aclexplode(d.defaclacl) a
WHERE r.rolname = %s AND d.defaclnamespace = 'public'::regnamespace
