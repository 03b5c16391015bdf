-- 002_core_identity (down): drops the tables 002 up created, in reverse order (their indexes,
-- constraints and triggers go with them).

DROP TABLE user_roles;

DROP TABLE role_permissions;

DROP TABLE permissions;

DROP TABLE roles;

DROP TABLE users;
