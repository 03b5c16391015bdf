-- 002_core_identity (down): drops the tables 002 up created, in reverse order (their indexes,
-- constraints and triggers go with them), then its value types.

DROP TABLE user_roles;

DROP TABLE role_permissions;

DROP TABLE permissions;

DROP TABLE roles;

DROP TABLE users;

DROP DOMAIN rbac_description;

DROP DOMAIN permission_name;

DROP DOMAIN role_name;

DROP DOMAIN account_status;

DROP DOMAIN account_type;

DROP DOMAIN bio_text;

DROP DOMAIN display_name_text;

DROP DOMAIN password_hash_text;

DROP DOMAIN handle;
