-- 008_legacy_chat (down): drops the table 008 up created (its indexes, constraints and
-- trigger go with it), then its value types.

DROP TABLE rooms;

DROP DOMAIN room_privacy;

DROP DOMAIN room_description;

DROP DOMAIN room_name;
