-- 009_platform (down): drops the table 009 up created (its indexes and constraints go with it),
-- then its value types.

DROP TABLE audit_logs;

DROP DOMAIN metadata_object;

DROP DOMAIN entity_type_name;

DROP DOMAIN audit_action;
